import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpServer, type RunningAggregator } from '../../../aggregator/server/index.js';
import { bytesView, NodeStore } from '../../../aggregator/store/index.js';
import { listSockets, QueryError, Watcher, WatchHub, WatchLimitError, type QuerySpec, type WatchSink } from '../../../aggregator/query/index.js';
import { PodCache, readSocket } from '../../../aggregator/ingest/index.js';
import { socketItem } from '../../../model/json/socket-list.js';
import { ListRequest, type QueryServiceClient, WatchEvent, WatchEventType } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { WIRE } from '../../../model/wire-fields.js';
import { STATES, type StateName } from '../../support/agent-sockets.js';
import { putSocket, storedSockets } from '../../support/stored.js';
import { queriedDuringSuite, queryClientOf, startLoopbackAggregator } from '../../support/loopback-aggregator.js';
import { listenDuringSuite } from '../../support/loopback-http.js';
import { waitFor } from '../../support/wait.js';

const T0 = 1_700_000_000_000;
const STALE_MS = 15_000;
const EVICT_MS = 60_000;

const pod = (namespace: string, name: string): PodRef => ({ namespace, name, uid: `uid-${name}`, container: name, containerId: '', runtime: '', workloadKind: '', workloadName: '', labels: { app: name } });
const CART = pod('shop', 'cart-0');
const PAY = pod('payments', 'pay-0');

const tcp = (key: string, state: StateName, fields: Partial<Socket> = {}): Socket => {
  const [stateCode, name, ssState] = STATES[state];
  // Keys are a letter and a number; JSON items carry no key, but this port.
  return Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode, state: name, ssState, localAddress: '10.0.0.1', localPort: 8080, foreignAddress: '10.0.0.2', foreignPort: 40_000 + Number(key.slice(1)), firstSeenUnixMs: BigInt(T0 - 1_000), pod: CART, ...fields });
};

/** A clock the node store and the watchers read; tests move it. */
class Clock {
  ms = T0;
  readonly now = (): number => this.ms;
}

/** A store holding these nodes, each from one complete snapshot, as ingest leaves it. */
function storeOf(nodes: Record<string, Socket[]>, clock = new Clock()): NodeStore {
  const store = new NodeStore({ staleAfterMs: STALE_MS, evictAfterMs: EVICT_MS, now: clock.now });
  for (const [name, sockets] of Object.entries(nodes)) snapshot(store, name, sockets);
  return store;
}

/** A (re)connected agent's complete snapshot of a node. */
function snapshot(store: NodeStore, name: string, sockets: Socket[]): void {
  const { session } = store.claim(name, 1n, 'boot');
  store.replaceSockets(store.owned(name, session!)!, storedSockets(sockets));
}

/** A delta: upserts through one PodCache per node, as one agent connection would. */
const podCaches = new WeakMap<object, PodCache>();
function upsert(store: NodeStore, name: string, socket: Socket): void {
  const sockets = store.get(name)!.sockets;
  let pods = podCaches.get(sockets);
  if (!pods) podCaches.set(sockets, (pods = new PodCache()));
  putSocket(sockets, pods, socket);
}

function remove(store: NodeStore, name: string, key: string): void {
  const bytes = Buffer.from(key, 'latin1');
  assert.ok(store.get(name)!.sockets.delete(bytesView(bytes), 0, bytes.length), `${name} holds ${key}`);
}

const TYPE = {
  [WatchEventType.WATCH_EVENT_TYPE_ADDED]: 'ADDED',
  [WatchEventType.WATCH_EVENT_TYPE_MODIFIED]: 'MODIFIED',
  [WatchEventType.WATCH_EVENT_TYPE_DELETED]: 'DELETED',
  [WatchEventType.WATCH_EVENT_TYPE_BOOKMARK]: 'BOOKMARK',
} as Record<number, string>;

/** An event in one line: `ADDED node-a/k1 ESTAB`, `BOOKMARK node-b:stale`. */
function line(event: WatchEvent): string {
  if (event.type === WatchEventType.WATCH_EVENT_TYPE_BOOKMARK) return `BOOKMARK ${event.unavailableNodes.map((node) => `${node.node}:${node.reason.split(/[:,;]/)[0]}`).join(' ')}`.trimEnd();
  return `${TYPE[event.type]} ${event.socket!.node}/${event.socket!.key} ${event.socket!.ssState}`;
}

