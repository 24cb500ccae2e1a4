/**
 * Proves the simulated-pod harness (test/support/harness/) on the real kernel: every process sits in
 * exactly the cgroups kubelet and its runtime would give it — checked against whole
 * `/proc/<pid>/cgroup` texts built here, by hand, from reference §6.2–6.4 — in the right
 * network namespace, holding the sockets the harness says it holds; TIME_WAIT entries outlive
 * their container; and cleanup, including the sweep after a SIGKILLed run, leaves nothing.
 *
 * Needs root, cgroup hierarchies mounted (v1 and/or v2), `ip`, `nsenter`, `ss` and python3.
 * All traffic stays on loopback; everything is removed in after() (and by the exit hook).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SimulatedNode, cgroupSkipReason } from './index.js';
import type { CgroupDriver, PodTruth, QosClass, Runtime, SocketTruth } from './index.js';
import { netnsSkipReason, run, runInNetnsOf } from '../netns.js';
import { parseSs } from '../oracles.js';
import type { OracleRecord } from '../oracles.js';
import { requirement } from '../requirements.js';
import { REPO } from '../checkout.js';

const HARNESS = pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href;
const SS_ARGS = ['ss', '-tuanpe'];
const GONE_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Expectations written from the reference, independently of test/support/harness/cgroup-paths.ts

/** §6.2: kubelet's pod cgroup, below a prefix that plays a nested node's own cgroup (§6.5). */
function expectedPodPath(prefix: string, driver: CgroupDriver, qos: QosClass, uid: string): string {
  if (driver === 'cgroupfs') return `/${prefix}/kubepods${qos === 'guaranteed' ? '' : `/${qos}`}/pod${uid}`;
  const escaped = uid.replaceAll('-', '_');
  return qos === 'guaranteed'
    ? `/${prefix}/kubepods.slice/kubepods-pod${escaped}.slice`
    : `/${prefix}/kubepods.slice/kubepods-${qos}.slice/kubepods-${qos}-pod${escaped}.slice`;
}

/** §6.3: the leaf a runtime gives a container or sandbox. */
const LEAF: Record<CgroupDriver, Record<Runtime, (id: string) => string>> = {
  cgroupfs: { containerd: (id) => id, crio: (id) => `crio-${id}`, docker: (id) => id },
  systemd: { containerd: (id) => `cri-containerd-${id}.scope`, crio: (id) => `crio-${id}.scope`, docker: (id) => `docker-${id}.scope` },
};

const STATUS_SCHEME: Record<Runtime, string> = { containerd: 'containerd://', crio: 'cri-o://', docker: 'docker://' };

/**
 * `/proc/<pid>/cgroup` of a process at `path` in every hierarchy: this process's own lines
 * (`9:name=systemd:`, …, `0::`, kernel order) with the path replaced (format: samples/cgroup.proc-pid-cgroup.txt).
 */
function expectedCgroupFile(path: string): string {
  return readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `${line.split(':', 2).join(':')}:${path}\n`)
    .join('');
}

// ---------------------------------------------------------------------------------------------
// Observations

function cgroupOf(pid: number | null): string {
  assert.ok(pid !== null, 'process should be running');
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
}

function netnsLink(pid: number | null): string {
  assert.ok(pid !== null, 'process should be running');
  return readlinkSync(`/proc/${pid}/ns/net`);
}

function commOf(pid: number | null): string {
  assert.ok(pid !== null, 'process should be running');
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** Running: exists and is not a zombie (a reparented zombie may wait for its reaper). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** Mount points of every cgroup hierarchy, read here rather than from the harness. */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[2] === 'cgroup' || fields[2] === 'cgroup2')
    .map((fields) => fields[1]!);
}

function cgroupDirsExist(path: string): boolean[] {
  return cgroupMounts().map((mount) => existsSync(mount + path));
}

async function netnsNames(): Promise<string[]> {
  return (await run(['ip', 'netns', 'list'])).stdout.split('\n').map((line) => line.split(' ', 1)[0]!).filter((name) => name !== '');
}

async function ssIn(target: { pid: number } | { path: string }): Promise<OracleRecord[]> {
  const result = 'pid' in target
    ? await runInNetnsOf(target.pid, SS_ARGS)
    : await run(['nsenter', `--net=${target.path}`, ...SS_ARGS]);
  return parseSs(result.stdout);
}

const SS_STATE: Record<string, string> = {
  LISTEN: 'LISTEN',
  ESTABLISHED: 'ESTAB',
  CLOSE_WAIT: 'CLOSE-WAIT',
  TIME_WAIT: 'TIME-WAIT',
  UNCONN: 'UNCONN',
};

