import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { listSockets, listSocketsEncoded } from '../../../aggregator/query/index.js';
import type { RunningAggregator } from '../../../aggregator/server/index.js';
import { NodeSockets, SocketChunks } from '../../../aggregator/store/index.js';
import { PodCache, readSocket } from '../../../aggregator/ingest/index.js';
import { AgentServiceClient, type StreamRequest } from '../../../gen/kubenetstat/v1/agent.js';
import { ListResponse } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { WIRE } from '../../../model/wire-fields.js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { startLoopbackAggregator } from '../../support/loopback-aggregator.js';
import { converse } from '../../support/stream/raw-grpc.js';

/**
 * What the aggregator knows of a socket outlives the agent's reconnects, restarts and
 * resnapshots: the earliest firstSeen wins (in the column queries filter on and in the bytes
 * answers are made of), and so do the times the socket entered its state and its queues
 * stopped draining. A new boot's sockets are other sockets.
 */

const T0 = Date.UTC(2024, 0, 1);
const MINUTE = 60_000;

const tcp = (key: string, fields: Partial<Socket> = {}): Socket =>
  Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '10.0.0.1', localPort: 8080, foreignAddress: '10.0.0.2', foreignPort: 40_000, firstSeenUnixMs: BigInt(T0), ...fields });

function put(store: NodeSockets, socket: Socket, nowMs: number, previous?: NodeSockets): void {
  const bytes = Buffer.from(Socket.encode(socket).finish());
  store.put(readSocket(bytes, 0, bytes.length, new PodCache()), nowMs, previous);
}

/** What a stored socket says: its columns, and its bytes decoded as an answer would. */
function held(store: NodeSockets, key: string): { firstSeen: number; decoded: number; stateSince: number; recvQSince: number; sendQSince: number } {
  const slot = store.find(key);
  assert.ok(slot >= 0, `${key} is held`);
  return {
    firstSeen: store.firstSeenMs(slot) - T0,
    decoded: Number(Socket.decode(store.bytesOf(slot)).firstSeenUnixMs) - T0,
    stateSince: store.stateSinceMs(slot) - T0,
    recvQSince: store.recvQSinceMs(slot) && store.recvQSinceMs(slot) - T0,
    sendQSince: store.sendQSinceMs(slot) && store.sendQSinceMs(slot) - T0,
  };
}

