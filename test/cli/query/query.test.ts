/**
 * `kube-netstat query` (the kubectl-netstat plugin) in-process against a real aggregator HTTP
 * server: golden output for every format, each error path with its exit code, the flags, the
 * watch framing and completion. The end-to-end run through the real kubectl is
 * test/cli/query/kubectl-netstat.e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createPlainHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket as NetSocket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createHttpServer } from '../../../aggregator/server/index.js';
import { NodeStore } from '../../../aggregator/store/index.js';
import { PeerIndex } from '../../../aggregator/peers/index.js';
import { WatchHub } from '../../../aggregator/query/index.js';
import type { SocketList } from '../../../model/json/socket-list.js';
import { complete } from '../../../cli/query/completion.js';
import { parseQueryFlags } from '../../../cli/query/flags.js';
import { DelimitedFrames } from '../../../cli/query/watch.js';
import { UsageError } from '../../../config/usage-error.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { runCli } from '../../support/run-cli.js';
import { storedSockets } from '../../support/stored.js';
import { TestApiServer } from '../../support/k8s/index.js';
import { waitFor } from '../../support/wait.js';
import { exposeAggregator } from '../../support/plugin/kubectl.js';
import { REPO } from '../../support/checkout.js';

const FIRST_SEEN = BigInt(Date.parse('2026-11-27T00:00:00Z'));

const pod = (namespace: string, name: string, container: string, workloadKind: string, workloadName: string): PodRef => ({
  namespace, name, uid: `uid-${name}`, container, containerId: 'a'.repeat(64), runtime: 'containerd', workloadKind, workloadName, labels: { app: workloadName },
});
const cart = pod('shop', 'cart-7d9f-abcde', 'cart', 'Deployment', 'cart');
const pay = pod('payments', 'pay-0', 'pay', 'StatefulSet', 'pay');

let inode = 1000;
function tcp(podRef: PodRef | undefined, state: [number, string, string], local: [string, number], foreign: [string, number], extra: Partial<Socket> = {}): Socket {
  inode++;
  return Socket.fromPartial({
    key: `k${inode}`, proto: Proto.PROTO_TCP, stateCode: state[0], state: state[1], ssState: state[2],
    localAddress: local[0], localPort: local[1], foreignAddress: foreign[0], foreignPort: foreign[1],
    inode: BigInt(inode), uid: 1000, refCount: 1, firstSeenUnixMs: FIRST_SEEN, netns: 4026532001n,
    processes: [{ pid: 4242, name: 'python3', comm: 'python3', fds: [3] }],
    timer: { code: 0, kind: 'off', ticks: 0n, retransmits: 0, probes: 0 },
    ...(podRef && { pod: podRef }),
    ...extra,
  });
}
const LISTEN: [number, string, string] = [10, 'LISTEN', 'LISTEN'];
const ESTAB: [number, string, string] = [1, 'ESTABLISHED', 'ESTAB'];
const CLOSE_WAIT: [number, string, string] = [8, 'CLOSE_WAIT', 'CLOSE-WAIT'];

/** node-a: cart listening with two CLOSE_WAIT and one busy connection; pay with one CLOSE_WAIT; a host listener. node-b: syncing. */
function cluster(): NodeStore {
  // Peer names as the informers would know them: cart's pod IP and the database's ClusterIP.
  const peers = new PeerIndex();
  peers.upsert({ kind: 'pod', namespace: 'shop', name: 'cart-7d9f-abcde', ips: ['10.0.0.5'], hostNetwork: false, nodeName: 'node-a', ports: [] }, undefined);
  peers.upsert({ kind: 'service', namespace: 'db', name: 'postgres', ips: ['10.96.0.10'] }, undefined);
  const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000, peers });
  const { session } = store.claim('node-a', 1n, 'boot');
  store.replaceSockets(store.owned('node-a', session!)!, storedSockets([
    tcp(cart, LISTEN, ['0.0.0.0', 8080], ['0.0.0.0', 0]),
    tcp(cart, CLOSE_WAIT, ['10.0.0.5', 8080], ['10.0.1.7', 51000], { recvQ: 1n }),
    tcp(cart, CLOSE_WAIT, ['10.0.0.5', 8080], ['10.0.1.7', 51002], { recvQ: 1n }),
    tcp(cart, ESTAB, ['10.0.0.5', 43210], ['10.96.0.10', 5432], { sendQ: 65536n }),
    tcp(pay, CLOSE_WAIT, ['10.0.0.9', 5432], ['10.0.0.5', 43999]),
    tcp(undefined, LISTEN, ['0.0.0.0', 10250], ['0.0.0.0', 0], { hostNetwork: true, netns: 4026531840n }),
  ]));
  store.claim('node-b', 1n, 'boot');
  return store;
}

