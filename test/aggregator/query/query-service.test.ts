import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { describe, test } from 'node:test';
import { createHttpServer } from '../../../aggregator/server/index.js';
import { NodeStore } from '../../../aggregator/store/index.js';
import { listSockets, listSocketsEncoded, MAX_LIMIT, QueryError, summarize, topPods, type QuerySpec } from '../../../aggregator/query/index.js';
import { PodCache, readSocket } from '../../../aggregator/ingest/index.js';
import { socketItem, socketList, unavailableItems, type SocketList } from '../../../model/json/socket-list.js';
import { ListRequest, ListResponse, type SummaryRequest, type SummaryResponse, type TopRequest, type TopResponse } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { WIRE } from '../../../model/wire-fields.js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { pod, STATES, type StateName } from '../../support/agent-sockets.js';
import { settle } from '../../support/grpc.js';
import { listenDuringSuite } from '../../support/loopback-http.js';
import { queriedDuringSuite } from '../../support/loopback-aggregator.js';
import { storedSockets } from '../../support/stored.js';

const NOW = Date.now();

let serial = 0;
const socket = (state: StateName, fields: Partial<Socket> = {}): Socket => {
  const [stateCode, name, ssState] = STATES[state];
  serial++;
  return Socket.fromPartial({ key: `k${serial}`, proto: Proto.PROTO_TCP, stateCode, state: name, ssState, localAddress: '10.0.0.1', localPort: 8080, foreignAddress: '10.0.0.2', foreignPort: 40000 + serial, firstSeenUnixMs: BigInt(NOW - 1_000), ...fields });
};

const cart = pod('shop', 'cart-7d9f-abcde', 'cart', { app: 'cart' });
const web = pod('shop', 'web-5c6b-fghij', 'nginx', { app: 'web' });
const pay: PodRef = { ...pod('payments', 'pay-0', 'pay', { app: 'pay' }), workloadKind: 'StatefulSet' };

/** Two nodes: node-a with cart and pay, node-b with web and host sockets. */
function cluster(): NodeStore {
  const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000 });
  const nodes: Record<string, Socket[]> = {
    'node-a': [
      socket('listen', { pod: cart, foreignAddress: '0.0.0.0', foreignPort: 0 }),
      socket('close-wait', { pod: cart, recvQ: 1n, firstSeenUnixMs: BigInt(NOW - 600_000) }),
      socket('close-wait', { pod: cart, recvQ: 1n }),
      socket('close-wait', { pod: cart, recvQ: 1n }),
      socket('estab', { pod: cart, sendQ: 64_000n }),
      socket('close-wait', { pod: pay, recvQ: 1n }),
      socket('estab', { pod: pay, recvQ: 5_000n }),
    ],
    'node-b': [
      socket('estab', { pod: web }),
      socket('time-wait', { pod: web }),
      socket('listen', { localPort: 10250, foreignAddress: '0.0.0.0', foreignPort: 0, hostNetwork: true }),
      socket('estab', { proto: Proto.PROTO_UNIX, stateCode: 3, state: 'CONNECTED', ssState: 'ESTAB', localAddress: '', localPort: 0, foreignAddress: '', foreignPort: 0 }),
    ],
  };
  for (const [name, sockets] of Object.entries(nodes)) {
    const { session } = store.claim(name, 1n, 'boot');
    store.replaceSockets(store.owned(name, session!)!, storedSockets(sockets));
  }
  return store;
}

