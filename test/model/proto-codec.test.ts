import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Delta, StreamRequest } from '../../gen/kubenetstat/v1/agent.js';
import { LineShape, Proto, Socket } from '../../gen/kubenetstat/v1/socket.js';

const socket: Socket = Socket.fromPartial({
  node: 'node-a',
  netns: 18446744073709551615n,
  proto: Proto.PROTO_TCP6,
  localAddress: '::ffff:10.0.0.1',
  localPort: 8443,
  foreignAddress: '10.0.0.2',
  foreignPort: 53626,
  stateCode: 8,
  state: 'CLOSE_WAIT',
  recvQ: 1n,
  sendQ: 0n,
  uid: 1000680000,
  inode: 18446744073709551615n,
  timer: { code: 2, kind: 'keepalive', ticks: 719771n, retransmits: 0, probes: 3 },
  processes: [{ pid: 30775, name: 'python3', comm: 'python3', fds: [3, 9] }],
  tcp: { rtoTicks: 20, atoTicks: 4, quickAckPingpong: 20, sndCwnd: 10, ssthresh: -1 },
  refCount: 1,
  shape: LineShape.LINE_SHAPE_FULL,
  firstSeenUnixMs: 1_764_190_000_000n,
  pod: { namespace: 'shop', name: 'cart-0', uid: 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607', container: 'cart', containerId: 'a1d3', runtime: 'containerd', workloadKind: 'StatefulSet', workloadName: 'cart' },
});

test('a Socket survives encode/decode exactly, 64-bit inode and netns included', () => {
  const decoded = Socket.decode(Socket.encode(socket).finish());
  assert.deepEqual(decoded, socket);
  assert.equal(decoded.inode, 2n ** 64n - 1n);
});

test('a unix socket keeps its raw name bytes', () => {
  const unix = Socket.fromPartial({ proto: Proto.PROTO_UNIX, unix: { path: Buffer.from([0x40, 0x69, 0x00, 0xff]), type: 5, flags: 0x10000 } });
  assert.deepEqual(Buffer.from(Socket.decode(Socket.encode(unix).finish()).unix?.path ?? []), Buffer.from([0x40, 0x69, 0x00, 0xff]));
});

test('a stream delta carries upserts and removals through the oneof', () => {
  const request: StreamRequest = { message: { $case: 'delta', value: Delta.fromPartial({ sequence: 42n, upserted: [socket], removedKeys: ['k1'] }) } };
  const decoded = StreamRequest.decode(StreamRequest.encode(request).finish());
  assert.deepEqual(decoded, request);
});
