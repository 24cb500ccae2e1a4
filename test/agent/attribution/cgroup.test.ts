import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { identifyCgroupPath, identifyProcCgroup, parseProcCgroup, selectCgroupPath, type CgroupIdentity } from '../../../agent/attribution/cgroup.js';
import { sampleText } from '../../support/samples.js';

const UID = 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607';
const UID_ = 'f2a1c3d4_5b6e_4f70_8a91_b2c3d4e5f607';
const ID = 'a1d3da899deb9862131ca6b22244975826bdf08612aa7ce5997f57e8ce4f35d1';
const CRIO = 'a6096b8f677941d7d2b0a6f0a3939ade48f461e03eb96621e2987a0b7f42afd0';
const DOCKER = '50b3c11b8c4f8b9f04ef040c8561739f672c0939eb240cc5b1d343d23e7ad8a2';
const STATIC = '26c0c144d4d190f45239fd0d44a8720d';

/** The layouts of reference §6.4–6.6, one case each; expected identities are whole. */
const layouts: Array<{ name: string; path: string; expected: Omit<CgroupIdentity, 'path'> }> = [
  {
    name: 'v2 systemd containerd Burstable',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'systemd', containerId: ID, runtime: 'containerd' },
  },
  {
    name: 'v2 systemd containerd BestEffort',
    path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    expected: { podUid: UID, qos: 'BestEffort', driver: 'systemd', containerId: ID, runtime: 'containerd' },
  },
  {
    name: 'v2 systemd containerd Guaranteed',
    path: `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    expected: { podUid: UID, qos: 'Guaranteed', driver: 'systemd', containerId: ID, runtime: 'containerd' },
  },
  {
    name: 'cgroupfs Burstable, bare id (containerd or cri-dockerd: runtime unknown)',
    path: `/kubepods/burstable/pod${UID}/${ID}`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'cgroupfs', containerId: ID },
  },
  {
    name: 'cgroupfs Guaranteed',
    path: `/kubepods/pod${UID}/${ID}`,
    expected: { podUid: UID, qos: 'Guaranteed', driver: 'cgroupfs', containerId: ID },
  },
  {
    name: 'CRI-O systemd',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${CRIO}.scope`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'systemd', containerId: CRIO, runtime: 'cri-o' },
  },
  {
    name: 'CRI-O with crun: the process sits one level below the container',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-${CRIO}.scope/container`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'systemd', containerId: CRIO, runtime: 'cri-o' },
  },
  {
    name: 'CRI-O conmon: a runtime helper of that container',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${CRIO}.scope`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'systemd', containerId: CRIO, runtime: 'cri-o', runtimeHelper: true },
  },
  {
    name: 'CRI-O cgroupfs',
    path: `/kubepods/burstable/pod${UID}/crio-${CRIO}`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'cgroupfs', containerId: CRIO, runtime: 'cri-o' },
  },
  {
    name: 'CRI-O cgroupfs conmon',
    path: `/kubepods/burstable/pod${UID}/crio-conmon-${CRIO}`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'cgroupfs', containerId: CRIO, runtime: 'cri-o', runtimeHelper: true },
  },
  {
    name: 'cri-dockerd systemd',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${DOCKER}.scope`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'systemd', containerId: DOCKER, runtime: 'docker' },
  },
  {
    name: 'kind: cgroupRoot /kubelet with the systemd driver',
    path: `/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    expected: { podUid: UID, qos: 'BestEffort', driver: 'systemd', containerId: ID, runtime: 'containerd' },
  },
  {
    name: 'nested cluster seen from the host: a node container prefix',
    path: `/docker/${DOCKER}/kubelet/kubepods/burstable/pod${UID}/${ID}`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'cgroupfs', containerId: ID },
  },
  {
    name: 'cgroup namespace: ..-relative path',
    path: `/../../../kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    expected: { podUid: UID, qos: 'Burstable', driver: 'systemd', containerId: ID, runtime: 'containerd' },
  },
  {
    name: 'static pod: the UID is the 32-hex config hash',
    path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${STATIC}.slice/cri-containerd-${ID}.scope`,
    expected: { podUid: STATIC, qos: 'Burstable', driver: 'systemd', containerId: ID, runtime: 'containerd' },
  },
  {
    name: 'pod cgroup itself (no container yet)',
    path: `/kubepods/besteffort/pod${UID}`,
    expected: { podUid: UID, qos: 'BestEffort', driver: 'cgroupfs' },
  },
  {
    name: 'a container systemd manages below itself: the nearest container ancestor wins',
    path: `/kubepods/pod${UID}/${ID}/init.scope`,
    expected: { podUid: UID, qos: 'Guaranteed', driver: 'cgroupfs', containerId: ID },
  },
  { name: 'kubelet itself', path: '/system.slice/kubelet.service', expected: {} },
  { name: 'containerd shim', path: '/system.slice/containerd.service', expected: {} },
  { name: 'docker outside Kubernetes', path: `/system.slice/docker-${DOCKER}.scope`, expected: {} },
  { name: 'the host root seen from a cgroup namespace', path: '/../../../..', expected: {} },
  { name: 'root', path: '/', expected: {} },
  { name: 'a 64-hex id above the pod is not the container', path: `/docker/${DOCKER}/kubepods/pod${UID}`, expected: { podUid: UID, qos: 'Guaranteed', driver: 'cgroupfs' } },
];

