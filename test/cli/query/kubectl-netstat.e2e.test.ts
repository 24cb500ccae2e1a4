/**
 * `kubectl netstat` end to end: simulated pods (real network namespaces, kubelet-style cgroups,
 * real processes holding real sockets) on node-a, a real agent scanning this host with the
 * test API server's pods, a real aggregator, and the real `kubectl` binary running the plugin,
 * which reaches the aggregator through the test API server's service proxy with the
 * kubeconfig's token. Every output is compared with what the harness created.
 * Needs root, the cgroup mounts and kubectl; everything is removed in after(), even on failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { SocketItem, SocketList } from '../../../model/json/socket-list.js';
import { SimulatedNode, cgroupSkipReason, type PodTruth, type SimulatedPod, type SocketTruth } from '../../support/harness/index.js';
import { netnsSkipReason } from '../../support/netns.js';
import { runCli } from '../../support/run-cli.js';
import { TestApiServer, namespace, type KubeObject } from '../../support/k8s/index.js';
import { exposeAggregator, installPlugin, kubectl, kubectlSkipReason, startKubectl, type KubectlResult } from '../../support/plugin/kubectl.js';
import { ProcessSet, startAggregatorProcess, type AggregatorProcess } from '../../support/stream/processes.js';
import { waitFor } from '../../support/wait.js';
import { requirement } from '../../support/requirements.js';

const skip = requirement(netnsSkipReason(['ip', 'nsenter']), cgroupSkipReason(), kubectlSkipReason());
const NODE = 'node-a';
const TOKEN = 'plugin-e2e-token';

/** netstat's header lines for -tan, with the pod columns in front of the second. */
const INET_TITLE = 'Active Internet connections (servers and established)';

