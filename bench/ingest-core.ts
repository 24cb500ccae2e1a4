/**
 * The aggregator's ingest core in one process, without gRPC: `node --expose-gc --import tsx
 * bench/ingest-core.ts [--nodes 1000] [--sockets 1000] [--bursts 3] [--changes 1000]
 * [--profile FILE [--profile-round N]]`. Synthetic nodes (bench/synthetic.ts) are encoded as
 * their agents would send them (hello, snapshot chunks of 250, deltas with pods by ref) before
 * anything is timed, then handed one message buffer at a time, the nodes' messages interleaved,
 * to the IngestService a real aggregator runs, through a stand-in for the gRPC call. Timed:
 * changes per CPU-second of this process while it takes a burst (GC included), i.e. what the
 * streaming bench's aggregator spends per change without gRPC, HTTP/2 and a simulator sharing
 * the cores (the full bench costs more per change). For quick iteration on
 * aggregator/ingest/ and aggregator/store/; the targets are judged by the full bench.
 */
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import { IngestService } from '../aggregator/ingest/index.js';
import { NodeStore } from '../aggregator/store/index.js';
import { EncodingAgent, REPLAY_OPTIONS } from './agent-messages.js';
import { startProfile, stopProfile } from './cpu-profile.js';
import { SyntheticNode } from './synthetic.js';

const { values } = parseArgs({
  options: {
    ...REPLAY_OPTIONS,
    'profile-round': { type: 'string' },
    profile: { type: 'string' },
  },
});
const NODES = Number(values.nodes);
const SOCKETS = Number(values.sockets);
const BURSTS = Number(values.bursts);
const CHANGES = Number(values.changes);
/** What IngestService uses of a gRPC duplex call: events in, writes out (ignored here). */
class FakeCall extends EventEmitter {
  writableEnded = false;
  write(): boolean {
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
}

interface Timed {
  readonly cpuMs: number;
  readonly wallMs: number;
}

/**
 * Hands the agents' messages to their calls, interleaved as a thousand concurrent streams
 * arrive (every agent's first message, then every agent's second, ...); times only that.
 */
function feed(calls: readonly FakeCall[], messages: readonly Buffer[][]): Timed {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const rounds = Math.max(...messages.map((list) => list.length));
  for (let m = 0; m < rounds; m++) {
    for (let i = 0; i < calls.length; i++) {
      const message = messages[i]![m];
      if (message) calls[i]!.emit('data', message);
    }
  }
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started };
}

const MiB = 1024 * 1024;
function memoryLine(store: NodeStore): string {
  let live = 0;
  let chunks = 0;
  let sockets = 0;
  for (const node of store.all()) {
    live += node.sockets.liveBytes;
    chunks += node.sockets.chunkBytes;
    sockets += node.sockets.size;
  }
  const usage = process.memoryUsage();
  return `${sockets.toLocaleString('en-US')} sockets; socket bytes ${(live / MiB).toFixed(0)} MiB in chunks of ${(chunks / MiB).toFixed(0)} MiB (slabs reserved ${(store.chunks.stats().reservedBytes / MiB).toFixed(0)} MiB); arrayBuffers ${(usage.arrayBuffers / MiB).toFixed(0)} MiB; heap used ${(usage.heapUsed / MiB).toFixed(0)} MiB`;
}

const log = (): void => undefined;
const store = new NodeStore({ staleAfterMs: 3_600_000, evictAfterMs: 3_600_000 });
let appliedChanges = 0;
const ingest = new IngestService(store, { maxSocketsPerMessage: 20_000, maxSocketsPerNode: 2_000_000, log, onApplied: (changes) => (appliedChanges += changes) });
const calls: FakeCall[] = [];
const snapshots: Buffer[][] = [];
const rounds = BURSTS + (values.profile && !values['profile-round'] ? 1 : 0);
/** Every round's messages, per node, encoded before anything is timed; the synthetic tables are then dropped. */
const bursts: Buffer[][][] = Array.from({ length: rounds }, () => []);
const built = performance.now();
for (let i = 0; i < NODES; i++) {
  const call = new FakeCall();
  ingest.stream(call as unknown as Parameters<IngestService['stream']>[0]);
  const agent = new EncodingAgent(new SyntheticNode(i, SOCKETS, 1));
  call.emit('data', agent.hello(1n, `boot-${i}`));
  calls.push(call);
  snapshots.push(agent.snapshot());
  for (let round = 1; round <= rounds; round++) bursts[round - 1]!.push(agent.delta(CHANGES, round).messages);
}
collect();
console.log(`built ${NODES} nodes × ${SOCKETS} sockets and ${rounds} bursts in ${((performance.now() - built) / 1000).toFixed(1)} s`);
const snapshot = feed(calls, snapshots);
snapshots.length = 0;
console.log(`snapshot: ${(NODES * SOCKETS).toLocaleString('en-US')} sockets, ${snapshot.cpuMs.toFixed(0)} ms CPU = ${((NODES * SOCKETS) / (snapshot.cpuMs / 1000)).toLocaleString('en-US', { maximumFractionDigits: 0 })} sockets per CPU-second`);
collect();
console.log(`after the snapshot: ${memoryLine(store)}`);

const rates: number[] = [];
for (let round = 1; round <= rounds; round++) {
  collect();
  const profiled = values.profile !== undefined && round === (values['profile-round'] ? Number(values['profile-round']) : rounds);
  if (profiled) await startProfile();
  const before = appliedChanges;
  const timed = feed(calls, bursts[round - 1]!);
  bursts[round - 1] = [];
  const applied = appliedChanges - before;
  if (profiled) {
    const summary = await stopProfile(values.profile!, 'profiler');
    for (const row of summary.functions) console.log(`  ${row.ms.toFixed(0).padStart(6)} ms ${(100 * row.share).toFixed(1).padStart(5)}%  ${row.name}`);
  }
  const rate = applied / (timed.cpuMs / 1000);
  console.log(`burst ${round}${profiled ? ' (profiled, not counted)' : ''}: ${applied.toLocaleString('en-US')} changes, ${timed.cpuMs.toFixed(0)} ms CPU = ${rate.toLocaleString('en-US', { maximumFractionDigits: 0 })} changes per CPU-second`);
  if (!profiled) rates.push(rate);
}
rates.sort((a, b) => a - b);
console.log(`median ${rates[Math.floor(rates.length / 2)]?.toLocaleString('en-US', { maximumFractionDigits: 0 })} changes per CPU-second`);
collect();
console.log(`after the bursts: ${memoryLine(store)}`);
