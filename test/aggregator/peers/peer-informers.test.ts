import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { Informer, type InformerEvent } from '../../../kube/informer.js';
import { serviceSource } from '../../../kube/sources.js';
import { ClusterPeers } from '../../../aggregator/peers/index.js';
import type { Peer } from '../../../gen/kubenetstat/v1/socket.js';
import { startApiCluster } from '../../support/api-cluster.js';
import { endpointSlice, node, pod, service } from '../../support/k8s/index.js';
import { waitFor } from '../../support/wait.js';
import { NodeStore } from '../../../aggregator/store/index.js';
import { listSockets, summarize, type QuerySpec } from '../../../aggregator/query/index.js';
import { storedSockets } from '../../support/stored.js';

/**
 * The generic informer and the peer informers against the test API server's real list/watch
 * protocol: paging, changes, objects told apart by UID, 410 relists and recovery from 500s.
 */
const cluster = await startApiCluster({ bookmarkIntervalMs: 50 });
after(() => cluster.stop());
const { server, kubeConfig } = cluster;

/** Empties the API server's store of the kinds these tests write. */
function clearCluster(): void {
  for (const kind of ['Pod', 'Service', 'EndpointSlice', 'Node']) {
    for (const object of server.store.list(kind)) server.store.delete({ kind, ...(object.metadata.namespace !== undefined && { namespace: object.metadata.namespace }), name: object.metadata.name });
  }
}

const watching = (resource: string) => server.waitForWatch((request) => request.resource === resource && request.verb === 'watch', 5_000);

