import { credentials, Metadata } from '@grpc/grpc-js';
import { fork, type ChildProcess } from 'node:child_process';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListRequest, QueryServiceClient } from '../gen/kubenetstat/v1/query.js';
import { IpcClient, type Notice } from './ipc.js';

/**
 * The processes of the streaming bench (aggregator, simulator, agent, churn) and how the bench
 * talks to them: every child is recorded here the moment it is started, so the bench's exit
 * and signal traps can end exactly those pids (killStreamProcesses).
 */

const AGGREGATOR_CHILD = 'dist/bench/aggregator-child.js';
const SIM_CHILD = 'dist/bench/stream-sim.js';

const children = new Set<ChildProcess>();

/** Records a child for the traps; forgets it once it exited. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Synchronous, for the exit hook: SIGKILL every child this module's users started and that still runs. */
export function killStreamProcesses(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

/** The last bytes a child wrote on stderr, for error reports. */
export function stderrTail(child: ChildProcess, keep = 8192): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-keep);
  });
  return () => tail;
}

/** Resolves when the child exited; SIGKILLs it after timeoutMs. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface ChildHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ipc: IpcClient;
  readonly stderr: () => string;
}

function forkChild(script: string, args: readonly string[], execArgv: readonly string[], name: string, lifetimeMs: number, onNotice?: (notice: Notice) => void): ChildHandle {
  const env: NodeJS.ProcessEnv = { ...process.env, KNS_BENCH_CHILD_LIFETIME_MS: String(lifetimeMs), LOG_LEVEL: 'info' };
  delete env.NODE_OPTIONS;
  const child = track(fork(script, [...args], { execArgv: [...execArgv], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env }));
  return { child, pid: child.pid!, ipc: new IpcClient(child, name, onNotice), stderr: stderrTail(child) };
}

export interface AggregatorHandle extends ChildHandle {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Asks it to stop (agents' streams end), then waits for the exit (SIGKILL after a bound). */
  stop(): Promise<void>;
}

/**
 * dist/bench/aggregator-child.js: `kube-netstat aggregator` with the CLI's defaults, on loopback
 * port 0. `nodeFlags` go to node before the script (--aggregator-node-flags: V8 tuning trials).
 */
export async function startAggregator(lifetimeMs: number, nodeFlags: readonly string[] = []): Promise<AggregatorHandle> {
  let listening: ((notice: Notice) => void) | undefined;
  const ready = new Promise<Notice>((resolve) => (listening = resolve));
  const handle = forkChild(AGGREGATOR_CHILD, ['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0'], ['--expose-gc', ...nodeFlags], 'aggregator', lifetimeMs, (notice) => {
    if (notice.notice === 'listening') listening?.(notice);
  });
  const exited = new Promise<never>((_, reject) => handle.child.once('exit', (code, signal) => reject(new Error(`aggregator exited at start (${signal ?? code}):\n${handle.stderr()}`))));
  exited.catch(() => undefined);
  const notice = await Promise.race([ready, exited, sleep(30_000).then(() => Promise.reject(new Error(`aggregator not listening within 30 s:\n${handle.stderr()}`)))]);
  return {
    ...handle,
    grpcPort: Number(notice.grpcPort),
    httpPort: Number(notice.httpPort),
    stop: async () => {
      await handle.ipc.call('stop', null, 30_000).catch(() => undefined);
      await waitExit(handle.child, 10_000);
    },
  };
}

/**
 * dist/bench/stream-sim.js with room for a million synthetic sockets and their tables, a young
 * generation sized for bursts of a million changes, and gc() for collecting between phases.
 */
export function startSimulator(lifetimeMs: number): ChildHandle {
  return forkChild(SIM_CHILD, [], ['--max-old-space-size=8192', '--max-semi-space-size=64', '--expose-gc'], 'simulator', lifetimeMs);
}

export interface QuerySample {
  readonly ms: number;
  readonly items: number;
  readonly bytes: number;
}

/** The aggregator's query faces, as a client sees them: HTTP/JSON (keep-alive) and gRPC List. */
export class QueryClients {
  private readonly agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  private readonly grpc: QueryServiceClient;

  constructor(
    private readonly httpPort: number,
    grpcPort: number,
  ) {
    this.grpc = new QueryServiceClient(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 1024 * 1024 * 1024 });
  }

  /** GET path; the body is read whole and parsed, as kubectl netstat would. */
  http(path: string, timeoutMs = 60_000): Promise<QuerySample> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const request = httpRequest({ host: '127.0.0.1', port: this.httpPort, path, agent: this.agent, timeout: timeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = Buffer.concat(chunks);
          if (response.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${response.statusCode}: ${body.toString('utf8').slice(0, 300)}`));
          const list = JSON.parse(body.toString('utf8')) as { items: unknown[] };
          resolve({ ms: performance.now() - started, items: list.items.length, bytes: body.length });
        });
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
      request.on('error', reject);
      request.end();
    });
  }

  /** QueryService.List; bytes = the answer's encoded size (measured after the timing). */
  list(partial: Partial<ListRequest>, timeoutMs = 60_000): Promise<QuerySample> {
    const request: ListRequest = { ...ListRequest.fromPartial({}), ...partial };
    const started = performance.now();
    return new Promise((resolve, reject) => {
      this.grpc.list(request, new Metadata(), { deadline: Date.now() + timeoutMs }, (error, response) => {
        const ms = performance.now() - started;
        if (error) return reject(new Error(`List ${JSON.stringify(partial)}: ${error.message}`));
        resolve({ ms, items: response.items.length, bytes: 0 });
      });
    });
  }

  close(): void {
    this.agent.destroy();
    this.grpc.close();
  }
}

export interface LatencyStats {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  /** Items in the answers (the last sample's; they vary under churn) and its size. */
  readonly items: number;
  readonly bytes: number;
}

/** Nearest-rank percentile. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function latencyStats(samples: readonly QuerySample[]): LatencyStats {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const last = samples.at(-1);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    mean: sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, sorted.length),
    items: last?.items ?? 0,
    bytes: last?.bytes ?? 0,
  };
}

/** `warmup` untimed runs, then `samples` sequential timed ones (a pause between them, if asked). */
export async function timeQueries(run: () => Promise<QuerySample>, samples: number, options: { warmup?: number; pauseMs?: number; until?: () => boolean } = {}): Promise<QuerySample[]> {
  for (let i = 0; i < (options.warmup ?? 5); i++) await run();
  const results: QuerySample[] = [];
  for (let i = 0; i < samples && !(options.until?.() ?? false); i++) {
    results.push(await run());
    if (options.pauseMs) await sleep(options.pauseMs);
  }
  return results;
}

/** Polls until done(value); returns the value and when it arrived (performance.now()). */
export async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean, options: { intervalMs: number; timeoutMs: number; what: string }): Promise<{ value: T; atMs: number }> {
  const deadline = performance.now() + options.timeoutMs;
  let value = await probe();
  while (!done(value)) {
    if (performance.now() > deadline) throw new Error(`${options.what}: not reached within ${options.timeoutMs / 1000} s (last: ${JSON.stringify(value)})`);
    await sleep(options.intervalMs);
    value = await probe();
  }
  return { value, atMs: performance.now() };
}
