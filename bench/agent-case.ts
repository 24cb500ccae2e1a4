import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './cpu-profile.js';
import { createFixture, destroyFixture, type Fixture } from './fixture.js';
import { procDelta, sampleProc, sampleThreads, threadBreakdown, type ProcDelta, type ProcSample } from './proc.js';
import { pollUntil, startAggregator, stderrTail, track, waitExit, type AggregatorHandle } from './stream-procs.js';
import { WireProxy, wireRates, type WireCounters, type WireRates } from './wire-proxy.js';

/**
 * The real agent's idle cost: a bench fixture of ~10k idle loopback sockets (bench/fixture.ts),
 * one `kube-netstat agent` process scanning the whole host every second, streaming to an
 * aggregator of its own through a counting proxy (bench/wire-proxy.ts). Measures the agent's
 * CPU and RSS and the wire bytes each way while nothing changes, then while bench/churn.py
 * replaces connections in one bench namespace. Then the same agent once more under a CPU
 * profiler, idle, to show where its time goes (not counted).
 */

const CLI = 'dist/cmd/bin.js';
const EXIT_WITH_PARENT = 'dist/test/support/stream/exit-with-parent.js';
const CHURN = fileURLToPath(new URL('./churn.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const NODE_NAME = 'bench-agent';

export interface AgentCaseOptions {
  readonly sockets: number;
  readonly namespaces: number;
  /** Seconds of each measured window (idle, churn). */
  readonly seconds: number;
  /** Connections replaced per second by the churn loop. */
  readonly churnRate: number;
  /** Seconds after the first snapshot before measuring (later scans, JIT warm-up). */
  readonly settleSeconds: number;
  readonly noKubeconfig: string;
  readonly lifetimeMs: number;
  readonly profilePrefix: string;
  readonly progress: (text: string) => void;
}

export interface AgentWindow {
  readonly cpu: ProcDelta;
  /** CPU ms by thread (main, named helpers, threads that ended within the window). */
  readonly threads: Record<string, number>;
  readonly wire: WireRates;
  readonly rssKb: number;
}

export interface AgentCaseResult {
  readonly fixture: { readonly heldSockets: number; readonly namespaces: number; readonly setupMs: number };
  /** Sockets in the agent's first snapshot (the whole host: fixture + everything else). */
  readonly snapshotSockets: number;
  readonly startupMs: number;
  readonly startupCpuMs: number;
  readonly idle: AgentWindow;
  readonly churn: AgentWindow & { readonly replacedPerSecond: number; readonly replaced: number };
  readonly hwmKb: number;
  readonly aggregatorHolds: number;
  readonly profile?: ProfileSummary & { file: string; seconds: number };
  readonly wireTotals: WireCounters;
}

interface RunningAgent {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly snapshotAt: Promise<number>;
  readonly stderr: () => string;
}

function startAgent(aggregatorPort: number, options: AgentCaseOptions, profile?: { dir: string; name: string }): RunningAgent {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: options.noKubeconfig, LOG_LEVEL: 'info' };
  for (const key of ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'NODE_NAME', 'NODE_OPTIONS']) delete env[key];
  const argv = [
    '--import',
    `./${EXIT_WITH_PARENT}`,
    ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile.dir}`, `--cpu-prof-name=${profile.name}`] : []),
    CLI,
    'agent',
    '--aggregator',
    `127.0.0.1:${aggregatorPort}`,
    '--node-name',
    NODE_NAME,
    '--interval',
    '1s',
    '--proc-root',
    '/proc',
  ];
  const child = track(spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env }));
  const stderr = stderrTail(child, 16_384);
  const snapshotAt = new Promise<number>((resolve, reject) => {
    let partial = '';
    const timer = setTimeout(() => reject(new Error(`agent: no snapshot within 120 s:\n${stderr()}`)), 120_000);
    child.stderr!.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      if (lines.some((line) => line.includes('"snapshot sent"'))) {
        clearTimeout(timer);
        resolve(performance.now());
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`agent exited (${signal ?? code}) before its snapshot:\n${stderr()}`));
    });
  });
  snapshotAt.catch(() => undefined);
  return { child, pid: child.pid!, snapshotAt, stderr };
}

async function stopAgent(agent: RunningAgent): Promise<void> {
  if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGTERM');
  await waitExit(agent.child, 15_000);
}

/** churn.py in the namespace; resolves once its pool is up. */
async function startChurn(fixture: Fixture, rate: number, seconds: number): Promise<{ child: ChildProcess; done: Promise<number> }> {
  const ns = fixture.namespaces[0]!;
  const child = track(spawn('nsenter', [`--net=${ns.path}`, PYTHON, CHURN, `--rate=${rate}`, `--duration=${seconds}`, '--pool=200'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const stderr = stderrTail(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = (async () => {
    const deadline = performance.now() + 30_000;
    while (!out.includes('READY')) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`churn.py exited early:\n${stderr()}`);
      if (performance.now() > deadline) throw new Error(`churn.py not ready within 30 s:\n${stderr()}`);
      await sleep(50);
    }
  })();
  await ready;
  const done = exited.then(() => Number(/DONE replaced=(\d+)/.exec(out)?.[1] ?? NaN));
  return { child, done };
}

interface WindowEdge {
  readonly proc: ProcSample;
  readonly threads: ReturnType<typeof sampleThreads>;
  readonly wire: WireCounters;
}

function edge(pid: number, proxy: WireProxy): WindowEdge {
  return { threads: sampleThreads(pid), proc: sampleProc(pid), wire: proxy.counters() };
}

function measureWindow(pid: number, from: WindowEdge, to: WindowEdge): AgentWindow {
  return { cpu: procDelta(from.proc, to.proc), threads: threadBreakdown(pid, from, to), wire: wireRates(from.wire, to.wire), rssKb: to.proc.rssKb };
}

/** TIME_WAIT sockets on this host (its namespace's tcp and tcp6 tables): each expiry is a change the agent reports. */
function timeWaitSockets(): number {
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    // Column 4 is the state; 06 is TIME_WAIT.
    for (const line of readFileSync(table, 'latin1').split('\n').slice(1)) if (line.trim().split(/\s+/)[3] === '06') count++;
  }
  return count;
}

/**
 * Waits, at most a TIME_WAIT's lifetime, for the host's TIME_WAIT sockets left by whatever ran
 * before (a previous bench run's thousand connections, the test suite) to expire: otherwise the
 * agent's idle window counts them expiring as changes, and its idle CPU with them.
 */
async function waitForTimeWaits(progress: (text: string) => void): Promise<void> {
  const left = timeWaitSockets();
  if (left <= TIME_WAIT_QUIET) return;
  progress(`waiting for ${left.toLocaleString('en-US')} TIME_WAIT sockets on this host to expire (at most 65 s)`);
  const deadline = performance.now() + 65_000;
  while (timeWaitSockets() > TIME_WAIT_QUIET && performance.now() < deadline) await sleep(1_000);
}

/** TIME_WAIT sockets the idle window may see expire: a few a second at most. */
const TIME_WAIT_QUIET = 50;

export async function runAgentCase(options: AgentCaseOptions): Promise<AgentCaseResult> {
  const { progress } = options;
  await waitForTimeWaits(progress);
  progress(`creating ${options.namespaces} namespaces with ~${options.sockets.toLocaleString('en-US')} idle sockets`);
  const fixture = await createFixture({
    sockets: options.sockets,
    namespaces: options.namespaces,
    lifetimeSeconds: Math.ceil(options.lifetimeMs / 1000),
    closeWait: 5,
    // No TIME_WAIT: it would expire (a change) in the middle of the idle window.
    timeWait: 0,
    setupTimeoutMs: 180_000,
  });
  let aggregator: AggregatorHandle | undefined;
  let proxy: WireProxy | undefined;
  let agent: RunningAgent | undefined;
  let churn: { child: ChildProcess; done: Promise<number> } | undefined;
  try {
    aggregator = await startAggregator(options.lifetimeMs);
    proxy = await WireProxy.start(aggregator.grpcPort);
    progress(`fixture: ${fixture.heldSockets.toLocaleString('en-US')} sockets; starting the agent (interval 1 s, whole host)`);
    const spawnedAt = performance.now();
    agent = startAgent(proxy.port, options);
    const snapshotAt = await agent.snapshotAt;
    const startupCpuMs = sampleProc(agent.pid).cpuMs;
    // The snapshot counts once the aggregator has applied it (the proxy has read it by then).
    const handle = aggregator;
    await pollUntil(() => handle.ipc.call<{ synced: number }>('progress'), (p) => p.synced === 1, { intervalMs: 50, timeoutMs: 60_000, what: 'the agent snapshot applied' });
    const snapshotSockets = proxy.counters().snapshotSockets;
    progress(`agent snapshot: ${snapshotSockets.toLocaleString('en-US')} sockets after ${((snapshotAt - spawnedAt) / 1000).toFixed(1)} s; settling ${options.settleSeconds} s`);
    await sleep(options.settleSeconds * 1000);

    progress(`idle window ${options.seconds} s`);
    const idleFrom = edge(agent.pid, proxy);
    await sleep(options.seconds * 1000);
    const idleTo = edge(agent.pid, proxy);
    const idle = measureWindow(agent.pid, idleFrom, idleTo);

    progress(`churn window ${options.seconds} s: ${options.churnRate} connections replaced per second in ${fixture.namespaces[0]!.name}`);
    churn = await startChurn(fixture, options.churnRate, options.seconds + 4);
    await sleep(2_000);
    const churnFrom = edge(agent.pid, proxy);
    await sleep(options.seconds * 1000);
    const churnTo = edge(agent.pid, proxy);
    const replaced = await Promise.race([churn.done, sleep(15_000).then(() => NaN)]);
    const churnWindow = measureWindow(agent.pid, churnFrom, churnTo);
    const hwmKb = sampleProc(agent.pid).hwmKb;
    const held = await aggregator.ipc.call<{ sockets: number }>('progress');
    const wireTotals = proxy.counters();
    await stopAgent(agent);
    agent = undefined;

    // The same agent under the CPU profiler, idle (the churn namespace settled), start-up cut off.
    let profile: AgentCaseResult['profile'];
    {
      progress(`profiled agent run (not counted): idle ${options.seconds} s`);
      await sleep(2_000);
      const dir = options.profilePrefix.slice(0, options.profilePrefix.lastIndexOf('/')) || '.';
      const name = `${options.profilePrefix.slice(options.profilePrefix.lastIndexOf('/') + 1)}-agent-idle.cpuprofile`;
      const started = performance.now();
      const profiled = startAgent(proxy.port, options, { dir, name });
      agent = profiled;
      const snapAt = await profiled.snapshotAt;
      const skipMs = snapAt - started + options.settleSeconds * 1000;
      await sleep(options.settleSeconds * 1000 + options.seconds * 1000);
      await stopAgent(profiled);
      agent = undefined;
      const file = `${dir}/${name}`;
      try {
        const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, { skipFirstMs: skipMs });
        profile = { ...summary, file, seconds: options.seconds };
      } catch (error) {
        progress(`agent profile unreadable (${error instanceof Error ? error.message : String(error)})`);
        rmSync(file, { force: true });
      }
    }

    return {
      fixture: { heldSockets: fixture.heldSockets, namespaces: options.namespaces, setupMs: fixture.setupMs },
      snapshotSockets,
      startupMs: snapshotAt - spawnedAt,
      startupCpuMs,
      idle,
      churn: { ...churnWindow, replaced, replacedPerSecond: options.churnRate },
      hwmKb,
      aggregatorHolds: held.sockets,
      ...(profile && { profile }),
      wireTotals,
    };
  } finally {
    if (agent) await stopAgent(agent);
    if (churn) {
      churn.child.stdin?.end();
      await waitExit(churn.child, 10_000);
    }
    await proxy?.stop();
    await aggregator?.stop();
    await destroyFixture(fixture);
  }
}
