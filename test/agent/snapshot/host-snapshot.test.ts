import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import type { PodMeta } from '../../../model/pod.js';
import { LocalHostFs } from '../../../agent/procfs/hostfs.js';
import { takeHostSnapshot } from '../../../agent/snapshot/host-snapshot.js';
import { ProcTree } from '../../support/proc-tree.js';

/**
 * One snapshot of a host (agent/snapshot/host-snapshot.ts), what `kube-netstat local` prints:
 * per network namespace its wire sockets and what names the namespace.
 */

const HOST = '4026531840';
const POD_NS = '4026532001';
const POD_UID = 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607';
const CONTAINER = 'a'.repeat(64);
const cgroup = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replaceAll('-', '_')}.slice/cri-containerd-${CONTAINER}.scope\n`;
const cart: PodMeta = { uid: POD_UID, namespace: 'shop', name: 'cart-0', labels: {}, hostNetwork: false, podIPs: [], containers: new Map([[CONTAINER, 'cart']]) };

const trees: ProcTree[] = [];
afterEach(() => {
  for (const tree of trees.splice(0)) tree.remove();
});

/** The host (pid 1, holding nothing) and a pod whose pause process (pid 200) holds nothing while its app (201) listens. */
function hostAndPod(): ProcTree {
  const tree = new ProcTree();
  trees.push(tree);
  tree.addNamespace(HOST);
  tree.addProcess(1, HOST, { comm: 'systemd' });
  tree.addNamespace(POD_NS);
  tree.addProcess(200, POD_NS, { comm: 'pause', cgroup });
  tree.addProcess(201, POD_NS, { comm: 'cart', cgroup });
  tree.addFd(201, 3, 1001);
  tree.setTcp(POD_NS, [{ inode: 1001, localPort: 8080, state: 0x0a }]);
  return tree;
}

describe('a snapshot of the host', () => {
  test('namespaces come host first, each named by its first process even when that one holds no socket', async () => {
    const snapshot = await takeHostSnapshot(new LocalHostFs(hostAndPod().root), { node: 'n1', resolver: { byUid: () => undefined } });
    assert.deepEqual(
      snapshot.namespaces.map(({ netns, isHost, pids, firstComm }) => ({ netns, isHost, pids, firstComm })),
      [
        { netns: HOST, isHost: true, pids: [1], firstComm: 'systemd' },
        { netns: POD_NS, isHost: false, pids: [200, 201], firstComm: 'pause' },
      ],
    );
  });

  test("a pod's namespace carries its UID, and its name when the resolver knows it; its sockets are the wire's", async () => {
    const root = hostAndPod().root;
    const unnamed = await takeHostSnapshot(new LocalHostFs(root), { node: 'n1', resolver: { byUid: () => undefined } });
    assert.deepEqual([unnamed.namespaces[1]?.podUid, unnamed.namespaces[1]?.pod], [POD_UID, undefined]);
    const named = await takeHostSnapshot(new LocalHostFs(root), { node: 'n1', resolver: { byUid: (uid) => (uid === POD_UID ? cart : undefined) }, nowMs: 1_000 });
    const pod = named.namespaces[1]!;
    assert.equal(pod.pod, cart);
    const [socket] = pod.sockets;
    assert.deepEqual(
      [socket?.node, socket?.netns, socket?.inode, socket?.pod?.name, socket?.pod?.container, socket?.processes.map((process) => process.pid), socket?.firstSeenUnixMs],
      ['n1', BigInt(POD_NS), 1001n, 'cart-0', 'cart', [201], 1_000n],
    );
  });

  test('without owners no fd is walked: sockets show no process', async () => {
    const snapshot = await takeHostSnapshot(new LocalHostFs(hostAndPod().root), { node: 'n1', resolver: { byUid: () => undefined }, owners: false });
    assert.deepEqual(snapshot.namespaces[1]?.sockets.map((socket) => socket.processes), [[]]);
  });

  test("a malformed line is left out and said, in its namespace's parse errors", async () => {
    const tree = hostAndPod();
    appendFileSync(join(tree.root, '200', 'net', 'tcp'), '  99: garbage\n');
    const snapshot = await takeHostSnapshot(new LocalHostFs(tree.root), { node: 'n1', resolver: { byUid: () => undefined } });
    assert.equal(snapshot.namespaces[1]?.sockets.length, 1);
    assert.equal(snapshot.namespaces[1]?.parseErrors.length, 1);
    assert.match(snapshot.namespaces[1]!.parseErrors[0]!, /\/200\/net\/tcp:3: .*"  99: garbage"$/);
    assert.deepEqual(snapshot.namespaces[0]?.parseErrors, []);
  });
});
