/** The socket model's names for the wire's enums (socket.proto), both ways. */
import type { InetProto, SocketProto, SocketRecord } from './socket.js';
import type { Socket } from '../gen/kubenetstat/v1/socket.js';
import { LineShape, Proto } from '../gen/kubenetstat/v1/socket.js';

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

export const SHAPES = { full: LineShape.LINE_SHAPE_FULL, timewait: LineShape.LINE_SHAPE_TIMEWAIT, request: LineShape.LINE_SHAPE_REQUEST } as const;
const SHAPE_NAMES: ReadonlyMap<LineShape, 'full' | 'timewait' | 'request'> = new Map(Object.entries(SHAPES).map(([name, shape]) => [shape, name as keyof typeof SHAPES]));

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