/** A sink that records, and accepts or refuses (a client behind) as the test says. */
class RecordingSink implements WatchSink {
  readonly events: WatchEvent[] = [];
  accepting = true;
  ended: string | undefined;
  send(event: WatchEvent): boolean {
    this.events.push(event);
    return this.accepting;
  }
  end(cause: 'shutdown' | 'failed', message: string): void {
    this.ended = `${cause}: ${message}`;
  }
  /** The events since the last call, one line each. */
  take(): string[] {
    return this.events.splice(0).map(line);
  }
}

function watching(store: NodeStore, spec: QuerySpec = {}, clock?: Clock): { watcher: Watcher; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { watcher: new Watcher(store, spec, sink, clock?.now), sink };
}

describe('watch engine: compares what nodes hold with what it sent', () => {
  test('first every matching socket as ADDED, exactly as listed, then one BOOKMARK; nothing while nothing changes', () => {
    const store = storeOf({ 'node-b': [tcp('b1', 'estab')], 'node-a': [tcp('a1', 'close-wait'), tcp('a2', 'estab', { pod: PAY }), tcp('a3', 'listen')] });
    const { watcher, sink } = watching(store, { states: ['close-wait', 'estab'] });
    watcher.poll();
    const listed = listSockets(store, { states: ['close-wait', 'estab'] }).items;
    assert.deepEqual(sink.events.slice(0, -1), listed.map((socket) => ({ type: WatchEventType.WATCH_EVENT_TYPE_ADDED, socket, unavailableNodes: [] })));
    assert.deepEqual(sink.take(), ['ADDED node-a/a1 CLOSE-WAIT', 'ADDED node-a/a2 ESTAB', 'ADDED node-b/b1 ESTAB', 'BOOKMARK']);
    watcher.poll();
    assert.deepEqual(sink.take(), []);
  });

  test('a socket added, changed and removed is ADDED, MODIFIED and DELETED; DELETED carries the version last sent', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')] });
    const { watcher, sink } = watching(store);
    watcher.poll();
    sink.take();
    upsert(store, 'node-a', tcp('a2', 'estab'));
    upsert(store, 'node-a', tcp('a1', 'estab', { recvQ: 10n }));
    watcher.poll();
    assert.deepEqual(sink.take(), ['MODIFIED node-a/a1 ESTAB', 'ADDED node-a/a2 ESTAB']);
    upsert(store, 'node-a', tcp('a1', 'close-wait', { recvQ: 1n }));
    const lastSent = listSockets(store, {}).items.find((socket) => socket.key === 'a1');
    watcher.poll();
    assert.deepEqual(sink.take(), ['MODIFIED node-a/a1 CLOSE-WAIT']);
    // Changed again and removed between two passes: the client never saw the last change.
    upsert(store, 'node-a', tcp('a1', 'last-ack'));
    remove(store, 'node-a', 'a1');
    watcher.poll();
    assert.deepEqual(sink.events, [{ type: WatchEventType.WATCH_EVENT_TYPE_DELETED, socket: lastSent, unavailableNodes: [] }]);
  });

  test('a socket entering the filter is ADDED, changing inside it MODIFIED, leaving it DELETED', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab'), tcp('a2', 'close-wait')] });
    const { watcher, sink } = watching(store, { states: ['close-wait'] });
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-a/a2 CLOSE-WAIT', 'BOOKMARK']);
    upsert(store, 'node-a', tcp('a1', 'close-wait'));
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-a/a1 CLOSE-WAIT']);
    upsert(store, 'node-a', tcp('a1', 'close-wait', { recvQ: 7n }));
    upsert(store, 'node-a', tcp('a2', 'last-ack'));
    watcher.poll();
    assert.deepEqual(sink.take(), ['MODIFIED node-a/a1 CLOSE-WAIT', 'DELETED node-a/a2 CLOSE-WAIT']);
  });

  test('a snapshot replacing a node (resync, agent restart) sends only the sockets that really differ', () => {
    const before = [tcp('a1', 'estab'), tcp('a2', 'estab', { pod: PAY }), tcp('a3', 'close-wait'), tcp('a4', 'listen')];
    const store = storeOf({ 'node-a': before, 'node-b': [tcp('b1', 'estab')] });
    const { watcher, sink } = watching(store);
    watcher.poll();
    sink.take();
    // The same sockets through a new connection's pods (new PodIndex objects, same bytes)…
    snapshot(store, 'node-a', before);
    watcher.poll();
    assert.deepEqual(sink.take(), []);
    // …and a snapshot after a gap: a2 changed, a3 gone, a5 new, a1 and a4 as they were.
    snapshot(store, 'node-a', [tcp('a1', 'estab'), tcp('a2', 'estab', { pod: PAY, sendQ: 99n }), tcp('a4', 'listen'), tcp('a5', 'estab')]);
    watcher.poll();
    assert.deepEqual(sink.take(), ['MODIFIED node-a/a2 ESTAB', 'ADDED node-a/a5 ESTAB', 'DELETED node-a/a3 CLOSE-WAIT']);
  });

  test('a socket whose pod changes (same bytes otherwise) is MODIFIED', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')] });
    const { watcher, sink } = watching(store);
    watcher.poll();
    sink.take();
    upsert(store, 'node-a', tcp('a1', 'estab', { pod: { ...CART, labels: { app: 'cart', tier: 'web' } } }));
    watcher.poll();
    const events = sink.events.splice(0);
    assert.deepEqual(events.map(line), ['MODIFIED node-a/a1 ESTAB']);
    assert.deepEqual(events[0]!.socket!.pod!.labels, { app: 'cart', tier: 'web' });
  });

  test('a pod label filter: a socket whose pod stops matching is DELETED', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab'), tcp('a2', 'estab', { pod: PAY })] });
    const { watcher, sink } = watching(store, { labelSelector: 'app=cart-0' });
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-a/a1 ESTAB', 'BOOKMARK']);
    upsert(store, 'node-a', tcp('a1', 'estab', { pod: { ...CART, labels: { app: 'checkout' } } }));
    watcher.poll();
    assert.deepEqual(sink.take(), ['DELETED node-a/a1 ESTAB']);
  });

  test('an evicted node: its sockets are DELETED and the BOOKMARK stops naming it', () => {
    const clock = new Clock();
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')], 'node-b': [tcp('b1', 'estab'), tcp('b2', 'close-wait')] }, clock);
    const { watcher, sink } = watching(store, {}, clock);
    watcher.poll();
    sink.take();
    store.disconnected('node-b', store.get('node-b')!.session, 'test');
    watcher.poll();
    assert.deepEqual(sink.take(), ['BOOKMARK node-b:agent disconnected 0 s ago'], 'its last known sockets are still listed');
    clock.ms += EVICT_MS + 1;
    snapshot(store, 'node-a', [tcp('a1', 'estab')]);
    watcher.poll();
    assert.deepEqual(sink.take(), ['DELETED node-b/b1 ESTAB', 'DELETED node-b/b2 CLOSE-WAIT', 'BOOKMARK']);
    // The node comes back: everything it holds is new.
    snapshot(store, 'node-b', [tcp('b1', 'estab')]);
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-b/b1 ESTAB']);
  });

  test('a BOOKMARK whenever a node becomes unavailable, changes cause or recovers; not as the seconds count', () => {
    const clock = new Clock();
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')] }, clock);
    store.claim('node-b', 1n, 'boot');
    const { watcher, sink } = watching(store, {}, clock);
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-a/a1 ESTAB', 'BOOKMARK node-b:agent connected']);
    snapshot(store, 'node-b', []);
    watcher.poll();
    assert.deepEqual(sink.take(), ['BOOKMARK']);
    clock.ms += STALE_MS + 1_000;
    store.touch(store.get('node-b')!);
    watcher.poll();
    assert.deepEqual(sink.take(), ['BOOKMARK node-a:stale']);
    clock.ms += 5_000;
    store.touch(store.get('node-b')!);
    watcher.poll();
    assert.deepEqual(sink.take(), [], 'still stale: the reason text counts seconds, the cause is the same');
    store.disconnected('node-a', store.get('node-a')!.session, 'test');
    watcher.poll();
    const [bookmark] = sink.events.splice(0);
    assert.deepEqual(bookmark, { type: WatchEventType.WATCH_EVENT_TYPE_BOOKMARK, socket: undefined, unavailableNodes: [{ node: 'node-a', reason: store.unavailability(store.get('node-a')!), lastSeenUnixMs: BigInt(T0) }] });
    assert.match(bookmark!.unavailableNodes[0]!.reason, /^agent disconnected 21 s ago/);
  });

  test('a node filter: other nodes are neither walked nor named', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')], 'node-b': [tcp('b1', 'estab')] });
    store.claim('node-c', 1n, 'boot');
    const { watcher, sink } = watching(store, { nodes: ['node-b'] });
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-b/b1 ESTAB', 'BOOKMARK']);
    upsert(store, 'node-a', tcp('a2', 'estab'));
    watcher.poll();
    assert.deepEqual([sink.take(), watcher.walks], [[], 1]);
  });

  test('only nodes whose store moved since the last pass are walked again', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')], 'node-b': [tcp('b1', 'estab')], 'node-c': [tcp('c1', 'estab')] });
    const { watcher, sink } = watching(store, { states: ['close-wait'] });
    watcher.poll();
    assert.equal(watcher.walks, 3);
    watcher.poll();
    assert.equal(watcher.walks, 3, 'nothing changed: no node walked');
    upsert(store, 'node-b', tcp('b2', 'estab'));
    watcher.poll();
    assert.equal(watcher.walks, 4, 'a delta on node-b: node-b alone');
    snapshot(store, 'node-c', [tcp('c1', 'estab')]);
    watcher.poll();
    assert.equal(watcher.walks, 5, 'a new snapshot of node-c: node-c alone');
    remove(store, 'node-a', 'a1');
    watcher.poll();
    assert.equal(watcher.walks, 6, 'a removal on node-a: node-a alone');
    assert.deepEqual(sink.take(), ['BOOKMARK']);
  });

  test('minAge: a socket that grows old enough is ADDED though its node did not change', () => {
    const clock = new Clock();
    const store = storeOf({ 'node-a': [tcp('a1', 'estab', { firstSeenUnixMs: BigInt(T0 - 30_000) }), tcp('a2', 'estab', { firstSeenUnixMs: BigInt(T0 - 90_000) })] }, clock);
    const { watcher, sink } = watching(store, { minAgeSeconds: 60 }, clock);
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-a/a2 ESTAB', 'BOOKMARK']);
    clock.ms += 40_000;
    store.touch(store.get('node-a')!);
    watcher.poll();
    assert.deepEqual(sink.take(), ['ADDED node-a/a1 ESTAB']);
  });

  test('a client behind pauses the watcher after the node it is at; resumed, it gets what changed meanwhile', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab'), tcp('a2', 'estab')], 'node-b': [tcp('b1', 'estab')] });
    const { watcher, sink } = watching(store);
    sink.accepting = false;
    watcher.poll();
    assert.deepEqual([sink.take(), watcher.isPaused], [['ADDED node-a/a1 ESTAB', 'ADDED node-a/a2 ESTAB'], true]);
    upsert(store, 'node-b', tcp('b1', 'close-wait'));
    upsert(store, 'node-a', tcp('a3', 'estab'));
    remove(store, 'node-a', 'a3');
    upsert(store, 'node-a', tcp('a1', 'last-ack'));
    watcher.poll();
    assert.deepEqual(sink.take(), [], 'paused: nothing is sent');
    sink.accepting = true;
    watcher.resume();
    watcher.poll();
    assert.deepEqual(sink.take(), ['MODIFIED node-a/a1 LAST-ACK', 'ADDED node-b/b1 CLOSE-WAIT', 'BOOKMARK'], 'a3 came and went while paused: never sent');
  });

  test('sockets whose bytes do not decode are left out, as List leaves them out', () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')] });
    const { watcher, sink } = watching(store);
    watcher.poll();
    sink.take();
    const good = Buffer.from(Socket.encode(tcp('a1', 'estab', { recvQ: 3n })).finish());
    const broken = Buffer.concat([good, new BinaryWriter().uint32(WIRE.Socket.timer.tag).uint32(2).uint32(WIRE.Timer.code.tag).raw(Uint8Array.of(0xff)).finish()]);
    store.get('node-a')!.sockets.put(readSocket(broken, 0, broken.length, new PodCache()));
    watcher.poll();
    assert.deepEqual([sink.take(), watcher.undecodable], [['DELETED node-a/a1 ESTAB'], 1]);
  });

  test('limit and continue do not apply to a watch: QueryError', () => {
    const store = storeOf({});
    assert.throws(() => watching(store, { limit: 5 }), QueryError);
    assert.throws(() => watching(store, { continueToken: 'abc' }), QueryError);
    assert.throws(() => watching(store, { states: ['nonsense'] }), QueryError);
  });
});

