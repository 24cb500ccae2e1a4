import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SocketItem, SocketList } from '../../../model/json/socket-list.js';
import { TestApiServer, pod } from '../../support/k8s/index.js';
import { runCli } from '../../support/run-cli.js';
import { demoProcRoot } from '../../support/samples.js';

/**
 * `kube-netstat local` naming pods: the demo proc tree gets kubelet-style cgroup files and a
 * test API server serves the pod, so the whole path — cgroups, informer, attribution,
 * output — runs without root.
 */
const POD_UID = 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607';
const MAIN = 'a1d3da899deb9862131ca6b22244975826bdf08612aa7ce5997f57e8ce4f35d1';
const SIDECAR = 'ffeec2685e7bb2aae6a6dc6d433d0ab20d5c1cb35617218a85ce0a88148091fd';
const SANDBOX = '349c5f66f1eb2ec13727507edfc179db943a144e5fed78502ebf8bad1a7315a8';
const slice = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replaceAll('-', '_')}.slice`;
const cgroupOf = (id: string) => `0::${slice}/cri-containerd-${id}.scope\n`;

const fixture = demoProcRoot();
writeFileSync(join(fixture.root, '30775', 'cgroup'), cgroupOf(MAIN));
writeFileSync(join(fixture.root, '30777', 'cgroup'), cgroupOf(SIDECAR));
writeFileSync(join(fixture.root, '30778', 'cgroup'), cgroupOf(SANDBOX));

let server: TestApiServer;
let dir: string;
let kubeconfig: string;
before(async () => {
  server = await TestApiServer.start();
  dir = mkdtempSync(join(tmpdir(), 'kns-local-pods-'));
  kubeconfig = join(dir, 'kubeconfig');
  server.writeKubeconfig(kubeconfig);
  const cart = pod({
    name: 'cart-0',
    namespace: 'shop',
    nodeName: 'node-a',
    uid: POD_UID,
    labels: { app: 'cart' },
    containers: [
      { name: 'cart', containerID: `containerd://${MAIN}` },
      { name: 'metrics', containerID: `containerd://${SIDECAR}` },
    ],
  });
  cart.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'cart', uid: 'sts-uid', controller: true }];
  server.store.upsert(cart);
  server.store.upsert(pod({ name: 'other', namespace: 'web', nodeName: 'node-a', uid: 'uid-other' }));
});
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
  fixture.remove();
});

const local = (...args: string[]) => runCli(['local', '--proc-root', fixture.root, '--kubeconfig', kubeconfig, '--node', 'node-a', ...args]);
const json = async (...args: string[]): Promise<SocketItem[]> => {
  const result = await local(...args, '-o', 'json');
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as SocketList).items;
};