describe('query service: filters, summaries and rankings over stored sockets', () => {
  const store = cluster();
  const podsOf = (spec: QuerySpec) => listSockets(store, spec).items.map((s) => `${s.pod?.name ?? 'host'}:${s.ssState}`);

  test('container, workload (name or kind/name), queue and age filters', () => {
    assert.deepEqual(podsOf({ containers: ['nginx'] }), ['web-5c6b-fghij:ESTAB', 'web-5c6b-fghij:TIME-WAIT']);
    assert.deepEqual(podsOf({ workloads: ['statefulset/pay'] }), ['pay-0:CLOSE-WAIT', 'pay-0:ESTAB']);
    assert.deepEqual(podsOf({ workloads: ['deployment/pay'] }), []);
    assert.deepEqual(podsOf({ workloads: ['cart-7d9f'], states: ['close-wait'] }).length, 3);
    assert.deepEqual(podsOf({ minRecvQ: 2 }), ['pay-0:ESTAB']);
    assert.deepEqual(podsOf({ minSendQ: 1 }), ['cart-7d9f-abcde:ESTAB']);
    assert.deepEqual(listSockets(store, { minAgeSeconds: 300 }).items.length, 1, 'only the socket first seen 10 minutes ago');
    assert.throws(() => listSockets(store, { minRecvQ: -1 }), QueryError);
  });

  test('summary by namespace, workload, pod and node counts every selected socket once', () => {
    const byNamespace = summarize(store, {}, 'namespace', NOW).rows.map((row) => [row.namespace, row.node, row.total, row.states]);
    assert.deepEqual(byNamespace, [
      ['payments', null, 2, { 'CLOSE-WAIT': 1, ESTAB: 1 }],
      ['shop', null, 7, { LISTEN: 1, 'CLOSE-WAIT': 3, ESTAB: 2, 'TIME-WAIT': 1 }],
      [null, 'node-b', 2, { LISTEN: 1, 'unix:ESTAB': 1 }],
    ]);
    const byWorkload = summarize(store, { namespaces: ['shop'] }, 'workload', NOW).rows.map((row) => [row.workload?.name, row.total]);
    assert.deepEqual(byWorkload, [['cart-7d9f', 5], ['web-5c6b', 2]]);
    const byPod = summarize(store, { states: ['close-wait'] }, 'pod', NOW).rows.map((row) => [row.pod, row.node, row.total, row.recvQ]);
    assert.deepEqual(byPod, [['pay-0', 'node-a', 1, 1], ['cart-7d9f-abcde', 'node-a', 3, 3]]);
    const byNode = summarize(store, {}, 'node', NOW).rows.map((row) => [row.node, row.total]);
    assert.deepEqual(byNode, [['node-a', 7], ['node-b', 4]]);
    assert.throws(() => summarize(store, {}, 'colour' as 'pod'), /cannot summarize by 'colour'/);
  });

  test('top ranks pods by a state or by queued bytes', () => {
    assert.deepEqual(topPods(store, {}, { kind: 'state', state: 'close-wait' }, 10, NOW).rows.map((row) => [row.pod, row.value]), [['cart-7d9f-abcde', 3], ['pay-0', 1]]);
    assert.deepEqual(topPods(store, {}, { kind: 'recv-q' }, 1, NOW).rows.map((row) => [row.pod, row.value]), [['pay-0', 5_001]]);
    assert.deepEqual(topPods(store, {}, { kind: 'send-q' }, 5, NOW).rows.map((row) => [row.pod, row.value]), [['cart-7d9f-abcde', 64_000]]);
  });

  test('a bare pod is its own workload alike in top, summary --by pod and summary --by workload', () => {
    const bare = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000 });
    const { session } = bare.claim('node-z', 1n, 'boot');
    const leaky: PodRef = { ...pod('edge', 'leaky-3', 'app'), workloadKind: '', workloadName: '' };
    bare.replaceSockets(bare.owned('node-z', session!)!, storedSockets([socket('close-wait', { pod: leaky })]));
    const expected = { kind: 'Pod', name: 'leaky-3' };
    assert.deepEqual(topPods(bare, {}, { kind: 'state', state: 'close-wait' }, 10, NOW).rows.map((row) => row.workload), [expected]);
    assert.deepEqual(summarize(bare, {}, 'pod', NOW).rows.map((row) => row.workload), [expected]);
    assert.deepEqual(summarize(bare, {}, 'workload', NOW).rows.map((row) => row.workload), [expected]);
  });
});