describe('watch hub: one timer for every watch, a cap, shutdown', () => {
  test('polls open watches, resumes a drained one at once, refuses one over the cap, ends all on close', async () => {
    const store = storeOf({ 'node-a': [tcp('a1', 'estab')] });
    const hub = new WatchHub(store, { pollMs: 10, maxWatches: 2, log: () => undefined });
    const first = new RecordingSink();
    const second = new RecordingSink();
    second.accepting = false;
    hub.open({}, first);
    const slow = hub.open({ states: ['close-wait'] }, second);
    assert.throws(() => hub.open({}, new RecordingSink()), (error: Error) => error instanceof WatchLimitError && /2 watches are open/.test(error.message));
    const seen = () => [...first.events, ...second.events].map(line).join('\n');
    await waitFor(() => first.events.length === 2 && second.events.length === 1, { timeoutMs: 10_000, what: 'the initial listings', describe: seen });
    upsert(store, 'node-a', tcp('a1', 'close-wait'));
    await waitFor(() => first.events.length === 3, { timeoutMs: 10_000, what: 'the change polled', describe: seen });
    // One timer tick polls every watch: the slow one was polled too, and sent nothing.
    assert.deepEqual([first.take(), second.take()], [['ADDED node-a/a1 ESTAB', 'BOOKMARK', 'MODIFIED node-a/a1 CLOSE-WAIT'], ['BOOKMARK']]);
    second.accepting = true;
    slow.resume();
    await waitFor(() => second.events.length === 1, { timeoutMs: 10_000, what: 'the resumed watch to catch up' });
    assert.deepEqual(second.take(), ['ADDED node-a/a1 CLOSE-WAIT']);
    hub.close('aggregator shutting down');
    assert.deepEqual([first.ended, second.ended, hub.size], ['shutdown: aggregator shutting down', 'shutdown: aggregator shutting down', 0]);
  });
});