/** What ss should print for a socket the truth lists, and what it did. */
function ssView(row: OracleRecord): object {
  return {
    proto: row.proto,
    state: row.state,
    local: `${row.localAddress}:${row.localPort}`,
    foreignPort: row.foreignPort,
    inode: row.inode,
    users: row.users.map((user) => `${user.name}/${user.pid}`),
    cgroup: /(?:^|\s)cgroup:(\S+)/.exec(row.line)?.[1] ?? null,
  };
}

function expectedSsView(socket: SocketTruth, holder: { comm: string; pid: number | null; cgroupPath: string } | null): object {
  return {
    proto: socket.proto,
    state: SS_STATE[socket.state],
    local: `${socket.localAddress}:${socket.localPort}`,
    foreignPort: socket.foreignPort,
    inode: socket.inode,
    users: holder ? [`${holder.comm}/${holder.pid}`] : [],
    // The v2 cgroup the socket was created in (INET_DIAG_CGROUP_ID); TIME_WAIT entries have none.
    cgroup: holder ? holder.cgroupPath : null,
  };
}

function rowByInode(rows: readonly OracleRecord[], inode: string | null): OracleRecord | undefined {
  return rows.find((row) => row.inode === inode);
}

function rowByTuple(rows: readonly OracleRecord[], socket: SocketTruth): OracleRecord | undefined {
  return rows.find(
    (row) =>
      row.proto === socket.proto &&
      row.localAddress === socket.localAddress &&
      row.localPort === socket.localPort &&
      row.foreignAddress === socket.foreignAddress &&
      row.foreignPort === socket.foreignPort,
  );
}

// ---------------------------------------------------------------------------------------------

const skip = requirement(cgroupSkipReason(), netnsSkipReason(['ip', 'nsenter', 'ss', 'python3']));
// A skipped describe() counts no test on Node 20; this one shows up as skipped in the summary.
if (skip) test('simulated-pod harness', { skip }, () => {});

