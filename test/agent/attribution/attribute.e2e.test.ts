/**
 * Pod attribution end to end: simulated pods (real network namespaces, kubelet-style cgroups
 * in every hierarchy, real processes holding real sockets) served by the test API server, and
 * `kube-netstat local -tanp -A -o json` must name every socket exactly as the harness made it.
 * Needs root and the cgroup mounts; everything is removed in after(), even on failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SocketItem, SocketList } from '../../../model/json/socket-list.js';
import { SimulatedNode, cgroupSkipReason, type PodTruth, type SimulatedPod } from '../../support/harness/index.js';
import { netnsSkipReason } from '../../support/netns.js';
import { runCli } from '../../support/run-cli.js';
import { TestApiServer, type KubeObject } from '../../support/k8s/index.js';
import { requirement } from '../../support/requirements.js';

const skip = requirement(netnsSkipReason(['ip', 'nsenter']), cgroupSkipReason());
const NODE = 'node-a';

/** What the cgroup leaf says about the runtime: prefixed leaves name it, bare 64-hex ones do not. */
function expectedRuntime(truth: PodTruth): string | null {
  if (truth.runtime === 'crio') return 'cri-o';
  return truth.cgroupDriver === 'systemd' ? truth.runtime : null;
}

describe('attribution of simulated pods', { skip }, () => {
  let node: SimulatedNode | undefined;
  let server: TestApiServer | undefined;
  let dir = '';
  let kubeconfig = '';
  const pods = new Map<string, SimulatedPod>();
  const truths = new Map<string, PodTruth>();
  let items: SocketItem[] = [];

  const local = (...args: string[]) => runCli(['local', '--kubeconfig', kubeconfig, '--node', NODE, ...args]);

  before(async () => {
    node = await SimulatedNode.create({ name: NODE });
    server = await TestApiServer.start();
    dir = mkdtempSync(join(tmpdir(), 'kns-attr-'));
    kubeconfig = join(dir, 'kubeconfig');
    server.writeKubeconfig(kubeconfig);

    const specs: Array<[string, Parameters<SimulatedNode['createPod']>[0]]> = [
      ['web', { namespace: 'shop', owner: { kind: 'Deployment', name: 'web' }, runtime: 'containerd', cgroupDriver: 'systemd', qos: 'burstable', containers: [
        { name: 'server', sockets: [{ kind: 'listen', port: 8080, label: 'http' }] },
        { name: 'client', sockets: [{ kind: 'connect', port: { label: 'http' }, count: 2 }, { kind: 'udp', port: 5353 }] },
      ] }],
      ['db', { namespace: 'shop', owner: { kind: 'StatefulSet', name: 'db' }, runtime: 'crio', cgroupDriver: 'cgroupfs', qos: 'besteffort', conmon: true, containers: [
        { name: 'postgres', sockets: [{ kind: 'listen', port: 5432, label: 'pg', onPeerClose: 'keep' }, { kind: 'close-wait' }] },
      ] }],
      ['agent', { namespace: 'kube-system', owner: { kind: 'DaemonSet', name: 'agent' }, runtime: 'docker', cgroupDriver: 'systemd', qos: 'guaranteed', containers: [
        { name: 'agent', sockets: [{ kind: 'listen', port: 9100, address: '::' }] },
      ] }],
      ['hostnet', { namespace: 'kube-system', owner: { kind: 'DaemonSet', name: 'proxy' }, hostNetwork: true, runtime: 'containerd', cgroupDriver: 'cgroupfs', containers: [
        { name: 'proxy', sockets: [{ kind: 'listen', port: 0, address: '127.0.0.1' }] },
      ] }],
      ['static', { namespace: 'kube-system', name: 'etcd-node-a', static: true, containers: [{ name: 'etcd', sockets: [{ kind: 'listen', port: 2379 }] }] }],
      ['batch', { namespace: 'jobs', owner: { kind: 'CronJob', name: 'report' }, runtime: 'containerd', cgroupDriver: 'cgroupfs', containers: [
        { name: 'server', sockets: [{ kind: 'listen', port: 7000, label: 'svc' }] },
        { name: 'worker', sockets: [{ kind: 'time-wait', port: { label: 'svc' }, count: 2 }] },
      ] }],
    ];
    for (const [key, spec] of specs) {
      const simulated = await node.createPod(spec);
      pods.set(key, simulated);
      server.store.upsert(simulated.toApiObject() as unknown as KubeObject);
    }
    // The worker leaves only TIME_WAIT entries behind: no live process holds them.
    await pods.get('batch')!.stopContainer('worker');
    for (const [key, simulated] of pods) truths.set(key, await simulated.truth());

    const result = await local('-tuanp', '-A', '-o', 'json');
    assert.equal(result.code, 0, result.stderr);
    items = (JSON.parse(result.stdout) as SocketList).items;
  });

  after(async () => {
    await node?.cleanup();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const byInode = (inode: string): SocketItem | undefined => items.find((item) => item.inode === inode);

  test('every held socket: namespace, pod, UID, container, ID, runtime, workload, netns, as created', () => {
    const wrong: string[] = [];
    for (const [key, truth] of truths) {
      const apiPod = pods.get(key)!.toApiObject();
      for (const container of truth.containers) {
        for (const socket of container.sockets) {
          const item = byInode(socket.inode!);
          const expected = {
            namespace: truth.namespace, pod: truth.name, podUID: truth.apiUid, container: container.name, containerID: container.id,
            runtime: expectedRuntime(truth), workload: workloadOf(apiPod), hostNetwork: truth.hostNetwork, netns: truth.netnsInode, attributedBy: 'process',
          };
          const actual = item && { namespace: item.namespace, pod: item.pod, podUID: item.podUID, container: item.container, containerID: item.containerID, runtime: item.runtime, workload: item.workload, hostNetwork: item.hostNetwork, netns: item.netns, attributedBy: item.attributedBy };
          if (JSON.stringify(actual) !== JSON.stringify(expected)) wrong.push(`${key}/${container.name} inode ${socket.inode}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('every socket in a pod\'s own namespace is that pod\'s, with or without a process', () => {
    for (const truth of truths.values()) {
      if (truth.hostNetwork) continue;
      const inNamespace = items.filter((item) => item.netns === truth.netnsInode);
      assert.ok(inNamespace.length > 0, `${truth.name} has sockets`);
      assert.deepEqual([...new Set(inNamespace.map((item) => `${item.namespace}/${item.pod}`))], [`${truth.namespace}/${truth.name}`]);
    }
  });

  test('TIME_WAIT left by a stopped container stays attributed to its pod through the namespace', () => {
    const truth = truths.get('batch')!;
    const worker = truth.containers.find((c) => c.name === 'worker')!;
    assert.equal(worker.running, false);
    assert.ok(worker.timeWait.length >= 2);
    for (const entry of worker.timeWait) {
      const item = items.find((i) => i.netns === truth.netnsInode && i.state === 'TIME_WAIT' && i.localPort === entry.localPort && i.foreignPort === entry.foreignPort);
      assert.ok(item, `TIME_WAIT ${entry.localPort}→${entry.foreignPort} listed`);
      assert.deepEqual([item.namespace, item.pod, item.inode, item.processes, item.attributedBy], ['jobs', truth.name, '0', [], 'namespace']);
    }
  });

  test('orphans and CLOSE_WAIT of a CRI-O pod with conmon: the pod, never conmon\'s host namespace', () => {
    const truth = truths.get('db')!;
    const states = new Set(items.filter((item) => item.netns === truth.netnsInode).map((item) => item.state));
    assert.ok(states.has('CLOSE_WAIT') && states.has('FIN_WAIT2'), [...states].join(','));
    assert.ok(truth.conmons.length > 0);
  });

  test('a hostNetwork pod\'s socket sits in the host namespace and is named by its process\'s cgroup', () => {
    const truth = truths.get('hostnet')!;
    const [listener] = truth.containers[0]!.sockets;
    const item = byInode(listener!.inode!);
    assert.deepEqual([item?.hostNetwork, item?.pod, item?.attributedBy], [true, truth.name, 'process']);
  });

  test('a static pod is matched through its mirror pod\'s config hash', () => {
    const truth = truths.get('static')!;
    assert.notEqual(truth.uid, truth.apiUid);
    const item = byInode(truth.containers[0]!.sockets[0]!.inode!);
    assert.deepEqual([item?.pod, item?.podUID, item?.container], ['etcd-node-a', truth.apiUid, 'etcd']);
  });

  test('the table names the same pods: -n and -l narrow it as kubectl would', async () => {
    const { stdout } = await local('-tln', '-n', 'shop', '-l', 'app=web');
    const rows = stdout.split('\n').filter((line) => line.startsWith('shop '));
    assert.ok(rows.length > 0);
    assert.ok(rows.every((row) => /^shop +web-\S+ +server +tcp/.test(row)), rows.join('\n'));
  });

  test('a pod deleted from the API while listing keeps its name for the grace period', async () => {
    const truth = truths.get('web')!;
    const controller = new AbortController();
    const listings: SocketItem[][] = [];
    let deleted = false;
    const run = runCli(['local', '--kubeconfig', kubeconfig, '--node', NODE, '-tln', '-o', 'json', '-c', '0.2'], {
      signal: controller.signal,
      onStdout: (text) => {
        listings.push((JSON.parse(text) as SocketList).items);
        if (listings.length === 1) {
          server!.store.delete({ kind: 'Pod', namespace: truth.namespace, name: truth.name });
          deleted = true;
        }
        if (listings.length === 6) controller.abort();
      },
    });
    const timeout = setTimeout(() => controller.abort(), 20_000);
    await run;
    clearTimeout(timeout);
    assert.ok(deleted && listings.length === 6, `${listings.length} listings`);
    for (const listing of listings) {
      const item = listing.find((i) => i.netns === truth.netnsInode && i.localPort === 8080);
      assert.equal(item?.pod, truth.name);
    }
  });
});

function workloadOf(apiPod: ReturnType<SimulatedPod['toApiObject']>): { kind: string; name: string } | null {
  const owner = apiPod.metadata.ownerReferences?.[0];
  if (!owner) return null;
  if (owner.kind === 'ReplicaSet') return { kind: 'Deployment', name: owner.name.replace(/-[^-]+$/, '') };
  if (owner.kind === 'Job' && /-\d{8,}$/.test(owner.name)) return { kind: 'CronJob', name: owner.name.replace(/-\d+$/, '') };
  if (owner.kind === 'Node') return { kind: 'Node', name: owner.name };
  return { kind: owner.kind, name: owner.name };
}
