import { setTimeout as sleep } from 'node:timers/promises';
import type { ProfileSummary } from './cpu-profile.js';
import type { IpcClient } from './ipc.js';
import { procDelta, RssPeaks, sampleProc, type ProcDelta, type ProcSample } from './proc.js';
import { runPluginCase, type PluginCaseResult } from './plugin-case.js';
import { podsPerNode } from './synthetic.js';
import { latencyStats, pollUntil, QueryClients, startAggregator, startSimulator, timeQueries, waitExit, type LatencyStats, type QuerySample } from './stream-procs.js';
import { KUBELET_PORT } from './synthetic.js';

/**
 * The simulated cluster: N agents (bench/stream-sim.ts, one process, one gRPC connection each)
 * streaming synthetic tables of M sockets into one aggregator (bench/aggregator-child.ts, its
 * own process). Measures the snapshot ingest, delta ingest bursts, the aggregator's memory
 * holding N×M sockets, its idle cost and wire bytes, query latency at rest and under steady
 * churn, and CPU profiles of one extra burst and one extra query batch (not counted).
 */

export interface ClusterOptions {
  readonly nodes: number;
  readonly socketsPerNode: number;
  /** Changes per node in each ingest burst. */
  readonly burstChangesPerNode: number;
  readonly bursts: number;
  /** Steady churn: changes per node per second, for steadySeconds. */
  readonly churnPerNode: number;
  readonly steadySeconds: number;
  readonly idleSeconds: number;
  readonly querySamples: number;
  readonly heartbeatMs: number;
  readonly lifetimeMs: number;
  /** Flags for the aggregator's node process (--aggregator-node-flags); none by default, as the product runs. */
  readonly aggregatorNodeFlags: readonly string[];
  /** Bound on each wait (snapshot, burst, lag). */
  readonly phaseTimeoutMs: number;
  /** Where the CPU profiles go (.bench/<stamp>-...cpuprofile). */
  readonly profilePrefix: string;
  readonly progress: (text: string) => void;
  /** Rounds of `kubectl netstat` vs `kubectl get pods` as processes; 0 skips the plugin case. */
  readonly pluginRounds: number;
  /** The checkout (its bin/kubectl-netstat.js is what kubectl runs). */
  readonly repo: string;
}

/** What aggregator-child's `progress` answers. */
export interface Progress {
  readonly atMs: number;
  readonly nodes: number;
  readonly synced: number;
  readonly sockets: number;
  readonly marked: number;
}

interface Memory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly mallocedMemory: number;
  /** Resident KiB by kind of mapping: [heap] (the C heap), anonymous, file, [stack]. */
  readonly residentKb: Record<string, number>;
  readonly heapSizeLimit: number;
  readonly spaces: Record<string, { size: number; used: number }>;
}