/** A GET left open: its status, headers and the body as it arrives. */
interface OpenResponse {
  readonly response: IncomingMessage;
  readonly body: () => Buffer;
  close(): void;
}

function get(url: string, headers: Record<string, string> = {}): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const request = httpRequest(url, { headers }, (response) => {
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => undefined);
      resolve({ response, body: () => Buffer.concat(chunks), close: () => request.destroy() });
    });
    request.on('error', reject);
    request.end();
  });
}

/** Delimited WatchEvents (varint length, message) in a body read so far; a partial last one is left. */
function delimited(body: Buffer): WatchEvent[] {
  const reader = new BinaryReader(body);
  const events: WatchEvent[] = [];
  while (reader.pos < body.length) {
    const length = reader.uint32();
    if (reader.pos + length > body.length) break;
    events.push(WatchEvent.decode(body.subarray(reader.pos, reader.pos + length)));
    reader.pos += length;
  }
  return events;
}

/** The complete JSON lines in a body read so far (a partial last one is left). */
const jsonLines = (body: Buffer): Array<{ type: string; object: Record<string, unknown> }> =>
  body
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .map((text) => JSON.parse(text) as { type: string; object: Record<string, unknown> });

/**
 * A WatchHub and the HTTP face over `store`, listening on loopback while the enclosing describe
 * runs; `url(path)` once listening.
 */
