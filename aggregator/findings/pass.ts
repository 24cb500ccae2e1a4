import { TcpState } from '../../agent/model.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import { SERIES_COUNT, seriesOf, type PodSample } from '../history/types.js';
import { listenOverflowsOf, type NodeState, type NodeStore } from '../node-store.js';
import { inPod, type PodIndex } from '../socket-store.js';
import { DEFAULT_PORT_RANGE, type FindingsSettings, type PortRange, type PortRangeOf } from './types.js';

/**
 * One pass over every stored socket, reading only the store's columns (state, queues, the
 * times a state began and a queue stopped draining, ports, first holder's pid): what every
 * rule and the history need, tallied per pod and per process. Nothing is decoded; rules that
 * fire look at their pod's sockets again for evidence (evidence.ts).
 */

/** Sockets whose condition started at or before a cut-off: how many, and the earliest start (ms). */
export interface Aged {
  sockets: number;
  oldestMs: number;
}

/** A listener whose accept queue has not shrunk since `sinceMs`. */
export interface StuckListener {
  readonly port: number;
  /** Connections waiting to be accepted, and the backlog when the agent knows it (0 when not: /proc shows none). */
  readonly queue: number;
  readonly backlog: number;
  readonly sinceMs: number;
}

export interface QueueTally extends Aged {
  bytes: number;
}

/** A pod's sockets as one pass saw them (history's sample, and what rules judge). */
export interface PodTally extends PodSample {
  /** `namespace/name`. */
  readonly key: string;
  readonly nodeState: NodeState;
  readonly workload: { readonly kind: string; readonly name: string } | null;
  /** The pod's PodIndex objects (one per container, per stream) and the node holding them: which stored sockets are its. */
  readonly podIndexes: Map<PodIndex, NodeState>;
  readonly counts: Int32Array;
  /** When its oldest CLOSE_WAIT socket entered the state (ms); Infinity for none. */
  closeWaitOldestMs: number;
  readonly stuckRecv: QueueTally;
  readonly stuckSend: QueueTally;
  readonly finWait2: Aged;
  readonly lastAck: Aged;
  /** Listeners whose accept queue has not shrunk for listenQueue.afterSeconds. */
  stuckListeners: StuckListener[] | undefined;
  /** Half-open connections by local port. */
  synRecv: Map<number, number> | undefined;
  /**
   * The pod's network namespace (inode, decimal) and its ephemeral port range, from its first
   * TCP/UDP/raw socket ('' and the default until one is seen: unix sockets live in whichever
   * namespace created them).
   */
  netns: string;
  portRange: PortRange;
  /** Connections the kernel dropped into a full accept queue in that namespace during the current backlog; undefined while none waits. */
  listenOverflows: number | undefined;
  /** TCP connections whose local port is in the range: what port pressure could be. */
  ephemeral: number;
}

export interface ProcessTally {
  readonly node: NodeState;
  readonly pid: number;
  readonly pod: PodTally;
  sockets: number;
}

export interface Pass {
  readonly nowMs: number;
  readonly pods: ReadonlyMap<string, PodTally>;
  readonly processes: readonly ProcessTally[];
  readonly sockets: number;
  /** Nodes that cannot be vouched for now (stale, disconnected, resyncing): their findings stay as they were. */
  readonly unavailable: ReadonlySet<string>;
}

const aged = (): Aged => ({ sockets: 0, oldestMs: Infinity });

function count(tally: Aged, sinceMs: number): void {
  tally.sockets++;
  if (sinceMs < tally.oldestMs) tally.oldestMs = sinceMs;
}

const NETNS_TAG = (2 << 3) | 0;

/** Socket.netns (field 2) of a stored socket's bytes, as decimal text; '' when absent. */
export function netnsOf(bytes: Uint8Array): string {
  let pos = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; pos < bytes.length && shift < 70n; shift += 7n) {
      const byte = bytes[pos++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    return value;
  };
  while (pos < bytes.length) {
    const tag = Number(varint());
    if (tag === NETNS_TAG) return varint().toString();
    switch (tag & 7) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        // Read first: `pos += varint()` would add to pos as it was before the length was read.
        const length = Number(varint());
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        return '';
    }
  }
  return '';
}

/**
 * Tallies every socket of every node; `portRangeOf` gives each pod's namespace's range. Yields
 * between nodes once `sliceMs` went by since it started or last yielded, so that a caller can
 * let queries and ingest run meanwhile (a million sockets take ~0.2 s); each node is tallied
 * whole, as it was at that moment.
 */
