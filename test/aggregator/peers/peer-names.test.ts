import assert from 'node:assert/strict';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { RunningAggregator } from '../../../aggregator/server/index.js';
import { listSockets } from '../../../aggregator/query/index.js';
import type { PeerItem, SocketList } from '../../../model/json/socket-list.js';
import { aggregatorSettings, startAggregatorWith } from '../../../cmd/aggregator.js';
import { UsageError } from '../../../config/usage-error.js';
import { ListRequest, QueryServiceClient, type ListResponse } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket, type Peer, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { startApiCluster } from '../../support/api-cluster.js';
import { storedSockets } from '../../support/stored.js';
import { endpointSlice, node, pod, service } from '../../support/k8s/index.js';
import { waitFor } from '../../support/wait.js';

/**
 * Peer names end to end: the aggregator started as `kube-netstat aggregator` starts it, with a
 * kubeconfig for the test API server, names the far end of the sockets it holds in HTTP/JSON
 * and gRPC answers alike — and without cluster access, or before it has any, names none.
 */
const cluster = await startApiCluster({ bookmarkIntervalMs: 50 });
after(() => cluster.stop());
const { server, kubeconfig } = cluster;
server.store.upsert(node('node-a', {}, { internalIPs: ['10.0.0.5'] }));
server.store.upsert(node('node-b', {}, { internalIPs: ['10.0.0.6'], externalIPs: ['203.0.113.6'] }));
server.store.upsert(pod({ name: 'cart-1', namespace: 'shop', nodeName: 'node-b', podIP: '10.244.2.7' }));
server.store.upsert(pod({ name: 'exporter', namespace: 'monitoring', nodeName: 'node-b', hostNetwork: true, podIP: '10.0.0.6', containers: [{ name: 'exporter', ports: [{ containerPort: 9100 }] }] }));
server.store.upsert(service({ name: 'cart', namespace: 'shop', clusterIPs: ['10.96.0.20'], selector: { app: 'cart' } }));
server.store.upsert(endpointSlice({ namespace: 'shop', service: 'cart', endpoints: [{ addresses: ['10.244.2.7'], pod: 'cart-1', nodeName: 'node-b' }] }));

const web: PodRef = { namespace: 'shop', name: 'web-0', uid: 'uid-web-0', container: 'web', containerId: '', runtime: '', workloadKind: '', workloadName: '', labels: { app: 'web' } };

/** Sockets of web-0 on node-a, each towards a different kind of peer; the inode names the case. */
const SOCKETS: { inode: bigint; socket: Partial<Socket>; peer: Peer | undefined }[] = [
  { inode: 1n, socket: { foreignAddress: '10.244.2.7', foreignPort: 8080 }, peer: { kind: 'pod', namespace: 'shop', name: 'cart-1', services: ['shop/cart'] } },
  { inode: 2n, socket: { proto: Proto.PROTO_TCP6, localAddress: '::ffff:10.244.1.3', foreignAddress: '::ffff:10.96.0.20', foreignPort: 80 }, peer: { kind: 'service', namespace: 'shop', name: 'cart', services: [] } },
  { inode: 3n, socket: { foreignAddress: '10.0.0.6', foreignPort: 10250 }, peer: { kind: 'node', namespace: '', name: 'node-b', services: [] } },
  { inode: 4n, socket: { foreignAddress: '203.0.113.6', foreignPort: 22 }, peer: { kind: 'node', namespace: '', name: 'node-b', services: [] } },
  { inode: 5n, socket: { foreignAddress: '10.0.0.6', foreignPort: 9100 }, peer: { kind: 'pod', namespace: 'monitoring', name: 'exporter', services: [] } },
  { inode: 6n, socket: { foreignAddress: '93.184.216.34', foreignPort: 443 }, peer: { kind: 'external', namespace: '', name: '', services: [] } },
  { inode: 7n, socket: { foreignAddress: '127.0.0.1', foreignPort: 5432 }, peer: { kind: 'local', namespace: '', name: '', services: [] } },
  { inode: 8n, socket: { stateCode: 10, state: 'LISTEN', ssState: 'LISTEN', foreignAddress: '0.0.0.0', foreignPort: 0 }, peer: undefined },
  { inode: 9n, socket: { proto: Proto.PROTO_UNIX, stateCode: 3, state: 'CONNECTED', localAddress: '', localPort: 0, foreignAddress: '', foreignPort: 0 }, peer: undefined },
];

function storeSockets(running: RunningAggregator): void {
  const sockets = SOCKETS.map(({ inode, socket }) =>
    Socket.fromPartial({ key: `k${inode}`, inode, pod: web, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '10.244.1.3', localPort: 40000 + Number(inode), firstSeenUnixMs: BigInt(Date.now()), ...socket }),
  );
  const { session } = running.store.claim('node-a', 1n, 'boot');
  running.store.replaceSockets(running.store.owned('node-a', session!)!, storedSockets(sockets));
}

const asItem = (peer: Peer | undefined): PeerItem | null => (peer ? { kind: peer.kind, namespace: peer.namespace || null, name: peer.name || null, services: peer.services } : null);

async function served(running: RunningAggregator): Promise<Map<string, PeerItem | null>> {
  const response = await fetch(`http://127.0.0.1:${running.httpPort}/api/v1/sockets`);
  assert.equal(response.status, 200);
  const list = (await response.json()) as SocketList;
  return new Map(list.items.map((item) => [item.inode, item.peer]));
}

