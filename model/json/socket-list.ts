import { isUtf8 } from 'node:buffer';
import type { AttributionSource } from '../pod.js';
import type { SocketProto } from '../socket.js';
import { WIRE_TO_PROTO } from '../wire.js';
import { timerSecondsLeft, unixTypeName } from '../states.js';
import type { UnavailableNode as WireUnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import { peerItem } from './peer-text.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';

/** The `-o json` contract of the design: a Kubernetes-style list object. */
export interface SocketList {
  readonly apiVersion: 'kubenetstat.io/v1';
  readonly kind: 'SocketList';
  readonly items: SocketItem[];
  readonly unavailableNodes: UnavailableNode[];
}

export interface UnavailableNode {
  readonly node: string;
  readonly reason: string;
  /** RFC 3339; null when the node was never heard from. */
  readonly lastSeen: string | null;
}

export interface ProcessItem {
  readonly pid: number;
  readonly name: string;
  readonly comm: string;
  readonly fds: number[];
}

/** What is behind the foreign address, as the aggregator names it from the cluster (socket.proto Peer). */
export interface PeerItem {
  /** pod, service, node, local (loopback) or external. */
  readonly kind: string;
  /** Of a pod or service; null otherwise. */
  readonly namespace: string | null;
  /** Of a pod, service or node; null for local and external. */
  readonly name: string | null;
  /** Services (namespace/name) whose EndpointSlices list the address. */
  readonly services: string[];
}

export interface WorkloadItem {
  readonly kind: string;
  readonly name: string;
}

export interface SocketItem {
  readonly node: string;
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly podUID: string | null;
  readonly container: string | null;
  readonly containerID: string | null;
  /** The runtime the container ID belongs to (`containerd`, `cri-o`, `docker`), when its cgroup says. */
  readonly runtime: string | null;
  /** The pod's owner: `{kind, name}` (Deployment through its ReplicaSet, CronJob through its Job). */
  readonly workload: WorkloadItem | null;
  /** How the pod was found: the holding process, the pod's namespace, or a listener on the same port. */
  readonly attributedBy: AttributionSource;
  readonly netns: string;
  readonly hostNetwork: boolean;
  /** 'unknown' for a table this build has no name for (an agent newer than the reader): the rest is as sent. */
  readonly proto: SocketProto | 'unknown';
  readonly localAddress: string | null;
  readonly localPort: number | null;
  readonly foreignAddress: string | null;
  readonly foreignPort: number | null;
  /** null when the socket has no foreign endpoint, or the answer's source has no cluster access. */
  readonly peer: PeerItem | null;
  readonly state: string;
  /** ss's name for the state, the vocabulary of --state. */
  readonly ssState: string;
  /** null for unix sockets: /proc/net/unix carries no queue lengths. */
  readonly recvQ: number | null;
  readonly sendQ: number | null;
  readonly uid: number | null;
  readonly inode: string;
  readonly processes: ProcessItem[];
  readonly timer: { kind: string; seconds: number; retransmits: number; probes: number } | null;
  readonly firstSeen: string;
  readonly path?: string | null;
  /** The name's exact bytes, present only when they are not valid UTF-8. */
  readonly pathBase64?: string;
  readonly type?: string;
  readonly flags?: number;
  readonly refCnt?: number;
}

/**
 * Kernel text kept byte for byte (unix names, argv[0]) as JSON shows it: decoded when it is
 * valid UTF-8 — the normal case — otherwise with every byte outside printable ASCII, and the
 * backslash, written as a `\xHH` escape so nothing is lost or replaced (the exact bytes of a
 * unix name also travel in `pathBase64`).
 */
export function displayBytes(latin1Text: string): string {
  return displayBuffer(Buffer.from(latin1Text, 'latin1'));
}

function displayBuffer(bytes: Uint8Array): string {
  if (isUtf8(bytes)) return Buffer.from(bytes).toString('utf8');
  let text = '';
  for (const byte of bytes) text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return text;
}

function unixPath(path: Uint8Array): Pick<SocketItem, 'path' | 'pathBase64'> {
  if (path.length === 0) return { path: null };
  return isUtf8(path) ? { path: Buffer.from(path).toString('utf8') } : { path: displayBuffer(path), pathBase64: Buffer.from(path).toString('base64') };
}

const orNull = (text: string | undefined): string | null => (text ? text : null);

/**
 * The JSON item of a wire socket; the same contract from `local` and from the aggregator. One
 * object literal in the contract's key order: an item is made per socket of a listing, and
 * spreading a common part into a bigger object costs each one a copy and leaves garbage the
 * young generation promotes. Unix sockets add their fields after (rare, and a cheap
 * transition). A proto this build does not know (an agent newer than it) is named 'unknown'.
 * `asOfMs`: the answer's instant, to which timers are counted down (timerSecondsLeft); a
 * listing of a read just made (`local`) shows them as read.
 */
export function socketItem(socket: Socket, asOfMs?: number): SocketItem {
  const proto: SocketItem['proto'] = WIRE_TO_PROTO.get(socket.proto) ?? 'unknown';
  const pod = socket.pod;
  const unix = proto === 'unix';
  const timer = unix ? undefined : socket.timer;
  const item = {
    node: socket.node,
    namespace: orNull(pod?.namespace),
    pod: orNull(pod?.name),
    podUID: orNull(pod?.uid),
    container: orNull(pod?.container),
    containerID: orNull(pod?.containerId),
    runtime: orNull(pod?.runtime),
    workload: pod?.workloadKind ? { kind: pod.workloadKind, name: pod.workloadName } : null,
    attributedBy: (socket.attributedBy || 'none') as AttributionSource,
    netns: socket.netns.toString(),
    hostNetwork: socket.hostNetwork,
    proto,
    state: socket.state,
    ssState: socket.ssState,
    inode: socket.inode.toString(),
    processes: socket.processes.map((process) => ({ pid: process.pid, name: displayBytes(process.name), comm: displayBytes(process.comm), fds: [...process.fds] })),
    firstSeen: new Date(Number(socket.firstSeenUnixMs)).toISOString(),
    localAddress: unix ? null : socket.localAddress,
    localPort: unix || socket.localPort === 0 ? null : socket.localPort,
    foreignAddress: unix ? null : socket.foreignAddress,
    foreignPort: unix || socket.foreignPort === 0 ? null : socket.foreignPort,
    peer: unix ? null : peerItem(socket.peer),
    recvQ: unix ? null : Number(socket.recvQ),
    sendQ: unix ? null : Number(socket.sendQ),
    uid: unix ? null : socket.uid,
    timer: timer ? { kind: timer.kind, seconds: timerSecondsLeft(timer, asOfMs), retransmits: timer.retransmits, probes: timer.probes } : null,
  };
  if (!unix) return item;
  return Object.assign(item, unixPath(socket.unix?.path ?? new Uint8Array()), { type: unixTypeName(socket.unix?.type ?? 0), flags: socket.unix?.flags ?? 0, refCnt: socket.refCount });
}

/** The JSON of the nodes an answer cannot vouch for. */
export function unavailableItems(nodes: readonly WireUnavailableNode[]): UnavailableNode[] {
  return nodes.map((node) => ({
    node: node.node,
    reason: node.reason,
    lastSeen: node.lastSeenUnixMs > 0n ? new Date(Number(node.lastSeenUnixMs)).toISOString() : null,
  }));
}

export function socketList(items: SocketItem[], unavailableNodes: UnavailableNode[] = []): SocketList {
  return { apiVersion: 'kubenetstat.io/v1', kind: 'SocketList', items, unavailableNodes };
}