describe('query service over HTTP: /api/v1/summary and /api/v1/top', () => {
  const store = cluster();
  const server = createHttpServer(store, () => true, () => undefined);
  const { url } = listenDuringSuite(server);

  test('a summary and a ranking as JSON lists, with the nodes they cannot vouch for', async () => {
    const summary = (await (await fetch(url('/api/v1/summary?by=pod&namespace=shop&state=close-wait'))).json()) as { kind: string; items: { pod: string; total: number }[]; unavailableNodes: unknown[] };
    assert.equal(summary.kind, 'SocketSummary');
    assert.deepEqual(summary.items.map((row) => [row.pod, row.total]), [['cart-7d9f-abcde', 3]]);
    assert.deepEqual(summary.unavailableNodes, []);
    const top = (await (await fetch(url('/api/v1/top?by=recv-q&limit=2'))).json()) as { kind: string; items: { pod: string; value: number }[] };
    assert.equal(top.kind, 'PodRanking');
    assert.deepEqual(top.items.map((row) => [row.pod, row.value]), [['pay-0', 5_001], ['cart-7d9f-abcde', 3]]);
  });

  test('bad parameters are 400 with a Status saying what is wrong', async () => {
    for (const [query, message] of [
      ['/api/v1/summary?by=colour', /cannot summarize by 'colour'/],
      ['/api/v1/top?by=close-wait&limit=0', /limit must be a positive integer/],
      ['/api/v1/sockets?minRecvQ=lots', /invalid minRecvQ 'lots'/],
      ['/api/v1/top?by=nonsense', /unknown state/],
      ['/api/v1/sockets?listening=yes', /invalid listening 'yes': expected true or false/],
      ['/api/v1/sockets?minAge=soon', /invalid minAge 'soon'/],
      ['/api/v1/sockets?limit=-1', /invalid limit '-1'/],
    ] as const) {
      const response = await fetch(url(query));
      const body = (await response.json()) as { code: number; message: string };
      assert.equal(response.status, 400, query);
      assert.match(body.message, message, query);
    }
  });

  test('a parameter a route does not take is a 400 naming those it takes, not a filter silently ignored', async () => {
    for (const [query, unknown] of [
      ['/api/v1/sockets?states=close-wait', "'states'"],
      ['/api/v1/sockets?namespace=shop&colour=red&size=2', "'colour', 'size'"],
      ['/api/v1/summary?by=pod&limit=3', "'limit'"],
      ['/api/v1/top?sortBy=recvQ', "'sortBy'"],
      ['/api/v1/findings?proto=tcp', "'proto'"],
      ['/api/v1/history?namespace=shop&pod=cart&state=open', "'state'"],
    ] as const) {
      const response = await fetch(url(query));
      assert.equal(response.status, 400, query);
      const { message } = (await response.json()) as { message: string };
      assert.ok(message.startsWith(`unknown parameter${unknown.includes(',') ? 's' : ''} ${unknown}: this route takes `), `${query}: ${message}`);
    }
    const taken = (await (await fetch(url('/api/v1/sockets?states=x'))).json()) as { message: string };
    assert.match(taken.message, /takes namespace, labelSelector, .*state, listening, .*minAge, limit, continue, sortBy, watch$/);
  });

  test('minAge takes the CLI\'s durations; listening selects netstat\'s servers', async () => {
    const ages = async (query: string) => ((await (await fetch(url(`/api/v1/sockets?${query}`))).json()) as SocketList).items.length;
    assert.equal(await ages('minAge=10m'), await ages('minAge=600'));
    assert.equal(await ages('minAge=5m'), 1, 'the one CLOSE_WAIT first seen ten minutes ago');
    assert.equal(await ages('minAge=1h30m'), 0);
    const states = async (query: string) => ((await (await fetch(url(`/api/v1/sockets?${query}`))).json()) as SocketList).items.map((item) => item.state);
    assert.deepEqual(await states('listening=true&proto=tcp'), ['LISTEN', 'LISTEN']);
    assert.ok(!(await states('listening=false&proto=tcp')).includes('LISTEN'));
    assert.equal((await states('listening=false')).length + 2, (await states('')).length);
  });

  test('limit=0 is no limit, as in the Kubernetes API; a limit above the most one answer holds is cut to it, with a Warning header', async () => {
    const all = (await (await fetch(url('/api/v1/sockets'))).json()) as SocketList;
    const zero = (await (await fetch(url('/api/v1/sockets?limit=0'))).json()) as SocketList;
    assert.equal(zero.items.length, all.items.length);
    const huge = await fetch(url(`/api/v1/sockets?limit=${MAX_LIMIT * 10}`));
    assert.equal(huge.status, 200);
    assert.equal(huge.headers.get('warning'), `299 - "limit ${MAX_LIMIT * 10} is above the most one answer holds: cut to ${MAX_LIMIT}, follow metadata.continue for the rest"`);
    assert.equal(((await huge.json()) as SocketList).items.length, all.items.length);
  });
});

