import type { SocketAttribution } from '../../model/pod.js';
import { netstatAddress } from '../../model/address.js';
import type { SocketRecord } from '../../model/socket.js';
import { PROTO_TO_WIRE, SHAPES } from '../../model/wire.js';
import type { NamespaceScan, ProcessInfo, SocketHolder } from '../scan/index.js';
import { netstatStateName, ssStateName, timerKind } from '../../model/states.js';
import type { Socket} from '../../gen/kubenetstat/v1/socket.js';
import { LineShape, type ProcessRef } from '../../gen/kubenetstat/v1/socket.js';
import { socketKey } from './socket-key.js';

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