const settings = (...flags: string[]) => aggregatorSettings(['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...flags]);
const logs: string[] = [];
const log = (message: string): void => void logs.push(message);

describe('an aggregator with a kubeconfig names every socket\'s peer', () => {
  let running: RunningAggregator;
  let client: QueryServiceClient;
  before(async () => {
    running = await startAggregatorWith(settings('--kubeconfig', kubeconfig, '--peer-names', 'on'), log);
    storeSockets(running);
    client = new QueryServiceClient(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    await running.peers!.synced();
  });
  after(async () => {
    client.close();
    await running.stop();
  });

  test('HTTP: each item\'s peer is the pod, service, node, local or external behind its foreign address', async () => {
    const peers = await served(running);
    assert.deepEqual(
      Object.fromEntries(peers),
      Object.fromEntries(SOCKETS.map(({ inode, peer }) => [String(inode), asItem(peer)])),
    );
  });

  test('gRPC List carries the same Peer, assembled from the stored bytes', async () => {
    const answer = await new Promise<ListResponse>((resolve, reject) => client.list(ListRequest.fromPartial({}), (error: ServiceError | null, response: ListResponse) => (error ? reject(error) : resolve(response))));
    assert.deepEqual(
      answer.items.map((socket) => [socket.inode, socket.peer]),
      SOCKETS.map(({ inode, peer }) => [inode, peer]),
    );
    assert.deepEqual(answer.items, listSockets(running.store, {}).items, 'encoded and decoded answers agree');
  });

  test('a change in the cluster shows in the next answer', async () => {
    server.store.delete({ kind: 'Service', namespace: 'shop', name: 'cart' });
    await waitFor(async () => (await served(running)).get('2')?.kind === 'external', { what: 'the deleted service\'s ClusterIP to be external', timeoutMs: 10_000, intervalMs: 20 });
    server.store.upsert(service({ name: 'cart', namespace: 'shop', clusterIPs: ['10.96.0.20'], selector: { app: 'cart' } }));
  });
});

describe('without cluster access, or before it answers, peers are null and answers still flow', () => {
  let running: RunningAggregator | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  test('--peer-names off: no informer, no API request, every peer null', async () => {
    const requestsBefore = server.requests.length;
    running = await startAggregatorWith(settings('--kubeconfig', kubeconfig, '--peer-names', 'off'), log);
    storeSockets(running);
    assert.equal(running.peers, undefined);
    assert.deepEqual([...(await served(running)).values()], SOCKETS.map(() => null));
    assert.equal(server.requests.length, requestsBefore);
  });

  test('an API that fails: the aggregator serves, peers null, until the informers list', async () => {
    let failing = true;
    server.injectFailure({ status: 500, matching: (request) => failing && request.verb === 'list', times: Number.MAX_SAFE_INTEGER });
    running = await startAggregatorWith(settings('--kubeconfig', kubeconfig), log);
    storeSockets(running);
    await waitFor(() => server.requests.some((request) => request.verb === 'list' && request.statusCode === 500), { what: 'a failed list', timeoutMs: 10_000, intervalMs: 20 });
    assert.deepEqual([...(await served(running)).values()], SOCKETS.map(() => null));
    failing = false;
    await running.peers!.synced();
    assert.equal((await served(running)).get('1')?.name, 'cart-1');
  });
});

describe('--peer-names, --kubeconfig and their environment variables', () => {
  const saved = { KUBECONFIG: process.env.KUBECONFIG, KUBE_NETSTAT_KUBECONFIG: process.env.KUBE_NETSTAT_KUBECONFIG, KUBE_NETSTAT_PEER_NAMES: process.env.KUBE_NETSTAT_PEER_NAMES };
  before(() => {
    // No kubeconfig anywhere: $KUBECONFIG set but empty means none (not ~/.kube/config).
    process.env.KUBECONFIG = '';
    delete process.env.KUBE_NETSTAT_KUBECONFIG;
    delete process.env.KUBE_NETSTAT_PEER_NAMES;
  });
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test('the default is auto: without credentials the aggregator runs without peer names', async () => {
    assert.equal(settings().peerNames, 'auto');
    const running = await startAggregatorWith(settings(), log);
    assert.equal(running.peers, undefined);
    await running.stop();
    assert.ok(logs.includes('peer names off: no kubeconfig and not in a cluster'));
  });

  test('on without credentials, a kubeconfig that does not exist, or an unknown mode are usage errors', async () => {
    await assert.rejects(startAggregatorWith(settings('--peer-names', 'on'), log), (error: unknown) => error instanceof UsageError && /--peer-names on needs cluster access/.test(error.message));
    await assert.rejects(startAggregatorWith(settings('--kubeconfig', join(kubeconfig, '..', 'missing')), log), (error: unknown) => error instanceof UsageError && /missing does not exist/.test(error.message));
    await assert.rejects(startAggregatorWith(settings('--kubeconfig', kubeconfig, '--context', 'nope'), log), (error: unknown) => error instanceof UsageError && /context "nope" does not exist/.test(error.message));
    assert.throws(() => settings('--peer-names', 'maybe'), (error: unknown) => error instanceof UsageError && /--peer-names:/.test(error.message));
  });

  test('KUBE_NETSTAT_PEER_NAMES and KUBE_NETSTAT_KUBECONFIG stand in for the flags', () => {
    process.env.KUBE_NETSTAT_PEER_NAMES = 'off';
    process.env.KUBE_NETSTAT_KUBECONFIG = kubeconfig;
    try {
      assert.deepEqual([settings().peerNames, settings().kubeconfig], ['off', kubeconfig]);
      assert.equal(settings('--peer-names', 'on').peerNames, 'on');
    } finally {
      delete process.env.KUBE_NETSTAT_PEER_NAMES;
      delete process.env.KUBE_NETSTAT_KUBECONFIG;
    }
  });
});
