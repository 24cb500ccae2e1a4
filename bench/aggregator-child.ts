/**
 * The streaming bench's aggregator: its own process (`node dist/bench/aggregator-child.js
 * [aggregator flags]`, forked by bench/stream.ts), running exactly what `kube-netstat aggregator`
 * runs — the CLI's settings parser with its defaults, startAggregatorWith, pino on stderr — and,
 * over the IPC channel, letting the bench read what the process holds without any production
 * endpoint: how many nodes are synced and how many sockets they hold (O(nodes), answered on the
 * aggregator's own event loop between messages, so it sees exactly what is applied), whether
 * each node's round marker arrived, memory figures, and CPU profiles of chosen phases.
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';
import { createLogger } from '../common/log.js';
import { bytesView, type NodeSockets } from '../aggregator/store/index.js';
import { aggregatorSettings, startAggregatorWith } from '../cmd/aggregator.js';
import { startProfile, stopProfile } from './cpu-profile.js';
import { notify, serveIpc } from './ipc.js';

const MAX_LIFETIME_MS = Number(process.env.KNS_BENCH_CHILD_LIFETIME_MS ?? 3_600_000);

const logCounts: Record<string, number> = {};
const { log } = createLogger('aggregator');
const settings = aggregatorSettings(process.argv.slice(2));
const aggregator = await startAggregatorWith(settings, (message, fields) => {
  logCounts[message] = (logCounts[message] ?? 0) + 1;
  log(message, fields);
});

/** Per node, the key (as bytes) of the marker socket of the current round. */
let markers = new Map<string, DataView>();
/**
 * Whether each node's marker arrived, and as of which store and version that was looked up.
 * progress is polled every 20 ms and its lookups are CPU the aggregator's figures count, so a
 * node is looked up again only when its store changed (a marker, once there, stays until the
 * next round's changes).
 */
let looked = new Map<string, { sockets: NodeSockets; version: number; marked: boolean }>();

/**
 * Resident memory by kind of mapping (/proc/self/smaps): the C heap ([heap]), anonymous maps
 * (V8's pages, large malloc blocks, thread arenas), files (code), stacks. KiB.
 */
function residentByMapping(): Record<string, number> {
  const totals: Record<string, number> = {};
  let kind = 'anonymous';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[1]!;
      kind = name === '' ? 'anonymous' : name.startsWith('[') ? name : 'file';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals[kind] = (totals[kind] ?? 0) + Number(rss[1]);
  }
  return totals;
}

function memory(): Record<string, unknown> {
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  return {
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    mallocedMemory: heap.malloced_memory,
    residentKb: residentByMapping(),
    heapSizeLimit: heap.heap_size_limit,
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((space) => [space.space_name, { size: space.space_size, used: space.space_used_size }])),
  };
}

/**
 * What the process held when its RSS was highest (sampled every 100 ms): VmHWM says how high,
 * this says whether the V8 heap, array buffers or the rest (the C heap) made it so.
 */
let atPeak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
setInterval(() => {
  const usage = process.memoryUsage();
  if (usage.rss > atPeak.rss) atPeak = { rss: usage.rss, heapTotal: usage.heapTotal, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers };
}, 100).unref();

/** Collections by kind (minor, major, incremental, weakcb) since the bench last asked: count and ms. */
let collections: Record<string, { count: number; ms: number }> = {};
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
    const sum = (collections[kind] ??= { count: 0, ms: 0 });
    sum.count++;
    sum.ms += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

/**
 * Leak-rule evaluations that ended since the bench last asked: count and wall ms (they run on
 * the aggregator's timer whatever else it does, so a burst's CPU includes those within it).
 */
let evaluations = { count: 0, ms: 0 };
let lastEvaluationAt = 0;
setInterval(() => {
  const last = aggregator.findings.engine.lastEvaluation;
  if (!last || last.atMs === lastEvaluationAt) return;
  lastEvaluationAt = last.atMs;
  evaluations.count++;
  evaluations.ms += last.durationMs;
}, 50).unref();

serveIpc(
  {
    progress: () => {
      let nodes = 0;
      let synced = 0;
      let sockets = 0;
      let marked = 0;
      for (const node of aggregator.store.all()) {
        nodes++;
        if (node.synced && node.status === 'live') synced++;
        sockets += node.sockets.size;
        const marker = markers.get(node.name);
        if (marker === undefined) continue;
        let last = looked.get(node.name);
        if (!last?.marked && (last?.sockets !== node.sockets || last.version !== node.sockets.version)) {
          last = { sockets: node.sockets, version: node.sockets.version, marked: node.sockets.hasKeyBytes(marker, 0, marker.byteLength) };
          looked.set(node.name, last);
        }
        if (last?.marked) marked++;
      }
      return { atMs: Date.now(), nodes, synced, sockets, marked };
    },
    setMarkers: (args: { entries: [string, string][] }) => {
      markers = new Map(args.entries.map(([node, key]) => [node, bytesView(Buffer.from(key, 'latin1'))]));
      looked = new Map();
    },
    memory,
    atPeak: () => atPeak,
    collections: () => {
      const taken = collections;
      collections = {};
      return taken;
    },
    evaluations: () => {
      const taken = evaluations;
      evaluations = { count: 0, ms: 0 };
      return taken;
    },
    /** Walks every stored socket: exact bytes held (once, at the end; O(sockets)). */
    storeStats: () => {
      let sockets = 0;
      let wireBytes = 0;
      let chunkBytes = 0;
      let keyChars = 0;
      let withPod = 0;
      const nodes = [...aggregator.store.all()];
      for (const node of nodes) {
        chunkBytes += node.sockets.chunkBytes;
        for (const slot of node.sockets.slots()) {
          sockets++;
          wireBytes += node.sockets.bytesOf(slot).length;
          keyChars += node.sockets.keyOf(slot).length;
          if (node.sockets.pod(slot)?.name) withPod++;
        }
      }
      return { nodes: nodes.length, sockets, wireBytes, chunkBytes, reservedBytes: aggregator.store.chunks.stats().reservedBytes, keyChars, withPod };
    },
    /** Full GC (the child runs with --expose-gc), then memory: what is live, not just allocated. */
    gc: () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start with --expose-gc');
      gc();
      gc();
      return memory();
    },
    logs: () => logCounts,
    profileStart: () => startProfile(),
    profileStop: (args: { file: string }) => stopProfile(args.file),
    stop: async () => {
      await aggregator.stop();
      setImmediate(() => process.exit(0));
    },
  },
  MAX_LIFETIME_MS,
);
notify({ notice: 'listening', grpcPort: aggregator.grpcPort, httpPort: aggregator.httpPort, pid: process.pid });
