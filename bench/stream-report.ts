import type { AgentCaseResult } from './agent-case.js';
import type { ProfileSummary } from './cpu-profile.js';
import { fmtInt, table } from './report.js';
import type { PluginCaseResult } from './plugin-case.js';
import type { ReplayResult } from './replay.js';
import type { ClusterResult, PhaseCpu, QueryCase } from './stream-cluster.js';
import { stats } from './timing.js';

/** The streaming bench's plain-text tables and its targets (design.md, "Performance budget"). */

export const STREAM_TARGETS = {
  ingestChangesPerSecond: 500_000,
  rssBytes: 1024 ** 3,
  queryP99Ms: 50,
  agentIdleCoreShare: 0.02,
  atSockets: 1_000_000,
  agentSockets: 10_000,
} as const;

export interface StreamTarget {
  readonly what: string;
  readonly measured: number;
  readonly unit: string;
  readonly goal: string;
  readonly pass: boolean;
  /** Set when the run was not at the scale the target is stated for. */
  readonly scaleNote?: string;
}

const MiB = 1024 * 1024;
/** A number as the reports print it: rounded to `digits`, with thousands separators; '-' when not finite. */
export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');
const ms = (n: number): string => (Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : fmt(n)) : '-');
const pct = (share: number): string => `${(100 * share).toFixed(share < 0.1 ? 2 : 1)}%`;
const mib = (bytes: number): string => fmt(bytes / MiB);
const perSecond = (n: number): string => fmt(n);

/** Median ingest rate of the counted bursts. */
export function medianBurstRate(cluster: ClusterResult): number {
  return stats(cluster.bursts.filter((b) => !b.profiled).map((b) => b.changesPerSecond)).median;
}

/** The note a target measured at another size than the budget's carries. */
function scaleOf(sockets: number): Pick<StreamTarget, 'scaleNote'> {
  return sockets === STREAM_TARGETS.atSockets ? {} : { scaleNote: `at ${fmtInt(sockets)} sockets, not ${fmtInt(STREAM_TARGETS.atSockets)}` };
}

export function streamTargets(cluster: ClusterResult | undefined, agent: AgentCaseResult | undefined, replay?: ReplayResult): StreamTarget[] {
  const targets: StreamTarget[] = [];
  if (replay) {
    const scale = scaleOf(replay.sockets);
    const rate = replay.medianChangesPerSecond;
    targets.push({ what: `aggregator ingest, wall clock: replayed bursts (median of ${replay.bursts.length})`, measured: rate, unit: 'changes/s', goal: `≥ ${fmtInt(STREAM_TARGETS.ingestChangesPerSecond)}`, pass: rate >= STREAM_TARGETS.ingestChangesPerSecond, ...scale });
  }
  if (cluster) {
    const scale = scaleOf(cluster.sockets);
    const counted = cluster.bursts.filter((b) => !b.profiled).length;
    const rate = medianBurstRate(cluster);
    targets.push({ what: `aggregator ingest, wall clock: simulated agents' bursts (median of ${counted}; the simulator is the limit)`, measured: rate, unit: 'changes/s', goal: `≥ ${fmtInt(STREAM_TARGETS.ingestChangesPerSecond)}`, pass: rate >= STREAM_TARGETS.ingestChangesPerSecond, ...scale });
    const capacity = stats(cluster.bursts.filter((b) => !b.profiled).map((b) => b.changesPerAggregatorCpuSecond)).median;
    targets.push({
      what: 'aggregator ingest capacity: changes per aggregator CPU-second (median)',
      measured: capacity,
      unit: 'changes/s',
      goal: `≥ ${fmtInt(STREAM_TARGETS.ingestChangesPerSecond)}`,
      pass: capacity >= STREAM_TARGETS.ingestChangesPerSecond,
      ...scale,
    });
    const rss = cluster.memoryAt.proc.rssKb * 1024;
    targets.push({ what: `aggregator RSS holding ${fmtInt(cluster.sockets)} sockets (after the snapshot)`, measured: rss / MiB, unit: 'MiB', goal: `< ${fmt(STREAM_TARGETS.rssBytes / MiB)}`, pass: rss < STREAM_TARGETS.rssBytes, ...scale });
    const peak = cluster.end.proc.hwmKb * 1024;
    targets.push({ what: 'aggregator peak RSS (VmHWM: ingest, bursts, churn, queries)', measured: peak / MiB, unit: 'MiB', goal: `< ${fmt(STREAM_TARGETS.rssBytes / MiB)}`, pass: peak < STREAM_TARGETS.rssBytes, ...scale });
    for (const id of ['filtered-http', 'filtered-grpc']) {
      const query = cluster.queriesAtRest.find((q) => q.id === id);
      if (!query) continue;
      targets.push({ what: `List p99, ${query.transport} ${query.label}`, measured: query.stats.p99, unit: 'ms', goal: `< ${STREAM_TARGETS.queryP99Ms}`, pass: query.stats.p99 < STREAM_TARGETS.queryP99Ms, ...scale });
    }
  }
  if (agent) {
    const share = agent.idle.cpu.cores;
    targets.push({
      what: `agent CPU, ${fmtInt(agent.snapshotSockets)} idle sockets, 1 s interval`,
      measured: 100 * share,
      unit: '% of a core',
      goal: `< ${100 * STREAM_TARGETS.agentIdleCoreShare}`,
      pass: share < STREAM_TARGETS.agentIdleCoreShare,
      ...(Math.abs(agent.snapshotSockets - STREAM_TARGETS.agentSockets) > STREAM_TARGETS.agentSockets * 0.25 && { scaleNote: `at ${fmtInt(agent.snapshotSockets)} sockets, not ~${fmtInt(STREAM_TARGETS.agentSockets)}` }),
    });
  }
  return targets;
}