function servedOverHttp(store: NodeStore, maxWatches: number): { readonly hub: WatchHub; readonly server: Server; url(path: string): string } {
  const hub = new WatchHub(store, { pollMs: 20, maxWatches, log: () => undefined });
  const server = createHttpServer(store, () => true, () => undefined, hub);
  const { url } = listenDuringSuite(server, () => hub.close('test over'));
  return { hub, server, url };
}

describe('watch over HTTP: GET /api/v1/sockets?watch=1', () => {
  const store = storeOf({ 'node-a': [tcp('a1', 'close-wait'), tcp('a2', 'estab')] });
  store.claim('node-b', 1n, 'boot');
  const { hub, url } = servedOverHttp(store, 2);
  const closed = (what: string) => waitFor(() => hub.size === 0, { timeoutMs: 10_000, what, describe: () => `${hub.size} watches open` });

  test('JSON lines: each socket as its SocketList item, a WatchStatus bookmark, then changes; a disconnect closes the watch', async () => {
    const open = await get(url('/api/v1/sockets?watch=1&state=close-wait'));
    assert.deepEqual([open.response.statusCode, open.response.headers['content-type']], [200, 'application/json']);
    await waitFor(() => jsonLines(open.body()).length === 2, { timeoutMs: 10_000, what: 'the listing and its bookmark', describe: () => open.body().toString() });
    const listed = listSockets(store, { states: ['close-wait'] }).items.map((socket) => socketItem(socket));
    const [added, bookmark] = jsonLines(open.body());
    assert.deepEqual(added, JSON.parse(JSON.stringify({ type: 'ADDED', object: listed[0] })));
    assert.deepEqual(bookmark, {
      type: 'BOOKMARK',
      object: { apiVersion: 'kubenetstat.io/v1', kind: 'WatchStatus', unavailableNodes: [{ node: 'node-b', reason: 'agent connected, first snapshot not complete yet', lastSeen: new Date(T0).toISOString() }] },
    });
    upsert(store, 'node-a', tcp('a2', 'close-wait'));
    remove(store, 'node-a', 'a1');
    await waitFor(() => jsonLines(open.body()).length === 4, { timeoutMs: 10_000, what: 'the changes', describe: () => open.body().toString() });
    assert.deepEqual(jsonLines(open.body()).slice(2).map((event) => `${event.type} ${String(event.object.foreignPort)} ${String(event.object.state)}`), ['ADDED 40002 CLOSE_WAIT', 'DELETED 40001 CLOSE_WAIT']);
    open.close();
    await closed('the watch to close when its client went away');
  });

  test('protobuf when Accept names application/x-protobuf: delimited WatchEvent messages', async () => {
    const listed = listSockets(store, { states: ['close-wait'] }).items;
    assert.ok(listed.length > 0);
    const open = await get(url('/api/v1/sockets?watch=true&state=close-wait'), { accept: 'application/x-protobuf, application/json;q=0.5' });
    assert.deepEqual([open.response.statusCode, open.response.headers['content-type']], [200, 'application/x-protobuf']);
    await waitFor(() => delimited(open.body()).length === listed.length + 1, { timeoutMs: 10_000, what: 'the listing and its bookmark', describe: () => delimited(open.body()).map(line).join('\n') });
    const events = delimited(open.body());
    assert.deepEqual(events, [
      ...listed.map((socket) => ({ type: WatchEventType.WATCH_EVENT_TYPE_ADDED, socket, unavailableNodes: [] })),
      { type: WatchEventType.WATCH_EVENT_TYPE_BOOKMARK, socket: undefined, unavailableNodes: [{ node: 'node-b', reason: 'agent connected, first snapshot not complete yet', lastSeenUnixMs: BigInt(T0) }] },
    ]);
    assert.equal(open.body().length, events.reduce((bytes, event) => bytes + frameLength(event), 0), 'nothing but whole frames');
    open.close();
    await closed('the watch to close');
  });

  test('limit, continue or a bad watch value are 400; a watch over the cap is 429', async () => {
    for (const [path, message] of [
      ['/api/v1/sockets?watch=1&limit=5', /limit and continue do not apply to a watch/],
      ['/api/v1/sockets?watch=1&continue=abc', /limit and continue do not apply to a watch/],
      ['/api/v1/sockets?watch=maybe', /invalid watch 'maybe'/],
    ] as const) {
      const response = await fetch(url(path));
      assert.equal(response.status, 400, path);
      assert.match(((await response.json()) as { message: string }).message, message, path);
    }
    const open = [await get(url('/api/v1/sockets?watch=1')), await get(url('/api/v1/sockets?watch=1'))];
    const refused = await fetch(url('/api/v1/sockets?watch=1'));
    const status = (await refused.json()) as { code: number; reason: string; message: string };
    assert.deepEqual([refused.status, status.code, status.reason], [429, 429, 'TooManyRequests']);
    assert.match(status.message, /2 watches are open, as many as this aggregator serves \(--max-watches\)/);
    for (const response of open) response.close();
    await closed('both watches to close');
    const again = await get(url('/api/v1/sockets?watch=1'));
    assert.equal(again.response.statusCode, 200, 'closed watches no longer count');
    again.close();
    await closed('the last watch to close');
  });
});

