import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { bytesView, hashKey, NodeSockets, SocketChunks } from '../../../aggregator/store/index.js';
import { PodCache, readSocket, RemovedKeySet, StreamReader } from '../../../aggregator/ingest/index.js';
import { decodeStored } from '../../../aggregator/query/index.js';
import { PodDictionary } from '../../../agent/stream/pod-dictionary.js';
import { StreamRequest, type PodDef } from '../../../gen/kubenetstat/v1/agent.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { putSocket } from '../../support/stored.js';

const pod = (namespace: string, name: string, labels: Record<string, string> = {}): PodRef => ({
  namespace,
  name,
  uid: `uid-${namespace}-${name}`,
  container: 'app',
  containerId: 'c0ffee',
  runtime: 'containerd',
  workloadKind: 'ReplicaSet',
  workloadName: `${name}-rs`,
  labels,
});

const socket = (key: string, fields: Partial<Socket> = {}): Socket =>
  Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '10.0.0.1', localPort: 40000, foreignAddress: '10.0.0.2', foreignPort: 5432, inode: 77n, firstSeenUnixMs: 1000n, ...fields });


/** A full collection, without starting node with --expose-gc. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** What a query answers for a key: the agent's socket, with the node the aggregator labels it with. */
function answer(store: NodeSockets, key: string): Socket | undefined {
  const slot = store.find(key);
  return slot < 0 ? undefined : decodeStored(store, slot, 'node-a');
}

