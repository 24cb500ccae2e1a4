/** The socket model's names for the wire's enums (socket.proto), both ways. */
import type { SocketProto } from './socket.js';
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

/**
 * The table a wire socket comes from; absent for a proto this build does not know (an agent
 * newer than this program, or PROTO_UNSPECIFIED): callers say what they do with those.
 */
export const WIRE_TO_PROTO: ReadonlyMap<Proto, SocketProto> = new Map(Object.entries(PROTO_TO_WIRE).map(([proto, wire]) => [wire, proto as SocketProto]));

export const SHAPES = { full: LineShape.LINE_SHAPE_FULL, timewait: LineShape.LINE_SHAPE_TIMEWAIT, request: LineShape.LINE_SHAPE_REQUEST } as const;
