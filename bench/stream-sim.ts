/**
 * N simulated agents in one process (`node dist/bench/stream-sim.js`, forked by
 * bench/stream-cluster.ts): each is the real agent's stream client — an AgentStream over its
 * own gRPC connection, offered each scan's changes as agent/runner.ts offers them — but its
 * table is a synthetic node (bench/synthetic.ts) instead of a /proc scan, and the synthetic
 * node reports its own changes instead of SocketTable.update diffing the whole table. The bench
 * drives it over IPC: build the tables, connect (hello + snapshot), churn bursts (all changes
 * offered at once, the stream sending them as fast as the aggregator takes them), steady churn
 * at a rate per node per second, stop (goodbye).
 *
 * One process plays a thousand nodes on a 2-core host it shares with the aggregator, so what
 * each real agent would spend on its own node is kept out of the timed phases where it can be:
 * the sockets of the snapshot and of each burst are protobuf-encoded while the round is
 * prepared (untimed) and Socket.encode, in this process only, writes those cached bytes — the
 * bytes on the wire are exactly what the generated encoder produces. Steady churn encodes
 * inline, as an agent does. For the same reason a full GC runs after building and after each
 * round's preparation, so that the preparation's garbage is not collected inside the timed phase.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { getHeapStatistics } from 'node:v8';
import { AgentStream, type StreamEvent } from '../agent/stream/client.js';
import { SocketTable, type TableChanges } from '../agent/stream/socket-table.js';
import { Socket } from '../gen/kubenetstat/v1/socket.js';
import { PodDef, StreamRequest } from '../gen/kubenetstat/v1/agent.js';
import { AGENT_DEFAULTS } from '../config/agent-settings.js';
import { WIRE } from '../model/wire-fields.js';
import { deltaRequestBytes } from './delta-bytes.js';
import { startProfile, stopProfile } from './cpu-profile.js';
import { serveIpc } from './ipc.js';
import { OwnConnection } from './own-connection.js';
import { SyntheticNode } from './synthetic.js';

const MAX_LIFETIME_MS = Number(process.env.KNS_BENCH_CHILD_LIFETIME_MS ?? 3_600_000);

/** Full GC between phases (the simulator runs with --expose-gc). */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Encoded bytes of sockets prepared ahead of a timed phase (see the header), without their
 * pod: on the stream a pod travels as a PodDef once and sockets carry its ref (the
 * last field, so appending it gives the generated encoder's bytes). Kept on the socket under a
 * symbol, which the copy AgentStream's PodDictionary makes of it (`{ ...socket, podRef }`)
 * carries along: no lookup (a WeakMap's) per socket.
 */
const PREPARED = Symbol('prepared bytes');
type Prepared = Socket & { [PREPARED]?: Uint8Array };
/** The prepared pod-less bytes of a socket as a message carries it, or undefined. */
function preparedBytes(socket: Socket): Uint8Array | undefined {
  return (socket as Prepared)[PREPARED];
}
const POD_REF_TAG = WIRE.Socket.podRef.tag;
const generatedEncode = Socket.encode.bind(Socket);
Socket.encode = (message: Socket, writer: BinaryWriter = new BinaryWriter()): BinaryWriter => {
  const bytes = preparedBytes(message);
  if (!bytes) return generatedEncode(message, writer);
  writer.raw(bytes);
  return message.podRef > 0 ? writer.uint32(POD_REF_TAG).uint32(message.podRef) : writer;
};
/**
 * Delta messages whose sockets were all prepared are assembled in one buffer of the exact size
 * — the same bytes StreamRequest.encode writes — without the generated writer's fork/join
 * copies and growth, which made this one process playing a thousand agents the bottleneck of
 * the ingest bursts.
 */
const generatedRequestEncode = StreamRequest.encode.bind(StreamRequest);
StreamRequest.encode = (message: StreamRequest, writer: BinaryWriter = new BinaryWriter()): BinaryWriter => {
  const body = message.message;
  if (body?.$case !== 'delta' || body.value.upserted.some((socket) => !preparedBytes(socket))) return generatedRequestEncode(message, writer);
  const { sequence, upserted, removedKeys, pods } = body.value;
  const sockets = upserted.map((socket) => ({ bytes: preparedBytes(socket)!, podRef: socket.podRef }));
  return writer.raw(deltaRequestBytes(sequence, sockets, removedKeys, pods.map((pod) => PodDef.encode(pod).finish())));
};
/** Encodes a batch and keeps each socket's bytes as a slice of one buffer (one backing store per batch, not per socket). */
function preEncode(sockets: readonly Socket[]): void {
  const parts: [Socket, Uint8Array][] = [];
  let total = 0;
  for (const socket of sockets) {
    if (preparedBytes(socket)) continue;
    const bytes = generatedEncode({ ...socket, pod: undefined }).finish();
    parts.push([socket, bytes]);
    total += bytes.length;
  }
  const batch = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const [socket, bytes] of parts) {
    batch.set(bytes, at);
    (socket as Prepared)[PREPARED] = batch.subarray(at, at + bytes.length);
    at += bytes.length;
  }
}

/**
 * What the stream reads from an agent's table — its size (heartbeats) and its contents
 * (snapshots) — kept from the changes the synthetic node reports.
 */
class SimTable extends SocketTable {
  private readonly held = new Map<string, Socket>();

  constructor(sockets: readonly Socket[]) {
    super();
    for (const socket of sockets) this.held.set(socket.key, socket);
  }

  override get size(): number {
    return this.held.size;
  }

  override snapshot(): Socket[] {
    return [...this.held.values()];
  }

  override update(): TableChanges {
    throw new Error('SimTable: the synthetic node reports its changes; use apply()');
  }

  apply(changes: TableChanges): void {
    for (const socket of changes.upserted) this.held.set(socket.key, socket);
    for (const key of changes.removed) this.held.delete(key);
  }
}

interface SimNode {
  readonly synthetic: SyntheticNode;
  readonly table: SimTable;
  readonly stream: AgentStream;
  running: Promise<void> | undefined;
  snapshots: number;
  deltas: number;
  prepared: TableChanges | undefined;
  credit: number;
}

const nodes: SimNode[] = [];
const controller = new AbortController();
const events: Record<StreamEvent['kind'], number> = { connected: 0, snapshot: 0, delta: 0, 'resync-requested': 0, disconnected: 0 };
const errors: string[] = [];
/** Called after every stream event (the waits below re-check their condition). */
let onProgress: (() => void) | undefined;

function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (condition()) return resolve();
    const timer = setTimeout(() => {
      onProgress = undefined;
      reject(new Error(`${what}: not done within ${timeoutMs / 1000} s (events ${JSON.stringify(events)}; ${errors.slice(-3).join('; ')})`));
    }, timeoutMs);
    onProgress = () => {
      if (!condition()) return;
      clearTimeout(timer);
      onProgress = undefined;
      resolve();
    };
  });
}