/** An aggregator's HTTP face over `store` on 127.0.0.1; `url` once listening. */
async function serve(store: NodeStore): Promise<{ server: HttpServer; url: string; port: number }> {
  const server = createHttpServer(store, () => true, () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}`, port };
}

describe('kube-netstat query: golden output against an aggregator', () => {
  let aggregator: Awaited<ReturnType<typeof serve>> | undefined;
  const query = (...args: string[]) => runCli(['query', '--server', aggregator!.url, ...args]);

  before(async () => {
    aggregator = await serve(cluster());
  });
  after(() => new Promise<void>((resolve) => aggregator!.server.close(() => resolve())));

  test('the default listing: netstat -tn inside the namespace, pod columns in front', async () => {
    const result = await query('-tn', '-n', 'shop');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'Active Internet connections (w/o servers)',
      'NAMESPACE   POD               CONTAINER   Proto Recv-Q Send-Q Local Address           Foreign Address         State      ',
      'shop        cart-7d9f-abcde   cart        tcp        1      0 10.0.0.5:8080           10.0.1.7:51000          CLOSE_WAIT ',
      'shop        cart-7d9f-abcde   cart        tcp        1      0 10.0.0.5:8080           10.0.1.7:51002          CLOSE_WAIT ',
      'shop        cart-7d9f-abcde   cart        tcp        0  65536 10.0.0.5:43210          10.96.0.10:5432         ESTABLISHED',
      '',
    ].join('\n'));
    // A partial answer warns on stderr: node-b never finished its snapshot.
    assert.match(result.stderr, /^Warning: partial results: this node is not vouched for: node-b \(/);
  });

  test('-A -tlnp: listeners of every namespace and the host, with PID/Program name', async () => {
    const result = await query('-A', '-tlnp');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'Active Internet connections (only servers)',
      'NAMESPACE   POD               CONTAINER   Proto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    ',
      'shop        cart-7d9f-abcde   cart        tcp        0      0 0.0.0.0:8080            0.0.0.0:*               LISTEN      4242/python3        ',
      '-           <host>            -           tcp        0      0 0.0.0.0:10250           0.0.0.0:*               LISTEN      4242/python3        ',
      '',
    ].join('\n'));
  });

  test('-o wide adds NODE, WORKLOAD, NETNS, PEER and netstat\'s -eepoW columns; --no-headers prints rows only', async () => {
    const result = await query('-A', '-tn', '--state', 'close-wait,established', '-o', 'wide', '--no-headers');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'shop        cart-7d9f-abcde   cart        node-a    Deployment/cart   4026532001   external                   tcp        1      0 10.0.0.5:8080           10.0.1.7:51000          CLOSE_WAIT  1000       1002       4242/python3         off (0.00/0/0)',
      'shop        cart-7d9f-abcde   cart        node-a    Deployment/cart   4026532001   external                   tcp        1      0 10.0.0.5:8080           10.0.1.7:51002          CLOSE_WAIT  1000       1003       4242/python3         off (0.00/0/0)',
      'shop        cart-7d9f-abcde   cart        node-a    Deployment/cart   4026532001   svc/db/postgres            tcp        0  65536 10.0.0.5:43210          10.96.0.10:5432         ESTABLISHED 1000       1004       4242/python3         off (0.00/0/0)',
      'payments    pay-0             pay         node-a    StatefulSet/pay   4026532001   pod/shop/cart-7d9f-abcde   tcp        0      0 10.0.0.9:5432           10.0.0.5:43999          CLOSE_WAIT  1000       1005       4242/python3         off (0.00/0/0)',
      '',
    ].join('\n'));
  });

  test('-o json is the SocketList with unavailableNodes; -o yaml the same document', async () => {
    const json = await query('-n', 'payments', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as SocketList;
    assert.equal(list.apiVersion, 'kubenetstat.io/v1');
    assert.equal(list.kind, 'SocketList');
    assert.deepEqual(list.items.map((item) => [item.namespace, item.pod, item.container, item.node, item.state, item.localPort, item.foreignAddress, item.inode, item.firstSeen]), [
      ['payments', 'pay-0', 'pay', 'node-a', 'CLOSE_WAIT', 5432, '10.0.0.5', '1005', '2026-11-27T00:00:00.000Z'],
    ]);
    assert.deepEqual(list.unavailableNodes.map((node) => node.node), ['node-b']);
    const yaml = await query('-n', 'payments', '-o', 'yaml');
    assert.deepEqual(parseYaml(yaml.stdout), list);
  });

  test('one end only: --local-port, --foreign-port, --local-address, --foreign-address', async () => {
    const inodes = async (...args: string[]): Promise<string[]> => (JSON.parse((await query('-A', '-a', '-o', 'json', ...args)).stdout) as SocketList).items.map((item) => item.inode);
    assert.deepEqual(await inodes('--foreign-address', '10.96.0.0/12', '--foreign-port', '5432'), ['1004'], 'cart → the database');
    assert.deepEqual(await inodes('--foreign-address', '10.0.0.5'), ['1005'], 'pay\'s peer is cart\'s address; cart\'s own sockets have it as the local end');
    assert.deepEqual(await inodes('--local-address', '10.0.0.5'), ['1002', '1003', '1004']);
    assert.deepEqual(await inodes('--local-port', '8080'), ['1001', '1002', '1003']);
    assert.deepEqual(await inodes('--port', '5432'), ['1004', '1005'], '--port matches either end');
    const bad = await query('-A', '--foreign-address', '10.0.0.300');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid address '10\.0\.0\.300'/);
  });

  test('--sort-by orders the items; --limit cuts them', async () => {
    const sorted = await query('-A', '-tn', '--sort-by=-recvQ', '-o', 'json');
    assert.equal(sorted.code, 0, sorted.stderr);
    const recvQ = (JSON.parse(sorted.stdout) as SocketList).items.map((item) => item.recvQ);
    assert.deepEqual(recvQ, [...recvQ].sort((a, b) => b! - a!));
    const limited = await query('-A', '-tan', '--limit', '2', '-o', 'json');
    assert.equal((JSON.parse(limited.stdout) as SocketList).items.length, 2);
  });

  test('summary: a column per state that occurs, UNIX, queued bytes', async () => {
    const result = await query('summary', '-A');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'NAMESPACE       TOTAL     ESTAB     CLOSE-WAIT   LISTEN    RECV-Q    SEND-Q',
      'payments        1         0         1            0         0         0',
      'shop            4         1         2            1         2         65536',
      '<host:node-a>   1         0         0            1         0         0',
      '',
    ].join('\n'));
    const byWorkload = await query('summary', '-A', '--by', 'workload', '--no-headers');
    assert.equal(byWorkload.stdout.split('\n')[0], 'payments        StatefulSet/pay   1         0         1            0         0         0');
  });

  test('top: pods ranked by CLOSE_WAIT, or by queued bytes', async () => {
    const result = await query('top', '-A');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, [
      'NAMESPACE   POD               WORKLOAD          NODE      CLOSE-WAIT   RECV-Q    SEND-Q',
      'shop        cart-7d9f-abcde   Deployment/cart   node-a    2            2         0',
      'payments    pay-0             StatefulSet/pay   node-a    1            0         0',
      '',
    ].join('\n'));
    const bySendQ = await query('top', '-A', '--by', 'send-q', '--no-headers');
    assert.equal(bySendQ.stdout, 'shop        cart-7d9f-abcde   Deployment/cart   node-a    65536     2\n');
  });
});

describe('kube-netstat query: the aggregator selects what the table shows, in every format', () => {
  let aggregator: Awaited<ReturnType<typeof serve>> | undefined;
  const query = (...args: string[]) => runCli(['query', '--server', aggregator!.url, ...args]);
  const items = (stdout: string) => (JSON.parse(stdout) as SocketList).items;

  before(async () => {
    aggregator = await serve(cluster());
  });
  after(() => new Promise<void>((resolve) => aggregator!.server.close(() => resolve())));

  test('--limit counts the rows the table shows: netstat\'s default leaves the listeners out before the limit', async () => {
    // cart's listener is the node's first socket: a limit taken before the selection printed nothing.
    const result = await query('-tn', '-n', 'shop', '--limit', '1');
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.split('\n').slice(2).filter(Boolean);
    assert.equal(rows.length, 1, result.stdout);
    assert.match(rows[0]!, /CLOSE_WAIT/);
  });

  test('-l, -a and neither select the same sockets in -o json and yaml as in the table', async () => {
    assert.deepEqual(items((await query('-tln', '-n', 'shop', '-o', 'json')).stdout).map((item) => item.state), ['LISTEN']);
    assert.deepEqual(items((await query('-tn', '-n', 'shop', '-o', 'json')).stdout).map((item) => item.state), ['CLOSE_WAIT', 'CLOSE_WAIT', 'ESTABLISHED']);
    assert.equal(items((await query('-tan', '-n', 'shop', '-o', 'json')).stdout).length, 4);
    const yaml = parseYaml((await query('-tl', '-A', '-o', 'yaml')).stdout) as SocketList;
    assert.deepEqual(yaml.items.map((item) => item.localPort).sort((a, b) => a! - b!), [8080, 10250]);
  });

  test('a --state filter chooses the states itself, as ss\'s does: --state listening shows listeners without -l', async () => {
    const result = await query('-tn', '-n', 'shop', '--state', 'listening');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Active Internet connections \(servers and established\)\n/);
    assert.match(result.stdout, /0\.0\.0\.0:8080 +0\.0\.0\.0:\* +LISTEN/);
  });

  test('-o xml says which outputs exist', async () => {
    for (const argv of [['-o', 'xml'], ['-o=xml'], ['-tano', 'xml']]) {
      const result = await query('-A', ...argv);
      assert.equal(result.code, 2, argv.join(' '));
      assert.match(result.stderr, /invalid output format 'xml'.*json, yaml, wide/, argv.join(' '));
    }
  });

  test('summary --watch prints the summary again (every -c seconds, 2 s by default) until interrupted', async () => {
    assert.equal(parseQueryFlags(['summary', '--watch']).continuousSeconds, 2);
    assert.equal(parseQueryFlags(['leaks', '--watch', '-c', '5']).continuousSeconds, 5);
    const stop = new AbortController();
    let output = '';
    const running = runCli(['query', '--server', aggregator!.url, '-A', 'summary', '--watch', '-c', '0.1'], { signal: stop.signal, onStdout: (text) => (output += text) });
    await waitFor(() => output.split('NAMESPACE').length > 2, { timeoutMs: 10_000, what: 'the summary twice', describe: () => output });
    stop.abort();
    assert.equal((await running).code, 0);
  });
});

describe('kube-netstat query: timers as of the answer', () => {
  test('a TIME_WAIT read 50 s ago with 60 s left shows 10 s left, in the table and the JSON, from the plugin and the HTTP API', async () => {
    const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000 });
    const { session } = store.claim('node-a', 1n, 'boot');
    const readUnixMs = BigInt(Date.now() - 50_000);
    store.replaceSockets(store.owned('node-a', session!)!, storedSockets([
      tcp(cart, [6, 'TIME_WAIT', 'TIME-WAIT'], ['10.0.0.5', 43211], ['10.96.0.10', 5432], { inode: 0n, processes: [], timer: { code: 3, kind: 'timewait', ticks: 6000n, retransmits: 0, probes: 0, readUnixMs } }),
    ]));
    const aggregator = await serve(store);
    try {
      const table = await runCli(['query', '--server', aggregator.url, '-n', 'shop', '-tano']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, / timewait \((9\.\d\d|10\.00)\/0\/0\)\n/);
      const json = await runCli(['query', '--server', aggregator.url, '-n', 'shop', '-tan', '-o', 'json']);
      const seconds = (JSON.parse(json.stdout) as SocketList).items[0]!.timer!.seconds;
      assert.ok(seconds > 9 && seconds <= 10, `${seconds}`);
      const http = (await (await fetch(`${aggregator.url}/api/v1/sockets?state=time-wait`)).json()) as SocketList;
      const served = http.items[0]!.timer!.seconds;
      assert.ok(served > 9 && served <= 10, `${served}`);
    } finally {
      await new Promise<void>((resolve) => aggregator.server.close(() => resolve()));
    }
  });
});

describe('kube-netstat query: a socket of a proto this version does not know (from a newer agent)', () => {
  let aggregator: Awaited<ReturnType<typeof serve>> | undefined;
  const query = (...args: string[]) => runCli(['query', '--server', aggregator!.url, ...args]);

  before(async () => {
    const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000, peers: new PeerIndex() });
    const { session } = store.claim('node-a', 1n, 'boot');
    store.replaceSockets(store.owned('node-a', session!)!, storedSockets([
      tcp(cart, LISTEN, ['0.0.0.0', 8080], ['0.0.0.0', 0]),
      tcp(cart, LISTEN, ['0.0.0.0', 9090], ['0.0.0.0', 0], { proto: 8 as Proto }),
    ]));
    aggregator = await serve(store);
  });
  after(() => new Promise<void>((resolve) => aggregator!.server.close(() => resolve())));

  test('the listing leaves it out, never as a tcp row, and says so on stderr', async () => {
    const result = await query('-A', '-ln');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /0\.0\.0\.0:8080 /);
    assert.doesNotMatch(result.stdout, /9090/);
    assert.equal(result.stderr, 'Warning: 1 socket of a protocol unknown to this version is left out of the listing (-o json shows proto unknown); upgrade to list it.\n');
  });

  test('-o json lists it with proto unknown', async () => {
    const result = await query('-A', '-a', '-o', 'json');
    assert.equal(result.code, 0, result.stderr);
    const items = (JSON.parse(result.stdout) as SocketList).items;
    assert.deepEqual(items.map((item) => [item.proto, item.localPort]).sort(), [['tcp', 8080], ['unknown', 9090]]);
    assert.equal(result.stderr, '');
  });
});

describe('kube-netstat query: each failure says what to do next, with its exit code', () => {
  let api: TestApiServer | undefined;
  let aggregator: Awaited<ReturnType<typeof serve>> | undefined;
  let dir = '';
  let kubeconfig = '';
  let closedPort = 0;
  const query = (...args: string[]) => runCli(['query', '--kubeconfig', kubeconfig, '-A', ...args]);

  before(async () => {
    api = await TestApiServer.start({ token: 'good' });
    aggregator = await serve(cluster());
    dir = mkdtempSync(join(tmpdir(), 'kns-query-'));
    kubeconfig = join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfig);
    // A port nothing listens on: bound, then closed.
    const probe: Server = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
  after(async () => {
    await api?.stop();
    await new Promise<void>((resolve) => aggregator!.server.close(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('through the service proxy: the answer, and the request went to the Service path', async () => {
    exposeAggregator(api!.store, aggregator!.port);
    try {
      const result = await query('-tn', '--state', 'close-wait');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.split('\n').length, 6);
      assert.ok(api!.requests.some((request) => request.path === '/api/v1/namespaces/kube-netstat/services/kube-netstat:http/proxy/api/v1/sockets'));
    } finally {
      api!.store.delete({ kind: 'Service', namespace: 'kube-netstat', name: 'kube-netstat' });
      api!.store.delete({ kind: 'EndpointSlice', namespace: 'kube-netstat', name: 'kube-netstat-abcde' });
    }
  });

  test('aggregator not installed (no Service): exit 1, how to install or point at it', async () => {
    const result = await query();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /the aggregator is not installed: services "kube-netstat" not found .*helm install .*--aggregator-namespace/);
  });

  test('aggregator unreachable (Service without ready endpoints, or endpoints refusing): exit 1', async () => {
    exposeAggregator(api!.store, closedPort, { namespace: 'kube-netstat', name: 'kube-netstat' });
    try {
      const refused = await query();
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /the aggregator is unreachable \(error trying to reach service: dial tcp 127\.0\.0\.1:\d+: connect: connection refused;.*kubectl get pods -n kube-netstat\)$/m);
      api!.store.delete({ kind: 'EndpointSlice', namespace: 'kube-netstat', name: 'kube-netstat-abcde' });
      const noEndpoints = await query();
      assert.equal(noEndpoints.code, 1);
      assert.match(noEndpoints.stderr, /the aggregator is unreachable \(no endpoints available for service "kube-netstat"/);
    } finally {
      api!.store.delete({ kind: 'Service', namespace: 'kube-netstat', name: 'kube-netstat' });
    }
  });

  test('RBAC denied (403 on services/proxy): exit 1, which permission and how to check it', async () => {
    api!.injectFailure({ status: 403, message: 'services "kube-netstat" is forbidden: User "jane" cannot get resource "services/proxy" in API group "" in the namespace "kube-netstat"', matching: (request) => request.path.includes('/proxy/') });
    const result = await query();
    assert.equal(result.code, 1);
    assert.match(result.stderr, /forbidden by RBAC \(403\): services "kube-netstat" is forbidden: User "jane" cannot get resource "services\/proxy".*kubectl auth can-i get services\/proxy -n kube-netstat`/);
  });

  test('credentials refused (401): exit 1', async () => {
    const stale = join(dir, 'stale-kubeconfig');
    api!.writeKubeconfig(stale, { token: 'expired' });
    const result = await runCli(['query', '--kubeconfig', stale, '-A']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /refused your credentials \(401 Unauthorized\)/);
  });

  test('API server unreachable, or --server unreachable: exit 1, naming the address', async () => {
    const direct = await runCli(['query', '--server', `127.0.0.1:${closedPort}`, '-A']);
    assert.equal(direct.code, 1);
    assert.match(direct.stderr, new RegExp(`cannot reach the aggregator at http://127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED\\)`));
    const nowhere = join(dir, 'nowhere-kubeconfig');
    api!.writeKubeconfig(nowhere);
    const text = (await import('node:fs')).readFileSync(nowhere, 'utf8').replace(api!.url, `https://127.0.0.1:${closedPort}`);
    (await import('node:fs')).writeFileSync(nowhere, text);
    const viaApi = await runCli(['query', '--kubeconfig', nowhere, '-A']);
    assert.equal(viaApi.code, 1);
    assert.match(viaApi.stderr, /cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\).*--server URL/);
  });

  test('no kubeconfig at all: exit 1, the ways to give one', () => {
    const home = mkdtempSync(join(tmpdir(), 'kns-home-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
      for (const key of ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'NODE_OPTIONS', 'NODE_TEST_CONTEXT']) delete env[key];
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'cmd/bin.ts', 'query', '-A'], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /no kubeconfig found .*--kubeconfig FILE.*--server URL/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('bad usage, locally or as the aggregator judges it: exit 2', async () => {
    const flag = await runCli(['query', '--server', aggregator!.url, '--frobnicate']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unrecognized option '--frobnicate'\nTry 'kube-netstat query --help'/);
    const state = await runCli(['query', '--server', aggregator!.url, '-A', '--state', 'sleepy']);
    assert.equal(state.code, 2);
    assert.match(state.stderr, /unknown state 'sleepy'/);
    const by = await runCli(['query', '--server', aggregator!.url, '--by', 'pod']);
    assert.equal(by.code, 2);
  });

  test('no answer within --request-timeout: exit 1', async () => {
    // Accepts connections and never answers.
    const held: NetSocket[] = [];
    const silent: Server = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const result = await runCli(['query', '--server', `127.0.0.1:${(silent.address() as AddressInfo).port}`, '-A', '--request-timeout', '300ms']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+ within 300ms \(--request-timeout; 0 waits forever\)/);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  test('an answer that starts and then stalls is cut at --request-timeout too; 30 s is the default', async () => {
    assert.equal(parseQueryFlags([]).requestTimeoutSeconds, 30);
    // Answers the headers and a first byte, then nothing: a stopped aggregator behind a proxy looks so.
    const stalled = createPlainHttpServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-protobuf' });
      response.write(Buffer.from([0x0a]));
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    try {
      const result = await runCli(['query', '--server', `127.0.0.1:${(stalled.address() as AddressInfo).port}`, '-A', '--request-timeout', '300ms']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no answer from http:\/\/127\.0\.0\.1:\d+ within 300ms/);
    } finally {
      stalled.closeAllConnections();
      stalled.close();
    }
  });

  test('an empty table says so on stderr, and when the namespace does not exist', async () => {
    exposeAggregator(api!.store, aggregator!.port);
    api!.store.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'quiet' } });
    const quiet = await runCli(['query', '--kubeconfig', kubeconfig, '-n', 'quiet', '-tn']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stderr, /^No sockets found in namespace quiet\.\n/m);
    const typo = await runCli(['query', '--kubeconfig', kubeconfig, '-n', 'nosuchns', '-tn']);
    assert.equal(typo.code, 0, typo.stderr);
    assert.match(typo.stderr, /^No sockets found in namespace nosuchns\. Namespace "nosuchns" does not exist\.\n/m);
    // -o json is a list, empty or not: nothing to say.
    const json = await runCli(['query', '--kubeconfig', kubeconfig, '-n', 'nosuchns', '-o', 'json']);
    assert.doesNotMatch(json.stderr, /No sockets found/);
  });

  test('--help answers with examples, exit 0', async () => {
    const help = await runCli(['query', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:\n/);
    assert.match(help.stdout, /top -A --by close-wait/);
  });
});