export function streamTargetTable(targets: readonly StreamTarget[]): string {
  const rows = targets.map((t) => [t.what, `${t.unit === 'changes/s' ? fmt(t.measured) : t.unit === 'MiB' ? fmt(t.measured) : t.measured.toFixed(2)} ${t.unit}`, `${t.goal} ${t.unit}`, t.pass ? 'PASS' : 'FAIL', t.scaleNote ? `(${t.scaleNote}: indicative only)` : '']);
  return table(['target', 'measured', 'goal', 'result', ''], rows);
}

function cpuCells(cpu: PhaseCpu): string[] {
  return [pct(cpu.aggregator.cores), pct(cpu.simulator.cores)];
}

export function ingestTable(cluster: ClusterResult): string {
  const rows: string[][] = [];
  const snap = cluster.snapshot;
  rows.push([
    `snapshot: ${fmtInt(cluster.nodes)} agents connect at once`,
    `${fmtInt(cluster.sockets)} sockets`,
    (snap.ms / 1000).toFixed(2),
    perSecond(snap.socketsPerSecond),
    ...cpuCells(snap.cpu),
    perSecond(cluster.sockets / (snap.cpu.aggregator.cpuMs / 1000)),
    (snap.writtenMs / 1000).toFixed(2),
  ]);
  for (const burst of cluster.bursts) {
    rows.push([
      `delta burst ${burst.round}${burst.profiled ? ' (under the profiler, not counted)' : ''}`,
      `${fmtInt(burst.changes)} (${fmtInt(burst.upserted)} up, ${fmtInt(burst.removed)} rm)`,
      (burst.ms / 1000).toFixed(2),
      perSecond(burst.changesPerSecond),
      ...cpuCells(burst.cpu),
      perSecond(burst.changesPerAggregatorCpuSecond),
      (burst.writtenMs / 1000).toFixed(2),
    ]);
  }
  const steady = cluster.steady;
  rows.push([
    `steady churn ${steady.perNodePerSecond}/node/s for ${steady.seconds.toFixed(0)} s`,
    `${fmtInt(steady.offered)} offered`,
    steady.seconds.toFixed(1),
    perSecond(steady.offeredPerSecond),
    ...cpuCells(steady.cpu),
    perSecond(steady.offered / (steady.cpu.aggregator.cpuMs / 1000)),
    `caught up ${(steady.catchUpMs / 1000).toFixed(2)} s after`,
  ]);
  return table(['phase', 'changes', 'seconds', 'changes/s', 'aggregator CPU', 'simulator CPU', 'per aggregator CPU-s', 'sim wrote all (s)'], rows);
}

