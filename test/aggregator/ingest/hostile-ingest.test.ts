import assert from 'node:assert/strict';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { credentials, status } from '@grpc/grpc-js';
import fc from 'fast-check';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AgentStream } from '../../../agent/stream/client.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import type { RunningAggregator } from '../../../aggregator/server/index.js';
import type { SocketList } from '../../../model/json/socket-list.js';
import { WIRE } from '../../../model/wire-fields.js';
import { AgentServiceClient, StreamRequest, type PodDef, type StreamResponse } from '../../../gen/kubenetstat/v1/agent.js';
import { ListRequest, QueryServiceClient } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { exactView, getJson, getText, nodeView, waitConverged } from '../../support/stream/converge.js';
import { NodeTree } from '../../support/stream/node-tree.js';
import { waitFor } from '../../support/wait.js';
import { converse, grpcFrame, rawSession, rawStreamCall, statusName } from '../../support/stream/raw-grpc.js';
import { hostSockets } from '../../support/host-sockets.js';
import { startLoopbackAggregator } from '../../support/loopback-aggregator.js';

/**
 * Whatever an agent connection sends — out of order, oversized, undecodable, impersonating —
 * ends that connection with a clear status (or a resync request), never the aggregator, and
 * never changes what is served for another node. The aggregator runs in-process; a healthy
 * node streams through the production AgentStream the whole time.
 */

const HEALTHY = 'healthy-node';
/** Above any epoch a hostile stream sends here, so none of them may take the node over. */
const HEALTHY_EPOCH = 2n ** 62n;
const LIMITS = { maxMessageBytes: 256 * 1024, maxSocketsPerMessage: 100, maxSocketsPerNode: 1_000 } as const;

const hello = (nodeName: string, epoch = 1n): StreamRequest => ({ message: { $case: 'hello', value: { nodeName, bootId: 'boot', epoch, version: 'hostile', capabilities: [] } } });
const chunk = (sequence: bigint, sockets: Socket[], options: { snapshotId?: bigint; index?: number; last?: boolean; pods?: PodDef[] } = {}): StreamRequest => ({
  message: { $case: 'snapshot', value: { sequence, snapshotId: options.snapshotId ?? 1n, index: options.index ?? 0, sockets, last: options.last ?? true, pods: options.pods ?? [] } },
});
const delta = (sequence: bigint, upserted: Socket[] = [], removedKeys: string[] = [], pods: PodDef[] = []): StreamRequest => ({ message: { $case: 'delta', value: { sequence, upserted, removedKeys, pods } } });
const podRef = (namespace: string): PodRef => ({ namespace, name: 'web-0', uid: `uid-${namespace}`, container: 'web', containerId: '', runtime: '', workloadKind: '', workloadName: '', labels: {} });
const EMPTY: StreamRequest = {};
const wireSocket = (key: string, overrides: Partial<Socket> = {}): Socket =>
  Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '127.0.0.1', localPort: 1, foreignAddress: '127.0.0.1', foreignPort: 2, firstSeenUnixMs: 1_700_000_000_000n, ...overrides });
const sockets = (prefix: string, count: number): Socket[] => Array.from({ length: count }, (_, i) => wireSocket(`${prefix}/${i}`));
const encoded = (message: StreamRequest): Buffer => Buffer.from(StreamRequest.encode(message).finish());
const isResync = (responses: readonly StreamResponse[]): boolean => responses.some((response) => response.message?.$case === 'resync');
const resyncReason = (responses: readonly StreamResponse[]): string => {
  const found = responses.find((response) => response.message?.$case === 'resync')?.message;
  return found?.$case === 'resync' ? found.value.reason : '';
};

interface Rejection {
  readonly name: string;
  readonly messages: StreamRequest[];
  readonly code: status;
  readonly details: RegExp;
}

