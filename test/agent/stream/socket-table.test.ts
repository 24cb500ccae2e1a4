import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NodeStore } from '../../../aggregator/store/index.js';
import { listSockets, QueryError } from '../../../aggregator/query/index.js';
import { socketKey } from '../../../agent/stream/socket-key.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import { parseInetTable } from '../../../agent/procfs/inet.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { sample } from '../../support/samples.js';
import { storedSockets } from '../../support/stored.js';

/** As the aggregator stores sockets: the agents' encodings plus the indexed fields. */
const stored = (...sockets: Socket[]) => storedSockets(sockets);

const socket = (key: string, fields: Partial<Socket> = {}): Socket =>
  Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '10.0.0.1', localPort: 40000, foreignAddress: '10.0.0.2', foreignPort: 5432, firstSeenUnixMs: 1000n, ...fields });

describe('socketKey', () => {
  const records = parseInetTable(sample('demo.proc-net-tcp.txt'), 'tcp').records;

  test('is unique across every socket of the capture, including the inode-less ones', () => {
    const keys = records.map((record) => socketKey('4026532877', record));
    assert.equal(new Set(keys).size, records.length);
  });

  test('the same 4-tuple in another namespace is another socket', () => {
    assert.notEqual(socketKey('1', records[0]!), socketKey('2', records[0]!));
  });

  test('a recycled inode with other endpoints is another socket', () => {
    const first = records.find((r) => r.inode !== '0')!;
    assert.notEqual(socketKey('1', first), socketKey('1', { ...first, foreignPort: first.foreignPort + 1 }));
  });

  test('an inode-less socket keeps its key while its state changes (FIN_WAIT2 → TIME_WAIT)', () => {
    const orphan = records.find((r) => r.inode === '0' && r.stateCode === 5)!;
    assert.equal(socketKey('1', orphan), socketKey('1', { ...orphan, stateCode: 6 }));
  });
});

describe('SocketTable: the wire carries churn, not table size', () => {
  test('first scan: everything is new', () => {
    const table = new SocketTable();
    const changes = table.update([socket('a'), socket('b')]);
    assert.deepEqual([changes.upserted.map((s) => s.key), changes.removed], [['a', 'b'], []]);
  });

  test('an unchanged rescan sends nothing, even though timers counted down', () => {
    const table = new SocketTable();
    table.update([socket('a', { timer: { code: 2, kind: 'keepalive', ticks: 719_771n, retransmits: 0, probes: 0, readUnixMs: 1_000_000n } })]);
    const changes = table.update([socket('a', { timer: { code: 2, kind: 'keepalive', ticks: 719_671n, retransmits: 0, probes: 0, readUnixMs: 1_001_000n }, refCount: 9 })]);
    assert.deepEqual(changes, { upserted: [], removed: [] });
  });

  const changed: Array<{ name: string; fields: Partial<Socket> }> = [
    { name: 'state', fields: { stateCode: 8, state: 'CLOSE_WAIT' } },
    { name: 'Recv-Q', fields: { recvQ: 1n } },
    { name: 'Send-Q', fields: { sendQ: 4096n } },
    { name: 'timer kind', fields: { timer: { code: 1, kind: 'on', ticks: 20n, retransmits: 0, probes: 0, readUnixMs: 1_000_000n } } },
    { name: 'holders', fields: { processes: [{ pid: 7, name: 'app', comm: 'app', fds: [3] }] } },
    { name: 'pod', fields: { pod: { namespace: 'shop', name: 'cart-0', uid: 'u', container: 'cart', containerId: 'c', runtime: '', workloadKind: '', workloadName: '', labels: {} } } },
  ];
  for (const { name, fields } of changed) {
    test(`a change of ${name} is sent`, () => {
      const table = new SocketTable();
      table.update([socket('a')]);
      assert.deepEqual(table.update([socket('a', fields)]).upserted.map((s) => s.key), ['a']);
    });
  }

  test('a vanished socket is removed; firstSeen keeps the earliest observation', () => {
    const table = new SocketTable();
    table.update([socket('a', { firstSeenUnixMs: 1000n }), socket('b')]);
    const changes = table.update([socket('a', { firstSeenUnixMs: 5000n, recvQ: 3n })]);
    assert.deepEqual(changes.removed, ['b']);
    assert.equal(changes.upserted[0]?.firstSeenUnixMs, 1000n);
    assert.equal(table.size, 1);
  });
});