describe('MAX_LIMIT: one answer holds at most so many sockets, whatever the limit', () => {
  test('a larger limit gives MAX_LIMIT items and a continue token to the rest, over gRPC and HTTP alike', () => {
    const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000 });
    const { session } = store.claim('node-big', 1n, 'boot');
    store.replaceSockets(store.owned('node-big', session!)!, storedSockets(Array.from({ length: MAX_LIMIT + 5 }, (_, i) =>
      Socket.fromPartial({ key: `big${i}`, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '10.0.0.1', localPort: 8080, foreignAddress: '10.0.0.2', foreignPort: 1 + (i % 60_000), firstSeenUnixMs: BigInt(NOW) }))));
    const first = listSocketsEncoded(store, { limit: MAX_LIMIT * 2 });
    const page = ListResponse.decode(first.bytes);
    assert.equal(page.items.length, MAX_LIMIT);
    assert.notEqual(page.continueToken, '');
    assert.equal(listSockets(store, { limit: MAX_LIMIT * 2, continueToken: page.continueToken }).items.length, 5);
    assert.equal(listSockets(store, { limit: 0 }).items.length, MAX_LIMIT + 5, 'no limit is no limit');
  });
});

describe('query service over HTTP: /api/v1/sockets as JSON, written while the store is walked', () => {
  /** node-a as in cluster(), a node of 600 sockets (an answer of several writes), and a node still sending its first snapshot. */
  const store = cluster();
  const many = Array.from({ length: 600 }, (_, i) => socket(i % 3 === 0 ? 'close-wait' : 'estab', { pod: i % 2 ? web : cart, processes: [{ pid: 100 + i, name: 'nginx', comm: 'nginx', fds: [i] }] }));
  const { session } = store.claim('node-c', 1n, 'boot');
  store.replaceSockets(store.owned('node-c', session!)!, storedSockets(many));
  store.claim('node-d', 1n, 'boot');
  const server = createHttpServer(store, () => true, () => undefined);
  const { url } = listenDuringSuite(server);

  /** The answer as it was made before it was streamed: the whole list, then JSON.stringify. */
  const whole = (spec: QuerySpec): string => {
    const result = listSockets(store, spec);
    const list = socketList(result.items.map((socket) => socketItem(socket)), unavailableItems(result.unavailable));
    return `${JSON.stringify(result.continueToken ? { ...list, metadata: { continue: result.continueToken } } : list)}\n`;
  };

  const cases: Array<{ name: string; query: string; spec: QuerySpec }> = [
    { name: 'every socket (hundreds of KiB, many writes)', query: '', spec: {} },
    { name: 'a filter matching a few', query: '?namespace=payments', spec: { namespaces: ['payments'] } },
    { name: 'a filter matching none', query: '?port=1', spec: { ports: [1] } },
    { name: 'a page cut by a limit, with its continue token', query: '?limit=250', spec: { limit: 250 } },
    { name: 'a sorted page', query: '?sortBy=-recvQ&limit=5', spec: { sortBy: '-recvQ', limit: 5 } },
  ];
  for (const { name, query, spec } of cases) {
    test(`the text is exactly the whole SocketList's JSON: ${name}`, async () => {
      const response = await fetch(url(`/api/v1/sockets${query}`));
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(await response.text(), whole(spec));
    });
  }

  for (const { name, spec } of cases) {
    test(`the protobuf answer (gRPC List, Accept: application/x-protobuf) decodes to the same listing: ${name}`, () => {
      const listed = listSockets(store, spec);
      assert.deepEqual(ListResponse.decode(listSocketsEncoded(store, spec).bytes), { items: listed.items, unavailableNodes: listed.unavailable, continueToken: listed.continueToken });
    });
  }

  test('a query that cannot run is still a 400 Status, not a cut answer', async () => {
    const response = await fetch(url('/api/v1/sockets?continue=not-a-token'));
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { message: string }).message, /invalid continue token/);
  });
});

