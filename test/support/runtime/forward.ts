/**
 * A TCP forwarder between two network namespaces (netns-forward.py): the test API server on the
 * host's loopback reached from containers in the test's namespace, and the aggregator in that
 * namespace reached by kubectl on the host's loopback. No traffic leaves either namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanupAtExit } from '../netns.js';

const SCRIPT = fileURLToPath(new URL('netns-forward.py', import.meta.url));

export interface Endpoint {
  /** A namespace path (/run/netns/NAME, /proc/PID/ns/net), or '-' for the test's own. */
  readonly netns: string;
  readonly host: string;
  /** 0 to listen on any free port (the forwarder says which). */
  readonly port: number;
}

export interface Forwarder {
  /** The port it listens on. */
  readonly port: number;
  stop(): Promise<void>;
}

export async function startForwarder(listen: Endpoint, connect: Endpoint): Promise<Forwarder> {
  const child: ChildProcess = spawn('python3', [SCRIPT, listen.netns, listen.host, String(listen.port), connect.netns, connect.host, String(connect.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const forget = cleanupAtExit(() => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const ready = /READY (\d+)/.exec(stdout);
      if (ready) resolve(Number(ready[1]));
    });
    child.once('exit', (code) => reject(new Error(`netns-forward.py exited with ${code}: ${stderr}`)));
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        // It exits when its stdin closes; a kill only if it does not.
        child.stdin!.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      forget();
    },
  };
}
