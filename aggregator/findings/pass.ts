import { TcpState } from '../../model/socket.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import { SERIES_COUNT, seriesOf, type PodSample } from '../history/types.js';
import { inPod, listenOverflowsOf, NetnsReader, type NodeState, type NodeStore, type PodIndex } from '../store/index.js';
import { Slice } from '../slice.js';
import { DEFAULT_PORT_RANGE, type PortRange } from '../../model/port-range.js';
import type { FindingsSettings, PortRangeOf } from './types.js';

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
  uid: string;
  node: string;
  nodeState: NodeState;
  workload: { readonly kind: string; readonly name: string } | null;
  /**
   * Other nodes than nodeState holding sockets of a pod of this name (a name reused while the
   * old pod's node still reports it); undefined in the usual case of one. A stored socket is
   * the pod's when its PodIndex has the pod's key (evidence.ts).
   */
  moreNodes: NodeState[] | undefined;
  /** Sockets by series (history/types.ts). A plain array: a short one takes a fraction of an Int32Array's memory, for every pod kept between passes. */
  readonly counts: number[];
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
  /** The pass (PassMemory) that last reset this tally. */
  pass: number;
  /** The process of the pod's last socket with a holder, in this node's walk: consecutive sockets are mostly one process's. */
  lastProcess: ProcessTally | undefined;
}

export interface ProcessTally {
  readonly node: NodeState;
  readonly pid: number;
  /** `node/pid`: the process's subject in trends. */
  readonly subject: string;
  pod: PodTally;
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
/** A literal, not `{ ...aged(), bytes: 0 }`: an object spread makes an object several times the size of the literal. */
const queueTally = (): QueueTally => ({ sockets: 0, oldestMs: Infinity, bytes: 0 });
const NO_COUNTS: readonly number[] = new Array<number>(SERIES_COUNT).fill(0);

function resetAged(tally: Aged): void {
  tally.sockets = 0;
  tally.oldestMs = Infinity;
}

function count(tally: Aged, sinceMs: number): void {
  tally.sockets++;
  if (sinceMs < tally.oldestMs) tally.oldestMs = sinceMs;
}

/** Node walks by every PassMemory so far. */
let walks = 0;

/**
 * What passes keep between them, so that a pass allocates next to nothing: every pod's and
 * process's tally, reset when a pass first meets it and dropped by a pass that did not. Made
 * afresh per pass, the tallies of every pod and process would be short-lived objects on every
 * pass, which the aggregator's peak memory pays for while it takes bursts of changes. One
 * engine owns one; its passes never overlap.
 */
export class PassMemory {
  /** Pods by `namespace/name`: the pass's `pods` once the pass is over. */
  readonly pods = new Map<string, PodTally>();
  /** Processes by node and pid, with the pass that last met each node. */
  private readonly nodes = new Map<NodeState, { pass: number; readonly byPid: Map<number, ProcessTally> }>();
  /** The processes the pass met: its `processes`. */
  readonly processes: ProcessTally[] = [];
  readonly unavailable = new Set<string>();
  /** Reads each pod's network namespace off one of its stored sockets. */
  readonly netns = new NetnsReader();
  /** The current pass's number; a tally met in it carries it. */
  private pass = 0;
  /** The current node walk's number: a PodIndex met in it carries the number and its tally (PodIndex.walk). */
  private walk = 0;

  begin(): void {
    this.pass++;
    this.processes.length = 0;
    this.unavailable.clear();
  }

  /** The tally of a pod (found by name: a pod's containers and streams have a PodIndex each), reset when this pass first meets it. */
  podTally(pod: PodIndex, node: NodeState): PodTally {
    let tally = this.pods.get(pod.key);
    if (!tally) {
      tally = {
        key: pod.key,
        namespace: pod.namespace,
        name: pod.name,
        uid: '',
        node: '',
        nodeState: node,
        workload: null,
        moreNodes: undefined,
        // A copy of a packed array: exactly SERIES_COUNT small integers.
        counts: NO_COUNTS.slice(),
        closeWaitOldestMs: Infinity,
        stuckRecv: queueTally(),
        stuckSend: queueTally(),
        finWait2: aged(),
        lastAck: aged(),
        stuckListeners: undefined,
        synRecv: undefined,
        netns: '',
        portRange: DEFAULT_PORT_RANGE,
        listenOverflows: undefined,
        ephemeral: 0,
        pass: -1,
        lastProcess: undefined,
      };
      this.pods.set(pod.key, tally);
    }
    if (tally.pass !== this.pass) resetTally(tally, pod, node, this.pass);
    else if (node !== tally.nodeState && !tally.moreNodes?.includes(node)) (tally.moreNodes ??= []).push(node);
    return tally;
  }

  /** Starts a node's walk: its processes by pid, their counts at 0; endNode() keeps those the walk met. */
  beginNode(node: NodeState): Map<number, ProcessTally> {
    let entry = this.nodes.get(node);
    if (!entry) this.nodes.set(node, (entry = { pass: this.pass, byPid: new Map() }));
    entry.pass = this.pass;
    for (const process of entry.byPid.values()) process.sockets = 0;
    // Numbered across every memory: two engines over one store never take each other's marks.
    this.walk = ++walks;
    return entry.byPid;
  }