describe('NodeSockets: one node as columns and an arena', () => {
  test('a socket comes back exactly as the agent sent it, pod and all, labelled with its node', () => {
    const store = new NodeSockets(new SocketChunks());
    const sent = socket('k1', { node: 'whatever-the-agent-said', pod: pod('shop', 'cart-0', { app: 'cart' }), processes: [{ pid: 7, name: 'java', comm: 'java', fds: [3, 9] }] });
    putSocket(store, new PodCache(), sent);
    assert.deepEqual(answer(store, 'k1'), { ...sent, node: 'node-a' });
    assert.equal(store.size, 1);
    assert.deepEqual([...store.namespaceNames()], ['shop']);
  });

  test('the pod is not stored with each socket: bytes held are the socket without its pod', () => {
    const store = new NodeSockets(new SocketChunks());
    const pods = new PodCache();
    const withPod = socket('k1', { pod: pod('shop', 'cart-0', { app: 'cart', tier: 'backend' }) });
    putSocket(store, pods, withPod);
    assert.equal(store.liveBytes, Socket.encode({ ...withPod, pod: undefined }).finish().length);
  });

  test('an upsert replaces the socket under its key and moves it between namespaces', () => {
    const store = new NodeSockets(new SocketChunks());
    const pods = new PodCache();
    putSocket(store, pods, socket('k1', { pod: pod('shop', 'cart-0') }));
    putSocket(store, pods, socket('k1', { stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT', recvQ: 5n, pod: pod('payments', 'pay-0') }));
    assert.equal(store.size, 1);
    assert.equal(answer(store, 'k1')?.recvQ, 5n);
    assert.deepEqual([...store.slotsIn('shop')], []);
    assert.deepEqual([...store.slotsIn('payments')], [store.find('k1')]);
  });

  test('removal by key bytes; a removed key is gone and its slot is reused', () => {
    const store = new NodeSockets(new SocketChunks());
    const pods = new PodCache();
    putSocket(store, pods, socket('k1'));
    putSocket(store, pods, socket('k2'));
    const freed = store.find('k1');
    const key = Buffer.from('k1');
    assert.equal(store.delete(bytesView(key), 0, key.length), true);
    assert.equal(store.delete(bytesView(key), 0, key.length), false);
    assert.equal(store.has('k1'), false);
    putSocket(store, pods, socket('k3'));
    assert.equal(store.find('k3'), freed);
    assert.deepEqual([...store.slots()].map((slot) => store.keyOf(slot)).sort(), ['k2', 'k3']);
  });

  test('keys are bytes: two keys that differ only in invalid UTF-8 are two sockets', () => {
    const store = new NodeSockets(new SocketChunks());
    const pods = new PodCache();
    const raw = (byte: number): Buffer => {
      const bytes = Buffer.from(Socket.encode(socket('unix/0/XX/path')).finish());
      const at = bytes.indexOf('XX');
      bytes[at] = byte;
      bytes[at + 1] = 0x80;
      return bytes;
    };
    for (const bytes of [raw(0xfe), raw(0xff)]) store.put(readSocket(bytes, 0, bytes.length, pods));
    assert.equal(store.size, 2);
  });

  test('a delta read from a message: upserts and removals by key', () => {
    const store = new NodeSockets(new SocketChunks());
    const pods = new PodCache();
    putSocket(store, pods, socket('gone'));
    const message = Buffer.from(StreamRequest.encode({ message: { $case: 'delta', value: { sequence: 2n, upserted: [socket("new")], removedKeys: ["gone", "never-there"], pods: [] } } }).finish());
    const envelope = new StreamReader().read(message, pods);
    assert.equal(envelope.kind, 'delta');
    if (envelope.kind !== 'delta') return;
    for (const pending of envelope.upserted) store.put(pending);
    const { sourceView, bounds } = envelope.removed;
    const results = [];
    for (let i = 0; i < bounds.length; i += 2) results.push(store.delete(sourceView, bounds[i]!, bounds[i + 1]!));
    assert.deepEqual(results, [true, false]);
    assert.deepEqual([...store.slots()].map((slot) => store.keyOf(slot)), ['new']);
  });

  test('stored sockets survive their message buffer being reused', () => {
    const store = new NodeSockets(new SocketChunks());
    const bytes = Buffer.from(Socket.encode(socket('k1', { recvQ: 42n })).finish());
    store.put(readSocket(bytes, 0, bytes.length, new PodCache()));
    bytes.fill(0);
    assert.equal(answer(store, 'k1')?.recvQ, 42n);
  });

  test('any sequence of upserts and removals, on two nodes sharing chunks, leaves exactly what a map would hold', () => {
    const namespaces = ['shop', 'payments', 'kube-system'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), node: fc.integer({ min: 0, max: 1 }), key: fc.integer({ min: 0, max: 300 }), ns: fc.integer({ min: -1, max: 2 }), pad: fc.integer({ min: 0, max: 600 }), recvQ: fc.bigInt({ min: 0n, max: 1n << 40n }) }),
      fc.record({ kind: fc.constant('delete' as const), node: fc.integer({ min: 0, max: 1 }), key: fc.integer({ min: 0, max: 300 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 1500 }), (ops) => {
        const chunks = new SocketChunks();
        const stores = [new NodeSockets(chunks), new NodeSockets(chunks)];
        const pods = new PodCache();
        const models = [new Map<string, Socket>(), new Map<string, Socket>()];
        for (const step of ops) {
          const store = stores[step.node]!;
          const model = models[step.node]!;
          const key = `4026532200/tcp/${step.key}/10.0.0.1:${step.key}>10.0.0.2:80`;
          if (step.kind === 'delete') {
            const bytes = Buffer.from(key, 'latin1');
            assert.equal(store.delete(bytesView(bytes), 0, bytes.length), model.delete(key));
          } else {
            const value = socket(key, {
              recvQ: step.recvQ,
              state: 'X'.repeat(step.pad),
              localAddress: `10.1.${step.pad % 256}.${step.key % 256}`,
              foreignAddress: step.pad % 2 ? 'fd00::1:2' : '',
              foreignPort: step.key,
              ...(step.ns >= 0 && { pod: pod(namespaces[step.ns]!, `p${step.ns}`) }),
            });
            putSocket(store, pods, value);
            model.set(key, value);
          }
        }
        stores.forEach((store, node) => {
          const model = models[node]!;
          assert.equal(store.size, model.size);
          for (const [key, value] of model) {
            assert.deepEqual(answer(store, key), { ...value, node: 'node-a' });
            // What filters see, read from the stored bytes without decoding.
            const view = store.view();
            view.at = store.find(key);
            assert.deepEqual([view.localAddress, view.localPort, view.foreignAddress, view.foreignPort, view.stateCode, view.unix], [value.localAddress, value.localPort, value.foreignAddress, value.foreignPort, value.stateCode, false]);
          }
          for (const namespace of namespaces) {
            const expected = [...model.values()].filter((value) => value.pod?.namespace === namespace).map((value) => value.key).sort();
            assert.deepEqual([...store.slotsIn(namespace)].map((slot) => store.keyOf(slot)).sort(), expected);
          }
          assert.equal(store.slots().length, model.size);
          assert.equal(store.liveBytes, [...store.slots()].reduce((sum, slot) => sum + store.bytesOf(slot).length, 0));
        });
        // The chunks the stores hold are all the allocator hands out; removing everything gives them all back.
        assert.equal(chunks.stats().chunkBytes, stores[0]!.chunkBytes + stores[1]!.chunkBytes);
        stores.forEach((store, node) => {
          for (const key of models[node]!.keys()) {
            const bytes = Buffer.from(key, 'latin1');
            store.delete(bytesView(bytes), 0, bytes.length);
          }
        });
        assert.deepEqual([chunks.stats().chunkBytes, chunks.stats().slabsInUse], [0, 0]);
      }),
      { numRuns: 60 },
    );
  });

  test('a store nobody holds any more gives its chunks back when it is collected', async () => {
    const chunks = new SocketChunks();
    const fill = (): void => {
      const store = new NodeSockets(chunks);
      const pods = new PodCache();
      for (let i = 0; i < 100; i++) putSocket(store, pods, socket(`k${i}`));
    };
    fill();
    assert.ok(chunks.stats().chunkBytes > 0);
    for (let round = 0; round < 50 && chunks.stats().chunkBytes > 0; round++) {
      collectGarbage();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(chunks.stats().chunkBytes, 0);
  });
});

describe('StreamReader: ingest reads every message into the same records', () => {
  const arbitrarySocket = fc.record({
    key: fc.string({ minLength: 1, maxLength: 40 }),
    proto: fc.constantFrom(Proto.PROTO_TCP, Proto.PROTO_UDP6, Proto.PROTO_UNIX),
    localPort: fc.nat({ max: 65535 }),
    recvQ: fc.bigInt({ min: 0n, max: 2n ** 40n }),
    firstSeenUnixMs: fc.bigInt({ min: 0n, max: 2n ** 45n }),
    withPod: fc.boolean(),
  });

  test('a message read into the pool is read exactly as into fresh objects, whatever the message before it held', () => {
    fc.assert(
      fc.property(fc.array(fc.array(arbitrarySocket, { maxLength: 6 }), { minLength: 2, maxLength: 4 }), (messages) => {
        const reader = new StreamReader();
        messages.forEach((specs, m) => {
          const sockets = specs.map(({ withPod, ...fields }) => socket(fields.key, { ...fields, ssState: fields.proto === Proto.PROTO_UNIX ? 'LISTEN' : 'ESTAB', ...(withPod && { pod: pod('shop', `p${m}`) }) }));
          const message = Buffer.from(StreamRequest.encode({ message: { $case: 'delta', value: { sequence: BigInt(m + 1), upserted: sockets, removedKeys: [], pods: [] } } }).finish());
          const pooled = reader.read(message, new PodCache());
          const fresh = new StreamReader().read(message, new PodCache());
          assert.ok(pooled.kind === 'delta' && fresh.kind === 'delta');
          // Field by field (PodIndex objects differ between the two caches: compare their keys).
          const fields = (list: typeof fresh.upserted) => list.map(({ pod: index, ...rest }) => ({ ...rest, pod: index?.key }));
          assert.deepEqual(fields(pooled.upserted), fields(fresh.upserted));
        });
      }),
    );
  });
});

describe('RemovedKeySet: the keys one delta removes', () => {
  const removedOf = (keys: string[]) => {
    const message = Buffer.from(keys.join(''), 'latin1');
    const bounds: number[] = [];
    let at = 0;
    for (const key of keys) bounds.push(at, (at += key.length));
    return { source: message, sourceView: bytesView(message), bounds };
  };
  const has = (set: RemovedKeySet, key: string): boolean => {
    const bytes = Buffer.from(key, 'latin1');
    return set.has(bytes, 0, bytes.length, hashKey(bytesView(bytes), 0, bytes.length));
  };

  test('a key is removed when the delta names it, and only then; the next delta starts afresh', () => {
    const set = new RemovedKeySet();
    set.reset(removedOf(['4026532200/tcp/1/a', '4026532200/tcp/2/b']));
    assert.deepEqual(['4026532200/tcp/1/a', '4026532200/tcp/2/b', '4026532200/tcp/3/c', '4026532200/tcp/1/'].map((key) => has(set, key)), [true, true, false, false]);
    const many = Array.from({ length: 3_000 }, (_, i) => `k${i}`);
    set.reset(removedOf(many));
    assert.ok(many.every((key) => has(set, key)));
    assert.equal(has(set, '4026532200/tcp/1/a'), false);
    assert.equal(set.hashOf(2), hashKey(bytesView(Buffer.from('k2')), 0, 2));
  });
});

describe('PodCache: a pod parsed once per connection, re-read when it changes', () => {
  const podBytes = (ref: PodRef): Buffer => Buffer.from(Socket.encode(socket('k', { pod: ref })).finish());
  const podOf = (cache: PodCache, ref: PodRef) => {
    const bytes = podBytes(ref);
    return readSocket(bytes, 0, bytes.length, cache).pod!;
  };

  test('the same pod bytes give the same pod; edited labels under the same UID give the new labels', () => {
    const cache = new PodCache();
    const first = podOf(cache, pod('shop', 'cart-0', { app: 'cart' }));
    assert.equal(podOf(cache, pod('shop', 'web-0')).name, 'web-0');
    assert.equal(podOf(cache, pod('shop', 'cart-0', { app: 'cart' })), first);
    const relabelled = podOf(cache, pod('shop', 'cart-0', { app: 'cart', canary: 'true' }));
    assert.notEqual(relabelled, first);
    assert.deepEqual(relabelled.labels, { app: 'cart', canary: 'true' });
    assert.deepEqual(relabelled.ref().labels, { app: 'cart', canary: 'true' });
  });
});

describe('pods by ref (PodDef): each pod once per stream', () => {
  const dictionary = () => new PodDictionary();
  const cart = pod('shop', 'cart-0', { app: 'cart' });
  const web = pod('shop', 'web-0', { app: 'web' });

  test('the agent defines a pod the first time it is sent and refers to it after', () => {
    const pods = dictionary();
    const first = pods.encode([socket('a', { pod: cart }), socket('b', { pod: cart }), socket('c')]);
    assert.deepEqual(first.pods, [{ ref: 1, pod: cart }]);
    assert.deepEqual(first.sockets.map((s) => [s.key, s.pod, s.podRef]), [['a', undefined, 1], ['b', undefined, 1], ['c', undefined, 0]]);
    const second = pods.encode([socket('d', { pod: { ...cart } }), socket('e', { pod: web })]);
    assert.deepEqual(second.pods, [{ ref: 2, pod: web }]);
    assert.deepEqual(second.sockets.map((s) => s.podRef), [1, 2]);
  });

  test('a relabelled pod is another pod; a new session starts over', () => {
    const pods = dictionary();
    pods.encode([socket('a', { pod: cart })]);
    assert.deepEqual(pods.encode([socket('a', { pod: { ...cart, labels: { app: 'cart', canary: 'true' } } })]).pods.map((def) => def.ref), [2]);
    pods.reset();
    assert.deepEqual(pods.encode([socket('a', { pod: cart })]).pods.map((def) => def.ref), [1]);
  });

  test('the aggregator resolves refs across messages, stores the pod, and answers with it', () => {
    const pods = dictionary();
    const cache = new PodCache();
    const store = new NodeSockets(new SocketChunks());
    const send = (sequence: bigint, sockets: Socket[]): void => {
      const { sockets: upserted, pods: defs } = pods.encode(sockets);
      const message = Buffer.from(StreamRequest.encode({ message: { $case: 'delta', value: { sequence, upserted, removedKeys: [], pods: defs } } }).finish());
      const envelope = new StreamReader().read(message, cache);
      if (envelope.kind === 'delta') for (const pending of envelope.upserted) store.put(pending);
    };
    send(1n, [socket('a', { pod: cart })]);
    send(2n, [socket('b', { pod: cart }), socket('c', { pod: web })]);
    assert.deepEqual(answer(store, 'b'), { ...socket('b', { pod: cart }), node: 'node-a' });
    assert.deepEqual(answer(store, 'c')?.pod, web);
    assert.deepEqual([...store.slotsIn('shop')].length, 3);
  });

  test('a ref redefined later names the new pod for later sockets only', () => {
    const cache = new PodCache();
    const store = new NodeSockets(new SocketChunks());
    const send = (defs: PodDef[], sockets: Socket[]): void => {
      const message = Buffer.from(StreamRequest.encode({ message: { $case: 'snapshot', value: { sequence: 1n, snapshotId: 1n, index: 0, sockets, last: true, pods: defs } } }).finish());
      const envelope = new StreamReader().read(message, cache);
      if (envelope.kind === 'snapshot') for (const pending of envelope.sockets) store.put(pending);
    };
    send([{ ref: 1, pod: cart }], [socket('a', { podRef: 1 })]);
    send([{ ref: 1, pod: web }], [socket('b', { podRef: 1 })]);
    assert.equal(answer(store, 'a')?.pod?.name, 'cart-0');
    assert.equal(answer(store, 'b')?.pod?.name, 'web-0');
  });
});