describe('first seen, and since when, across changes and snapshots', () => {
  test('a change keeps the earliest firstSeen; an earlier one replaces it, in the column and in the bytes', () => {
    const store = new NodeSockets(new SocketChunks());
    put(store, tcp('a', { firstSeenUnixMs: BigInt(T0 + MINUTE) }), T0 + MINUTE);
    put(store, tcp('a', { firstSeenUnixMs: BigInt(T0 + 5 * MINUTE), recvQ: 10n }), T0 + 5 * MINUTE);
    assert.deepEqual(held(store, 'a'), { firstSeen: MINUTE, decoded: MINUTE, stateSince: MINUTE, recvQSince: 5 * MINUTE, sendQSince: 0 });
    put(store, tcp('a', { firstSeenUnixMs: BigInt(T0), recvQ: 10n }), T0 + 6 * MINUTE);
    assert.deepEqual(held(store, 'a'), { firstSeen: 0, decoded: 0, stateSince: MINUTE, recvQSince: 5 * MINUTE, sendQSince: 0 });
    // The rest of the socket decodes as sent.
    assert.deepEqual({ ...Socket.decode(store.bytesOf(store.find('a'))), firstSeenUnixMs: 0n }, { ...tcp('a', { recvQ: 10n }), firstSeenUnixMs: 0n });
  });

  test('a socket sent without a firstSeen keeps the one known, appended to its bytes', () => {
    const store = new NodeSockets(new SocketChunks());
    put(store, tcp('a'), T0);
    put(store, tcp('a', { firstSeenUnixMs: 0n, sendQ: 5n }), T0 + MINUTE);
    assert.deepEqual(held(store, 'a'), { firstSeen: 0, decoded: 0, stateSince: 0, recvQSince: 0, sendQSince: MINUTE });
  });

  test('since when: a state change starts its clock; a queue that shrinks starts its clock again, one that grows does not, an empty one has none', () => {
    const store = new NodeSockets(new SocketChunks());
    put(store, tcp('a', { recvQ: 100n, sendQ: 100n }), T0);
    put(store, tcp('a', { recvQ: 200n, sendQ: 50n }), T0 + MINUTE);
    assert.deepEqual(held(store, 'a'), { firstSeen: 0, decoded: 0, stateSince: 0, recvQSince: 0, sendQSince: MINUTE });
    put(store, tcp('a', { stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT', recvQ: 0n, sendQ: 50n }), T0 + 2 * MINUTE);
    assert.deepEqual(held(store, 'a'), { firstSeen: 0, decoded: 0, stateSince: 2 * MINUTE, recvQSince: 0, sendQSince: MINUTE });
  });

  test('a snapshot carries over what the store it replaces knew; what is not passed a previous store starts afresh', () => {
    const before = new NodeSockets(new SocketChunks());
    put(before, tcp('a', { stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT', recvQ: 1n }), T0);
    const resnapshot = new NodeSockets(new SocketChunks());
    // A restarted agent first saw it just now.
    put(resnapshot, tcp('a', { stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT', recvQ: 1n, firstSeenUnixMs: BigInt(T0 + 10 * MINUTE) }), T0 + 10 * MINUTE, before);
    assert.deepEqual(held(resnapshot, 'a'), { firstSeen: 0, decoded: 0, stateSince: 0, recvQSince: 0, sendQSince: 0 });
    const newBoot = new NodeSockets(new SocketChunks());
    put(newBoot, tcp('a', { stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT', recvQ: 1n, firstSeenUnixMs: BigInt(T0 + 10 * MINUTE) }), T0 + 10 * MINUTE);
    assert.deepEqual(held(newBoot, 'a'), { firstSeen: 10 * MINUTE, decoded: 10 * MINUTE, stateSince: 10 * MINUTE, recvQSince: 10 * MINUTE, sendQSince: 0 });
  });
});

describe('the first holder\'s pid', () => {
  test('is kept for per-process counts (holders come by pid); a malformed holder counts as none, and the socket is still stored', () => {
    const store = new NodeSockets(new SocketChunks());
    put(store, tcp('a', { processes: [{ pid: 41, name: 'a', comm: 'a', fds: [3] }, { pid: 97, name: 'b', comm: 'b', fds: [4] }] }), T0);
    assert.equal(store.pid(store.find('a')), 41);
    const good = Buffer.from(Socket.encode(tcp('b')).finish());
    // A ProcessRef whose pid varint is cut short.
    const broken = Buffer.concat([good, new BinaryWriter().uint32(WIRE.Socket.processes.tag).uint32(2).uint32(WIRE.ProcessRef.pid.tag).raw(Uint8Array.of(0xff)).finish()]);
    store.put(readSocket(broken, 0, broken.length, new PodCache()), T0);
    assert.equal(store.pid(store.find('b')), 0);
  });
});

describe('first seen across agent restarts, through ingest', () => {
  let aggregator: RunningAggregator;
  let client: AgentServiceClient;
  before(async () => {
    aggregator = await startLoopbackAggregator();
    client = new AgentServiceClient(`127.0.0.1:${aggregator.grpcPort}`, credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await aggregator.stop();
  });

  /** One agent run: hello, a one-chunk snapshot, acknowledged; then the agent goes away. */
  async function agentRun(epoch: bigint, bootId: string, sockets: Socket[]): Promise<void> {
    const messages: StreamRequest[] = [
      { message: { $case: 'hello', value: { nodeName: 'node-a', bootId, epoch, version: 'test', capabilities: [] } } },
      { message: { $case: 'snapshot', value: { sequence: 1n, snapshotId: 1n, index: 0, sockets, last: true, pods: [] } } },
    ];
    // The snapshot's ack (sequence 1), not the hello's (0).
    const done = await converse(client, messages, { until: (responses) => responses.some((response) => response.message?.$case === 'ack' && response.message.value.sequence >= 1n) });
    assert.equal(done.status, undefined, `the snapshot was acknowledged: ${JSON.stringify(done.status)}`);
  }

  const firstSeen = (): Record<string, number> => Object.fromEntries(listSockets(aggregator.store, {}).items.map((socket) => [socket.key, Number(socket.firstSeenUnixMs) - T0]));

  test('a restarted agent (new epoch, every socket first seen anew) keeps the older firstSeen; a new boot does not', async () => {
    await agentRun(1n, 'boot-1', [tcp('a'), tcp('b', { firstSeenUnixMs: BigInt(T0 + MINUTE) })]);
    assert.deepEqual(firstSeen(), { a: 0, b: MINUTE });
    await agentRun(2n, 'boot-1', [tcp('a', { firstSeenUnixMs: BigInt(T0 + 30 * MINUTE) }), tcp('b', { firstSeenUnixMs: BigInt(T0 + 30 * MINUTE) }), tcp('c', { firstSeenUnixMs: BigInt(T0 + 30 * MINUTE) })]);
    assert.deepEqual(firstSeen(), { a: 0, b: MINUTE, c: 30 * MINUTE });
    // Also in the protobuf answer, assembled from the stored bytes.
    const encoded = ListResponse.decode(listSocketsEncoded(aggregator.store, {}).bytes);
    assert.deepEqual(Object.fromEntries(encoded.items.map((socket) => [socket.key, Number(socket.firstSeenUnixMs) - T0])), { a: 0, b: MINUTE, c: 30 * MINUTE });
    await agentRun(3n, 'boot-2', [tcp('a', { firstSeenUnixMs: BigInt(T0 + 40 * MINUTE) })]);
    assert.deepEqual(firstSeen(), { a: 40 * MINUTE });
  });
});