  /** The tally of a socket's pod in the current node walk; undefined outside pods. */
  tallyOf(pod: PodIndex | undefined, node: NodeState): PodTally | undefined {
    if (pod === undefined) return undefined;
    if (pod.walk === this.walk) return pod.walkValue as PodTally | undefined;
    const named = inPod(pod);
    const tally = named && this.podTally(named, node);
    pod.walk = this.walk;
    pod.walkValue = tally;
    return tally;
  }

  /** Ends a node's walk: processes without sockets now are forgotten, the others listed. */
  endNode(byPid: Map<number, ProcessTally>): void {
    // forEach, here and below: a for-of over entries makes an array per entry, every pass.
    byPid.forEach((process, pid) => {
      if (process.sockets === 0) byPid.delete(pid);
      else this.processes.push(process);
    });
  }

  /** Ends the pass: pods and nodes it did not meet are forgotten. */
  end(): void {
    this.pods.forEach((tally, key) => {
      if (tally.pass !== this.pass) this.pods.delete(key);
    });
    this.nodes.forEach((entry, node) => {
      if (entry.pass !== this.pass) this.nodes.delete(node);
    });
  }
}

function resetTally(tally: PodTally, pod: PodIndex, node: NodeState, pass: number): void {
  tally.pass = pass;
  tally.uid = pod.uid;
  tally.node = node.name;
  tally.nodeState = node;
  if (tally.workload?.kind !== pod.workloadKind || tally.workload.name !== pod.workloadName) tally.workload = pod.workloadName ? { kind: pod.workloadKind, name: pod.workloadName } : null;
  tally.moreNodes = undefined;
  tally.counts.fill(0);
  tally.closeWaitOldestMs = Infinity;
  resetAged(tally.stuckRecv);
  tally.stuckRecv.bytes = 0;
  resetAged(tally.stuckSend);
  tally.stuckSend.bytes = 0;
  resetAged(tally.finWait2);
  resetAged(tally.lastAck);
  tally.stuckListeners = undefined;
  tally.synRecv = undefined;
  tally.netns = '';
  tally.portRange = DEFAULT_PORT_RANGE;
  tally.listenOverflows = undefined;
  tally.ephemeral = 0;
  tally.lastProcess = undefined;
}

/**
 * Tallies every socket of every node; `portRangeOf` gives each pod's namespace's range. Yields
 * between nodes whenever `slice` is due (the caller's, which the steps after the pass go on
 * using), so that a caller can let queries and ingest run meanwhile; each node is tallied whole, as it was at that moment. The pass's pods and processes
 * are `memory`'s tallies: they hold until the next pass with the same memory begins.
 */
export function* passOver(store: NodeStore, settings: FindingsSettings, nowMs: number, portRangeOf?: PortRangeOf, slice = new Slice(Infinity), memory = new PassMemory()): Generator<void, Pass> {
  const stuckBefore = nowMs - settings.stuckQueue.afterSeconds * 1000;
  const listenBefore = nowMs - settings.listenQueue.afterSeconds * 1000;
  const finWait2Before = nowMs - settings.lingering.finWait2Seconds * 1000;
  const lastAckBefore = nowMs - settings.lingering.lastAckSeconds * 1000;
  const minBytes = settings.stuckQueue.minBytes;
  memory.begin();
  let total = 0;
  for (const node of [...store.all()]) {
    if (slice.due()) yield* slice.rest();
    if (store.unavailableCause(node) !== undefined) memory.unavailable.add(node.name);
    const sockets = node.sockets;
    const byPid = memory.beginNode(node);
    const limit = sockets.slotLimit;
    for (let slot = 0; slot < limit; slot++) {
      if (!sockets.isLive(slot)) continue;
      total++;
      const tally = memory.tallyOf(sockets.pod(slot), node);
      if (!tally) continue;
      const proto = sockets.proto(slot);
      const state = sockets.stateCode(slot);
      const series = seriesOf(proto, state);
      if (series >= 0) tally.counts[series]!++;
      if (proto === Proto.PROTO_UNIX) continue;
      if (tally.netns === '') {
        tally.netns = memory.netns.read(sockets.bytesOf(slot));
        tally.portRange = (tally.netns && portRangeOf?.(node, tally.netns)) || DEFAULT_PORT_RANGE;
        tally.listenOverflows = tally.netns ? listenOverflowsOf(node, tally.netns) : undefined;
      }
      const pid = sockets.pid(slot);
      if (pid > 0) {
        const last = tally.lastProcess;
        let process = last?.pid === pid && last.node === node ? last : byPid.get(pid);
        if (!process) byPid.set(pid, (process = { node, pid, subject: `${node.name}/${pid}`, pod: tally, sockets: 0 }));
        tally.lastProcess = process;
        // A pid is one process of its node, in one pod: the pod of its first socket in this walk.
        if (process.sockets === 0) process.pod = tally;
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
    memory.endNode(byPid);
  }
  memory.end();
  return { nowMs, pods: memory.pods, processes: memory.processes, sockets: total, unavailable: memory.unavailable };
}

function countQueue(tally: QueueTally, sinceMs: number, bytes: number): void {
  count(tally, sinceMs);
  tally.bytes += bytes;
}
