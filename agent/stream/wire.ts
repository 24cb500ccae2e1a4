import type { SocketAttribution } from '../../model/pod.js';
import { netstatAddress } from '../../model/address.js';
import type { SocketRecord } from '../../model/socket.js';
import { PROTO_TO_WIRE, SHAPES } from '../../model/wire.js';
import type { HostSockets, NamespaceScan, ProcessInfo, SocketHolder } from '../scan/types.js';
import { netstatStateName, ssStateName, timerKind } from '../../model/states.js';
import { LineShape, type PodRef, type ProcessRef, type Socket } from '../../gen/kubenetstat/v1/socket.js';
import { socketKey } from './socket-key.js';

/** What the wire sockets of one namespace share, made once for all of them (wireContext). */
export interface WireContext {
  readonly node: string;
  readonly namespace: NamespaceScan;
  /** namespace.netnsInode as the wire carries it. */
  readonly netns: bigint;
  readonly holders: ReadonlyMap<string, readonly SocketHolder[]>;
  readonly processes: ReadonlyMap<number, ProcessInfo>;
  /** When the tables were read (Unix ms): a new socket's first sighting, and when its timer was read. */
  readonly firstSeen: bigint;
}

export function wireContext(node: string, namespace: NamespaceScan, scan: HostSockets & { readonly processes: ReadonlyMap<number, ProcessInfo> }, firstSeenMs: number): WireContext {
  return { node, namespace, netns: BigInt(namespace.netnsInode), holders: scan.holders, processes: scan.processes, firstSeen: BigInt(firstSeenMs) };
}

/** A kernel count as the wire's 64-bit number; the zero most of them are is a constant. */
const wide = (value: number): bigint => (value === 0 ? 0n : BigInt(value));

/**
 * Every process holding the inode, by pid, with its fds, ascending by pid as the holders are.
 * Names are raw bytes (latin1). Arrays are made at their size: one pushed onto grows spare
 * room, kept as long as the socket is.
 */
function processRefs(inode: string, context: WireContext): ProcessRef[] {
  const holders = inode === '0' ? undefined : context.holders.get(inode);
  if (!holders) return [];
  const refs: ProcessRef[] = [];
  for (let at = 0; at < holders.length; ) {
    const { pid, fd } = holders[at]!;
    let end = at + 1;
    while (end < holders.length && holders[end]!.pid === pid) end++;
    const info = context.processes.get(pid);
    const fds = end === at + 1 ? [fd] : holders.slice(at, end).map((holder) => holder.fd);
    const ref: ProcessRef = { pid, name: info?.name ?? '', comm: info?.comm ?? '', fds };
    if (end === holders.length && at === 0) return [ref];
    refs.push(ref);
    at = end;
  }
  return refs;
}

/**
 * The wire form of one scanned socket: what the agent streams and every output is made from.
 * One object literal with every field in the message's order (as createBaseSocket): a listing
 * makes one per socket of the host, and fields added afterwards cost each object a second
 * allocation.
 */
export function toWireSocket(record: SocketRecord, attribution: SocketAttribution, context: WireContext): Socket {
  const unix = record.proto === 'unix' ? record : undefined;
  const inet = record.proto === 'unix' ? undefined : record;
  const timer = inet?.timer;
  const tcp = inet?.tcp;
  return {
    node: context.node,
    netns: context.netns,
    pod: podRef(attribution),
    proto: PROTO_TO_WIRE[record.proto],
    localAddress: inet ? netstatAddress(inet.localAddress) : '',
    localPort: inet ? inet.localPort : 0,
    foreignAddress: inet ? netstatAddress(inet.foreignAddress) : '',
    foreignPort: inet ? inet.foreignPort : 0,
    stateCode: inet ? inet.stateCode : unix!.st,
    state: netstatStateName(record),
    recvQ: inet ? wide(inet.rxQueue) : 0n,
    sendQ: inet ? wide(inet.txQueue) : 0n,
    uid: inet ? inet.uid : 0,
    inode: BigInt(record.inode),
    timer: inet && timer && { code: timer.code, kind: timerKind(inet.proto, timer.code), ticks: wide(timer.ticks), retransmits: timer.retransmits, probes: timer.probes, readUnixMs: context.firstSeen },
    processes: processRefs(record.inode, context),
    unix: unix && { path: Buffer.from(unix.path ?? '', 'latin1'), type: unix.type, flags: unix.flags },
    tcp: tcp && { rtoTicks: tcp.rtoTicks, atoTicks: tcp.atoTicks, quickAckPingpong: tcp.quickAckPingpong, sndCwnd: tcp.sndCwnd, ssthresh: tcp.ssthresh },
    drops: inet?.drops === undefined ? 0n : wide(inet.drops),
    refCount: record.refCount,
    shape: inet ? SHAPES[inet.shape] : LineShape.LINE_SHAPE_FULL,
    firstSeenUnixMs: context.firstSeen,
    hostNetwork: attribution.hostNetwork,
    key: socketKey(context.namespace.netnsInode, record),
    attributedBy: attribution.source,
    ssState: ssStateName(record),
    podRef: 0,
    peer: undefined,
  };
}

/** The pod a socket is attributed to, as the wire names it; none on the host and in namespaces no pod owns. */
function podRef(attribution: SocketAttribution): PodRef | undefined {
  if (attribution.podUid === null) return undefined;
  const pod = attribution.pod;
  return {
    namespace: pod?.namespace ?? '',
    name: pod?.name ?? '',
    uid: pod?.uid ?? attribution.podUid,
    container: attribution.containerName ?? '',
    containerId: attribution.containerId ?? '',
    runtime: attribution.runtime ?? '',
    workloadKind: pod?.workload?.kind ?? '',
    workloadName: pod?.workload?.name ?? '',
    labels: { ...(pod?.labels ?? {}) },
  };
}
