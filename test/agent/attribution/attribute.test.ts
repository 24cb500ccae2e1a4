import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { attributeScan } from '../../../agent/attribution/attribute.js';
import type { CgroupIdentity } from '../../../agent/attribution/cgroup.js';
import type { PodMeta, PodResolver, SocketAttribution } from '../../../model/pod.js';
import type { SocketProto, SocketRecord } from '../../../model/socket.js';
import { LocalHostFs } from '../../../agent/procfs/hostfs.js';
import { IncrementalScanner } from '../../../agent/scan/incremental.js';
import type { HostSockets } from '../../../agent/scan/types.js';
import { demoProcRoot } from '../../support/samples.js';

/**
 * Attribution over the real demo capture (pids 30775 python3, 30777 its uid-65534 child,
 * 30778 sleep) with cgroup identities assigned per case.
 */
const fixture = demoProcRoot();
after(() => fixture.remove());
const scan = await new IncrementalScanner(new LocalHostFs(fixture.root), { protos: new Set<SocketProto>(['tcp', 'tcp6', 'udp', 'unix']), fullReadEvery: 1 }).scan();

const POD = 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607';
const MAIN = '1'.repeat(64);
const SIDECAR = '2'.repeat(64);
const SANDBOX = '3'.repeat(64);
const container = (containerId: string, pod = POD): CgroupIdentity => ({ path: `/kubepods/pod${pod}/${containerId}`, podUid: pod, qos: 'Guaranteed', driver: 'cgroupfs', containerId });

const meta: PodMeta = {
  uid: POD,
  namespace: 'shop',
  name: 'cart-0',
  labels: { app: 'cart' },
  workload: { kind: 'StatefulSet', name: 'cart' },
  hostNetwork: false,
  podIPs: [],
  containers: new Map([
    [MAIN, 'cart'],
    [SIDECAR, 'metrics'],
  ]),
};
const known: PodResolver = { byUid: (uid) => (uid === POD ? meta : undefined) };
const unknown: PodResolver = { byUid: () => undefined };

function find(result: ReturnType<typeof attributeScan>, predicate: (record: SocketRecord) => boolean): SocketAttribution {
  const [namespace] = result;
  const index = namespace!.namespace.sockets.findIndex(predicate);
  assert.ok(index >= 0, 'socket present');
  return namespace!.sockets[index]!;
}
const tcp = (local: number, foreign: number) => (r: SocketRecord) => r.proto === 'tcp' && r.localPort === local && r.foreignPort === foreign;

describe('a pod namespace', () => {
  const identities = new Map([
    [30775, container(MAIN)],
    [30777, container(SIDECAR)],
    [30778, container(SANDBOX)],
  ]);
  const result = attributeScan(scan, identities, known);

  test('the namespace belongs to the pod its processes are in', () => assert.equal(result[0]?.podUid, POD));

  test('a held socket: pod and container from the holder\'s cgroup, names from the API', () => {
    assert.deepEqual(find(result, tcp(9090, 0)), { podUid: POD, pod: meta, containerId: SIDECAR, containerName: 'metrics', runtime: null, hostNetwork: false, source: 'process' });
  });

  test('a socket shared by two containers goes to the lowest pid\'s', () => {
    assert.equal(find(result, tcp(8080, 0)).containerId, MAIN);
  });

  test('TIME_WAIT (no inode): the pod by namespace, the container by the listener it belonged to', () => {
    assert.deepEqual(find(result, tcp(8080, 50378)), { podUid: POD, pod: meta, containerId: MAIN, containerName: 'cart', runtime: null, hostNetwork: false, source: 'namespace' });
  });

  test('a client-side TIME_WAIT on an ephemeral port: the pod, no container', () => {
    assert.deepEqual(find(result, tcp(50380, 8080)), { podUid: POD, pod: meta, containerId: null, containerName: null, runtime: null, hostNetwork: false, source: 'namespace' });
  });

  test('a request socket and an accept-queue child belong to the listener\'s container', () => {
    assert.equal(find(result, tcp(8082, 40200)).containerId, MAIN);
    assert.equal(find(result, tcp(8081, 54966)).containerId, MAIN);
  });

  test('a process of the pod in none of its containers is its sandbox (POD) once every container has started; until then, unnamed', () => {
    const sandboxHolds = new Map([
      [30775, container(MAIN)],
      [30777, container(SANDBOX)],
    ]);
    const started: PodMeta = { ...meta, allContainersStarted: true };
    const [named] = attributeScan(scan, sandboxHolds, { byUid: (uid) => (uid === POD ? started : undefined) });
    assert.equal(named!.sockets[named!.namespace.sockets.findIndex(tcp(9090, 0))]!.containerName, 'POD');
    assert.equal(find(attributeScan(scan, sandboxHolds, known), tcp(9090, 0)).containerName, null);
  });

  test('without API access the UID and container ID are still there, names are not', () => {
    const [namespace] = attributeScan(scan, identities, unknown);
    assert.deepEqual(namespace?.sockets[0], { podUid: POD, containerId: SIDECAR, containerName: null, runtime: null, hostNetwork: false, source: 'process' });
  });

  test('a namespace whose processes are in no pod (a plain container or a test) has no pod', () => {
    const [namespace] = attributeScan(scan, new Map(), known);
    assert.equal(namespace?.podUid, undefined);
    assert.ok(namespace?.sockets.every((s) => s.podUid === null));
  });
});

describe('the host namespace, shared by hostNetwork pods and host daemons', () => {
  const hostScan: HostSockets = { ...scan, namespaces: scan.namespaces.map((ns) => ({ ...ns, isHost: true })) };
  const hostDaemon: CgroupIdentity = { path: '/system.slice/sshd.service' };
  const identities = new Map<number, CgroupIdentity>([
    [30775, container(MAIN)],
    [30777, hostDaemon],
    [30778, container(MAIN)],
  ]);
  const result = attributeScan(hostScan, identities, known);

  test('the host namespace is no pod\'s', () => assert.equal(result[0]?.podUid, undefined));

  test('a hostNetwork pod\'s socket is attributed by its process\'s cgroup', () => {
    assert.deepEqual(find(result, tcp(8080, 0)), { podUid: POD, pod: meta, containerId: MAIN, containerName: 'cart', runtime: null, hostNetwork: true, source: 'process' });
  });

  test('a host daemon\'s socket is the host\'s', () => {
    assert.deepEqual(find(result, tcp(9090, 0)), { podUid: null, containerId: null, containerName: null, runtime: null, hostNetwork: true, source: 'process' });
  });

  test('a server-side TIME_WAIT is matched to the listener on its port', () => {
    assert.deepEqual(find(result, tcp(8080, 50378)), { podUid: POD, pod: meta, containerId: MAIN, containerName: 'cart', runtime: null, hostNetwork: true, source: 'listener' });
  });

  test('a client-side TIME_WAIT on an ephemeral port stays unattributed', () => {
    assert.deepEqual(find(result, tcp(50380, 8080)), { podUid: null, containerId: null, containerName: null, runtime: null, hostNetwork: true, source: 'none' });
  });
});