describe('watch over HTTP: a client that reads slowly', () => {
  // Enough JSON (~15 MiB) that loopback's socket buffers fill and response.write returns false.
  const nodes = Object.fromEntries(Array.from({ length: 30 }, (_, n) => [`node-${String(n).padStart(2, '0')}`, Array.from({ length: 1_000 }, (_, i) => tcp(`k${i}`, 'estab'))]));
  const store = storeOf(nodes);
  const { hub, server, url } = servedOverHttp(store, 1);

  test('pauses the watch instead of queueing: sockets gone before it caught up are never sent', async () => {
    let served: ServerResponse | undefined;
    server.on('request', (_request, response: ServerResponse) => (served = response));
    const open = await get(url('/api/v1/sockets?watch=1'));
    open.response.pause();
    await waitFor(() => served?.writableNeedDrain === true, { timeoutMs: 10_000, what: 'the server to find the client behind' });
    // The watch stopped after the node it was at: the last node is not sent yet, and now empties.
    snapshot(store, 'node-29', []);
    open.response.resume();
    await waitFor(() => open.body().includes('{"type":"BOOKMARK"'), { timeoutMs: 20_000, what: 'the listing to end', describe: () => `${open.body().length} bytes` });
    const sent = jsonLines(open.body());
    assert.equal(sent.length, 29 * 1_000 + 1);
    assert.deepEqual(new Set(sent.slice(0, -1).map((event) => `${event.type} ${String(event.object.node)}`)).size, 29);
    assert.ok(!sent.some((event) => event.object.node === 'node-29'), 'nothing of node-29: it emptied while the watch was paused');
    open.close();
    await waitFor(() => hub.size === 0, { timeoutMs: 10_000, what: 'the watch to close' });
  });
});