/** Protocol violations the ingest service rejects: each ends its own call with this status. */
const REJECTIONS: Rejection[] = [
  { name: 'the first message is not hello', messages: [chunk(1n, [])], code: status.INVALID_ARGUMENT, details: /first message must be hello, got snapshot/ },
  { name: 'an empty message', messages: [EMPTY], code: status.INVALID_ARGUMENT, details: /empty message/ },
  { name: 'hello twice', messages: [hello('hostile-twice'), hello('hostile-twice')], code: status.INVALID_ARGUMENT, details: /hello sent twice/ },
  { name: 'an invalid node name', messages: [hello('Not_A/Node name')], code: status.INVALID_ARGUMENT, details: /invalid node name/ },
  { name: 'a node name longer than 253 characters', messages: [hello('a'.repeat(254))], code: status.INVALID_ARGUMENT, details: /invalid node name/ },
  { name: 'epoch 0', messages: [hello('hostile-epoch', 0n)], code: status.INVALID_ARGUMENT, details: /epoch must be positive/ },
  { name: 'a socket without a key', messages: [hello('hostile-keyless'), chunk(1n, [wireSocket('')])], code: status.INVALID_ARGUMENT, details: /socket without a key/ },
  { name: 'a delta upserting a socket without a key', messages: [hello('hostile-keyless-delta'), chunk(1n, []), delta(2n, [wireSocket('')])], code: status.INVALID_ARGUMENT, details: /socket without a key/ },
  { name: 'a socket referring to a pod the stream never defined', messages: [hello('hostile-pod-ref'), chunk(1n, [wireSocket('r', { podRef: 7 })])], code: status.INVALID_ARGUMENT, details: /pod ref 7 was never defined on this stream/ },
  { name: 'a pod ref beyond 65535', messages: [hello('hostile-pod-ref-range'), chunk(1n, [], { pods: [{ ref: 70_000, pod: podRef('shop') }] })], code: status.INVALID_ARGUMENT, details: /pod ref 70000 out of range/ },
  { name: 'a socket with both a pod and a pod ref', messages: [hello('hostile-pod-both'), chunk(1n, [wireSocket('b', { podRef: 1, pod: podRef('shop') })], { pods: [{ ref: 1, pod: podRef('shop') }] })], code: status.INVALID_ARGUMENT, details: /both a pod and a pod ref/ },
  { name: 'a port beyond 65535', messages: [hello('hostile-port'), chunk(1n, [wireSocket('p', { localPort: 70_000 })])], code: status.INVALID_ARGUMENT, details: /malformed message: port out of range/ },
  { name: 'a number beyond 2^53', messages: [hello('hostile-big-number'), chunk(1n, [wireSocket('n', { inode: 2n ** 60n })])], code: status.INVALID_ARGUMENT, details: /malformed message: varint out of range/ },
  {
    name: 'more sockets in one message than allowed',
    messages: [hello('hostile-wide'), chunk(1n, sockets('w', LIMITS.maxSocketsPerMessage + 1))],
    code: status.RESOURCE_EXHAUSTED,
    details: /101 sockets in one message \(at most 100\)/,
  },
  {
    name: 'more sockets than one node may hold',
    messages: [
      hello('hostile-hoarder'),
      ...Array.from({ length: 11 }, (_, index) => chunk(BigInt(index + 1), sockets(`h${index}`, 100), { index, last: index === 10 })),
    ],
    code: status.RESOURCE_EXHAUSTED,
    details: /node hostile-hoarder exceeds 1000 sockets/,
  },
  {
    name: 'an older epoch for a node held by a newer one',
    messages: [hello(HEALTHY, HEALTHY_EPOCH - 1n)],
    code: status.FAILED_PRECONDITION,
    details: /node healthy-node is held by a newer agent/,
  },
];