/** Where each burst's aggregator CPU went: user and kernel time, the collections on its main thread, the leak rules' evaluations. */
export function burstNotes(cluster: ClusterResult): string[] {
  return cluster.bursts.map((burst) => {
    const cpu = burst.cpu.aggregator;
    const collections = Object.entries(burst.collections)
      .map(([kind, { count, ms }]) => `${kind} ${count} (${fmt(ms)} ms)`)
      .join(', ');
    const evaluations = burst.evaluations.count > 0 ? `${burst.evaluations.count} (${fmt(burst.evaluations.ms)} ms wall)` : 'none';
    return `delta burst ${burst.round}: aggregator ${fmt(cpu.userMs)} ms user + ${fmt(cpu.sysMs)} ms system; collections on its main thread: ${collections || 'none'}; leak-rule evaluations ended meanwhile: ${evaluations}`;
  });
}

export function memoryTable(cluster: ClusterResult): string {
  const row = (label: string, rssBytes: number, m: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }): string[] => [
    label,
    mib(rssBytes),
    mib(m.heapUsed),
    mib(m.heapTotal),
    mib(m.external),
    mib(m.arrayBuffers),
  ];
  const rows = [
    row(`holding ${fmtInt(cluster.sockets)} sockets, 3 s after the snapshot`, cluster.memoryAt.proc.rssKb * 1024, cluster.memoryAt.process),
    row('end of the run (after bursts, churn, queries)', cluster.end.proc.rssKb * 1024, cluster.end.process),
    row('end of the run, after a forced full GC', cluster.end.afterGc.rssKb * 1024, cluster.end.afterGc.process),
    [`peak (VmHWM)`, mib(cluster.end.proc.hwmKb * 1024), '', '', '', ''],
    row('  at the highest RSS the process sampled itself (100 ms)', cluster.end.atPeak.rss, cluster.end.atPeak),
    ...Object.entries(cluster.aggregatorPeakRssKbByPhase).map(([phase, kb]) => [`  highest RSS sampled while: ${phase}`, mib(kb * 1024), '', '', '', '']),
  ];
  return table(['aggregator memory', 'RSS MiB', 'heap used', 'heap total', 'external', 'arrayBuffers'], rows);
}

export function memoryNotes(cluster: ClusterResult): string[] {
  const store = cluster.end.store;
  const live = cluster.end.afterGc.process;
  const spaces = Object.entries(live.spaces)
    .filter(([, space]) => space.used > 8 * MiB)
    .map(([name, space]) => `${name} ${mib(space.used)}`)
    .join(', ');
  const perSocket = (bytes: number): string => fmt(bytes / Math.max(1, store.sockets));
  return [
    `store at the end: ${fmtInt(store.sockets)} sockets on ${fmtInt(store.nodes)} nodes (${fmtInt(store.withPod)} with a pod); ` +
      `socket bytes without pods ${mib(store.wireBytes)} MiB (${perSocket(store.wireBytes)} B/socket) in chunks of ${mib(store.chunkBytes)} MiB (slabs reserved ${mib(store.reservedBytes)} MiB), keys ${fmtInt(store.keyChars)} chars (${perSocket(store.keyChars)}/socket)`,
    `after a full GC: RSS ${mib(cluster.end.afterGc.rssKb * 1024)} MiB = ${perSocket(cluster.end.afterGc.rssKb * 1024)} B/socket; ` +
      `V8 heap used ${mib(live.heapUsed)} MiB (${perSocket(live.heapUsed)} B/socket; ${spaces}), ` +
      `arrayBuffers ${mib(live.arrayBuffers)} MiB (${perSocket(live.arrayBuffers)} B/socket, ${(live.arrayBuffers / Math.max(1, store.wireBytes)).toFixed(1)}× the wire bytes they hold), ` +
      `RSS beyond heap total + arrayBuffers ${mib(cluster.end.afterGc.rssKb * 1024 - live.heapTotal - live.arrayBuffers)} MiB; ` +
      `resident by mapping: ${Object.entries(live.residentKb)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, kb]) => `${kind} ${mib(kb * 1024)} MiB`)
        .join(', ')}`,
  ];
}