describe('simulated-pod harness', { skip }, () => {
  let node: SimulatedNode | undefined;
  let hostNetns = '';

  before(async () => {
    node = await SimulatedNode.create({ name: 'harness-node' });
    hostNetns = readlinkSync('/proc/self/ns/net');
  });

  after(async () => {
    await node?.cleanup();
  });

  describe('every process sits in kubelet\'s cgroups, in the pod\'s netns', () => {
    for (const cgroupDriver of ['cgroupfs', 'systemd'] as const) {
      for (const runtime of ['containerd', 'crio', 'docker'] as const) {
        for (const qos of ['guaranteed', 'burstable', 'besteffort'] as const) {
          test(`${cgroupDriver} driver, ${runtime}, ${qos}`, async () => {
            const pod = await node!.createPod({
              namespace: 'matrix',
              name: `${cgroupDriver}-${runtime}-${qos}`,
              cgroupDriver,
              runtime,
              qos,
              containers: [{ name: 'app', sockets: [{ kind: 'listen', port: 8080 }] }],
            });
            const truth = await pod.truth();
            const podPath = expectedPodPath(node!.layout.prefix, cgroupDriver, qos, truth.uid);
            const [app] = truth.containers;

            assert.equal(truth.podCgroupPath, podPath);
            assert.equal(cgroupOf(truth.sandbox.pid), expectedCgroupFile(`${podPath}/${LEAF[cgroupDriver][runtime](truth.sandbox.id)}`));
            assert.equal(cgroupOf(app!.pid), expectedCgroupFile(`${podPath}/${LEAF[cgroupDriver][runtime](app!.id)}`));
            assert.match(app!.id, /^[0-9a-f]{64}$/);
            assert.match(truth.sandbox.id, /^[0-9a-f]{64}$/);
            assert.equal(app!.statusId, `${STATUS_SCHEME[runtime]}${app!.id}`);
            assert.equal(commOf(truth.sandbox.pid), 'pause');
            assert.equal(commOf(app!.pid), 'app');

            assert.equal(netnsLink(truth.sandbox.pid), `net:[${truth.netnsInode}]`);
            assert.equal(netnsLink(app!.pid), `net:[${truth.netnsInode}]`);
            assert.notEqual(netnsLink(app!.pid), hostNetns);

            await pod.delete();
            assert.deepEqual(cgroupDirsExist(podPath), cgroupMounts().map(() => false));
            assert.equal((await netnsNames()).includes(truth.netnsName!), false);
          });
        }
      }
    }

    test('a static pod: 32-hex config hash in the cgroup path, mirror pod with its own uid', async () => {
      const pod = await node!.createPod({
        static: true,
        namespace: 'kube-system',
        name: 'etcd-harness-node',
        qos: 'burstable',
        containers: [{ name: 'etcd', sockets: [{ kind: 'listen', port: 2379, address: '127.0.0.1' }] }],
      });
      const truth = await pod.truth();
      assert.match(truth.uid, /^[0-9a-f]{32}$/);
      const podPath = `/${node!.layout.prefix}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${truth.uid}.slice`;
      assert.equal(cgroupOf(truth.containers[0]!.pid), expectedCgroupFile(`${podPath}/cri-containerd-${truth.containers[0]!.id}.scope`));

      const mirror = pod.toApiObject();
      assert.equal(mirror.metadata.uid, truth.apiUid);
      assert.notEqual(mirror.metadata.uid, truth.uid);
      assert.match(mirror.metadata.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(mirror.metadata.annotations?.['kubernetes.io/config.mirror'], truth.uid);
      assert.equal(mirror.metadata.annotations?.['kubernetes.io/config.hash'], truth.uid);
      assert.deepEqual(mirror.metadata.ownerReferences?.map((ref) => `${ref.kind}/${ref.name}`), ['Node/harness-node']);
      await pod.delete();
    });

    test('a hostNetwork pod: pause and containers stay in the host netns, still in pod cgroups', async () => {
      const pod = await node!.createPod({
        namespace: 'kube-system',
        owner: { kind: 'DaemonSet', name: 'node-exporter' },
        hostNetwork: true,
        cgroupDriver: 'cgroupfs',
        qos: 'besteffort',
        containers: [{ name: 'exporter', sockets: [{ kind: 'listen', port: 0, address: '127.0.0.1' }] }],
      });
      const truth = await pod.truth();
      const [exporter] = truth.containers;
      assert.equal(truth.netnsName, null);
      assert.equal(`net:[${truth.netnsInode}]`, hostNetns);
      assert.equal(netnsLink(truth.sandbox.pid), hostNetns);
      assert.equal(netnsLink(exporter!.pid), hostNetns);
      const podPath = `/${node!.layout.prefix}/kubepods/besteffort/pod${truth.uid}`;
      assert.equal(cgroupOf(exporter!.pid), expectedCgroupFile(`${podPath}/${exporter!.id}`));

      const [listener] = exporter!.sockets;
      const { stdout } = await run([...SS_ARGS, `sport = :${listener!.localPort}`]);
      assert.deepEqual(ssView(rowByInode(parseSs(stdout), listener!.inode)!), expectedSsView(listener!, exporter!));
      const api = pod.toApiObject();
      assert.equal(api.spec.hostNetwork, true);
      assert.equal(api.status.podIP, api.status.hostIP);
      await pod.delete();
    });

    test('a CRI-O pod with conmon: monitors in crio-conmon-<id> of the pod cgroup, in the host netns', async () => {
      const pod = await node!.createPod({
        namespace: 'crio',
        name: 'with-conmon',
        runtime: 'crio',
        conmon: true,
        cgroupDriver: 'systemd',
        qos: 'guaranteed',
        containers: [{ name: 'app' }],
      });
      const truth = await pod.truth();
      const podPath = `/${node!.layout.prefix}/kubepods.slice/kubepods-pod${truth.uid.replaceAll('-', '_')}.slice`;
      assert.deepEqual(truth.conmons.map((conmon) => conmon.containerId), [truth.sandbox.id, truth.containers[0]!.id]);
      for (const conmon of truth.conmons) {
        assert.equal(cgroupOf(conmon.pid), expectedCgroupFile(`${podPath}/crio-conmon-${conmon.containerId}.scope`));
        assert.equal(netnsLink(conmon.pid), hostNetns);
        assert.equal(commOf(conmon.pid), 'conmon');
      }
      assert.equal(cgroupOf(truth.sandbox.pid), expectedCgroupFile(`${podPath}/crio-${truth.sandbox.id}.scope`));
      assert.notEqual(netnsLink(truth.sandbox.pid), hostNetns);
      await pod.delete();
    });

    test('kubelet --cgroup-root=/<prefix> (kind style): the root folds into every systemd slice name', async () => {
      const kindLike = await SimulatedNode.create({ kubeletCgroupRoot: true });
      try {
        const prefix = kindLike.layout.prefix;
        const slice = prefix.replaceAll('-', '_');
        for (const cgroupDriver of ['systemd', 'cgroupfs'] as const) {
          const pod = await kindLike.createPod({ name: `kind-${cgroupDriver}`, cgroupDriver, qos: 'besteffort', containers: [{ name: 'app' }] });
          const truth = await pod.truth();
          const { id, pid } = truth.containers[0]!;
          const escaped = truth.uid.replaceAll('-', '_');
          assert.equal(
            cgroupOf(pid),
            expectedCgroupFile(
              cgroupDriver === 'systemd'
                ? `/${slice}.slice/${slice}-kubepods.slice/${slice}-kubepods-besteffort.slice/${slice}-kubepods-besteffort-pod${escaped}.slice/cri-containerd-${id}.scope`
                : `/${prefix}/kubepods/besteffort/pod${truth.uid}/${id}`,
            ),
          );
        }
      } finally {
        await kindLike.cleanup();
      }
    });
  });

  describe('sockets', () => {
    let truth: PodTruth;
    let rows: OracleRecord[] = [];

    before(async () => {
      const pod = await node!.createPod({
        namespace: 'shop',
        owner: { kind: 'Deployment', name: 'web' },
        containers: [
          { name: 'server', comm: 'nginx', sockets: [{ kind: 'listen', port: 8080, label: 'http' }, { kind: 'udp', port: 5353 }, { kind: 'listen', port: 8443, address: '::1' }] },
          {
            name: 'client',
            sockets: [
              { kind: 'connect', port: { label: 'http' }, count: 3 },
              { kind: 'time-wait', port: { label: 'http' } },
              { kind: 'close-wait', count: 2 },
              { kind: 'time-wait' },
            ],
          },
        ],
      });
      truth = await pod.truth();
      // The peers' close sequences (LAST_ACK, FIN_WAIT1 → FIN_WAIT2) finish a moment after the
      // held sockets reached their states: read until no transient state is left, bounded.
      const transient = new Set(['LAST-ACK', 'FIN-WAIT-1', 'SYN-SENT', 'SYN-RECV']);
      await waitUntil('the close sequences settled', async () => {
        rows = await ssIn({ pid: truth.sandbox.pid! });
        return rows.every((row) => !transient.has(row.state));
      });
    });

    test('the harness reports what each container asked for', () => {
      const [server, client] = truth.containers;
      const summary = (sockets: readonly SocketTruth[]): string[] => sockets.map((socket) => `${socket.proto} ${socket.role} ${socket.state}`).sort();
      assert.deepEqual(summary(server!.sockets), [
        'tcp accepted ESTABLISHED',
        'tcp accepted ESTABLISHED',
        'tcp accepted ESTABLISHED',
        'tcp listener LISTEN',
        'tcp6 listener LISTEN',
        'udp udp UNCONN',
      ]);
      assert.deepEqual(summary(client!.sockets), [
        'tcp client CLOSE_WAIT',
        'tcp client CLOSE_WAIT',
        'tcp client ESTABLISHED',
        'tcp client ESTABLISHED',
        'tcp client ESTABLISHED',
      ]);
      assert.deepEqual(client!.timeWait.map((socket) => `${socket.state} ->${socket.foreignPort === 8080 ? 8080 : 'private'}`), ['TIME_WAIT ->8080', 'TIME_WAIT ->private']);
    });

    test('ss in the pod netns shows every held socket with its holder, created in the container\'s cgroup', () => {
      for (const container of truth.containers) {
        for (const socket of container.sockets) {
          const row = rowByInode(rows, socket.inode);
          assert.ok(row, `no ss row for ${JSON.stringify(socket)}`);
          assert.deepEqual(ssView(row), expectedSsView(socket, container));
        }
      }
    });

    test('ss shows the TIME_WAIT entries, with no inode and no process', () => {
      for (const socket of truth.containers[1]!.timeWait) {
        const row = rowByTuple(rows, socket);
        assert.ok(row, `no ss row for ${JSON.stringify(socket)}`);
        assert.deepEqual(ssView(row), expectedSsView({ ...socket, inode: '0' }, null));
      }
    });

    test('the pod netns holds nothing else but the close-wait peers (orphaned FIN_WAIT2)', () => {
      const known = new Set(truth.containers.flatMap((container) => container.sockets.map((socket) => socket.inode)));
      const unknown = rows.filter((row) => !known.has(row.inode) && row.state !== 'TIME-WAIT');
      assert.deepEqual(unknown.map((row) => `${row.state} ${row.inode}`), ['FIN-WAIT-2 0', 'FIN-WAIT-2 0']);
    });
  });

  describe('container and pod lifecycle', () => {
    test('stopping a container: its process and cgroup go, its TIME_WAIT stays in the netns the pause process holds', async () => {
      const pod = await node!.createPod({
        name: 'tw-after-exit',
        containers: [
          { name: 'server', sockets: [{ kind: 'listen', port: 80, label: 'http', onPeerClose: 'keep' }] },
          { name: 'client', sockets: [{ kind: 'time-wait' }, { kind: 'connect', port: { label: 'http' } }] },
        ],
      });
      const before = await pod.truth();
      const client = before.containers[1]!;
      await pod.stopContainer('client');
      const after = await pod.truth();

      assert.equal(isRunning(client.pid!), false);
      assert.deepEqual(cgroupDirsExist(client.cgroupPath), cgroupMounts().map(() => false));
      assert.equal(after.containers[1]!.running, false);
      assert.equal(after.containers[1]!.pid, null);
      const clientStatus = pod.toApiObject().status.containerStatuses.find((status) => status.name === 'client');
      assert.ok(clientStatus && 'terminated' in clientStatus.state);

      const rows = await ssIn({ pid: after.sandbox.pid! });
      const [timeWait] = client.timeWait;
      assert.deepEqual(ssView(rowByTuple(rows, timeWait!)!), expectedSsView({ ...timeWait!, inode: '0' }, null));
      // The killed client's FIN leaves the server side (onPeerClose: keep) in CLOSE_WAIT: a leak.
      await waitUntil('the server socket is in CLOSE_WAIT', async () =>
        (await pod.truth()).containers[0]!.sockets.some((socket) => socket.role === 'accepted' && socket.state === 'CLOSE_WAIT'),
      );
      await pod.delete();
    });

    test('delete with keepNetnsMs: no process and no cgroup left, TIME_WAIT still in the netns until it goes', async () => {
      const pod = await node!.createPod({ name: 'deleted-tw', containers: [{ name: 'client', sockets: [{ kind: 'time-wait' }] }] });
      const truth = await pod.truth();
      const pids = [truth.sandbox.pid!, truth.containers[0]!.pid!];
      await pod.delete({ keepNetnsMs: 1_500 });

      assert.deepEqual(pids.map(isRunning), [false, false]);
      assert.deepEqual(cgroupDirsExist(truth.podCgroupPath), cgroupMounts().map(() => false));
      const rows = await ssIn({ path: pod.netnsPath! });
      assert.deepEqual(rows.map((row) => `${row.state} ${row.localPort}`), [`TIME-WAIT ${truth.containers[0]!.timeWait[0]!.localPort}`]);
      assert.equal(pod.toApiObject().metadata.deletionTimestamp !== undefined, true);

      await pod.gone;
      assert.equal((await netnsNames()).includes(truth.netnsName!), false);
    });

    test('delete with keepSandbox: the pause process keeps holding the netns with its TIME_WAIT', async () => {
      const pod = await node!.createPod({ name: 'deleted-sandbox', containers: [{ name: 'client', sockets: [{ kind: 'time-wait' }] }] });
      const truth = await pod.truth();
      await pod.delete({ keepNetnsMs: 1_500, keepSandbox: true });

      assert.equal(isRunning(truth.containers[0]!.pid!), false);
      assert.equal(cgroupOf(truth.sandbox.pid), expectedCgroupFile(truth.sandbox.cgroupPath));
      const rows = await ssIn({ pid: truth.sandbox.pid! });
      assert.deepEqual(rows.map((row) => row.state), ['TIME-WAIT']);

      await pod.gone;
      assert.equal(isRunning(truth.sandbox.pid!), false);
      assert.deepEqual(cgroupDirsExist(truth.podCgroupPath), cgroupMounts().map(() => false));
    });
  });

  test('API objects name owners the way controllers do and carry the runtime container IDs', async () => {
    const owners = [
      { kind: 'Deployment', name: 'web', podName: /^web-[a-z0-9]{9}-[a-z0-9]{5}$/, ownerRef: /^ReplicaSet\/web-[a-z0-9]{9}$/ },
      { kind: 'StatefulSet', name: 'db', podName: /^db-0$/, ownerRef: /^StatefulSet\/db$/ },
      { kind: 'DaemonSet', name: 'agent', podName: /^agent-[a-z0-9]{5}$/, ownerRef: /^DaemonSet\/agent$/ },
      { kind: 'Job', name: 'migrate', podName: /^migrate-[a-z0-9]{5}$/, ownerRef: /^Job\/migrate$/ },
    ] as const;
    for (const owner of owners) {
      const pod = await node!.createPod({ namespace: 'apps', owner, runtime: 'docker', containers: [{ name: 'main' }, { name: 'sidecar' }] });
      const truth = await pod.truth();
      const api = pod.toApiObject();
      assert.match(api.metadata.name, owner.podName);
      assert.equal(api.metadata.name, truth.name);
      assert.equal(api.metadata.uid, truth.uid);
      assert.deepEqual(api.metadata.ownerReferences?.map((ref) => `${ref.kind}/${ref.name}`).filter((ref) => owner.ownerRef.test(ref)).length, 1);
      assert.equal(api.spec.nodeName, 'harness-node');
      assert.match(api.status.podIP, /^10\.244\.1\.\d+$/);
      assert.deepEqual(
        api.status.containerStatuses.map((status) => [status.name, status.containerID]),
        truth.containers.map((container) => [container.name, `docker://${container.id}`]),
      );
      await pod.delete();
    }
  });

  test('cleanup leaves no process, cgroup directory or netns, and may be called twice', async () => {
    const scratch = await SimulatedNode.create();
    const pods = [
      await scratch.createPod({ name: 'crio', runtime: 'crio', conmon: true, cgroupDriver: 'cgroupfs', containers: [{ name: 'a', sockets: [{ kind: 'time-wait' }] }] }),
      await scratch.createPod({ name: 'host', hostNetwork: true, containers: [{ name: 'b' }] }),
      await scratch.createPod({ name: 'stopped', containers: [{ name: 'c' }, { name: 'd' }] }),
    ];
    const truths = await Promise.all(pods.map((pod) => pod.truth()));
    const pids = truths.flatMap((truth) => [truth.sandbox.pid, ...truth.conmons.map((c) => c.pid), ...truth.containers.map((c) => c.pid)]).filter((pid) => pid !== null);
    assert.equal(pids.length, 9);
    await pods[2]!.stopContainer('c');

    await scratch.cleanup();
    await scratch.cleanup();
    assert.deepEqual(pids.filter(isRunning), []);
    assert.deepEqual(cgroupMounts().filter((mount) => readdirSync(mount).some((name) => name.includes(scratch.layout.prefix))), []);
    const names = await netnsNames();
    assert.deepEqual(truths.map((truth) => truth.netnsName).filter((name) => name !== null && names.includes(name)), []);
  });

  test('what a SIGKILLed run left is swept by the next one', async () => {
    const script = `
      import { SimulatedNode } from ${JSON.stringify(HARNESS)};
      const node = await SimulatedNode.create();
      const pod = await node.createPod({ name: 'orphan', runtime: 'crio', conmon: true, containers: [{ name: 'app', sockets: [{ kind: 'listen', port: 80 }] }] });
      const truth = await pod.truth();
      const pids = [truth.sandbox.pid, ...truth.conmons.map((c) => c.pid), ...truth.containers.map((c) => c.pid)];
      console.log('READY ' + JSON.stringify({ prefix: node.layout.prefix, netns: truth.netnsName, pids }));
      setInterval(() => {}, 60_000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      let output = '';
      const left = await new Promise<{ prefix: string; netns: string; pids: number[] }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no READY line from the doomed run: ${output}`)), 30_000);
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
        });
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const line = /^READY (.*)$/m.exec(output);
          if (!line) return;
          clearTimeout(timer);
          resolve(JSON.parse(line[1]!) as { prefix: string; netns: string; pids: number[] });
        });
      });
      child.kill('SIGKILL');
      await exited;

      // PR_SET_PDEATHSIG takes the pod processes down with their harness; directories and netns stay.
      await waitUntil('the orphaned pod processes died', () => left.pids.every((pid) => !isRunning(pid)));
      assert.ok(cgroupMounts().every((mount) => existsSync(`${mount}/${left.prefix}`)));
      assert.ok((await netnsNames()).includes(left.netns));

      const next = await SimulatedNode.create(); // sweeps stale cgroup trees
      try {
        await next.createPod({ name: 'next', containers: [{ name: 'app' }] }); // its TestNetns sweeps stale namespaces
      } finally {
        await next.cleanup();
      }
      assert.deepEqual(cgroupMounts().filter((mount) => existsSync(`${mount}/${left.prefix}`)), []);
      assert.equal((await netnsNames()).includes(left.netns), false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