export interface PeakMemory {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface PhaseCpu {
  readonly aggregator: ProcDelta;
  readonly simulator: ProcDelta;
}

export interface BurstResult {
  readonly round: number;
  readonly changes: number;
  readonly upserted: number;
  readonly removed: number;
  /** From the offer to every node's last change applied in the aggregator. */
  readonly ms: number;
  readonly changesPerSecond: number;
  /** When the simulator had handed its last message to HTTP/2 (ms after the offer). */
  readonly writtenMs: number;
  readonly cpu: PhaseCpu;
  /** Changes per second of aggregator CPU: what it could take with a core to itself. */
  readonly changesPerAggregatorCpuSecond: number;
  readonly profiled: boolean;
  /** The aggregator's garbage collections during the burst, by kind (count, ms on the main thread). */
  readonly collections: Record<string, { count: number; ms: number }>;
  /** Leak-rule evaluations that ended during the burst (count, wall ms): background work its CPU includes. */
  readonly evaluations: { count: number; ms: number };
}

export interface QueryCase {
  readonly id: string;
  readonly label: string;
  readonly transport: 'HTTP' | 'gRPC';
  readonly stats: LatencyStats;
}

type Profile = ProfileSummary & { file: string };
export interface Profiles {
  /** One extra idle window (not counted): what the aggregator spends with nothing changing. */
  idle?: Profile;
  burst?: Profile;
  simulatorBurst?: Profile;
  query?: Profile;
}

export interface ClusterResult {
  readonly nodes: number;
  /** Flags the aggregator's node process ran with beyond the product's (none unless asked for). */
  readonly aggregatorNodeFlags: readonly string[];
  readonly socketsPerNode: number;
  readonly sockets: number;
  readonly wireBytesPerSocket: number;
  readonly simBuildMs: number;
  readonly snapshot: { readonly ms: number; readonly socketsPerSecond: number; readonly writtenMs: number; readonly cpu: PhaseCpu; readonly verified: Progress };
  readonly memoryAt: { readonly proc: ProcSample; readonly process: Memory };
  readonly idle: { readonly cpu: PhaseCpu; readonly seconds: number };
  readonly queriesAtRest: QueryCase[];
  /** The kubectl-netstat plugin over this cluster (absent with --plugin-rounds 0). */
  readonly plugin: PluginCaseResult | undefined;
  readonly bursts: BurstResult[];
  readonly steady: {
    readonly perNodePerSecond: number;
    readonly seconds: number;
    readonly offered: number;
    readonly offeredPerSecond: number;
    readonly simulatorMaxLagMs: number;
    /** From the simulator's last offer to the aggregator holding every node's marker. */
    readonly catchUpMs: number;
    readonly cpu: PhaseCpu;
    readonly query: QueryCase;
  };
  readonly profiles: Profiles;
  readonly end: {
    readonly proc: ProcSample;
    readonly process: Memory;
    readonly afterGc: { readonly process: Memory; readonly rssKb: number };
    /** The process's own figures at its highest sampled RSS. */
    readonly atPeak: PeakMemory;
    readonly store: { nodes: number; sockets: number; wireBytes: number; chunkBytes: number; reservedBytes: number; keyChars: number; withPod: number };
    readonly logs: Record<string, number>;
    readonly simulatorEvents: { events: Record<string, number>; errors: string[]; pending: number };
  };
  readonly simulatorPeakRssKb: number;
  /** The aggregator's highest RSS in each phase (KiB). */
  readonly aggregatorPeakRssKbByPhase: Record<string, number>;
}

function cpuBetween(aggregator: [ProcSample, ProcSample], simulator: [ProcSample, ProcSample]): PhaseCpu {
  return { aggregator: procDelta(aggregator[0], aggregator[1]), simulator: procDelta(simulator[0], simulator[1]) };
}

/** The filtered cluster-wide query of the target: one namespace's CLOSE_WAIT sockets on every node. */
export const TARGET_NAMESPACE = 'shop';

export async function runCluster(options: ClusterOptions): Promise<ClusterResult> {
  const { nodes, socketsPerNode, progress } = options;
  const aggregator = await startAggregator(options.lifetimeMs, options.aggregatorNodeFlags);
  const sim = startSimulator(options.lifetimeMs);
  const queries = new QueryClients(aggregator.httpPort, aggregator.grpcPort);
  const aggProgress = (): Promise<Progress> => aggregator.ipc.call<Progress>('progress', null, 30_000);
  /** Stops a process's CPU profile and writes it to <profilePrefix>-<process>-<phase>.cpuprofile. */
  const stopProfiling = async (ipc: IpcClient, who: 'aggregator' | 'simulator', phase: string): Promise<Profile> => {
    const file = `${options.profilePrefix}-${who}-${phase}.cpuprofile`;
    return { ...(await ipc.call<ProfileSummary>('profileStop', { file })), file };
  };
  const both = (): [ProcSample, ProcSample] => [sampleProc(aggregator.pid), sampleProc(sim.pid)];
  const peaks = new RssPeaks(aggregator.pid);
  try {
    progress(`building ${nodes} synthetic nodes × ${socketsPerNode} sockets`);
    const built = await sim.ipc.call<{ buildMs: number; sockets: number; wireBytesPerSocket: number }>(
      'init',
      { address: `127.0.0.1:${aggregator.grpcPort}`, nodes, sockets: socketsPerNode, seed: 1, heartbeatMs: options.heartbeatMs },
      options.phaseTimeoutMs,
    );
    const expected = built.sockets;
    progress(`${expected.toLocaleString('en-US')} sockets built in ${(built.buildMs / 1000).toFixed(1)} s (${built.wireBytesPerSocket.toFixed(0)} wire bytes each); ${nodes} agents connecting at once`);

    // 1. Snapshot: every agent connects and sends its table; done when every node is synced
    //    and the aggregator holds every socket (its snapshot is applied whole, at its last chunk).
    peaks.phase('snapshot');
    const [a0, s0] = both();
    const connected = sim.ipc.call<{ writtenMs: number }>('connect', { timeoutMs: options.phaseTimeoutMs }, options.phaseTimeoutMs + 5_000);
    const snap = await pollUntil(aggProgress, (p) => p.synced === nodes && p.sockets === expected, { intervalMs: 20, timeoutMs: options.phaseTimeoutMs, what: 'snapshot ingest' });
    const [a1, s1] = both();
    const written = await connected;
    const snapshotMs = snap.atMs - a0.atMs;
    progress(`snapshot ingest: ${expected.toLocaleString('en-US')} sockets in ${(snapshotMs / 1000).toFixed(2)} s`);

    await sleep(3_000);
    const memoryAt = { proc: sampleProc(aggregator.pid), process: await aggregator.ipc.call<Memory>('memory') };
    progress(`aggregator RSS holding ${expected.toLocaleString('en-US')} sockets: ${(memoryAt.proc.rssKb / 1024).toFixed(0)} MiB`);

    // 2. Idle: every agent connected, nothing changes — heartbeats only.
    peaks.phase('idle');
    progress(`idle window ${options.idleSeconds} s`);
    const [i0, is0] = both();
    await sleep(options.idleSeconds * 1000);
    const [i1, is1] = both();
    // One more idle window, under the profiler (not counted): heartbeats, timers, the leak rules' pass.
    const profiles: Profiles = {};
    progress(`profiled idle window ${options.idleSeconds} s (not counted)`);
    await aggregator.ipc.call('profileStart');
    await sleep(options.idleSeconds * 1000);
    profiles.idle = await stopProfiling(aggregator.ipc, 'aggregator', 'idle');

    // 3. Queries at rest.
    peaks.phase('queries');
    const samples = options.querySamples;
    const filtered = `namespace=${TARGET_NAMESPACE}&state=close-wait`;
    const queriesAtRest: QueryCase[] = [];
    const measure = async (id: string, label: string, transport: 'HTTP' | 'gRPC', run: () => Promise<QuerySample>, n: number): Promise<QueryCase> => {
      progress(`query ${label} (${transport}) × ${n}`);
      const stats = latencyStats(await timeQueries(run, n));
      const result = { id, label, transport, stats };
      queriesAtRest.push(result);
      return result;
    };
    await measure('filtered-http', `?${filtered}`, 'HTTP', () => queries.http(`/api/v1/sockets?${filtered}`), samples);
    await measure('filtered-grpc', `List namespaces=[${TARGET_NAMESPACE}] states=[close-wait]`, 'gRPC', () => queries.list({ namespaces: [TARGET_NAMESPACE], states: ['close-wait'] }), samples);
    await measure('state-grpc', 'List states=[close-wait] (every namespace)', 'gRPC', () => queries.list({ states: ['close-wait'] }), Math.max(10, Math.round(samples / 5)));
    await measure('nomatch-http', '?port=1 (scans every socket, matches none)', 'HTTP', () => queries.http('/api/v1/sockets?port=1'), Math.max(10, Math.round(samples / 2)));
    await measure('kubelet-http', `?port=${KUBELET_PORT}&state=listening (one per node)`, 'HTTP', () => queries.http(`/api/v1/sockets?port=${KUBELET_PORT}&state=listening`), Math.max(10, Math.round(samples / 5)));

    // The plugin over the same cluster: its common queries, and kubectl netstat as a whole process.
    const plugin = options.pluginRounds > 0 ? await runPluginCase({ httpPort: aggregator.httpPort, pods: nodes * podsPerNode(socketsPerNode), samples: Math.max(10, Math.round(samples / 4)), rounds: options.pluginRounds, repo: options.repo, progress }) : undefined;

    // 4. Delta ingest bursts: every node's changes offered at once; done when every node's
    //    round marker (its last upsert, in its last message) is in the aggregator.
    const bursts: BurstResult[] = [];
    let round = 0;
    peaks.phase('bursts');
    for (let r = 0; r < options.bursts + 1; r++) {
      const profiled = r === options.bursts;
      round++;
      const prepared = await sim.ipc.call<{ upserted: number; removed: number; markers: [string, string][] }>('prepare', { changesPerNode: options.burstChangesPerNode, round }, options.phaseTimeoutMs);
      await aggregator.ipc.call('setMarkers', { entries: prepared.markers });
      const changes = prepared.upserted + prepared.removed;
      progress(`burst ${profiled ? '(profiled, not counted)' : `${r + 1}/${options.bursts}`}: ${changes.toLocaleString('en-US')} changes`);
      if (profiled) await Promise.all([aggregator.ipc.call('profileStart'), sim.ipc.call('profileStart')]);
      await Promise.all([aggregator.ipc.call('collections'), aggregator.ipc.call('evaluations')]);
      const [b0, bs0] = both();
      const wrote = sim.ipc.call<{ writtenMs: number }>('go', { timeoutMs: options.phaseTimeoutMs }, options.phaseTimeoutMs + 5_000);
      const done = await pollUntil(aggProgress, (p) => p.marked === nodes, { intervalMs: 20, timeoutMs: options.phaseTimeoutMs, what: `burst ${round}` });
      const [b1, bs1] = both();
      const collections = await aggregator.ipc.call<Record<string, { count: number; ms: number }>>('collections');
      const evaluations = await aggregator.ipc.call<{ count: number; ms: number }>('evaluations');
      if (profiled) {
        profiles.burst = await stopProfiling(aggregator.ipc, 'aggregator', 'burst');
        await wrote;
        profiles.simulatorBurst = await stopProfiling(sim.ipc, 'simulator', 'burst');
      }
      const ms = done.atMs - b0.atMs;
      const cpu = cpuBetween([b0, b1], [bs0, bs1]);
      bursts.push({
        round,
        changes,
        upserted: prepared.upserted,
        removed: prepared.removed,
        ms,
        changesPerSecond: changes / (ms / 1000),
        writtenMs: (await wrote).writtenMs,
        cpu,
        changesPerAggregatorCpuSecond: changes / (cpu.aggregator.cpuMs / 1000),
        profiled,
        collections,
        evaluations,
      });
      progress(`  ${(changes / (ms / 1000)).toLocaleString('en-US', { maximumFractionDigits: 0 })} changes/s (aggregator ${(100 * cpu.aggregator.cores).toFixed(0)}% of a core, simulator ${(100 * cpu.simulator.cores).toFixed(0)}%)`);
      await sleep(1_000);
    }

    // 5. Steady churn at the asked rate, with the target query running alongside.
    round++;
    peaks.phase('steady churn');
    progress(`steady churn: ${options.churnPerNode} changes/node/s × ${nodes} nodes for ${options.steadySeconds} s, querying meanwhile`);
    const [c0, cs0] = both();
    let steadyDone = false;
    const steadyCall = sim.ipc
      .call<{ offered: number; maxLagMs: number; elapsedMs: number; markers: [string, string][] }>('steady', { perNodePerSecond: options.churnPerNode, seconds: options.steadySeconds, round }, options.steadySeconds * 1000 + options.phaseTimeoutMs)
      .finally(() => (steadyDone = true));
    await sleep(1_500);
    const underChurn = await timeQueries(() => queries.http(`/api/v1/sockets?${filtered}`), 100_000, { warmup: 0, pauseMs: 100, until: () => steadyDone });
    const steady = await steadyCall;
    const [c1, cs1] = both();
    await aggregator.ipc.call('setMarkers', { entries: steady.markers });
    const caught = await pollUntil(aggProgress, (p) => p.marked === nodes, { intervalMs: 20, timeoutMs: options.phaseTimeoutMs, what: 'steady churn catch-up' });
    const steadyResult = {
      perNodePerSecond: options.churnPerNode,
      seconds: steady.elapsedMs / 1000,
      offered: steady.offered,
      offeredPerSecond: steady.offered / (steady.elapsedMs / 1000),
      simulatorMaxLagMs: steady.maxLagMs,
      catchUpMs: caught.atMs - c1.atMs,
      cpu: cpuBetween([c0, c1], [cs0, cs1]),
      query: { id: 'filtered-http-churn', label: `?${filtered}, under steady churn`, transport: 'HTTP' as const, stats: latencyStats(underChurn) },
    };

    // 6. One profiled batch of the target query (not counted).
    peaks.phase('end');
    progress('profiled query batch (not counted)');
    await aggregator.ipc.call('profileStart');
    await timeQueries(() => queries.http(`/api/v1/sockets?${filtered}`), Math.max(20, Math.round(samples / 4)), { warmup: 0 });
    profiles.query = await stopProfiling(aggregator.ipc, 'aggregator', 'query');

    // 7. Memory at the end, what is live after a full GC, what the store holds, what was logged.
    const endProc = sampleProc(aggregator.pid);
    const endProcess = await aggregator.ipc.call<Memory>('memory');
    const atPeak = await aggregator.ipc.call<PeakMemory>('atPeak');
    const store = await aggregator.ipc.call<ClusterResult['end']['store']>('storeStats', null, 120_000);
    const afterGcProcess = await aggregator.ipc.call<Memory>('gc', null, 120_000);
    const afterGc = { process: afterGcProcess, rssKb: sampleProc(aggregator.pid).rssKb };
    const logs = await aggregator.ipc.call<Record<string, number>>('logs');
    const simulatorEvents = await sim.ipc.call<ClusterResult['end']['simulatorEvents']>('events');
    const simulatorPeakRssKb = sampleProc(sim.pid).hwmKb;

    return {
      nodes,
      aggregatorNodeFlags: options.aggregatorNodeFlags,
      socketsPerNode,
      sockets: expected,
      wireBytesPerSocket: built.wireBytesPerSocket,
      simBuildMs: built.buildMs,
      snapshot: { ms: snapshotMs, socketsPerSecond: expected / (snapshotMs / 1000), writtenMs: written.writtenMs, cpu: cpuBetween([a0, a1], [s0, s1]), verified: snap.value },
      memoryAt,
      idle: { cpu: cpuBetween([i0, i1], [is0, is1]), seconds: options.idleSeconds },
      queriesAtRest,
      plugin,
      bursts,
      steady: steadyResult,
      profiles,
      end: { proc: endProc, process: endProcess, afterGc, atPeak, store, logs, simulatorEvents },
      simulatorPeakRssKb,
      aggregatorPeakRssKbByPhase: peaks.peaksKb,
    };
  } finally {
    peaks.stop();
    queries.close();
    progress('stopping the simulated agents and the aggregator');
    await sim.ipc.call('stop', null, 30_000).catch(() => undefined);
    await waitExit(sim.child, 10_000);
    await aggregator.stop();
  }
}