/** Out-of-order input the ingest service answers with a ResyncRequest, keeping the call open. */
const RESYNCS: Array<{ name: string; messages: StreamRequest[]; reason: RegExp }> = [
  { name: 'a delta before any snapshot', messages: [hello('hostile-early-delta'), delta(1n, [wireSocket('k')])], reason: /delta before a complete snapshot/ },
  { name: 'a sequence gap', messages: [hello('hostile-gap'), chunk(1n, [wireSocket('k')]), delta(3n)], reason: /sequence 3 where 2 was expected/ },
  { name: 'a snapshot that does not start with chunk 0', messages: [hello('hostile-chunk-1'), chunk(1n, [wireSocket('k')], { index: 1 })], reason: /chunk 1 of snapshot 1 out of order/ },
  {
    name: 'snapshot chunks out of order',
    messages: [hello('hostile-chunk-skip'), chunk(1n, [wireSocket('a')], { last: false }), chunk(2n, [wireSocket('b')], { index: 2 })],
    reason: /chunk 2 of snapshot 1 out of order/,
  },
  {
    name: 'a chunk of another snapshot in the middle of one',
    messages: [hello('hostile-chunk-mix'), chunk(1n, [wireSocket('a')], { last: false }), chunk(2n, [wireSocket('b')], { snapshotId: 2n, index: 1 })],
    reason: /chunk 1 of snapshot 2 out of order/,
  },
];

/** Random sockets: any key (or none), any node name, out-of-range enums, ports, numbers and times. */
const socketArb: fc.Arbitrary<Socket> = fc
  .record({
    key: fc.oneof(fc.constant(''), fc.string({ maxLength: 24 })),
    node: fc.oneof(fc.constant(HEALTHY), fc.string({ maxLength: 12 })),
    proto: fc.integer({ min: 0, max: 9 }),
    stateCode: fc.nat(20),
    localAddress: fc.string({ maxLength: 40 }),
    localPort: fc.nat(70_000),
    // Mostly what a kernel reports, sometimes anything the type allows.
    inode: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 32n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    recvQ: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 32n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    firstSeenUnixMs: fc.oneof(fc.bigInt({ min: 0n, max: 4_000_000_000_000n }), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
  })
  .map(({ key, ...overrides }) => wireSocket(key, overrides));
const sequenceArb = fc.bigInt({ min: 0n, max: 6n });
const helloArb = fc
  .record({ nodeName: fc.oneof(fc.constantFrom('fuzz-a', 'fuzz-b', HEALTHY), fc.string({ maxLength: 30 })), epoch: fc.bigInt({ min: 0n, max: HEALTHY_EPOCH - 1n }) })
  .map(({ nodeName, epoch }) => hello(nodeName, epoch));
const messageArb: fc.Arbitrary<StreamRequest> = fc.oneof(
  helloArb,
  fc.record({ sequence: sequenceArb, snapshotId: fc.bigInt({ min: 0n, max: 3n }), index: fc.nat(3), sockets: fc.array(socketArb, { maxLength: 3 }), last: fc.boolean() }).map(({ sequence, sockets: list, ...options }) => chunk(sequence, list, options)),
  fc.record({ sequence: sequenceArb, upserted: fc.array(socketArb, { maxLength: 3 }), removed: fc.array(fc.string({ maxLength: 24 }), { maxLength: 3 }) }).map(({ sequence, upserted, removed }) => delta(sequence, upserted, removed)),
  fc.record({ sequence: sequenceArb, socketCount: fc.bigInt({ min: 0n, max: 10n }) }).map((value): StreamRequest => ({ message: { $case: 'heartbeat', value } })),
  fc.record({ sequence: sequenceArb, reason: fc.string({ maxLength: 20 }) }).map((value): StreamRequest => ({ message: { $case: 'goodbye', value } })),
  fc.constant(EMPTY),
);

/** Fixed seeds: a failure is replayed exactly, and every run of the suite tries the same cases. */
const FUZZ = { numRuns: 200 } as const;
/** A valid conversation of a node, encoded; mutations garble one of its messages. */
const VALID_CONVERSATION = (): Buffer[] => [hello('fuzz-mutated'), chunk(1n, sockets('m', 3), { pods: [{ ref: 1, pod: podRef('shop') }] }), delta(2n, [wireSocket('m/9', { podRef: 1 })], ['m/0'])].map(encoded);
type Mutation = { readonly kind: 'flip' | 'set' | 'insert' | 'delete' | 'truncate'; readonly at: number; readonly byte: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'), at: fc.nat(), byte: fc.nat(255) });
function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = Buffer.from(bytes);
  for (const { kind, at, byte } of mutations) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (kind === 'flip' && out.length > 0) out[i] = out[i]! ^ (1 << (byte % 8));
    else if (kind === 'set' && out.length > 0) out[i] = byte;
    else if (kind === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.from([byte]), out.subarray(i)]);
    else if (kind === 'delete') out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
    else if (kind === 'truncate') out = out.subarray(0, i);
  }
  return out;
}