describe('Informer<T, K>: one kind, what it keeps, and the sink it tells', () => {
  /** A sink that keeps a service's ClusterIP by name and logs every call. */
  interface Kept {
    readonly name: string;
    readonly clusterIP: string;
  }
  let informer: Informer<V1Service, Kept> | undefined;
  let calls: string[];
  let held: Map<string, string>;
  let events: InformerEvent[];

  const start = (): Informer<V1Service, Kept> => {
    informer = new Informer<V1Service, Kept>({
      kubeConfig,
      source: serviceSource(kubeConfig),
      pageSize: 2,
      backoff: { initialMs: 10, maxMs: 40 },
      onEvent: (event) => events.push(event),
      // Headless services are of no interest here: nothing is kept of them.
      keep: (object) => (object.spec?.clusterIP && object.spec.clusterIP !== 'None' ? { name: object.metadata?.name ?? '', clusterIP: object.spec.clusterIP } : undefined),
      sink: {
        upsert: (next, previous) => {
          calls.push(previous ? `update ${next.name} ${previous.clusterIP}→${next.clusterIP}` : `add ${next.name} ${next.clusterIP}`);
          held.set(next.name, next.clusterIP);
        },
        remove: (previous) => {
          calls.push(`remove ${previous.name}`);
          held.delete(previous.name);
        },
      },
    });
    informer.start();
    return informer;
  };

  beforeEach(() => {
    clearCluster();
    calls = [];
    held = new Map();
    events = [];
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
  });

  test('lists every page, keeps only what `keep` returns, then follows changes', async () => {
    for (let i = 0; i < 5; i++) server.store.upsert(service({ name: `svc-${i}`, namespace: 'shop', clusterIPs: [`10.96.0.${10 + i}`] }));
    server.store.upsert(service({ name: 'headless', namespace: 'shop' }));
    const requestsBefore = server.requests.length;
    await start().synced();
    assert.equal(server.requests.slice(requestsBefore).filter((request) => request.resource === 'services' && request.verb === 'list').length, 3, 'six services in pages of two');
    assert.deepEqual([...held].sort(), [0, 1, 2, 3, 4].map((i) => [`svc-${i}`, `10.96.0.${10 + i}`]));
    assert.deepEqual(events.filter((event) => event.kind === 'listed').map((event) => event.kind === 'listed' && event.objects), [6]);
    const watch = await watching('services');
    assert.equal(watch.path, '/api/v1/services');
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');

    calls.length = 0;
    server.store.upsert(service({ name: 'svc-0', namespace: 'shop', clusterIPs: ['10.96.0.99'] }));
    server.store.upsert(service({ name: 'svc-1', namespace: 'shop' }));
    server.store.delete({ kind: 'Service', namespace: 'shop', name: 'svc-2' });
    server.store.upsert(service({ name: 'new', namespace: 'shop', clusterIPs: ['10.96.0.50'] }));
    await waitFor(() => calls.length === 4, { what: 'the four changes', timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual(calls, ['update svc-0 10.96.0.10→10.96.0.99', 'remove svc-1', 'remove svc-2', 'add new 10.96.0.50']);
  });

  test('an object deleted and created again under its name is a remove and an add (told apart by UID)', async () => {
    server.store.upsert(service({ name: 'cart', namespace: 'shop', clusterIPs: ['10.96.0.20'] }));
    await start().synced();
    await watching('services');
    server.store.delete({ kind: 'Service', namespace: 'shop', name: 'cart' });
    server.store.upsert(service({ name: 'cart', namespace: 'shop', clusterIPs: ['10.96.0.21'] }));
    await waitFor(() => calls.length === 3, { what: 'the delete and the add', timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual(calls, ['add cart 10.96.0.20', 'remove cart', 'add cart 10.96.0.21']);
  });

  test('an expired resourceVersion (410) relists: what went missing meanwhile is removed', async () => {
    server.store.upsert(service({ name: 'a', namespace: 'ns', clusterIPs: ['10.96.1.1'] }));
    server.store.upsert(service({ name: 'b', namespace: 'ns', clusterIPs: ['10.96.1.2'] }));
    await start().synced();
    await watching('services');
    server.dropWatches({ matching: (request) => request.resource === 'services', reset: true });
    server.store.delete({ kind: 'Service', namespace: 'ns', name: 'a' });
    server.store.upsert(service({ name: 'b', namespace: 'ns', clusterIPs: ['10.96.1.3'] }));
    server.store.upsert(service({ name: 'c', namespace: 'ns', clusterIPs: ['10.96.1.4'] }));
    server.store.compact();
    await waitFor(() => events.filter((event) => event.kind === 'listed').length >= 2 && held.size === 2, { what: 'the relist after 410', timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual([...held].sort(), [['b', '10.96.1.3'], ['c', '10.96.1.4']]);
    assert.ok(calls.includes('remove a'), calls.join(', '));
  });

  test('a plain 500 does not stop it: it backs off, retries and syncs', async () => {
    server.injectFailure({ status: 500, matching: (request) => request.resource === 'services' && request.verb === 'list', times: 3 });
    server.store.upsert(service({ name: 'late', namespace: 'ns', clusterIPs: ['10.96.2.1'] }));
    await start().synced();
    const delays = events.flatMap((event) => (event.kind === 'failed' ? [event.retryInMs] : []));
    assert.equal(delays.length, 3);
    assert.ok(delays.every((ms, i) => ms <= Math.min(40, 10 * 2 ** i)), `exponential with a ceiling: ${delays.join(', ')}`);
    assert.deepEqual([...held], [['late', '10.96.2.1']]);
  });

  test('a 500 on the watch: it backs off and watches again, missing nothing', async () => {
    await start().synced();
    await watching('services');
    server.injectFailure({ status: 500, matching: (request) => request.resource === 'services' && request.verb === 'watch', times: 2 });
    server.dropWatches({ matching: (request) => request.resource === 'services' });
    server.store.upsert(service({ name: 'meanwhile', namespace: 'ns', clusterIPs: ['10.96.3.1'] }));
    await waitFor(() => held.has('meanwhile'), { what: 'the service added while the watch failed', timeoutMs: 10_000, intervalMs: 20 });
    assert.equal(events.filter((event) => event.kind === 'failed').length, 2);
  });
});

describe('ClusterPeers: pods, services, endpointslices and nodes from the API', () => {
  let peers: ClusterPeers | undefined;
  const logged: string[] = [];
  const start = (): ClusterPeers => {
    peers = new ClusterPeers({ kubeConfig, log: (message) => logged.push(message), tuning: { backoff: { initialMs: 10, maxMs: 40 } } });
    peers.start();
    return peers;
  };
  const named = (address: string, port = 0): Peer | undefined => peers?.peerOf(address, port)?.message;

  beforeEach(() => {
    clearCluster();
    logged.length = 0;
    server.store.upsert(node('node-a', {}, { internalIPs: ['10.0.0.5'] }));
    server.store.upsert(pod({ name: 'cart-1', namespace: 'shop', nodeName: 'node-a', podIP: '10.244.1.7' }));
    server.store.upsert(pod({ name: 'exporter', namespace: 'monitoring', nodeName: 'node-a', hostNetwork: true, podIP: '10.0.0.5', containers: [{ name: 'exporter', ports: [{ containerPort: 9100 }] }] }));
    server.store.upsert(service({ name: 'cart', namespace: 'shop', clusterIPs: ['10.96.0.20'] }));
    server.store.upsert(endpointSlice({ namespace: 'shop', service: 'cart', endpoints: [{ addresses: ['10.244.1.7'], pod: 'cart-1', nodeName: 'node-a' }] }));
  });
  afterEach(async () => {
    await peers?.stop();
    peers = undefined;
  });

  test('once all four kinds are listed, addresses resolve; watches on each follow', async () => {
    await start().synced();
    assert.deepEqual(named('10.244.1.7'), { kind: 'pod', namespace: 'shop', name: 'cart-1', services: ['shop/cart'] });
    assert.deepEqual(named('10.96.0.20'), { kind: 'service', namespace: 'shop', name: 'cart', services: [] });
    assert.deepEqual(named('10.0.0.5', 22), { kind: 'node', namespace: '', name: 'node-a', services: [] });
    assert.deepEqual(named('10.0.0.5', 9100), { kind: 'pod', namespace: 'monitoring', name: 'exporter', services: [] });
    assert.deepEqual(named('8.8.8.8', 53), { kind: 'external', namespace: '', name: '', services: [] });
    assert.ok(logged.includes('peer names ready'));
    const paths = await Promise.all(['pods', 'services', 'endpointslices', 'nodes'].map(async (resource) => (await watching(resource)).path));
    assert.deepEqual(paths, ['/api/v1/pods', '/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices', '/api/v1/nodes']);
  });

  test('every Node the API lists without an agent is an unavailable node of every answer, NotReady and cordoned ones marked', async () => {
    const notReady = node('node-b');
    (notReady.status as { conditions: unknown[] }).conditions = [{ type: 'Ready', status: 'False' }];
    (notReady.spec as { unschedulable?: boolean }).unschedulable = true;
    server.store.upsert(notReady);
    server.store.upsert(node('node-c'));
    const clusterPeers = start();
    const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000, peers: clusterPeers });
    assert.deepEqual(listSockets(store, {}).unavailable, [], 'until the Nodes are listed, nothing is said of them');
    await clusterPeers.synced();
    const { session } = store.claim('node-a', 1n, 'boot');
    store.replaceSockets(store.owned('node-a', session!)!, storedSockets([]));
    const reasons = (spec: QuerySpec) => listSockets(store, spec).unavailable.map((node) => [node.node, node.reason, node.lastSeenUnixMs]);
    assert.deepEqual(reasons({}), [
      ['node-b', 'no agent: none has connected from this node (node NotReady, cordoned)', 0n],
      ['node-c', 'no agent: none has connected from this node', 0n],
    ]);
    assert.deepEqual(reasons({ nodes: ['node-c'] }), [['node-c', 'no agent: none has connected from this node', 0n]]);
    assert.deepEqual(summarize(store, {}, 'node').unavailable.map((node) => node.node), ['node-b', 'node-c']);
    // An agent that goes away on a NotReady node: its reason says that too.
    const { session: onB } = store.claim('node-b', 1n, 'boot');
    store.replaceSockets(store.owned('node-b', onB!)!, storedSockets([]));
    store.disconnected('node-b', onB!, 'test');
    assert.match(String(reasons({ nodes: ['node-b'] })[0]?.[1]), /^agent disconnected \d+ s ago \(node NotReady, cordoned\); showing its last known sockets$/);
  });

  test('changes in the API reach the index', async () => {
    await start().synced();
    await Promise.all(['pods', 'services', 'endpointslices', 'nodes'].map(watching));
    server.store.upsert(pod({ name: 'cart-2', namespace: 'shop', nodeName: 'node-b', podIP: '10.244.2.9' }));
    server.store.upsert(endpointSlice({ namespace: 'shop', service: 'cart', endpoints: [{ addresses: ['10.244.1.7'] }, { addresses: ['10.244.2.9'] }] }));
    server.store.upsert(node('node-b', {}, { internalIPs: ['10.0.0.6'] }));
    server.store.delete({ kind: 'Service', namespace: 'shop', name: 'cart' });
    await waitFor(() =>
      named('10.244.2.9')?.services.length === 1 && named('10.0.0.6')?.kind === 'node' && named('10.96.0.20')?.kind === 'external', { what: 'the new pod, its service, the new node and the deleted service', timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual(named('10.244.2.9'), { kind: 'pod', namespace: 'shop', name: 'cart-2', services: ['shop/cart'] });
    server.store.delete({ kind: 'Pod', namespace: 'shop', name: 'cart-1' });
    await waitFor(() => named('10.244.1.7')?.kind === 'external', { what: 'the deleted pod', timeoutMs: 10_000, intervalMs: 20 });
    // Its address is still in the cart slice until the controller updates it.
    assert.deepEqual(named('10.244.1.7')?.services, ['shop/cart']);
  });

  test('until every kind has listed, no address is named; a failing kind recovers on its own', async () => {
    let nodesFail = true;
    server.injectFailure({ status: 500, matching: (request) => nodesFail && request.resource === 'nodes' && request.verb === 'list', times: Number.MAX_SAFE_INTEGER });
    start();
    await watching('pods');
    await waitFor(() => logged.includes('peer names: informer failed'), { what: 'a failed node list', timeoutMs: 10_000, intervalMs: 20 });
    assert.equal(named('10.244.1.7'), undefined, 'pods are known, nodes are not: no names yet');
    nodesFail = false;
    await peers!.synced();
    assert.equal(named('10.244.1.7')?.name, 'cart-1');
  });
});
