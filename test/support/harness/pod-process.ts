/**
 * One process of a simulated pod (pod-process.py): started in the pod's network namespace (or
 * the host's), told to open its sockets only after the harness moved it into its cgroups, and
 * asked for the sockets it holds. Each is its own process group, so a kill takes everything.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SocketTruth } from './types.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pod-process.py');
/** The distribution's interpreter starts in ~20 ms; a pyenv shim on PATH takes ~100 ms. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const REPLY_TIMEOUT_MS = 15_000;
const EXIT_WAIT_MS = 5_000;

/** A socket spec as the process gets it: labels the harness knew are already ports. */
export type ProcessSocketSpec = Readonly<Record<string, unknown>> & { readonly kind: string };

export interface SocketReport {
  readonly sockets: readonly SocketTruth[];
  readonly timeWait: readonly SocketTruth[];
}

interface Pending {
  readonly prefix: string;
  readonly resolve: (json: unknown) => void;
  readonly reject: (error: Error) => void;
}

export class PodProcess {
  private readonly pending: Pending[] = [];
  private stderr = '';
  private exitedFlag = false;
  /** Resolves once the process has exited (and was reaped). */
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, Readable>,
    readonly comm: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      this.exitedFlag = true;
      this.failPending(`exited (${child.exitCode ?? child.signalCode})`);
    });
    child.once('error', (error) => this.failPending(error.message));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    // Nothing here keeps the event loop alive (a pending request's timer does): a test that
    // forgets cleanup() still exits, and the exit hook kills what is left.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      // net.Sockets at run time; unref() keeps the pipes from holding the loop open.
      (stream as Partial<{ unref(): void }>).unref?.();
    }
  }

  /**
   * Starts `pod-process.py <comm>` in the namespace bind-mounted at `netnsPath` (nsenter execs
   * in place, so the pid is python's; unlike `ip netns exec` it leaves the mounts alone) or,
   * with null, in the caller's own namespace. Resolves once the process says it started.
   */
  static async start(comm: string, netnsPath: string | null): Promise<PodProcess> {
    const argv = [PYTHON, SCRIPT, comm];
    const [file, ...args] = netnsPath === null ? argv : ['nsenter', `--net=${netnsPath}`, ...argv];
    const child = spawn(file!, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const started = new PodProcess(child, comm);
    try {
      await started.request(undefined, 'STARTED');
    } catch (error) {
      await started.kill();
      throw error;
    }
    return started;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  /** Opens the sockets; resolves with what the process then holds. */
  async go(specs: readonly ProcessSocketSpec[]): Promise<SocketReport> {
    return (await this.request(`go ${JSON.stringify(specs)}`, 'READY')) as SocketReport;
  }

  /** What the process holds now (after its listeners' accept queues were drained). */
  async list(): Promise<SocketReport> {
    return (await this.request('list', 'SOCKETS')) as SocketReport;
  }

  /** SIGKILLs the process group and waits (bounded) until the process was reaped. */
  async kill(): Promise<void> {
    if (this.child.pid === undefined) return; // never started (spawn failed)
    this.killSync();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, EXIT_WAIT_MS)))]);
    clearTimeout(timer); // a pending timer would hold the event loop open for EXIT_WAIT_MS
    if (this.running) throw new Error(`${this.comm} (pid ${this.pid}) did not exit after SIGKILL`);
  }

  /** SIGKILLs the process group without waiting (exit hooks). */
  killSync(): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL'); // the group spawn({ detached: true }) created
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  private request(command: string | undefined, prefix: string): Promise<unknown> {
    if (!this.running) return Promise.reject(new Error(`${this.comm} (pid ${this.child.pid}) is not running`));
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failPending(`no ${prefix} line within ${REPLY_TIMEOUT_MS} ms`);
      }, REPLY_TIMEOUT_MS);
      this.pending.push({
        prefix,
        resolve: (json) => {
          clearTimeout(timer);
          resolve(json);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (command !== undefined) this.child.stdin.write(`${command}\n`);
    });
  }

  private onLine(line: string): void {
    const space = line.indexOf(' ');
    const prefix = space < 0 ? line : line.slice(0, space);
    const payload = space < 0 ? 'null' : line.slice(space + 1);
    if (prefix === 'ERROR') {
      this.failPending(`reported ${payload}`);
      return;
    }
    const waiter = this.pending.shift();
    if (!waiter) return;
    if (waiter.prefix !== prefix) {
      waiter.reject(this.error(`expected ${waiter.prefix}, got ${JSON.stringify(line)}`));
      return;
    }
    waiter.resolve(JSON.parse(payload));
  }

  private failPending(reason: string): void {
    for (const waiter of this.pending.splice(0)) waiter.reject(this.error(reason));
  }

  private error(reason: string): Error {
    return new Error(`pod process ${this.comm} (pid ${this.child.pid}): ${reason}${this.stderr ? `\nstderr: ${this.stderr.trim()}` : ''}`);
  }
}