describe('local with API access', () => {
  test('a held socket: namespace, pod, container, workload and runtime', async () => {
    const [item] = await json('-tln', '--port', '9090');
    const { namespace, pod: podName, podUID, container, containerID, runtime, workload, attributedBy, hostNetwork } = item!;
    assert.deepEqual(
      { namespace, pod: podName, podUID, container, containerID, runtime, workload, attributedBy, hostNetwork },
      { namespace: 'shop', pod: 'cart-0', podUID: POD_UID, container: 'metrics', containerID: SIDECAR, runtime: 'containerd', workload: { kind: 'StatefulSet', name: 'cart' }, attributedBy: 'process', hostNetwork: false },
    );
    assert.equal(item?.node, 'node-a');
  });

  test('TIME_WAIT and request sockets (no process) carry the pod through its namespace', async () => {
    const items = await json('-tan', '--state', 'time-wait,syn-recv');
    assert.ok(items.length >= 2);
    for (const item of items) assert.deepEqual([item.namespace, item.pod, item.attributedBy], ['shop', 'cart-0', 'namespace']);
  });

  test('the table leads with NAMESPACE, POD and CONTAINER; the banner names the pod', async () => {
    const { stdout } = await local('-tln', '--port', '9090');
    const lines = stdout.split('\n');
    assert.equal(lines[0], 'Network namespace net:[4026532877] pod shop/cart-0: 3 processes, pid 30775 (python3)');
    assert.match(lines[2]!, /^NAMESPACE   POD       CONTAINER   Proto Recv-Q/);
    assert.match(lines[3]!, /^shop        cart-0    metrics     tcp        0      0 127\.0\.0\.1:9090/);
  });

  const filters: Array<{ name: string; args: string[]; count: (n: number) => boolean }> = [
    { name: '-n shop keeps the pod', args: ['-n', 'shop'], count: (n) => n > 0 },
    { name: '-n web (no socket there) keeps nothing', args: ['-n', 'web'], count: (n) => n === 0 },
    { name: '-l app=cart', args: ['-l', 'app=cart'], count: (n) => n > 0 },
    { name: '-l app!=cart', args: ['-l', 'app!=cart'], count: (n) => n === 0 },
    { name: '--pod cart-0', args: ['--pod', 'cart-0'], count: (n) => n > 0 },
    { name: '-A overrides -n', args: ['-n', 'web', '-A'], count: (n) => n > 0 },
  ];
  for (const { name, args, count } of filters) {
    test(`filter ${name}`, async () => {
      const items = await json('-tuwxan', ...args);
      assert.ok(count(items.length), `${items.length} items`);
    });
  }

  test('a node name with no pods on it leaves the namespace unnamed: UID only', async () => {
    const result = await runCli(['local', '--proc-root', fixture.root, '--kubeconfig', kubeconfig, '--node', 'node-z', '-tln', '--port', '9090', '-o', 'json']);
    const [item] = (JSON.parse(result.stdout) as SocketList).items;
    assert.deepEqual([item?.namespace, item?.pod, item?.podUID, item?.containerID], [null, null, POD_UID, SIDECAR]);
  });
});

describe('local without API access', () => {
  test('pods are shown by UID and container ID, with one line saying why', async () => {
    process.env.KUBECONFIG = '/nonexistent/kubeconfig';
    const result = await runCli(['local', '--proc-root', fixture.root, '-tln', '--port', '9090']);
    assert.match(result.stdout.split('\n')[3]!, new RegExp(`^\\?  +${POD_UID}   containerd://${SIDECAR.slice(0, 12)}   tcp `));
    assert.equal(result.stderr, 'kube-netstat: no kubeconfig and not in a cluster: pods are shown by UID.\n');
  });

  test('-n without API access is a usage error naming the reason', async () => {
    process.env.KUBECONFIG = '/nonexistent/kubeconfig';
    const result = await runCli(['local', '--proc-root', fixture.root, '-n', 'shop']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /need pod names from the Kubernetes API \(no kubeconfig/);
  });

  test('a kubeconfig that fails (plain http without insecure-skip-tls-verify): the reason is said once, even when no pod is listed', async () => {
    const path = join(dir, 'http-kubeconfig');
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: plain',
      'clusters: [{name: plain, cluster: {server: "http://127.0.0.1:1"}}]',
      'users: [{name: someone, user: {token: t}}]',
      'contexts: [{name: plain, context: {cluster: plain, user: someone}}]', '',
    ].join('\n'));
    const result = await runCli(['local', '--proc-root', fixture.root, '--kubeconfig', path, '--node', 'node-a', '-tln', '--port', '1']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, /^kube-netstat: could not list pods of node node-a from http:\/\/127\.0\.0\.1:1 \(.+\): pods are shown by UID\.$/);
  });

  test('an unreachable API: a warning, and UIDs instead of names', async () => {
    const stopped = await TestApiServer.start();
    const path = join(dir, 'stopped-kubeconfig');
    stopped.writeKubeconfig(path);
    stopped.injectFailure({ status: 403, times: 1000 });
    const result = await runCli(['local', '--proc-root', fixture.root, '--kubeconfig', path, '-tln', '--port', '9090']);
    await stopped.stop();
    assert.equal(result.code, 0);
    assert.match(result.stderr, /could not list pods of node .* pods are shown by UID/);
  });
});