describe('kube-netstat query watch: the listing, then a row per change', () => {
  /**
   * `watch` with `args` against an aggregator holding `before` on node-a: once `listed(output)`,
   * the node holds `after`; once `changed(output)`, the watch is interrupted. Its result and output.
   */
  async function watchChange(args: string[], before: Socket[], after: Socket[], listed: (output: string) => boolean, changed: (output: string) => boolean): Promise<{ code: number; stderr: string; output: string }> {
    const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000 });
    const { session } = store.claim('node-a', 1n, 'boot');
    const node = store.owned('node-a', session!)!;
    store.replaceSockets(node, storedSockets(before));
    const hub = new WatchHub(store, { pollMs: 20, maxWatches: 4, log: () => undefined });
    const server = createHttpServer(store, () => true, () => undefined, hub);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const stop = new AbortController();
    let output = '';
    const running = runCli(['query', '--server', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'watch', ...args], { signal: stop.signal, onStdout: (text) => (output += text) });
    try {
      await waitFor(() => listed(output), { timeoutMs: 10_000, what: 'the listing', describe: () => output });
      store.replaceSockets(node, storedSockets(after));
      await waitFor(() => changed(output), { timeoutMs: 10_000, what: 'the changes', describe: () => output });
    } finally {
      stop.abort();
      hub.close('test over');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const { code, stderr } = await running;
    return { code, stderr, output };
  }

  test('a table with an EVENT column: the listing, then ADDED and DELETED rows as the node changes', async () => {
    const listen = tcp(cart, LISTEN, ['0.0.0.0', 8080], ['0.0.0.0', 0]);
    const first = tcp(cart, CLOSE_WAIT, ['10.0.0.5', 8080], ['10.0.1.7', 52000]);
    const second = tcp(cart, CLOSE_WAIT, ['10.0.0.5', 8080], ['10.0.1.7', 52001]);
    const result = await watchChange(['-n', 'shop', '-tn', '--output-watch-events'], [listen, first], [listen, second], (output) => output.includes('52000'), (output) => output.includes('52001') && output.split('\n').length >= 6);
    assert.equal(result.code, 0, result.stderr);
    const { output } = result;
    const lines = output.split('\n');
    assert.equal(lines[0], 'Active Internet connections (w/o servers)');
    assert.match(lines[1]!, /^EVENT {5}NAMESPACE {3}POD {15}CONTAINER {3}Proto Recv-Q Send-Q/);
    assert.match(lines[2]!, /^ADDED {5}shop {8}cart-7d9f-abcde {3}cart {8}tcp .* 10\.0\.1\.7:52000 +CLOSE_WAIT/);
    const changes = lines.slice(3).filter(Boolean).sort();
    assert.equal(changes.length, 2, output);
    assert.match(changes[0]!, /^ADDED {5}shop {8}cart-7d9f-abcde {3}cart {8}tcp .* 10\.0\.1\.7:52001 +CLOSE_WAIT/);
    assert.match(changes[1]!, /^DELETED {3}shop {8}cart-7d9f-abcde {3}cart {8}tcp .* 10\.0\.1\.7:52000 +CLOSE_WAIT/);
    assert.ok(!output.includes(':8080           0.0.0.0:*'), 'the listener is not shown without -a, as netstat does');
  });

  test('with unix sockets asked for too, a TCP change after the unix block comes under its own Internet header', async () => {
    const first = tcp(cart, CLOSE_WAIT, ['10.0.0.5', 8080], ['10.0.1.7', 53000]);
    const second = tcp(cart, CLOSE_WAIT, ['10.0.0.5', 8080], ['10.0.1.7', 53001]);
    const { code, output } = await watchChange(['-n', 'shop', '--state', 'close-wait', '-p'], [first], [first, second], (text) => text.includes('Active UNIX domain sockets'), (text) => text.includes('53001'));
    assert.equal(code, 0);
    const lines = output.split('\n').filter(Boolean);
    assert.deepEqual(lines.map((line) => (line.startsWith('Active') ? line : line.startsWith('NAMESPACE') ? 'titles' : line.includes('53000') ? 'row 53000' : line.includes('53001') ? 'row 53001' : line)), [
      'Active Internet connections (servers and established)',
      'titles',
      'row 53000',
      'Active UNIX domain sockets (servers and established)',
      'titles',
      'Active Internet connections (servers and established)',
      'titles',
      'row 53001',
    ]);
  });
});