describe('aggregator ingest under hostile input', { timeout: 120_000 }, () => {
  const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];
  let aggregator: RunningAggregator;
  let tree: NodeTree;
  let client: AgentServiceClient;
  let session: ClientHttp2Session;
  const healthy = new AbortController();
  let healthyRun: Promise<void> | undefined;
  let baseline: Awaited<ReturnType<typeof exactView>>;
  let query: QueryServiceClient;
  let listBaseline: string[];

  /** The healthy node's sockets as a gRPC List answers them: each one's bytes, in a canonical order. */
  function listed(): Promise<string[]> {
    return new Promise((resolve, reject) =>
      query.list(ListRequest.fromPartial({ nodes: [HEALTHY] }), (error, response) => (error ? reject(error) : resolve(response.items.map((item) => Buffer.from(Socket.encode(item).finish()).toString('base64')).sort()))),
    );
  }

  /** The healthy node is served exactly as before (HTTP and a gRPC List), and the aggregator answers health checks. */
  async function assertHealthyUnchanged(what: string): Promise<void> {
    assert.deepEqual(await exactView(aggregator.httpPort, HEALTHY), baseline, `the healthy node's answer changed after ${what}`);
    assert.deepEqual(await listed(), listBaseline, `the healthy node's List changed after ${what}`);
    assert.deepEqual(await getText(aggregator.httpPort, '/healthz'), { status: 200, text: 'ok\n' });
  }

  before(async () => {
    aggregator = await startLoopbackAggregator({ ...LIMITS, log: (message, fields) => logs.push({ message, fields }) });
    tree = new NodeTree({ netnsInode: '4026539300', podUid: '3c3c3c3c-0000-4000-8000-000000000003', containerId: 'c'.repeat(64), inodeBase: 7_900_000 });
    const table = new SocketTable();
    table.update(await hostSockets(tree.root, HEALTHY));
    const stream = new AgentStream({ address: `127.0.0.1:${aggregator.grpcPort}`, node: HEALTHY, bootId: 'boot', epoch: HEALTHY_EPOCH, version: 'test', table, heartbeatMs: 200 });
    healthyRun = stream.run(healthy.signal);
    await waitConverged(aggregator.httpPort, HEALTHY, tree.root);
    baseline = await exactView(aggregator.httpPort, HEALTHY);
    client = new AgentServiceClient(`127.0.0.1:${aggregator.grpcPort}`, credentials.createInsecure());
    query = new QueryServiceClient(`127.0.0.1:${aggregator.grpcPort}`, credentials.createInsecure());
    listBaseline = await listed();
    assert.equal(listBaseline.length, baseline.items.length, 'List and HTTP agree on the healthy node');
    session = await rawSession(aggregator.grpcPort);
  });

  after(async () => {
    client?.close();
    query?.close();
    session?.destroy();
    healthy.abort();
    await healthyRun;
    await aggregator?.stop();
    tree?.dispose();
  });

  for (const rejection of REJECTIONS) {
    it(`${rejection.name}: ${status[rejection.code]}`, async () => {
      const from = logs.length;
      const { status: ended } = await converse(client, rejection.messages);
      assert.equal(statusName(ended?.code), status[rejection.code], ended?.details);
      assert.match(ended?.details ?? '', rejection.details);
      assert.ok(logs.slice(from).some((line) => line.message === 'agent stream rejected' && line.fields.code === status[rejection.code] && rejection.details.test(String(line.fields.reason))), 'the rejection is logged');
      await assertHealthyUnchanged(rejection.name);
    });
  }

  for (const resync of RESYNCS) {
    it(`${resync.name}: a ResyncRequest, not an error`, async () => {
      const { status: ended, responses } = await converse(client, resync.messages, { until: isResync });
      assert.equal(ended, undefined, `the call stays open (ended with ${statusName(ended?.code)} ${ended?.details ?? ''})`);
      assert.match(resyncReason(responses), resync.reason);
      await assertHealthyUnchanged(resync.name);
    });
  }

  it('a message larger than the limit: RESOURCE_EXHAUSTED before it is decoded', async () => {
    const { status: ended } = await converse(client, [hello('hostile-huge'), chunk(1n, [wireSocket('x'.repeat(LIMITS.maxMessageBytes + 1))])]);
    assert.equal(statusName(ended?.code), 'RESOURCE_EXHAUSTED', ended?.details);
    await assertHealthyUnchanged('an oversized message');
  });

  const RAW: Array<{ name: string; body: () => Buffer; headers?: Record<string, string>; code: status; details: RegExp }> = [
    { name: 'bytes that do not decode as a StreamRequest', body: () => grpcFrame(Buffer.alloc(32, 0xff)), code: status.INVALID_ARGUMENT, details: /malformed message: varint longer than 10 bytes/ },
    {
      name: 'a valid hello, then bytes that do not decode',
      body: () => Buffer.concat([grpcFrame(encoded(hello('hostile-garbled'))), grpcFrame(Buffer.from(new BinaryWriter().uint32(WIRE.StreamRequest.snapshot.tag).uint32(5).raw(Uint8Array.of(1)).finish()))]),
      code: status.INVALID_ARGUMENT,
      details: /malformed message: field runs past its message/,
    },
    { name: 'a frame declaring a 4 GiB message', body: () => grpcFrame(Buffer.alloc(16), { declaredLength: 0xffff_ffff }), code: status.RESOURCE_EXHAUSTED, details: /larger than max/ },
    {
      name: 'a gzip message that inflates past the limit',
      body: () => grpcFrame(gzipSync(Buffer.alloc(LIMITS.maxMessageBytes * 4)), { compressed: true }),
      headers: { 'grpc-encoding': 'gzip' },
      code: status.RESOURCE_EXHAUSTED,
      details: /decompresses to a size larger than/,
    },
    { name: 'a compressed message that is not gzip', body: () => grpcFrame(Buffer.from('not gzip at all'), { compressed: true }), headers: { 'grpc-encoding': 'gzip' }, code: status.INTERNAL, details: /decompress/ },
  ];

  for (const raw of RAW) {
    it(`raw HTTP/2, ${raw.name}: ${status[raw.code]}`, async () => {
      const outcome = await rawStreamCall(session, raw.body(), raw.headers ? { headers: raw.headers } : {});
      assert.equal(statusName(outcome.code), status[raw.code], outcome.message);
      assert.match(outcome.message, raw.details);
      await assertHealthyUnchanged(raw.name);
    });
  }

  it('a socket naming another node is filed under the node that sent it', async () => {
    const stolenKey = JSON.parse(baseline.items[0]!) as { inode: string };
    const { status: ended } = await converse(client, [hello('hostile-impostor'), chunk(1n, [wireSocket(`impostor/${stolenKey.inode}`, { node: HEALTHY })]), EMPTY]);
    assert.equal(statusName(ended?.code), 'INVALID_ARGUMENT');
    const impostor = await nodeView(aggregator.httpPort, 'hostile-impostor');
    assert.deepEqual(impostor.items.map((item) => item.node), ['hostile-impostor']);
    await assertHealthyUnchanged('an impostor socket');
  });

  it('a delta that upserts and removes the same key leaves the key removed', async () => {
    const node = 'hostile-both-ways';
    const snapshot = chunk(1n, [wireSocket('a', { localPort: 1 }), wireSocket('b', { localPort: 2 })]);
    const both = delta(2n, [wireSocket('a', { localPort: 11 }), wireSocket('c', { localPort: 3 }), wireSocket('d', { localPort: 4 })], ['a', 'c']);
    const { status: ended } = await converse(client, [hello(node), snapshot, both, EMPTY]);
    assert.equal(statusName(ended?.code), 'INVALID_ARGUMENT');
    assert.deepEqual((await nodeView(aggregator.httpPort, node)).items.map((item) => item.localPort).sort(), [2, 4]);
  });

  it('a node whose call failed in the gRPC layer is not vouched for afterwards', async () => {
    const node = 'hostile-dropped';
    const live = () => waitFor(async () => (await nodeView(aggregator.httpPort, node)).unavailable === undefined, { timeoutMs: 5_000, what: `${node} live` });
    // grpc-js itself refuses the third frame: the handler only hears that the call is over.
    const outcome = await rawStreamCall(session, [grpcFrame(encoded(hello(node))), grpcFrame(encoded(chunk(1n, [wireSocket('k')]))), live, grpcFrame(Buffer.alloc(8), { declaredLength: 0xffff_ffff })]);
    assert.equal(statusName(outcome.code), 'RESOURCE_EXHAUSTED', outcome.message);
    const view = await nodeView(aggregator.httpPort, node);
    assert.equal(view.items.length, 1);
    assert.match(view.unavailable?.reason ?? 'vouched for', /disconnected/, 'its call is over: the node must be flagged');
  });

  /** Raw bytes of a StreamRequest holding one snapshot chunk with the given raw socket bytes. */
  const rawSnapshot = (socketBytes: Uint8Array): Buffer => {
    const chunk = WIRE.SnapshotChunk;
    const chunkBytes = new BinaryWriter().uint32(chunk.sequence.tag).uint64(1).uint32(chunk.snapshotId.tag).uint64(1).uint32(chunk.sockets.tag).bytes(socketBytes).uint32(chunk.last.tag).bool(true).finish();
    return Buffer.from(new BinaryWriter().uint32(WIRE.StreamRequest.snapshot.tag).bytes(chunkBytes).finish());
  };
  const QUERY_TIME: Array<{ name: string; node: string; socket: () => Uint8Array }> = [
    { name: 'a firstSeen past the end of Date (8.7e15 ms)', node: 'hostile-time-traveller', socket: () => Socket.encode(wireSocket('late', { firstSeenUnixMs: 8_700_000_000_000_000n })).finish() },
    // Socket.key is fine; Socket.timer holds bytes that are no Timer.
    { name: 'a nested Timer that does not decode', node: 'hostile-bad-timer', socket: () => new BinaryWriter().uint32(WIRE.Socket.key.tag).string('bad-timer').uint32(WIRE.Socket.timer.tag).bytes(Buffer.alloc(11, 0xff)).finish() },
  ];
  for (const { name, node, socket } of QUERY_TIME) {
    it(`one node's socket with ${name} does not break queries across nodes`, async () => {
      const outcome = await rawStreamCall(session, [grpcFrame(encoded(hello(node))), grpcFrame(rawSnapshot(socket())), grpcFrame(Buffer.alloc(0))]);
      // Ended by the trailing empty message, or by the socket if the ingest refuses it: either is fine.
      assert.equal(statusName(outcome.code), 'INVALID_ARGUMENT', outcome.message);
      // A query across this node and the healthy one (each case apart from the others' sockets).
      const { status: http, body } = await getJson<SocketList | { message: string }>(aggregator.httpPort, `/api/v1/sockets?node=${node},${HEALTHY}`);
      assert.equal(http, 200, `a query across nodes failed: ${JSON.stringify(body)}`);
      assert.ok('items' in body && body.items.some((item) => item.node === HEALTHY), 'the healthy node is in the answer');
      await assertHealthyUnchanged(name);
    });
  }

  it('an agent that half-closes without a goodbye has its call ended by the aggregator', async () => {
    const { status: ended } = await converse(client, [hello('hostile-half-close'), chunk(1n, [wireSocket('k')])], { halfClose: true, timeoutMs: 2_000 });
    assert.notEqual(ended, undefined, 'the aggregator never ended the call: it stays open, server side, until the client cancels');
    await assertHealthyUnchanged('a half-closed call');
  });

  it('fuzz: random message sequences end their own call with a status and change nothing else (200 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(helloArb, { nil: undefined }), fc.array(messageArb, { maxLength: 8 }), async (first, rest) => {
        // A trailing empty message ends any call still open, so every run ends with a status.
        const messages = [...(first ? [first] : []), ...rest, EMPTY];
        const { status: ended } = await converse(client, messages);
        assert.notEqual(ended, undefined, 'the call ended');
        await assertHealthyUnchanged(`${messages.length} random messages`);
      }),
      { ...FUZZ, seed: 0x1a9e57 },
    );
  });

  it('fuzz: random bytes on the wire end their own call with a status and change nothing else (200 runs)', async () => {
    // Zeros after the random bytes complete any message they began (none may exceed the limit)
    // and then frame empty messages, so every run ends with a status.
    const padding = Buffer.alloc(LIMITS.maxMessageBytes + 10);
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 512 }), async (helloFirst, bytes) => {
        const body = Buffer.concat([helloFirst ? grpcFrame(encoded(hello('fuzz-bytes'))) : Buffer.alloc(0), Buffer.from(bytes), padding]);
        const outcome = await rawStreamCall(session, body);
        assert.notEqual(outcome.code, undefined, 'the call ended with a grpc-status');
        await assertHealthyUnchanged(`${bytes.length} random bytes`);
      }),
      { ...FUZZ, seed: 0x5eed },
    );
  });

  it('fuzz: a valid conversation with one message mutated (bit flips, bytes set, inserted, deleted, truncated) ends its own call and changes nothing else (200 runs)', async () => {
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.nat(2), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (which, mutations) => {
        const messages = VALID_CONVERSATION();
        messages[which] = mutate(messages[which]!, mutations);
        // A trailing empty message ends any call the mutation left open.
        const outcome = await rawStreamCall(session, Buffer.concat([...messages.map((message) => grpcFrame(message)), grpcFrame(Buffer.alloc(0))]));
        assert.notEqual(outcome.code, undefined, 'the call ended with a grpc-status');
        const name = statusName(outcome.code);
        codes.set(name, (codes.get(name) ?? 0) + 1);
        assert.ok(['INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION'].includes(name), `${name}: ${outcome.message}`);
        assert.ok(outcome.message.length > 0, 'the status says why');
        await assertHealthyUnchanged(`message ${which} mutated by ${JSON.stringify(mutations)}`);
      }),
      { ...FUZZ, seed: 0xb17f11b },
    );
    assert.ok((codes.get('INVALID_ARGUMENT') ?? 0) > 0, `statuses seen: ${JSON.stringify([...codes])}`);
  });

  it('after all of it, a new agent still connects and is served', async () => {
    const late = new NodeTree({ netnsInode: '4026539301', podUid: '4d4d4d4d-0000-4000-8000-000000000004', containerId: 'd'.repeat(64), inodeBase: 7_950_000 });
    const stop = new AbortController();
    try {
      const table = new SocketTable();
      table.update(await hostSockets(late.root, 'late-node'));
      const run = new AgentStream({ address: `127.0.0.1:${aggregator.grpcPort}`, node: 'late-node', bootId: 'boot', epoch: 1n, version: 'test', table, heartbeatMs: 200 }).run(stop.signal);
      await waitConverged(aggregator.httpPort, 'late-node', late.root);
      stop.abort();
      await run;
    } finally {
      stop.abort();
      late.dispose();
    }
    await assertHealthyUnchanged('everything');
  });
});