/** `promise`, or a failure naming what did not happen within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function frameLength(event: WatchEvent): number {
  const length = WatchEvent.encode(event).finish().length;
  let prefix = 1;
  while (length >= 2 ** (7 * prefix)) prefix++;
  return prefix + length;
}

describe('watch over gRPC: QueryService.Watch', () => {
  let running: RunningAggregator;
  let client: QueryServiceClient;
  let stopped = false;
  before(async () => {
    running = await startLoopbackAggregator({ watchPollMs: 20, maxWatches: 1 });
    snapshot(running.store, 'node-a', [tcp('a1', 'close-wait'), tcp('a2', 'estab')]);
    client = queryClientOf(running);
  });
  after(async () => {
    client.close();
    if (!stopped) await running.stop();
  });

  interface WatchCall {
    readonly call: ClientReadableStream<WatchEvent>;
    readonly events: WatchEvent[];
    /** Its first event arrived: the watch is open. */
    readonly opened: Promise<'opened'>;
    /** How it ended: its error, or undefined for a clean end. */
    readonly ended: Promise<ServiceError | undefined>;
  }

  function watch(filter: Partial<ListRequest>): WatchCall {
    const call = client.watch({ filter: ListRequest.fromPartial(filter) });
    const events: WatchEvent[] = [];
    const opened = new Promise<'opened'>((resolve) => call.once('data', () => resolve('opened')));
    call.on('data', (event: WatchEvent) => events.push(event));
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      call.on('error', (error: ServiceError) => resolve(error));
      call.on('end', () => resolve(undefined));
    });
    return { call, events, opened, ended };
  }

  test('the listing, a bookmark, then changes; limit is INVALID_ARGUMENT, a second watch RESOURCE_EXHAUSTED; a cancelled watch frees its place', async () => {
    const limited = watch({ limit: 3 });
    const invalid = await limited.ended;
    assert.deepEqual([invalid?.code, /limit and continue do not apply/.test(invalid?.details ?? '')], [status.INVALID_ARGUMENT, true]);

    const open = watch({ states: ['close-wait'] });
    await waitFor(() => open.events.length === 2, { timeoutMs: 10_000, what: 'the listing and its bookmark', describe: () => open.events.map(line).join('\n') });
    assert.deepEqual(open.events.splice(0), [...listSockets(running.store, { states: ['close-wait'] }).items.map((socket) => ({ type: WatchEventType.WATCH_EVENT_TYPE_ADDED, socket, unavailableNodes: [] })), { type: WatchEventType.WATCH_EVENT_TYPE_BOOKMARK, socket: undefined, unavailableNodes: [] }]);
    upsert(running.store, 'node-a', tcp('a1', 'close-wait', { recvQ: 5n }));
    await waitFor(() => open.events.length === 1, { timeoutMs: 10_000, what: 'the change' });
    assert.deepEqual(open.events.map(line), ['MODIFIED node-a/a1 CLOSE-WAIT']);
    assert.equal(open.events[0]!.socket!.recvQ, 5n);

    const second = await watch({}).ended;
    assert.deepEqual([second?.code, /1 watches are open/.test(second?.details ?? '')], [status.RESOURCE_EXHAUSTED, true]);
    open.call.cancel();
    await open.ended;
    // The server learns of the cancel asynchronously: retry until the place is free.
    let retried: WatchCall | undefined;
    await waitFor(async () => (await Promise.race([(retried = watch({})).opened, retried.ended])) === 'opened', { timeoutMs: 10_000, what: 'a new watch once the cancelled one is gone' });
    // Shutdown ends an open watch (UNAVAILABLE) instead of waiting for it.
    stopped = true;
    const stopping = running.stop();
    assert.equal((await within(retried!.ended, 10_000, 'the open watch to end'))?.code, status.UNAVAILABLE);
    await within(stopping, 10_000, 'stop() to finish with a watch open');
  });
});