describe('query flags, watch framing and completion', () => {
  test('netstat letters, kubectl habits and the query flags together', () => {
    const flags = parseQueryFlags(['top', '-n', 'shop', '-l', 'app=cart', '--by', 'recv-q', '--limit', '5', '--min-age', '1h30m', '--min-recv-q', '64k', '--aggregator-service', 'kns:web', '--server', '127.0.0.1:9101']);
    assert.equal(flags.command, 'top');
    assert.equal(flags.kube.namespace, 'shop');
    assert.equal(flags.kube.selector, 'app=cart');
    assert.equal(flags.by, 'recv-q');
    assert.equal(flags.limit, 5);
    assert.equal(flags.minAgeSeconds, 5400);
    assert.equal(flags.minRecvQ, 65536);
    assert.deepEqual([flags.aggregatorService, flags.aggregatorPort], ['kns', 'web']);
    assert.equal(flags.server, 'http://127.0.0.1:9101');
    const grouped = parseQueryFlags(['-tlnp', '--watch']);
    assert.equal(grouped.command, 'watch');
    assert.ok(grouped.netstat.listening && grouped.netstat.numericHosts && grouped.netstat.programs);
    assert.deepEqual([...grouped.protos].sort(), ['tcp', 'tcp6']);
    assert.equal(parseQueryFlags(['--sort-by', '{.recvQ}']).sortBy, 'recvQ');
    assert.equal(parseQueryFlags(['-w']).protos.has('raw'), true, "-w is netstat's raw sockets");
    for (const bad of [['--min-age', 'soon'], ['--limit', '0'], ['--server', 'ftp://x'], ['--sort-by', '.a.b'], ['--min-recv-q', 'lots']]) {
      assert.throws(() => parseQueryFlags(bad), UsageError, bad.join(' '));
    }
  });

  test('a release under another name or namespace: KUBE_NETSTAT_AGGREGATOR_NAMESPACE and _SERVICE, which flags override', () => {
    const saved = { ...process.env };
    try {
      process.env.KUBE_NETSTAT_AGGREGATOR_NAMESPACE = 'observability';
      process.env.KUBE_NETSTAT_AGGREGATOR_SERVICE = 'netstat:9101';
      const fromEnv = parseQueryFlags(['-A']);
      assert.deepEqual([fromEnv.aggregatorNamespace, fromEnv.aggregatorService, fromEnv.aggregatorPort], ['observability', 'netstat', '9101']);
      const fromFlags = parseQueryFlags(['-A', '--aggregator-namespace', 'ops', '--aggregator-service', 'kns']);
      assert.deepEqual([fromFlags.aggregatorNamespace, fromFlags.aggregatorService, fromFlags.aggregatorPort], ['ops', 'kns', 'http']);
      process.env.KUBE_NETSTAT_AGGREGATOR_SERVICE = ':9101';
      assert.throws(() => parseQueryFlags([]), /invalid KUBE_NETSTAT_AGGREGATOR_SERVICE ':9101': expected NAME or NAME:PORT/);
    } finally {
      for (const name of ['KUBE_NETSTAT_AGGREGATOR_NAMESPACE', 'KUBE_NETSTAT_AGGREGATOR_SERVICE']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    }
  });

  test('length-delimited frames are split wherever the chunks break', () => {
    const messages = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(300, 7), Buffer.alloc(20_000, 9)];
    const varint = (n: number): Buffer => {
      const bytes: number[] = [];
      while (n > 0x7f) {
        bytes.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      bytes.push(n);
      return Buffer.from(bytes);
    };
    const stream = Buffer.concat(messages.flatMap((message) => [varint(message.length), message]));
    for (const size of [1, 2, 3, 7, 301, stream.length]) {
      const frames = new DelimitedFrames();
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) out.push(...frames.push(stream.subarray(at, at + size)).map((frame) => Buffer.from(frame)));
      assert.deepEqual(out, messages, `chunks of ${size}`);
      assert.equal(frames.buffered, 0);
    }
  });

  test('completion: subcommands, flags, and values that need no API', async () => {
    assert.deepEqual(await complete(['']), ['summary', 'top', 'watch', 'leaks', 'history', 'completion']);
    assert.ok((await complete(['--sta'])).includes('--state'));
    assert.ok((await complete(['--state', ''])).includes('close-wait'));
    assert.deepEqual(await complete(['-o', '']), ['wide', 'json', 'yaml']);
    assert.ok((await complete(['top', '--by', ''])).includes('recv-q'));
    assert.deepEqual(await complete(['--output=']), ['--output=wide', '--output=json', '--output=yaml']);
    const script = await runCli(['query', 'completion', 'bash']);
    assert.match(script.stdout, /complete -F _kubectl_netstat kubectl-netstat/);
    const zsh = await runCli(['query', 'completion', 'zsh']);
    assert.match(zsh.stdout, /^#compdef kubectl-netstat/);
    assert.equal((await runCli(['query', 'completion', 'fish'])).code, 2);
  });

  test('__complete asks the aggregator for namespaces when there is no kubeconfig (--server)', async () => {
    const aggregator = await serve(cluster());
    try {
      const result = await runCli(['query', '__complete', '--server', aggregator.url, '-n', '']);
      assert.equal(result.stdout, 'payments\nshop\n:4\n');
    } finally {
      await new Promise<void>((resolve) => aggregator.server.close(() => resolve()));
    }
  });
});
