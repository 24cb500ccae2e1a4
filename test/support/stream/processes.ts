import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { waitFor } from '../wait.js';
import { REPO } from '../checkout.js';

const EXIT_WITH_PARENT = new URL('exit-with-parent.ts', import.meta.url).href;

/** One JSON log line of a kube-netstat process (pino on stderr). */
export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/**
 * A real `kube-netstat` process (node --import tsx cmd/bin.ts ...), its stderr parsed as JSON
 * log lines. Only this handle's own pid is ever signalled; exit-with-parent.ts ends it should
 * the test process die before its after() hook runs.
 */
export class KubeNetstatProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private exitedNow = false;
  private partial = '';

  constructor(
    readonly name: string,
    args: readonly string[],
  ) {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: '', LOG_LEVEL: 'info' };
    // No API access (pods are shown by UID) and nothing inherited from the test runner.
    for (const key of ['KUBERNETES_SERVICE_HOST', 'NODE_NAME', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS']) delete env[key];
    this.child = spawn(process.execPath, ['--import', 'tsx', '--import', EXIT_WITH_PARENT, 'cmd/bin.ts', ...args], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolveExit) => this.child.once('exit', (code, signal) => {
      this.exitedNow = true;
      resolveExit({ code, signal });
    }));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (text: string) => this.collect(text));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return !this.exitedNow;
  }

  private collect(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        // A stack trace or warning, not a log line: kept verbatim so a failure shows it.
        this.logs.push({ msg: 'raw stderr', text: line });
      }
    }
  }

  /** The first log line from index `from` on that matches; fails after the deadline. */
  async waitForLog(predicate: (line: LogLine) => boolean, what: string, options: { from?: number; timeoutMs?: number } = {}): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(
      () => {
        found = this.logs.slice(options.from ?? 0).find(predicate);
        if (!found && !this.running) throw new Error(`${this.name} exited while waiting for ${what}:\n${this.tail()}`);
        return found !== undefined;
      },
      { timeoutMs: options.timeoutMs ?? 15_000, what: `${this.name}: ${what}`, describe: () => this.tail() },
    );
    return found!;
  }

  /** The last log lines, for failure messages. */
  tail(count = 15): string {
    return this.logs.slice(-count).map((line) => JSON.stringify(line)).join('\n');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, signal);
  }

  /** Resident set size in bytes, from /proc/<pid>/status. */
  rssBytes(): number {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    if (!match) throw new Error(`no VmRSS for ${this.name} (${this.pid})`);
    return Number(match[1]) * 1024;
  }

  /** SIGKILL (after SIGCONT, in case a test stopped it) and wait for the exit. */
  async kill(): Promise<void> {
    if (this.running) {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
    }
    await this.exited;
  }
}

/** Every process a test file started, so after() can end each by its pid. */
export class ProcessSet {
  private readonly all = new Set<KubeNetstatProcess>();

  start(name: string, args: readonly string[]): KubeNetstatProcess {
    const started = new KubeNetstatProcess(name, args);
    this.all.add(started);
    return started;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.all].map((started) => started.kill()));
    this.all.clear();
  }
}

export interface AggregatorProcess {
  readonly process: KubeNetstatProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
}

/** An aggregator on loopback; port 0 picks free ports, read back from its listening log line. */
export async function startAggregatorProcess(
  processes: ProcessSet,
  options: { grpcPort?: number; httpPort?: number; staleAfter: string; evictAfter: string; kubeconfig?: string; extraArgs?: readonly string[] },
): Promise<AggregatorProcess> {
  const started = processes.start('aggregator', [
    'aggregator',
    '--grpc-listen', `127.0.0.1:${options.grpcPort ?? 0}`,
    '--http-listen', `127.0.0.1:${options.httpPort ?? 0}`,
    '--stale-after', options.staleAfter,
    '--evict-after', options.evictAfter,
    // Test agents carry no service-account token: with a kubeconfig, auto would ask TokenReview and refuse them.
    ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig, '--agent-auth', 'none'] : []),
    ...(options.extraArgs ?? []),
  ]);
  const listening = await started.waitForLog((line) => line.msg === 'aggregator listening', 'aggregator listening', { timeoutMs: 20_000 });
  return { process: started, grpcPort: Number(listening.grpcPort), httpPort: Number(listening.httpPort) };
}

/** An agent scanning a fixture proc tree as node `node`. */
export function startAgentProcess(processes: ProcessSet, options: { node: string; procRoot: string; aggregator: string }): KubeNetstatProcess {
  return processes.start(`agent ${options.node}`, [
    'agent',
    '--aggregator', options.aggregator,
    '--node-name', options.node,
    '--proc-root', options.procRoot,
    '--interval', '0.2',
    '--heartbeat', '1s',
  ]);
}