describe('watch over gRPC: a client that reads slowly', () => {
  const served = queriedDuringSuite({ watchPollMs: 20 }, (aggregator) => {
    for (let n = 0; n < 30; n++) snapshot(aggregator.store, `node-${String(n).padStart(2, '0')}`, Array.from({ length: 1_000 }, (_, i) => tcp(`k${i}`, 'estab')));
  });

  test('a write the call cannot take pauses the watch until drain: sockets gone meanwhile are never sent', async () => {
    const call = served.client.watch({ filter: ListRequest.fromPartial({}) });
    const events: WatchEvent[] = [];
    const ended = new Promise<ServiceError | undefined>((resolve) => call.on('error', resolve));
    // The first event arrives after the first pass, which queued what the call could take and paused.
    call.once('data', () => {
      call.pause();
      snapshot(served.aggregator.store, 'node-29', []);
      call.resume();
    });
    call.on('data', (event: WatchEvent) => events.push(event));
    await waitFor(() => events.at(-1)?.type === WatchEventType.WATCH_EVENT_TYPE_BOOKMARK, { timeoutMs: 20_000, what: 'the listing to end', describe: () => `${events.length} events` });
    assert.equal(events.length, 29 * 1_000 + 1);
    assert.ok(!events.some((event) => event.socket?.node === 'node-29'), 'nothing of node-29: it emptied while the watch was paused');
    call.cancel();
    assert.equal((await ended)?.code, status.CANCELLED);
  });
});
