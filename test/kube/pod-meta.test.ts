import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { podMetaFromApi, stripRuntimeScheme, workloadOf } from '../../kube/pod-meta.js';
import { PodStore } from '../../agent/pods/pod-store.js';
import type { PodMeta } from '../../model/pod.js';

const NOW = Date.parse('2026-11-26T20:00:00Z');
const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);
const ID_OLD = 'c'.repeat(64);

const pod = (fields: { owner?: { kind: string; name: string }; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): V1Pod => ({
  metadata: {
    name: 'web-5d8f7c9b4-x2x7q',
    namespace: 'shop',
    uid: 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607',
    labels: fields.labels ?? { app: 'web', 'pod-template-hash': '5d8f7c9b4' },
    ...(fields.annotations && { annotations: fields.annotations }),
    ownerReferences: fields.owner ? [{ apiVersion: 'apps/v1', kind: fields.owner.kind, name: fields.owner.name, uid: 'owner-uid', controller: true }] : [],
  },
  spec: { nodeName: 'node-a', hostNetwork: false, containers: [{ name: 'web' }] },
  status: {
    podIP: '10.244.1.7',
    podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }],
    containerStatuses: [
      { name: 'web', containerID: `containerd://${ID_A}`, image: 'web', imageID: '', ready: true, restartCount: 1, lastState: { terminated: { exitCode: 1, containerID: `containerd://${ID_OLD}` } } },
    ],
    initContainerStatuses: [{ name: 'init-db', containerID: `containerd://${ID_B}`, image: 'init', imageID: '', ready: false, restartCount: 0 }],
  },
});

describe('workloadOf', () => {
  const cases: Array<{ name: string; input: V1Pod; expected: ReturnType<typeof workloadOf> }> = [
    { name: 'Deployment through its ReplicaSet (pod-template-hash)', input: pod({ owner: { kind: 'ReplicaSet', name: 'web-5d8f7c9b4' } }), expected: { kind: 'Deployment', name: 'web' } },
    { name: 'a ReplicaSet of its own (no matching hash)', input: pod({ owner: { kind: 'ReplicaSet', name: 'legacy-rs' } }), expected: { kind: 'ReplicaSet', name: 'legacy-rs' } },
    { name: 'StatefulSet', input: pod({ owner: { kind: 'StatefulSet', name: 'db' } }), expected: { kind: 'StatefulSet', name: 'db' } },
    { name: 'DaemonSet', input: pod({ owner: { kind: 'DaemonSet', name: 'kube-proxy' } }), expected: { kind: 'DaemonSet', name: 'kube-proxy' } },
    { name: 'CronJob through its Job (schedule minutes suffix)', input: pod({ owner: { kind: 'Job', name: 'backup-29400000' } }), expected: { kind: 'CronJob', name: 'backup' } },
    { name: 'a Job whose suffix is a date, not a schedule', input: pod({ owner: { kind: 'Job', name: 'migrate-20260101' } }), expected: { kind: 'Job', name: 'migrate-20260101' } },
    { name: 'a plain Job', input: pod({ owner: { kind: 'Job', name: 'once' } }), expected: { kind: 'Job', name: 'once' } },
    { name: 'a bare pod', input: pod(), expected: undefined },
  ];
  for (const { name, input, expected } of cases) test(name, () => assert.deepEqual(workloadOf(input, NOW), expected));
});

describe('podMetaFromApi', () => {
  test('every field attribution needs, with previous and init container instances', () => {
    const meta = podMetaFromApi(pod({ owner: { kind: 'ReplicaSet', name: 'web-5d8f7c9b4' } }), NOW);
    assert.deepEqual(meta, {
      uid: 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607',
      namespace: 'shop',
      name: 'web-5d8f7c9b4-x2x7q',
      labels: { app: 'web', 'pod-template-hash': '5d8f7c9b4' },
      workload: { kind: 'Deployment', name: 'web' },
      hostNetwork: false,
      podIPs: ['10.244.1.7', 'fd00::7'],
      nodeName: 'node-a',
      containers: new Map([
        [ID_OLD, 'web'],
        [ID_A, 'web'],
        [ID_B, 'init-db'],
      ]),
      allContainersStarted: true,
    });
  });

  test('a container of the spec without an ID in the status yet: not every container started', () => {
    const starting = pod();
    starting.spec!.containers.push({ name: 'sidecar' });
    starting.status!.containerStatuses!.push({ name: 'sidecar', image: 'sidecar', imageID: '', ready: false, restartCount: 0 });
    assert.equal(podMetaFromApi(starting)?.allContainersStarted, false);
    starting.status!.containerStatuses![1]!.containerID = `containerd://${'c'.repeat(64)}`;
    assert.equal(podMetaFromApi(starting)?.allContainersStarted, true);
  });

  test('a static pod carries its config hash from the mirror annotation', () => {
    const meta = podMetaFromApi(pod({ annotations: { 'kubernetes.io/config.mirror': '26c0c144d4d190f45239fd0d44a8720d' } }));
    assert.equal(meta?.configHash, '26c0c144d4d190f45239fd0d44a8720d');
  });

  test('an object without a UID is ignored', () => {
    assert.equal(podMetaFromApi({ metadata: { name: 'x' } }), undefined);
  });

  const schemes = [
    [`containerd://${ID_A}`, ID_A],
    [`cri-o://${ID_A}`, ID_A],
    [`docker://${ID_A}`, ID_A],
    ['', undefined],
  ] as const;
  for (const [input, expected] of schemes) test(`stripRuntimeScheme(${JSON.stringify(input.slice(0, 12))})`, () => assert.equal(stripRuntimeScheme(input), expected));
});

describe('PodStore', () => {
  const meta = (uid: string, extra: Partial<PodMeta> = {}): PodMeta => ({ uid, namespace: 'ns', name: uid, labels: {}, hostNetwork: false, podIPs: [], containers: new Map(), ...extra });

  test('a deleted pod stays resolvable for the grace period, then is gone', () => {
    let now = 1_000;
    const store = new PodStore(30_000, () => now);
    store.upsert(meta('a'));
    store.markDeleted('a');
    now += 29_000;
    assert.equal(store.byUid('a')?.deletedAt?.getTime(), 1_000);
    now += 2_000;
    assert.equal(store.byUid('a'), undefined);
    assert.deepEqual(store.list(), []);
  });

  test('a static pod resolves by its config hash (the UID in its cgroups)', () => {
    const store = new PodStore(0);
    store.upsert(meta('mirror-uid', { configHash: '26c0c144d4d190f45239fd0d44a8720d' }));
    assert.equal(store.byUid('26c0c144d4d190f45239fd0d44a8720d')?.uid, 'mirror-uid');
  });

  test('memory is bounded: expired pods are pruned on every write', () => {
    let now = 0;
    const store = new PodStore(10, () => now);
    for (let i = 0; i < 1000; i++) {
      store.upsert(meta(`p${i}`));
      store.markDeleted(`p${i}`);
      now += 11;
    }
    assert.ok(store.list().length <= 1);
  });
});