describe('identifyCgroupPath: every layout real nodes have', () => {
  for (const { name, path, expected } of layouts) {
    test(name, () => assert.deepEqual(identifyCgroupPath(path), { path, ...expected }));
  }
});

describe('/proc/<pid>/cgroup files', () => {
  const blocks = sampleText('cgroup.proc-pid-cgroup.txt').split(/\n(?===)/);

  test('v1 + hybrid sample (workload A): every hierarchy parsed, v2 path chosen', () => {
    const lines = blocks[0]!.split('\n').filter((line) => /^\d+:/.test(line)).join('\n');
    const parsed = parseProcCgroup(lines);
    assert.equal(parsed.v1.size, 9);
    assert.equal(parsed.v1.get('name=systemd'), parsed.unified);
    assert.deepEqual(identifyProcCgroup(lines), {
      path: '/kubepods/burstable/pod7c4d1e2a-9b3f-4e5d-8a6b-1c2d3e4f5a6b/c0034610041dff68324d4bd36a455f5271c7f98a3d2779b5c3fcbe5afb7152cf',
      podUid: '7c4d1e2a-9b3f-4e5d-8a6b-1c2d3e4f5a6b',
      qos: 'Burstable',
      driver: 'cgroupfs',
      containerId: 'c0034610041dff68324d4bd36a455f5271c7f98a3d2779b5c3fcbe5afb7152cf',
    });
  });

  test('v2 sample seen from an agent in its own cgroup namespace (workload B)', () => {
    const line = /workload B: +(0::.*)/.exec(sampleText('cgroup.proc-pid-cgroup.txt'))![1]!;
    assert.deepEqual(identifyProcCgroup(line), {
      path: '/../../../kubepods-burstable.slice/kubepods-burstable-pod2e9f6a10_3c4b_4d7e_b1a2_5f6e7d8c9b0a.slice/cri-containerd-ffeec2685e7bb2aae6a6dc6d433d0ab20d5c1cb35617218a85ce0a88148091fd.scope',
      podUid: '2e9f6a10-3c4b-4d7e-b1a2-5f6e7d8c9b0a',
      qos: 'Burstable',
      driver: 'systemd',
      containerId: 'ffeec2685e7bb2aae6a6dc6d433d0ab20d5c1cb35617218a85ce0a88148091fd',
      runtime: 'containerd',
    });
  });

  test('hybrid host whose runtime manages v1 only: the unified path is / and v1 is used', () => {
    const text = `11:memory:/kubepods/burstable/pod${UID}/${ID}\n1:name=systemd:/kubepods/burstable/pod${UID}/${ID}\n0::/\n`;
    assert.equal(selectCgroupPath(parseProcCgroup(text)), `/kubepods/burstable/pod${UID}/${ID}`);
  });

  test('unified path elsewhere, pod only in v1: the v1 hierarchy that names a pod wins', () => {
    const text = `4:memory:/kubepods/pod${UID}/${ID}\n0::/system.slice/containerd.service\n`;
    assert.equal(identifyProcCgroup(text)?.podUid, UID);
  });

  test('cgroup v2 only: a single 0:: line', () => {
    assert.equal(identifyProcCgroup(`0::/kubepods/pod${UID}/${ID}\n`)?.containerId, ID);
  });

  test('empty text has no identity', () => assert.equal(identifyProcCgroup(''), undefined));
});
