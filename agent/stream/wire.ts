import type { SocketAttribution } from '../attribution/types.js';
import { netstatAddress } from '../procfs/address.js';
import type { InetProto, SocketProto, SocketRecord } from '../model.js';
import type { NamespaceScan, ProcessInfo, SocketHolder } from '../scan/index.js';
import { netstatStateName, ssStateName, timerKind } from '../states.js';
import type { Socket} from '../../gen/kubenetstat/v1/socket.js';
import { LineShape, Proto, type ProcessRef } from '../../gen/kubenetstat/v1/socket.js';
import { socketKey } from './socket-key.js';

export const PROTO_TO_WIRE: Readonly<Record<SocketProto, Proto>> = {
  tcp: Proto.PROTO_TCP,
  tcp6: Proto.PROTO_TCP6,
  udp: Proto.PROTO_UDP,
  udp6: Proto.PROTO_UDP6,
  raw: Proto.PROTO_RAW,
  raw6: Proto.PROTO_RAW6,
  unix: Proto.PROTO_UNIX,
};

export const WIRE_TO_PROTO: ReadonlyMap<Proto, SocketProto> = new Map(Object.entries(PROTO_TO_WIRE).map(([proto, wire]) => [wire, proto as SocketProto]));

const SHAPES = { full: LineShape.LINE_SHAPE_FULL, timewait: LineShape.LINE_SHAPE_TIMEWAIT, request: LineShape.LINE_SHAPE_REQUEST } as const;
const SHAPE_NAMES: ReadonlyMap<LineShape, 'full' | 'timewait' | 'request'> = new Map(Object.entries(SHAPES).map(([name, shape]) => [shape, name as keyof typeof SHAPES]));

export interface WireContext {
  readonly node: string;
  readonly namespace: NamespaceScan;
  readonly attribution: SocketAttribution;
  readonly holders: ReadonlyMap<string, readonly SocketHolder[]>;
  readonly processes: ReadonlyMap<number, ProcessInfo>;
  readonly firstSeenMs: number;
}

/** Every process holding the inode, by pid, with its fds. Names are raw bytes (latin1). */
function processRefs(inode: string, context: WireContext): ProcessRef[] {
  if (inode === '0') return [];
  const byPid = new Map<number, ProcessRef>();
  for (const holder of context.holders.get(inode) ?? []) {
    let ref = byPid.get(holder.pid);
    if (!ref) {
      const info = context.processes.get(holder.pid);
      ref = { pid: holder.pid, name: info?.name ?? '', comm: info?.comm ?? '', fds: [] };
      byPid.set(holder.pid, ref);
    }
    ref.fds.push(holder.fd);
  }
  return [...byPid.values()].sort((a, b) => a.pid - b.pid);
}

/** The wire form of one scanned socket: what the agent streams and every output is made from. */
export function toWireSocket(record: SocketRecord, context: WireContext): Socket {
  const { attribution, namespace } = context;
  const pod = attribution.pod;
  const socket: Socket = {
    node: context.node,
    netns: BigInt(namespace.netnsInode),
    proto: PROTO_TO_WIRE[record.proto],
    localAddress: '',
    localPort: 0,
    foreignAddress: '',
    foreignPort: 0,
    stateCode: record.proto === 'unix' ? record.st : record.stateCode,
    state: netstatStateName(record),
    recvQ: 0n,
    sendQ: 0n,
    uid: 0,
    inode: BigInt(record.inode),
    processes: processRefs(record.inode, context),
    drops: 0n,
    refCount: record.refCount,
    shape: record.proto === 'unix' ? LineShape.LINE_SHAPE_FULL : SHAPES[record.shape],
    firstSeenUnixMs: BigInt(context.firstSeenMs),
    hostNetwork: attribution.hostNetwork,
    key: socketKey(namespace.netnsInode, record),
    attributedBy: attribution.source,
    ssState: ssStateName(record),
    podRef: 0,
  };
  if (attribution.podUid !== null) {
    socket.pod = {
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
  if (record.proto === 'unix') {
    socket.unix = { path: Buffer.from(record.path ?? '', 'latin1'), type: record.type, flags: record.flags };
    return socket;
  }
  socket.localAddress = netstatAddress(record.localAddress);
  socket.localPort = record.localPort;
  socket.foreignAddress = netstatAddress(record.foreignAddress);
  socket.foreignPort = record.foreignPort;
  socket.recvQ = BigInt(record.rxQueue);
  socket.sendQ = BigInt(record.txQueue);
  socket.uid = record.uid;
  socket.timer = {
    code: record.timer.code,
    kind: timerKind(record),
    ticks: BigInt(record.timer.ticks),
    retransmits: record.timer.retransmits,
    probes: record.timer.probes,
  };
  if (record.tcp) socket.tcp = { ...record.tcp };
  if (record.drops !== undefined) socket.drops = BigInt(record.drops);
  return socket;
}

/**
 * The record a wire socket was made from, as far as the wire carries it (the kernel pointer
 * does not travel): what netstat-style output of sockets from elsewhere is formatted from.
 * Addresses are already in netstat's form (IPv4-mapped IPv6 shown as IPv4).
 */
export function fromWireSocket(socket: Socket): SocketRecord {
  const proto = WIRE_TO_PROTO.get(socket.proto) ?? 'tcp';
  const inode = socket.inode.toString();
  if (proto === 'unix') {
    const path = socket.unix?.path;
    return {
      proto,
      pointer: '',
      refCount: socket.refCount,
      protocol: 0,
      flags: socket.unix?.flags ?? 0,
      type: socket.unix?.type ?? 0,
      st: socket.stateCode,
      inode,
      path: path && path.length > 0 ? Buffer.from(path).toString('latin1') : null,
    };
  }
  const timer = socket.timer;
  return {
    proto: proto as InetProto,
    shape: SHAPE_NAMES.get(socket.shape) ?? 'full',
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    foreignAddress: socket.foreignAddress,
    foreignPort: socket.foreignPort,
    stateCode: socket.stateCode,
    txQueue: Number(socket.sendQ),
    rxQueue: Number(socket.recvQ),
    timer: { code: timer?.code ?? 0, ticks: Number(timer?.ticks ?? 0n), retransmits: timer?.retransmits ?? 0, probes: timer?.probes ?? 0 },
    uid: socket.uid,
    inode,
    refCount: socket.refCount,
    pointer: '',
    ...(socket.tcp && { tcp: { ...socket.tcp } }),
    ...(proto !== 'tcp' && proto !== 'tcp6' && { drops: Number(socket.drops) }),
  };
}
