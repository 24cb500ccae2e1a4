/**
 * The leak rules' cost at scale, in a process of its own (`node --expose-gc
 * dist/bench/findings-child.js --nodes N --sockets M --pods P --evaluations E`, forked by
 * bench/findings-case.ts): N synthetic nodes (bench/synthetic.ts) of M sockets and P pods each
 * are stored as ingest stores them, then the findings engine — one pass over every socket,
 * the history sample, every rule — is evaluated E times, with the nodes' churn applied between
 * evaluations and the clock moved by the evaluation interval, then once more after 11 minutes
 * of silence have aged every CLOSE_WAIT past close-wait.max-age (findings open with their
 * evidence). Prints one JSON line: CPU and wall time per evaluation, the memory of the history
 * and the rules (measured on the heap after gc, and as the history estimates it).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FindingsEngine } from '../aggregator/findings/engine.js';
import { HistoryStore } from '../aggregator/history/history-store.js';
import { bytesView, NodeStore } from '../aggregator/store/index.js';
import { PodCache, readSocket } from '../aggregator/ingest/index.js';
import { AGGREGATOR_DEFAULTS } from '../config/aggregator-settings.js';
import { Socket } from '../gen/kubenetstat/v1/socket.js';
import { SyntheticNode } from './synthetic.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    sockets: { type: 'string', default: '1000' },
    pods: { type: 'string', default: '10' },
    evaluations: { type: 'string', default: '5' },
    churn: { type: 'string', default: '20' },
  },
});
const nodes = Number(values.nodes);
const perNode = Number(values.sockets);
const podsPerNode = Number(values.pods);
const evaluations = Number(values.evaluations);
const churn = Number(values.churn);
const SEED = 7;

const gc = (globalThis as { gc?: () => void }).gc;
/** The JavaScript heap and the typed arrays' backing stores (outside it), after gc. */
const heapAfterGc = (): number => {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

let clock = Date.now();
const store = new NodeStore({ staleAfterMs: 86_400_000, evictAfterMs: 86_400_000, now: () => clock });
const synthetic: SyntheticNode[] = [];
const caches = new Map<string, PodCache>();

function put(node: string, socket: Socket): void {
  const bytes = Buffer.from(Socket.encode(socket).finish());
  store.get(node)!.sockets.put(readSocket(bytes, 0, bytes.length, caches.get(node)!), clock);
}

const buildStarted = performance.now();
for (let index = 0; index < nodes; index++) {
  const node = new SyntheticNode(index, perNode, SEED, podsPerNode);
  const { session } = store.claim(node.name, 1n, 'boot');
  const state = store.owned(node.name, session!)!;
  caches.set(node.name, new PodCache());
  store.replaceSockets(state, state.sockets);
  for (const socket of node.sockets) put(node.name, socket);
  synthetic.push(node);
}
const buildMs = performance.now() - buildStarted;


interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

function evaluate(): Sample {
  const cpu = process.cpuUsage();
  const started = performance.now();
  engine.evaluate();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/** Each node's churn, as its agent's deltas would apply it. */
function applyChurn(): void {
  for (const node of synthetic) {
    const { changes } = node.scan(churn);
    for (const socket of changes.upserted) put(node.name, socket);
    const sockets = store.get(node.name)!.sockets;
    for (const key of changes.removed) {
      const bytes = Buffer.from(key, 'latin1');
      sockets.delete(bytesView(bytes), 0, bytes.length);
    }
  }
}

// The store as churn leaves it (arenas with their garbage, compacted): what the engine's memory is measured against.
for (let i = 0; i < evaluations; i++) applyChurn();
const storeHeap = heapAfterGc();
const rssBefore = process.memoryUsage().rss;

const settings = AGGREGATOR_DEFAULTS.findings;
const history = new HistoryStore(AGGREGATOR_DEFAULTS.history);
const engine = new FindingsEngine(store, { settings, history, log: () => undefined });
const steady: Sample[] = [];
for (let i = 0; i < evaluations; i++) {
  applyChurn();
  clock += settings.evaluateEverySeconds * 1000;
  steady.push(evaluate());
}
const stats = engine.lastEvaluation!;
const steadyHeap = heapAfterGc();
// Every CLOSE_WAIT now waited longer than close-wait.max-age: findings open, with their evidence.
clock += (settings.closeWait.maxAgeSeconds + 60) * 1000;
const opening = evaluate();
const opened = engine.size;
const followUp = (() => {
  clock += settings.evaluateEverySeconds * 1000;
  return evaluate();
})();
const findingsHeap = heapAfterGc();

const median = (samples: readonly Sample[], pick: (sample: Sample) => number): number => {
  const sorted = samples.map(pick).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

process.stdout.write(
  `${JSON.stringify({
    nodes,
    socketsPerNode: perNode,
    sockets: stats.sockets,
    pods: stats.pods,
    processes: stats.processes,
    buildMs,
    evaluations,
    steady: { wallMsMedian: median(steady, (s) => s.wallMs), cpuMsMedian: median(steady, (s) => s.cpuMs), wallMsMax: Math.max(...steady.map((s) => s.wallMs)), cpuMsMax: Math.max(...steady.map((s) => s.cpuMs)) },
    opening: { ...opening, findings: opened },
    followUp,
    memory: {
      storeHeapBytes: storeHeap,
      historyAndRulesHeapBytes: steadyHeap - storeHeap,
      withFindingsHeapBytes: findingsHeap - storeHeap,
      historyEstimateBytes: history.bytes(),
      historyPods: history.podCount,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: process.memoryUsage().rss,
    },
  })}\n`,
);