export function queryTable(cases: readonly QueryCase[]): string {
  return table(
    ['query (cluster-wide)', 'via', 'n', 'items', 'answer KiB', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms'],
    cases.map((q) => [q.label, q.transport, String(q.stats.n), fmtInt(q.stats.items), q.stats.bytes > 0 ? fmt(q.stats.bytes / 1024) : '', ms(q.stats.p50), ms(q.stats.p90), ms(q.stats.p99), ms(q.stats.max), ms(q.stats.mean)]),
  );
}

/** The plugin's query latencies, then kubectl netstat against kubectl get pods as processes. */
export function pluginLines(plugin: PluginCaseResult): string[] {
  const lines = [
    table(
      ['plugin query', 'n', 'output KiB', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      plugin.queries.map((q) => [q.label, String(q.stats.n), fmt(q.stats.bytes / 1024), ms(q.stats.p50), ms(q.stats.p90), ms(q.stats.p99), ms(q.stats.max)]),
    ),
    '',
    table(
      ['whole process', 'runs', 'output KiB', 'min ms', 'median ms', 'max ms'],
      [plugin.plugin, plugin.getPods].map((t) => [t.label, String(t.runsMs.length), fmt(t.bytes / 1024), ms(t.minMs), ms(t.medianMs), ms(t.maxMs)]),
    ),
    `kubectl netstat -A --state close-wait takes ${plugin.ratio.toFixed(2)}× the time of kubectl get pods -A (${fmtInt(plugin.podsInApi)} pods in the API server), medians of the same run.`,
  ];
  return lines;
}

export function wireTable(cluster: ClusterResult | undefined, agent: AgentCaseResult | undefined): string {
  const rows: string[][] = [];
  if (agent) {
    for (const [label, w] of [
      ['real agent, idle', agent.idle],
      [`real agent, churn (${agent.churn.replacedPerSecond} connections replaced/s)`, agent.churn],
    ] as const) {
      rows.push([
        label,
        w.wire.seconds.toFixed(1),
        fmt(w.wire.upBytesPerSecond),
        fmt(w.wire.downBytesPerSecond),
        fmt(w.wire.changesPerSecond, 1),
        w.wire.upBytesPerChange === undefined ? '-' : fmt(w.wire.upBytesPerChange),
        `${w.wire.deltasPerSecond.toFixed(2)} / ${w.wire.heartbeatsPerSecond.toFixed(2)}`,
        pct(w.cpu.cores),
      ]);
    }
  }
  if (cluster) {
    // The simulator process talks only to the aggregator: its writes are the agents' bytes up,
    // its reads the aggregator's acks down (the IPC with the bench is a few small messages).
    const idle = cluster.idle.cpu;
    rows.push([`${fmtInt(cluster.nodes)} simulated agents, idle`, idle.simulator.seconds.toFixed(1), fmt(idle.simulator.wcharPerSecond), fmt(idle.simulator.rcharPerSecond), '0', '-', '', `agg ${pct(idle.aggregator.cores)}`]);
    const steady = cluster.steady.cpu;
    rows.push([
      `${fmtInt(cluster.nodes)} simulated agents, steady churn`,
      steady.simulator.seconds.toFixed(1),
      fmt(steady.simulator.wcharPerSecond),
      fmt(steady.simulator.rcharPerSecond),
      fmt(cluster.steady.offeredPerSecond),
      fmt(steady.simulator.wcharPerSecond / Math.max(1, cluster.steady.offeredPerSecond)),
      '',
      `agg ${pct(steady.aggregator.cores)}`,
    ]);
  }
  return table(['wire', 'seconds', 'up B/s', 'down B/s', 'changes/s', 'up B/change', 'deltas/s / heartbeats/s', 'CPU of a core'], rows);
}

export function profileTables(title: string, profile: ProfileSummary & { file: string }): string {
  const areas = table(
    ['area (self time)', 'ms', 'share of busy'],
    profile.areas.map((row) => [row.name, fmt(row.ms), pct(row.share)]),
  );
  const functions = table(
    ['function (self time)', 'ms', 'share of busy'],
    profile.functions.map((row) => [row.name, fmt(row.ms), pct(row.share)]),
  );
  const bench = profile.benchMs >= 0.5 ? `; ${fmt(profile.benchMs)} ms in the bench's own code (profiler start, IPC) left out` : '';
  return `${title}: busy ${fmt(profile.busyMs)} ms of ${fmt(profile.totalMs)} ms profiled${bench} (${profile.file})\n${areas}\n\n${functions}`;
}

export function clusterSummaryLines(cluster: ClusterResult): string[] {
  const events = cluster.end.simulatorEvents;
  const logs = cluster.end.logs;
  return [
    `simulator: ${fmtInt(cluster.nodes)} AgentStreams (agent/stream/client.ts) in one process, one gRPC connection each, ` +
      `tables built in ${(cluster.simBuildMs / 1000).toFixed(1)} s (${fmt(cluster.wireBytesPerSocket)} wire bytes per socket), heartbeats every 5 s; peak RSS ${mib(cluster.simulatorPeakRssKb * 1024)} MiB`,
    `aggregator: dist/bench/aggregator-child.js = the CLI's startAggregatorWith with its default settings, its own process; completion read from its store over IPC (no query load)`,
    ...(cluster.aggregatorNodeFlags.length > 0
      ? [`WARNING: the aggregator ran as \`node ${cluster.aggregatorNodeFlags.join(' ')}\` (--aggregator-node-flags): these are not the figures of the product as it ships`]
      : []),
    `integrity: agent events ${JSON.stringify(events.events)}; aggregator log counts ${JSON.stringify(logs)}` + (events.errors.length > 0 ? `; stream errors: ${events.errors.slice(0, 3).join(' | ')}` : ''),
    ...(events.events['resync-requested'] || events.events.disconnected
      ? [`WARNING: ${events.events['resync-requested'] ?? 0} resyncs and ${events.events.disconnected ?? 0} disconnects during the run: the phases they fell in carried whole snapshots too`]
      : []),
    `idle: ${fmtInt(cluster.nodes)} connected agents, nothing changing, for ${cluster.idle.seconds} s: aggregator ${pct(cluster.idle.cpu.aggregator.cores)} of a core, simulator ${pct(cluster.idle.cpu.simulator.cores)}`,
    `steady churn: the simulator fell behind its schedule by at most ${fmt(cluster.steady.simulatorMaxLagMs)} ms; the aggregator held every node's last change ${(cluster.steady.catchUpMs / 1000).toFixed(2)} s after the simulator's last offer`,
  ];
}

export function agentSummaryLines(agent: AgentCaseResult): string[] {
  return [
    `fixture: ${fmtInt(agent.fixture.heldSockets)} loopback sockets held in ${agent.fixture.namespaces} bench namespaces (setup ${(agent.fixture.setupMs / 1000).toFixed(1)} s); ` +
      `the agent's snapshot (whole host, every protocol): ${fmtInt(agent.snapshotSockets)} sockets after ${(agent.startupMs / 1000).toFixed(1)} s (${fmt(agent.startupCpuMs)} ms CPU, not counted)`,
    `agent: \`node dist/cmd/bin.js agent --interval 1s --proc-root /proc\` (no API), through a counting proxy to its own aggregator; RSS idle ${mib(agent.idle.rssKb * 1024)} MiB, ` +
      `churn ${mib(agent.churn.rssKb * 1024)} MiB, peak ${mib(agent.hwmKb * 1024)} MiB; CPU idle ${pct(agent.idle.cpu.cores)} of a core, under churn ${pct(agent.churn.cpu.cores)}`,
    `agent CPU by thread in the idle window (ms of ${agent.idle.cpu.seconds.toFixed(0)} s): ` +
      Object.entries(agent.idle.threads)
        .filter(([, cpuMs]) => cpuMs >= 1)
        .sort((a, b) => b[1] - a[1])
        .map(([name, cpuMs]) => `${name} ${fmt(cpuMs)}`)
        .join(', '),
    `idle window ${agent.idle.cpu.seconds.toFixed(1)} s: ${fmtInt(agent.idle.wire.changes)} changes on the wire (anything else on this host that changed); ` +
      `churn window: ${Number.isFinite(agent.churn.replaced) ? fmtInt(agent.churn.replaced) : '?'} connections replaced by churn.py; aggregator holds ${fmtInt(agent.aggregatorHolds)} sockets for the node`,
  ];
}

/** The replayed bursts (bench/replay.ts): wall-clock rate, with both processes' CPU. */
export function replayTable(replay: ReplayResult): string {
  const rows = replay.bursts.map((burst, i) => [
    `replayed burst ${i + 1}`,
    fmtInt(burst.changes),
    burst.seconds.toFixed(2),
    fmt(burst.changesPerSecond),
    `${(100 * burst.aggregatorCores).toFixed(1)}%`,
    `${(100 * burst.replayCores).toFixed(1)}%`,
    fmt(burst.changesPerAggregatorCpuSecond),
  ]);
  return table(['phase', 'changes', 'seconds', 'changes/s', 'aggregator CPU', 'replay CPU', 'per aggregator CPU-s'], rows);
}