describe('kubectl netstat through the real kubectl and the service proxy', { skip }, () => {
  let node: SimulatedNode | undefined;
  let api: TestApiServer | undefined;
  const processes = new ProcessSet();
  let aggregator: AggregatorProcess | undefined;
  let dir = '';
  let kubeconfig = '';
  const pods = new Map<string, SimulatedPod>();
  const truths = new Map<string, PodTruth>();

  const run = (args: readonly string[]): Promise<KubectlResult> => kubectl(['netstat', ...args], { pluginDir: dir, kubeconfig });
  const held = (key: string): SocketTruth[] => truths.get(key)!.containers.flatMap((container) => container.sockets);

  /** The aggregator's JSON answer, straight from its port (the harness's own view, not the plugin's). */
  const direct = async (...args: string[]): Promise<SocketItem[]> => {
    const result = await runCli(['query', '--server', `http://127.0.0.1:${aggregator!.httpPort}`, '--kubeconfig', kubeconfig, '-o', 'json', ...args]);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as SocketList).items;
  };

  before(async () => {
    node = await SimulatedNode.create({ name: NODE });
    api = await TestApiServer.start({ token: TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'kns-plugin-'));
    kubeconfig = join(dir, 'kubeconfig');
    // The context's namespace is shop: kubectl's default scope.
    api.writeKubeconfig(kubeconfig, { namespace: 'shop' });
    installPlugin(dir);

    const specs: Array<[string, Parameters<SimulatedNode['createPod']>[0]]> = [
      ['cart', { namespace: 'shop', owner: { kind: 'Deployment', name: 'cart' }, containers: [
        { name: 'cart', sockets: [{ kind: 'listen', port: 8080 }, { kind: 'close-wait', count: 3 }] },
      ] }],
      ['web', { namespace: 'shop', owner: { kind: 'Deployment', name: 'web' }, containers: [
        { name: 'nginx', sockets: [{ kind: 'listen', port: 80, label: 'http' }, { kind: 'connect', port: { label: 'http' }, count: 2 }] },
      ] }],
      ['pay', { namespace: 'payments', owner: { kind: 'StatefulSet', name: 'pay' }, containers: [
        { name: 'pay', sockets: [{ kind: 'listen', port: 5432 }, { kind: 'close-wait', count: 1 }] },
      ] }],
    ];
    for (const name of ['shop', 'payments', 'kube-netstat']) api.store.upsert(namespace(name));
    for (const [key, spec] of specs) {
      const simulated = await node.createPod(spec);
      pods.set(key, simulated);
      api.store.upsert(simulated.toApiObject() as unknown as KubeObject);
    }
    for (const [key, simulated] of pods) truths.set(key, await simulated.truth());

    // With the kubeconfig the aggregator names peers from the API (every peer here is loopback: local).
    aggregator = await startAggregatorProcess(processes, { staleAfter: '15s', evictAfter: '60s', kubeconfig });
    exposeAggregator(api.store, aggregator.httpPort);
    processes.start('agent', ['agent', '--aggregator', `127.0.0.1:${aggregator.grpcPort}`, '--node-name', NODE, '--kubeconfig', kubeconfig, '--interval', '0.5', '--heartbeat', '1s']);

    // Ready when every socket the harness made is served under its pod's name.
    const wanted = [...pods.keys()].flatMap((key) => held(key).map((socket) => `${truths.get(key)!.name}/${socket.inode}`));
    let seen = new Set<string>();
    await waitFor(
      async () => {
        seen = new Set((await direct('-A', '-tan')).map((item) => `${item.pod}/${item.inode}`));
        return wanted.every((entry) => seen.has(entry));
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the aggregator to serve every simulated socket by pod name', describe: () => wanted.filter((entry) => !seen.has(entry)).join(', ') },
    );
  });

  after(async () => {
    await processes.killAll();
    await node?.cleanup();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('kubectl finds the plugin on PATH', async () => {
    const result = await kubectl(['plugin', 'list'], { pluginDir: dir, kubeconfig });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`${dir}/kubectl-netstat\\b`));
  });

  test('the table: the context\'s namespace only, netstat\'s columns behind NAMESPACE POD CONTAINER, one row per socket made', async () => {
    const result = await run(['-tan']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = result.stdout.split('\n');
    assert.equal(lines[0], INET_TITLE);
    assert.match(lines[1]!, /^NAMESPACE\s+POD\s+CONTAINER\s+Proto Recv-Q Send-Q Local Address {11}Foreign Address {9}State {6}$/);
    const rows = lines.slice(2).filter(Boolean);
    assert.ok(rows.every((row) => row.startsWith('shop ')), `only shop's pods by default:\n${result.stdout}`);
    for (const key of ['cart', 'web']) {
      const truth = truths.get(key)!;
      for (const socket of held(key).filter((s) => s.proto === 'tcp')) {
        const foreign = socket.foreignAddress === null ? '0.0.0.0:*' : `${socket.foreignAddress}:${socket.foreignPort}`;
        const row = new RegExp(`^shop\\s+${truth.name}\\s+${truth.containers[0]!.name}\\s+tcp +\\d+ +\\d+ ${socket.localAddress}:${socket.localPort} +${foreign.replaceAll('.', '\\.').replace('*', '\\*')} +${socket.state} *$`);
        assert.ok(rows.some((line) => row.test(line)), `${key} socket ${socket.inode} (${socket.state}) missing:\n${result.stdout}`);
      }
    }
    // Besides the sockets held, only the orphaned FIN_WAIT2 peers of cart's CLOSE_WAIT clients (in its namespace, no process).
    const closeWait = held('cart').filter((socket) => socket.state === 'CLOSE_WAIT').length;
    assert.equal(rows.filter((row) => !row.includes('FIN_WAIT2')).length, held('cart').length + held('web').length);
    assert.ok(rows.filter((row) => row.includes('FIN_WAIT2')).every((row) => row.startsWith(`shop        ${truths.get('cart')!.name} `)));
    assert.ok(rows.filter((row) => row.includes('FIN_WAIT2')).length <= closeWait);
  });

  test('-t -A --state close-wait -o wide: every CLOSE_WAIT of the cluster with NODE, WORKLOAD, NETNS and PEER', async () => {
    const result = await run(['-t', '-A', '--state', 'close-wait', '-o', 'wide']);
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.split('\n').slice(2).filter(Boolean);
    const expected = [...pods.keys()].flatMap((key) => held(key).filter((socket) => socket.state === 'CLOSE_WAIT').map((socket) => ({ key, socket })));
    assert.equal(rows.length, expected.length, result.stdout);
    for (const { key, socket } of expected) {
      const truth = truths.get(key)!;
      const workload = key === 'pay' ? 'StatefulSet/pay' : `Deployment/${key}`;
      const row = rows.find((line) => line.includes(` ${socket.inode} `));
      assert.ok(row, `inode ${socket.inode} missing:\n${result.stdout}`);
      assert.deepEqual(row.split(/\s+/).slice(0, 7), [truth.namespace, truth.name, truth.containers[0]!.name, NODE, workload, truth.netnsInode, 'local']);
      assert.match(row, /CLOSE_WAIT/);
    }
  });

  test('-o json and -o yaml: the SocketList items are the sockets made, named by pod', async () => {
    const json = await run(['-n', 'payments', '-tan', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as SocketList;
    assert.equal(list.kind, 'SocketList');
    assert.deepEqual(list.unavailableNodes, []);
    const truth = truths.get('pay')!;
    const expected = held('pay').map((socket) => ({ inode: socket.inode, state: socket.state, localPort: socket.localPort, pod: truth.name, namespace: 'payments', container: 'pay', node: NODE })).sort((a, b) => a.inode!.localeCompare(b.inode!));
    // The accepted peers of the close-wait clients are orphans (inode 0) in FIN_WAIT2: also pay's, by namespace.
    const actual = list.items.filter((item) => item.inode !== '0').map((item) => ({ inode: item.inode, state: item.state, localPort: item.localPort, pod: item.pod, namespace: item.namespace, container: item.container, node: item.node })).sort((a, b) => a.inode.localeCompare(b.inode));
    assert.deepEqual(actual, expected);
    const yaml = await run(['-n', 'payments', '-tan', '-o', 'yaml']);
    assert.equal(yaml.code, 0, yaml.stderr);
    // The same list, but for the timers' seconds: each answer counts them down to its own instant.
    const timersAsRead = (list: SocketList): SocketList => ({ ...list, items: list.items.map((item) => ({ ...item, timer: item.timer && { ...item.timer, seconds: 0 } })) });
    assert.deepEqual(timersAsRead(parseYaml(yaml.stdout) as SocketList), timersAsRead(list));
  });

  test('summary and top count what was made', async () => {
    const summary = await run(['summary', '-A', '--by', 'pod', '-o', 'json']);
    assert.equal(summary.code, 0, summary.stderr);
    const rows = (JSON.parse(summary.stdout) as { items: { pod: string | null; states: Record<string, number> }[] }).items;
    for (const key of pods.keys()) {
      const closeWait = held(key).filter((socket) => socket.state === 'CLOSE_WAIT').length;
      const row = rows.find((candidate) => candidate.pod === truths.get(key)!.name);
      assert.equal(row?.states['CLOSE-WAIT'] ?? 0, closeWait, `${key}: ${JSON.stringify(row)}`);
    }
    const top = await run(['top', '-A', '--by', 'close-wait']);
    assert.equal(top.code, 0, top.stderr);
    const lines = top.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^NAMESPACE\s+POD\s+WORKLOAD\s+NODE\s+CLOSE-WAIT\s+RECV-Q\s+SEND-Q$/);
    assert.deepEqual(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 5)), [
      ['shop', truths.get('cart')!.name, 'Deployment/cart', NODE, '3'],
      ['payments', truths.get('pay')!.name, 'StatefulSet/pay', NODE, '1'],
    ]);
  });

  test('watch: the listing, then a socket made afterwards arrives as ADDED', async () => {
    const watch = startKubectl(['netstat', 'watch', '-n', 'payments', '--state', 'close-wait', '-o', 'json', '--output-watch-events'], { pluginDir: dir, kubeconfig, timeoutMs: 90_000 });
    try {
      const payInode = held('pay').find((socket) => socket.state === 'CLOSE_WAIT')!.inode!;
      await waitFor(() => watch.stdout().includes(`"inode": "${payInode}"`), { timeoutMs: 30_000, what: 'the initial listing', describe: watch.stdout });
      const late = await node!.createPod({ namespace: 'payments', name: 'late-0', containers: [{ name: 'late', sockets: [{ kind: 'close-wait', count: 1 }] }] });
      api!.store.upsert(late.toApiObject() as unknown as KubeObject);
      const lateInode = (await late.truth()).containers[0]!.sockets.find((socket) => socket.state === 'CLOSE_WAIT')!.inode!;
      let served = '';
      await waitFor(
        async () => {
          if (watch.stdout().includes(`"inode": "${lateInode}"`)) return true;
          served = JSON.stringify((await direct('-A', '-tan')).find((item) => item.inode === lateInode) ?? 'not served');
          return false;
        },
        { timeoutMs: 30_000, what: 'the new CLOSE_WAIT as an event', describe: () => `aggregator: ${served}\nwatch:\n${watch.stdout().slice(-2000)}` },
      );
      watch.interrupt();
      const result = await watch.done;
      const events = result.stdout.split(/\n(?=\{)/).filter((text) => text.trim()).map((text) => JSON.parse(text) as { type: string; object: SocketItem });
      assert.ok(events.some((event) => event.type === 'ADDED' && event.object.inode === payInode), 'the listing carries the existing CLOSE_WAIT');
      const event = events.find((candidate) => candidate.object.inode === lateInode);
      assert.equal(event?.type, 'ADDED');
      assert.equal(event?.object.pod, 'late-0');
      assert.equal(event?.object.state, 'CLOSE_WAIT');
    } finally {
      watch.interrupt();
      await watch.done;
    }
  });

  test('completion through kubectl: namespaces and pods come from the API', async () => {
    const namespaces = await kubectl(['__complete', 'netstat', '-n', ''], { pluginDir: dir, kubeconfig });
    assert.equal(namespaces.code, 0, namespaces.stderr);
    for (const name of ['shop', 'payments', 'kube-netstat']) assert.match(namespaces.stdout, new RegExp(`^${name}$`, 'm'));
    const podNames = await kubectl(['__complete', 'netstat', '-n', 'payments', '--pod', ''], { pluginDir: dir, kubeconfig });
    assert.match(podNames.stdout, new RegExp(`^${truths.get('pay')!.name}$`, 'm'));
  });
});