export function* passOver(store: NodeStore, settings: FindingsSettings, nowMs: number, portRangeOf?: PortRangeOf, sliceMs = Infinity): Generator<void, Pass> {
  const stuckBefore = nowMs - settings.stuckQueue.afterSeconds * 1000;
  const listenBefore = nowMs - settings.listenQueue.afterSeconds * 1000;
  const finWait2Before = nowMs - settings.lingering.finWait2Seconds * 1000;
  const lastAckBefore = nowMs - settings.lingering.lastAckSeconds * 1000;
  const minBytes = settings.stuckQueue.minBytes;
  const pods = new Map<string, PodTally>();
  const processes: ProcessTally[] = [];
  const unavailable = new Set<string>();
  let total = 0;
  let sliceStart = performance.now();
  for (const node of [...store.all()]) {
    if (performance.now() - sliceStart >= sliceMs) {
      yield;
      sliceStart = performance.now();
    }
    if (store.unavailableCause(node) !== undefined) unavailable.add(node.name);
    const sockets = node.sockets;
    const tallies = new Map<PodIndex, PodTally>();
    const byPid = new Map<number, ProcessTally>();
    let lastPod: PodIndex | undefined;
    let tally: PodTally | undefined;
    const limit = sockets.slotLimit;
    for (let slot = 0; slot < limit; slot++) {
      if (!sockets.isLive(slot)) continue;
      total++;
      const pod = sockets.pod(slot);
      if (pod !== lastPod || tally === undefined) {
        lastPod = pod;
        tally = pod === undefined ? undefined : tallies.get(pod);
        const named = inPod(pod);
        if (!tally && named) tallies.set(named, (tally = tallyOf(pods, named, node)));
      }
      if (!tally) continue;
      const proto = sockets.proto(slot);
      const state = sockets.stateCode(slot);
      const series = seriesOf(proto, state);
      if (series >= 0) tally.counts[series]!++;
      if (proto === Proto.PROTO_UNIX) continue;
      if (tally.netns === '') {
        tally.netns = netnsOf(sockets.bytesOf(slot));
        tally.portRange = (tally.netns && portRangeOf?.(node, tally.netns)) || DEFAULT_PORT_RANGE;
        tally.listenOverflows = tally.netns ? listenOverflowsOf(node, tally.netns) : undefined;
      }
      const pid = sockets.pid(slot);
      if (pid > 0) {
        let process = byPid.get(pid);
        if (!process) byPid.set(pid, (process = { node, pid, pod: tally, sockets: 0 }));
        process.sockets++;
      }
      const tcp = proto === Proto.PROTO_TCP || proto === Proto.PROTO_TCP6;
      if (!tcp) {
        // UDP and raw: a datagram queue nobody reads.
        if (sockets.recvQ(slot) >= minBytes && sockets.recvQSinceMs(slot) <= stuckBefore) countQueue(tally.stuckRecv, sockets.recvQSinceMs(slot), sockets.recvQ(slot));
        continue;
      }
      const localPort = sockets.localPort(slot);
      switch (state) {
        case TcpState.ESTABLISHED:
          if (sockets.recvQ(slot) >= minBytes && sockets.recvQSinceMs(slot) <= stuckBefore) countQueue(tally.stuckRecv, sockets.recvQSinceMs(slot), sockets.recvQ(slot));
          if (sockets.sendQ(slot) >= minBytes && sockets.sendQSinceMs(slot) <= stuckBefore) countQueue(tally.stuckSend, sockets.sendQSinceMs(slot), sockets.sendQ(slot));
          break;
        case TcpState.CLOSE_WAIT:
          // Its Recv-Q holds the unread FIN (1): the CLOSE_WAIT rule's business, not a stuck queue.
          if (sockets.stateSinceMs(slot) < tally.closeWaitOldestMs) tally.closeWaitOldestMs = sockets.stateSinceMs(slot);
          if (sockets.sendQ(slot) >= minBytes && sockets.sendQSinceMs(slot) <= stuckBefore) countQueue(tally.stuckSend, sockets.sendQSinceMs(slot), sockets.sendQ(slot));
          break;
        case TcpState.FIN_WAIT2:
          if (sockets.stateSinceMs(slot) <= finWait2Before) count(tally.finWait2, sockets.stateSinceMs(slot));
          break;
        case TcpState.LAST_ACK:
          if (sockets.stateSinceMs(slot) <= lastAckBefore) count(tally.lastAck, sockets.stateSinceMs(slot));
          break;
        case TcpState.LISTEN:
          // Recv-Q is the accept queue; Send-Q its backlog only where the agent reads it (not /proc: 0).
          if (sockets.recvQ(slot) > 0 && sockets.recvQSinceMs(slot) <= listenBefore) {
            (tally.stuckListeners ??= []).push({ port: localPort, queue: sockets.recvQ(slot), backlog: sockets.sendQ(slot), sinceMs: sockets.recvQSinceMs(slot) });
          }
          continue;
        case TcpState.SYN_RECV:
          tally.synRecv ??= new Map();
          tally.synRecv.set(localPort, (tally.synRecv.get(localPort) ?? 0) + 1);
          break;
      }
      if (localPort >= tally.portRange.low && localPort <= tally.portRange.high && sockets.foreignPort(slot) !== 0) tally.ephemeral++;
    }
    for (const process of byPid.values()) processes.push(process);
  }
  return { nowMs, pods, processes, sockets: total, unavailable };
}

function countQueue(tally: QueueTally, sinceMs: number, bytes: number): void {
  count(tally, sinceMs);
  tally.bytes += bytes;
}

/** The tally of a pod (found by name: a pod's containers and streams have a PodIndex each), made on first sight. */
function tallyOf(pods: Map<string, PodTally>, pod: PodIndex, node: NodeState): PodTally {
  const key = `${pod.namespace}/${pod.name}`;
  let tally = pods.get(key);
  if (!tally) {
    tally = {
      key,
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      node: node.name,
      nodeState: node,
      workload: pod.workloadName ? { kind: pod.workloadKind, name: pod.workloadName } : null,
      podIndexes: new Map(),
      counts: new Int32Array(SERIES_COUNT),
      closeWaitOldestMs: Infinity,
      stuckRecv: { ...aged(), bytes: 0 },
      stuckSend: { ...aged(), bytes: 0 },
      finWait2: aged(),
      lastAck: aged(),
      stuckListeners: undefined,
      synRecv: undefined,
      netns: '',
      portRange: DEFAULT_PORT_RANGE,
      listenOverflows: undefined,
      ephemeral: 0,
    };
    pods.set(key, tally);
  }
  tally.podIndexes.set(pod, node);
  return tally;
}
