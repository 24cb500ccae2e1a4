import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/**
 * The bench's own network namespaces, each with socket-holder processes (bench/holder.py)
 * holding loopback TCP connections. Everything created here is recorded at once and removed
 * by destroyFixture, by the exit hook, or by the signal traps (installCleanupTraps).
 */

const HOLDER = fileURLToPath(new URL('./holder.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const NAME_PREFIX = 'kns-bench-';
/** Our names: kns-bench-<bench pid>-<random>-<index>; the pid lets a later run sweep orphans. */
const OUR_NAME = /^kns-bench-(\d+)-[0-9a-f]+-\d+$/;
/** Connections per holder: two fds each, kept well under the 20,000-fd hard limit. */
const MAX_CONNECTIONS_PER_HOLDER = 9_000;
/** Ephemeral ports available inside each bench namespace. */
const PORT_RANGE = '1024 65535';
const MAX_CONNECTIONS_PER_NAMESPACE = 60_000;
const COMMAND_TIMEOUT_MS = 20_000;

export interface FixtureOptions {
  /** Sockets to hold in total (connections = sockets / 2), spread evenly. */
  readonly sockets: number;
  readonly namespaces: number;
  /** Holders exit on their own after this long, whatever happens to the bench. */
  readonly lifetimeSeconds: number;
  /** Extra CLOSE_WAIT and TIME_WAIT connections per namespace (made by its first holder). */
  readonly closeWait: number;
  readonly timeWait: number;
  /** Bound on setting everything up. */
  readonly setupTimeoutMs: number;
}

export interface BenchNamespace {
  readonly name: string;
  /** For nsenter --net= and kube-netstat --netns. */
  readonly path: string;
  readonly holderPids: number[];
  /** Sockets the holders reported holding (connections × 2 + listeners + CLOSE_WAIT clients). */
  heldSockets: number;
}

export interface Fixture {
  readonly runId: string;
  readonly namespaces: BenchNamespace[];
  readonly heldSockets: number;
  readonly setupMs: number;
}

/** Everything alive that this process created: what cleanupSync removes. */
const liveNamespaces = new Set<string>();
const liveHolders = new Set<ChildProcess>();
const cleanupHooks: (() => void)[] = [];

function run(argv: readonly string[]): void {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  if (result.error) throw new Error(`${argv.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${argv.join(' ')}: exit ${result.status}: ${result.stderr.trim()}`);
}

function listNetns(): string[] {
  const result = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  return (result.stdout ?? '')
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.length > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes kns-bench namespaces left behind by bench runs that no longer exist (SIGKILLed). */
export function sweepOrphans(): string[] {
  const swept: string[] = [];
  for (const name of listNetns()) {
    const owner = OUR_NAME.exec(name)?.[1];
    if (owner === undefined || Number(owner) === process.pid || alive(Number(owner))) continue;
    spawnSync('ip', ['netns', 'delete', name], { timeout: COMMAND_TIMEOUT_MS });
    swept.push(name);
  }
  return swept;
}

/** Synchronous, idempotent, safe from an exit hook: kill our holders, delete our namespaces. */
export function cleanupSync(): void {
  for (const hook of cleanupHooks) hook();
  for (const holder of liveHolders) {
    if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
  }
  liveHolders.clear();
  for (const name of liveNamespaces) {
    spawnSync('ip', ['netns', 'delete', name], { timeout: COMMAND_TIMEOUT_MS });
  }
  liveNamespaces.clear();
}

/** Cleanup on normal exit, on uncaught errors, and on SIGINT/SIGTERM/SIGHUP. */
export function installCleanupTraps(...hooks: (() => void)[]): void {
  cleanupHooks.push(...hooks);
  process.on('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      cleanupSync();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** Splits `total` into `parts` near-equal integers, the larger ones first. */
function spread(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

interface HolderSpec {
  readonly connections: number;
  readonly closeWait: number;
  readonly timeWait: number;
}

function startHolder(ns: BenchNamespace, spec: HolderSpec, options: FixtureOptions, deadline: number): Promise<number> {
  const argv = [
    `--net=${ns.path}`,
    PYTHON,
    HOLDER,
    `--connections=${spec.connections}`,
    `--close-wait=${spec.closeWait}`,
    `--time-wait=${spec.timeWait}`,
    `--lifetime=${options.lifetimeSeconds}`,
    `--port-range=${PORT_RANGE}`,
  ];
  // nsenter execs the holder in place: the child's pid is the holder's pid.
  const child = spawn('nsenter', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  liveHolders.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`holder in ${ns.name}: ${why}${err ? `: ${err.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail('not ready before the setup timeout'), Math.max(0, deadline - Date.now()));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err = (err + chunk).slice(-4000)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const ready = /READY pid=(\d+) sockets=(\d+)/.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      ns.holderPids.push(Number(ready[1]));
      ns.heldSockets += Number(ready[2]);
      resolve(Number(ready[1]));
    });
    child.on('exit', (code, signal) => fail(`exited early (${signal ?? `exit ${code}`})`));
    child.on('error', (error) => fail(error.message));
  }).finally(() => {
    child.removeAllListeners('exit');
    child.on('exit', () => liveHolders.delete(child));
  }) as Promise<number>;
}

export async function createFixture(options: FixtureOptions): Promise<Fixture> {
  const started = Date.now();
  const deadline = started + options.setupTimeoutMs;
  const runId = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const perNamespace = spread(Math.round(options.sockets / 2), options.namespaces);
  if ((perNamespace[0] ?? 0) > MAX_CONNECTIONS_PER_NAMESPACE) {
    throw new Error(`${perNamespace[0]} connections in one namespace exceed ${MAX_CONNECTIONS_PER_NAMESPACE}: use more --namespaces`);
  }

  const namespaces: BenchNamespace[] = [];
  for (let i = 0; i < options.namespaces; i++) {
    const name = `${NAME_PREFIX}${runId}-${i}`;
    liveNamespaces.add(name);
    run(['ip', 'netns', 'add', name]);
    run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    namespaces.push({ name, path: `/run/netns/${name}`, holderPids: [], heldSockets: 0 });
  }

  // Holders connect in parallel, a few namespaces at a time (2 cores).
  const jobs: (() => Promise<number>)[] = [];
  namespaces.forEach((ns, i) => {
    const connections = perNamespace[i] ?? 0;
    const holders = Math.max(1, Math.ceil(connections / MAX_CONNECTIONS_PER_HOLDER));
    spread(connections, holders).forEach((count, h) => {
      const extras = h === 0 ? { closeWait: options.closeWait, timeWait: options.timeWait } : { closeWait: 0, timeWait: 0 };
      jobs.push(() => startHolder(ns, { connections: count, ...extras }, options, deadline));
    });
  });
  const queue = [...jobs];
  const workers = Array.from({ length: 4 }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  });
  await Promise.all(workers);

  const heldSockets = namespaces.reduce((sum, ns) => sum + ns.heldSockets, 0);
  return { runId, namespaces, heldSockets, setupMs: Date.now() - started };
}

/** Lets holders exit (stdin EOF), SIGKILLs stragglers, deletes the namespaces. Bounded in time. */
export async function destroyFixture(fixture: Fixture): Promise<void> {
  const exits = [...liveHolders].map(
    (holder) =>
      new Promise<void>((resolve) => {
        if (holder.exitCode !== null || holder.signalCode !== null) return resolve();
        const timer = setTimeout(() => holder.kill('SIGKILL'), 10_000);
        holder.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        holder.stdin?.end();
      }),
  );
  await Promise.all(exits);
  liveHolders.clear();
  for (const ns of fixture.namespaces) {
    spawnSync('ip', ['netns', 'delete', ns.name], { timeout: COMMAND_TIMEOUT_MS });
    liveNamespaces.delete(ns.name);
  }
}

/** Names of every network namespace under /run/netns (to report foreign ones in the scan). */
export function otherNamedNamespaces(fixture: Fixture): string[] {
  const ours = new Set(fixture.namespaces.map((ns) => ns.name));
  return listNetns().filter((name) => !ours.has(name));
}