function changeCount(changes: TableChanges): number {
  return changes.upserted.length + changes.removed.length;
}

serveIpc(
  {
    init: (args: { address: string; nodes: number; sockets: number; seed: number; heartbeatMs: number }) => {
      const started = performance.now();
      for (let i = 0; i < args.nodes; i++) {
        const synthetic = new SyntheticNode(i, args.sockets, args.seed);
        const table = new SimTable(synthetic.sockets);
        const node: SimNode = {
          synthetic,
          table,
          running: undefined,
          snapshots: 0,
          deltas: 0,
          prepared: undefined,
          credit: 0,
          stream: new AgentStream({
            address: args.address,
            node: synthetic.name,
            bootId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            epoch: BigInt(Date.now()),
            version: '0.1.0-bench-sim',
            table,
            heartbeatMs: args.heartbeatMs,
            chunkSize: AGENT_DEFAULTS.chunkSize,
            credentials: new OwnConnection(),
            onEvent: (event) => {
              events[event.kind]++;
              if (event.kind === 'snapshot') node.snapshots++;
              else if (event.kind === 'delta') node.deltas++;
              else if (event.kind === 'disconnected' && errors.length < 50) errors.push(`${synthetic.name}: ${event.error}`);
              onProgress?.();
            },
          }),
        };
        nodes.push(node);
      }
      // The snapshot's bytes, ahead of the timed connect; and what one socket costs on the wire.
      let bytes = 0;
      let sampled = 0;
      for (const node of nodes) {
        preEncode(node.synthetic.sockets);
        for (const socket of node.synthetic.sockets) {
          bytes += preparedBytes(socket)!.length;
          sampled++;
        }
      }
      collect();
      return {
        buildMs: performance.now() - started,
        sockets: nodes.reduce((sum, node) => sum + node.table.size, 0),
        wireBytesPerSocket: bytes / Math.max(1, sampled),
        heapUsed: getHeapStatistics().used_heap_size,
      };
    },

    /** Every agent connects at once and sends its snapshot; resolves when all are written. */
    connect: async (args: { timeoutMs: number }) => {
      const started = performance.now();
      for (const node of nodes) node.running = node.stream.run(controller.signal);
      await waitUntil(() => nodes.every((node) => node.snapshots > 0), args.timeoutMs, 'snapshots');
      return { writtenMs: performance.now() - started };
    },

    /** Every node's next scan with the round's marker last; nothing is applied or sent yet. */
    prepare: (args: { changesPerNode: number; round: number }) => {
      const started = performance.now();
      let upserted = 0;
      let removed = 0;
      const markers: [string, string][] = [];
      for (const node of nodes) {
        const scan = node.synthetic.scan(args.changesPerNode, args.round);
        markers.push([node.synthetic.name, scan.marker!]);
        node.prepared = scan.changes;
        preEncode(node.prepared.upserted);
        upserted += node.prepared.upserted.length;
        removed += node.prepared.removed.length;
      }
      collect();
      return { upserted, removed, markers, prepareMs: performance.now() - started };
    },

    /** Offers every prepared change set at once; resolves when every agent has written its delta. */
    go: async (args: { timeoutMs: number }) => {
      const started = performance.now();
      const before = nodes.map((node) => node.deltas);
      // As agent/runner.ts does after a scan: the table takes the changes, the stream is offered them.
      for (const node of nodes) {
        if (node.prepared) {
          node.table.apply(node.prepared);
          node.stream.offer(node.prepared);
        }
        node.prepared = undefined;
      }
      const offeredMs = performance.now() - started;
      await waitUntil(() => nodes.every((node, i) => node.deltas > before[i]! && node.stream.pendingCount === 0), args.timeoutMs, 'deltas');
      return { offeredMs, writtenMs: performance.now() - started };
    },

    /**
     * Steady churn: every node "scans" once a second (phases spread over the second, as
     * independent agents are), applies its share of changes, diffs and offers. After
     * `seconds`, one last scan per node sets the round marker. Reports how far the simulator
     * fell behind its schedule (if it did, the offered rate is below the asked one).
     */
    steady: async (args: { perNodePerSecond: number; seconds: number; round: number }) => {
      const started = performance.now();
      const count = nodes.length;
      let offered = 0;
      let scans = 0;
      let maxLagMs = 0;
      let next = 0; // index of the next scan in the global schedule (scan k: node k % count, second ⌊k / count⌋)
      const total = Math.floor(args.seconds * count);
      const scan = (node: SimNode, changes: number, markerRound?: number): string | undefined => {
        const result = node.synthetic.scan(changes, markerRound);
        node.table.apply(result.changes);
        node.stream.offer(result.changes);
        offered += changeCount(result.changes);
        return result.marker;
      };
      while (next < total) {
        const tick = performance.now();
        // Due scans, but never more than 20 ms at a stretch: the streams must get to send.
        while (next < total && performance.now() - tick < 20) {
          const now = performance.now() - started;
          const due = (Math.floor(next / count) + (next % count) / count) * 1000;
          if (due > now) break;
          maxLagMs = Math.max(maxLagMs, now - due);
          const node = nodes[next % count]!;
          node.credit += args.perNodePerSecond;
          const changes = Math.floor(node.credit);
          node.credit -= changes;
          scan(node, changes);
          scans++;
          next++;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const markers: [string, string][] = [];
      for (const node of nodes) markers.push([node.synthetic.name, scan(node, 0, args.round)!]);
      return { offered, scans, maxLagMs, elapsedMs: performance.now() - started, markers };
    },

    profileStart: () => startProfile(),
    profileStop: (args: { file: string }) => stopProfile(args.file, 'profiler'),

    events: () => ({ events, errors: errors.slice(0, 10), pending: nodes.reduce((sum, node) => sum + node.stream.pendingCount, 0) }),

    stop: async () => {
      controller.abort();
      await Promise.race([Promise.all(nodes.map((node) => node.running)), new Promise((resolve) => setTimeout(resolve, 15_000))]);
      setImmediate(() => process.exit(0));
      return { events, errors: errors.slice(0, 10) };
    },
  },
  MAX_LIFETIME_MS,
);