describe('query service over gRPC: List filters, Summary and Top', () => {
  const served = queriedDuringSuite({}, (aggregator) => fillFrom(cluster(), aggregator.store));
  const list = (request: ListRequest) => new Promise<ListResponse>((resolve, reject) => served.client.list(request, settle(resolve, reject)));
  const summary = (request: SummaryRequest) => new Promise<SummaryResponse>((resolve, reject) => served.client.summary(request, settle(resolve, reject)));
  const top = (request: TopRequest) => new Promise<TopResponse>((resolve, reject) => served.client.top(request, settle(resolve, reject)));
  const filter = (fields: Partial<ListRequest>): ListRequest => ListRequest.fromPartial(fields);

  test('List takes the new filters', async () => {
    const listed = await list(filter({ workloads: ['statefulset/pay'], minRecvQ: 2n }));
    assert.deepEqual(listed.items.map((s) => [s.pod?.name, s.ssState]), [['pay-0', 'ESTAB']]);
  });

  test('Summary and Top answer as HTTP does', async () => {
    const summarized = await summary({ filter: filter({ states: ['close-wait'] }), by: 'pod' });
    assert.deepEqual(summarized.rows.map((row) => [row.pod, row.total, row.states]), [['pay-0', 1n, { 'CLOSE-WAIT': 1n }], ['cart-7d9f-abcde', 3n, { 'CLOSE-WAIT': 3n }]]);
    const ranked = await top({ filter: undefined, by: 'close-wait', limit: 1 });
    assert.deepEqual(ranked.rows.map((row) => [row.pod, row.value]), [['cart-7d9f-abcde', 3n]]);
  });

  test('List answers from the stored bytes exactly what decoding them gives; undecodable sockets are left out', async () => {
    const decoded = listSockets(served.aggregator.store, {}).items;
    assert.deepEqual((await list(filter({}))).items, decoded);
    assert.ok(decoded.some((s) => s.pod?.name === 'pay-0' && s.podRef === 0 && s.node === 'node-a'));
    // A socket whose nested timer is truncated: ingest reads only top-level fields and keeps it.
    const good = Buffer.from(Socket.encode(socket('estab', { key: 'broken-timer' })).finish());
    const broken = Buffer.concat([good, new BinaryWriter().uint32(WIRE.Socket.timer.tag).uint32(2).uint32(WIRE.Timer.code.tag).raw(Uint8Array.of(0xff)).finish()]);
    served.aggregator.store.get('node-a')!.sockets.put(readSocket(broken, 0, broken.length, new PodCache()));
    const answered = await list(filter({}));
    assert.equal(answered.items.length, decoded.length);
    assert.ok(!answered.items.some((s) => s.key === 'broken-timer'));
    assert.deepEqual((await list(filter({ limit: 3 }))).items, decoded.slice(0, 3));
  });

  test('a bad grouping is INVALID_ARGUMENT', async () => {
    await assert.rejects(summary({ filter: undefined, by: 'colour' }), (error: ServiceError) => error.code === status.INVALID_ARGUMENT && /cannot summarize by/.test(error.details));
  });
});

/** Copies every node of one store into another (the running aggregator's). */
function fillFrom(source: NodeStore, target: NodeStore): void {
  for (const node of source.all()) {
    const { session } = target.claim(node.name, 1n, 'boot');
    target.replaceSockets(target.owned(node.name, session!)!, node.sockets);
  }
}