describe('NodeStore: one agent per node, decided by epoch', () => {
  const options = { staleAfterMs: 10_000, evictAfterMs: 60_000 };

  test('a newer epoch replaces the connected agent and says which session it superseded', () => {
    const logs: string[] = [];
    const store = new NodeStore({ ...options, log: (message) => logs.push(message) });
    const first = store.claim('node-a', 100n, 'boot');
    const second = store.claim('node-a', 200n, 'boot');
    assert.deepEqual([first.accepted, second.accepted, second.accepted && second.superseded], [true, true, first.session]);
    assert.ok(logs.includes('agent connection replaced'));
    assert.equal(store.owned('node-a', first.session!), undefined);
  });

  test('an older epoch is refused while the newer agent is connected', () => {
    const store = new NodeStore(options);
    store.claim('node-a', 200n, 'boot');
    const late = store.claim('node-a', 100n, 'boot');
    assert.equal(late.accepted, false);
  });

  test('after a disconnect any epoch may take over (a restarted aggregator forgets nothing it knows)', () => {
    const store = new NodeStore(options);
    const first = store.claim('node-a', 200n, 'boot');
    store.disconnected('node-a', first.session!, 'gone');
    assert.equal(store.claim('node-a', 100n, 'boot').accepted, true);
  });

  test('stale after silence, evicted after the TTL; sockets served with a reason until then', () => {
    let now = 0;
    const store = new NodeStore({ staleAfterMs: 3_000, evictAfterMs: 10_000, now: () => now });
    const { session } = store.claim('node-a', 1n, 'boot');
    const node = store.owned('node-a', session!)!;
    store.replaceSockets(node, stored(socket('k')));
    assert.equal(store.unavailability(node), undefined);
    now = 4_000;
    store.sweep();
    assert.match(store.unavailability(node)!, /^stale: nothing from its agent for 4 s/);
    assert.equal(listSockets(store, {}).items.length, 1);
    now = 10_500;
    store.sweep();
    assert.equal(store.get('node-a'), undefined);
  });
});

describe('listSockets', () => {
  const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 60_000 });
  for (const [name, sockets] of [
    ['node-b', [socket('b1', { pod: { namespace: 'shop', name: 'cart-0', uid: 'u1', container: 'cart', containerId: '', runtime: '', workloadKind: '', workloadName: '', labels: { app: 'cart' } } }), socket('b2', { stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT' })]],
    ['node-a', [socket('a1', { stateCode: 10, state: 'LISTEN', ssState: 'LISTEN', foreignAddress: '0.0.0.0', foreignPort: 0 }), socket('a2', { proto: Proto.PROTO_UNIX, ssState: 'ESTAB', stateCode: 3 })]],
  ] as const) {
    const { session } = store.claim(name, 1n, 'boot');
    store.replaceSockets(store.owned(name, session!)!, stored(...sockets));
  }
  const keys = (spec: Parameters<typeof listSockets>[1]) => listSockets(store, spec).items.map((s) => s.key);

  const cases: Array<{ name: string; spec: Parameters<typeof listSockets>[1]; expected: string[] }> = [
    { name: 'everything, nodes in name order', spec: {}, expected: ['a1', 'a2', 'b1', 'b2'] },
    { name: 'a state', spec: { states: ['close-wait'] }, expected: ['b2'] },
    { name: 'unix sockets by ss state', spec: { states: ['established'], protos: ['unix'] }, expected: ['a2'] },
    { name: 'a namespace', spec: { namespaces: ['shop'] }, expected: ['b1'] },
    { name: 'a label selector', spec: { labelSelector: 'app in (cart,web)' }, expected: ['b1'] },
    { name: 'a pod', spec: { pod: 'cart-0' }, expected: ['b1'] },
    { name: 'a node', spec: { nodes: ['node-a'] }, expected: ['a1', 'a2'] },
    { name: 'a port', spec: { ports: [5432] }, expected: ['b1', 'b2'] },
    { name: 'a CIDR', spec: { addresses: ['10.0.0.0/24'], protos: ['tcp'] }, expected: ['a1', 'b1', 'b2'] },
  ];
  for (const { name, spec, expected } of cases) test(name, () => assert.deepEqual(keys(spec), expected));

  test('answers carry the node that holds the socket, whatever the agent wrote into it', () => {
    assert.deepEqual(listSockets(store, { nodes: ['node-b'] }).items.map((s) => s.node), ['node-b', 'node-b']);
  });

  test('limit and continue walk every item exactly once', () => {
    const seen: string[] = [];
    let continueToken: string | undefined;
    do {
      const page = listSockets(store, { limit: 3, ...(continueToken && { continueToken }) });
      seen.push(...page.items.map((s) => s.key));
      continueToken = page.continueToken || undefined;
    } while (continueToken);
    assert.deepEqual(seen, ['a1', 'a2', 'b1', 'b2']);
  });

  const bad: Array<{ name: string; spec: Parameters<typeof listSockets>[1] }> = [
    { name: 'unknown state', spec: { states: ['half-open'] } },
    { name: 'bad selector', spec: { labelSelector: 'app in (' } },
    { name: 'bad CIDR', spec: { addresses: ['10.0.0.0/99'] } },
    { name: 'forged continue token', spec: { continueToken: 'not-a-token' } },
  ];
  for (const { name, spec } of bad) test(`${name} is a QueryError`, () => assert.throws(() => listSockets(store, spec), QueryError));
});
