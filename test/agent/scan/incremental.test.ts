import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { PodMeta, VersionedPodResolver } from '../../../model/pod.js';
import { PodStore } from '../../../agent/pods/pod-store.js';
import { NodeScanner } from '../../../agent/snapshot/node-scanner.js';
import { ALL_PROTOS } from '../../../model/socket.js';
import { LocalHostFs, type OpenFile } from '../../../agent/procfs/hostfs.js';
import { IncrementalScanner } from '../../../agent/scan/incremental.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { hostSockets } from '../../support/host-sockets.js';
import { CountingHostFs, ProcTree, type FakeSocket } from '../../support/proc-tree.js';

/**
 * The agent's scan across intervals (agent/scan/incremental.ts, agent/snapshot/node-scanner.ts)
 * over writable fixture proc trees: what it reads, what it keeps, and that what it keeps is what
 * a full scan would show whenever the counters could tell.
 */

const NS_A = '4026532001';
const NS_B = '4026532002';
const NS_C = '4026532003';
const LISTEN: FakeSocket = { inode: 1001, localPort: 8080, state: 0x0a };
const CONN: FakeSocket = { inode: 1002, localPort: 8080, remotePort: 40000, state: 0x01 };
const PROTOS = new Set(ALL_PROTOS);

const POD_UID = 'f2a1c3d4-5b6e-4f70-8a91-b2c3d4e5f607';
const cgroupOf = (containerId: string): string =>
  `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD_UID.replaceAll('-', '_')}.slice/cri-containerd-${containerId}.scope\n`;

const trees: ProcTree[] = [];
afterEach(() => {
  for (const tree of trees.splice(0)) tree.remove();
});

/** Namespace NS_A with pid 100 holding LISTEN (fd 3); more namespaces on request, each with one process. */
function newTree(extra: Array<{ netns: string; pid: number }> = []): ProcTree {
  const tree = new ProcTree();
  trees.push(tree);
  tree.addNamespace(NS_A);
  tree.addProcess(100, NS_A, { cgroup: cgroupOf('a'.repeat(64)) });
  tree.addFd(100, 3, LISTEN.inode);
  tree.setTcp(NS_A, [LISTEN]);
  for (const { netns, pid } of extra) {
    tree.addNamespace(netns);
    tree.addProcess(pid, netns);
    tree.setTcp(netns, [{ inode: pid * 10, localPort: 9000, state: 0x0a }]);
    tree.addFd(pid, 3, pid * 10);
  }
  return tree;
}

const inodes = (scan: Awaited<ReturnType<IncrementalScanner['scan']>>, netns = NS_A): string[] =>
  scan.namespaces.find((namespace) => namespace.netnsInode === netns)!.sockets.map((record) => record.inode);

/** Which namespaces' tcp tables a scan read, from the paths it opened (each through its first process). */
function tablesRead(fs: CountingHostFs): string[] {
  const firstPid = new Map([
    [100, NS_A],
    [200, NS_B],
    [300, NS_C],
  ]);
  return fs.take(/^\d+\/net\/tcp$/).map((path) => firstPid.get(Number(path.split('/')[0])) ?? path);
}

describe('IncrementalScanner: a namespace is read again when its counters move', () => {
  test('counters unchanged: no table is read and the previous sockets are kept', async () => {
    const tree = newTree();
    const fs = new CountingHostFs(tree.root);
    const scanner = new IncrementalScanner(fs, { protos: PROTOS, fullReadEvery: 100 });
    assert.deepEqual(inodes(await scanner.scan()), ['1001']);
    tree.setTcp(NS_A, [LISTEN, CONN], { moveCounters: false });
    fs.take(/./);
    const second = await scanner.scan();
    assert.deepEqual(fs.take(/\/net\/(tcp|tcp6|udp|udp6|raw|raw6|unix)$/), [], 'no table was read');
    assert.deepEqual(inodes(second), ['1001'], 'the previous sockets are kept');
    assert.deepEqual([...second.changed], []);
    assert.deepEqual(second.stats, { read: 0, parsed: 0, reused: 1, walked: 0 });
  });

  test('counters moved: the table is read again and the namespace changed', async () => {
    const tree = newTree();
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.setTcp(NS_A, [LISTEN, CONN]);
    const second = await scanner.scan();
    assert.deepEqual(inodes(second), ['1001', '1002']);
    assert.deepEqual([...second.changed], [NS_A]);
  });

  test('only the group whose counters moved is read: unix sockets do not cost a walk of the TCP hash', async () => {
    const tree = newTree();
    const fs = new CountingHostFs(tree.root);
    const scanner = new IncrementalScanner(fs, { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    fs.take(/./);
    tree.moveSocketsUsed(NS_A);
    await scanner.scan();
    assert.deepEqual(fs.take(/\/net\/(tcp|tcp6|udp|udp6|raw|raw6|unix)$/), ['100/net/unix']);
    tree.setTcp(NS_A, [LISTEN, CONN]);
    const third = await scanner.scan();
    // A new TCP socket moves `sockets: used` too; tcp6 is proven empty by sockstat6.
    assert.deepEqual(fs.take(/\/net\/(tcp|tcp6|udp|udp6|raw|raw6|unix)$/), ['100/net/tcp', '100/net/unix']);
    assert.deepEqual(inodes(third), ['1001', '1002']);
  });

  test('a namespace without readable counters is read on every scan', async () => {
    const tree = new ProcTree();
    trees.push(tree);
    tree.addNamespace(NS_A, { counters: false });
    tree.addProcess(100, NS_A);
    tree.setTcp(NS_A, [LISTEN]);
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.setTcp(NS_A, [LISTEN, CONN], { moveCounters: false });
    assert.deepEqual(inodes(await scanner.scan()), ['1001', '1002']);
  });

  test('only timers counted down: the table is read, but nothing changed', async () => {
    const tree = newTree();
    tree.setTcp(NS_A, [{ ...CONN, keepaliveTicks: 7000 }]);
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.setTcp(NS_A, [{ ...CONN, keepaliveTicks: 6900 }]);
    const second = await scanner.scan();
    assert.deepEqual(second.stats, { read: 1, parsed: 1, reused: 0, walked: 0 });
    assert.deepEqual([...second.changed], []);
  });

  test('a process starting in the namespace makes it read again, counters or not', async () => {
    const tree = newTree();
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.setTcp(NS_A, [LISTEN, CONN], { moveCounters: false });
    tree.addProcess(101, NS_A);
    const second = await scanner.scan();
    assert.deepEqual(inodes(second), ['1001', '1002']);
    assert.deepEqual(second.namespaces[0]!.pids, [100, 101]);
  });
});

/** The production HostFs, counting the files it opens and closes for reading again. */
class OpeningHostFs extends LocalHostFs {
  opened: string[] = [];
  closed: string[] = [];
  override open(relPath: string): OpenFile | undefined {
    const file = super.open(relPath);
    if (!file) return undefined;
    this.opened.push(relPath);
    return { reread: () => file.reread(), close: () => (this.closed.push(relPath), file.close()) };
  }
}

describe('IncrementalScanner: counter files stay open between scans', () => {
  test('opened once through a member, read again each scan, closed when the namespace is gone', async () => {
    const tree = newTree([{ netns: NS_B, pid: 200 }]);
    const fs = new OpeningHostFs(tree.root);
    const scanner = new IncrementalScanner(fs, { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    const counterFiles = (pid: number): string[] => ['sockstat', 'snmp', 'sockstat6', 'snmp6'].map((name) => `${pid}/net/${name}`);
    assert.deepEqual(fs.opened.sort(), [...counterFiles(100), ...counterFiles(200)].sort());
    await scanner.scan();
    tree.setTcp(NS_A, [LISTEN, CONN]);
    assert.deepEqual(inodes(await scanner.scan()), ['1001', '1002'], 'a change is seen through the open files');
    assert.equal(fs.opened.length, 8, 'nothing opened again');
    tree.removeProcess(200);
    await scanner.scan();
    assert.deepEqual(fs.closed.sort(), counterFiles(200).sort(), 'the namespace without processes: its files closed');
    scanner.close();
    assert.equal(fs.closed.length, 8);
  });
});

describe('IncrementalScanner: the safety net', () => {
  test('each namespace is read in full once every fullReadEvery scans, one namespace per scan', async () => {
    const tree = newTree([
      { netns: NS_B, pid: 200 },
      { netns: NS_C, pid: 300 },
    ]);
    const fs = new CountingHostFs(tree.root);
    const scanner = new IncrementalScanner(fs, { protos: PROTOS, fullReadEvery: 3 });
    await scanner.scan();
    fs.take(/./);
    const perScan: string[][] = [];
    for (let i = 0; i < 6; i++) {
      const scan = await scanner.scan();
      perScan.push(tablesRead(fs));
      assert.deepEqual([...scan.due], perScan.at(-1));
    }
    assert.deepEqual(perScan.map((read) => read.length), [1, 1, 1, 1, 1, 1], 'one namespace per scan');
    for (const netns of [NS_A, NS_B, NS_C]) assert.equal(perScan.flat().filter((read) => read === netns).length, 2, `${netns} read twice in 6 scans`);
  });

  test('a change that moves no counter shows within fullReadEvery scans', async () => {
    const every = 4;
    const tree = newTree();
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: every });
    await scanner.scan();
    tree.setTcp(NS_A, [LISTEN, { ...CONN, rxQueue: 100 }], { moveCounters: false });
    await scanner.scan();
    tree.setTcp(NS_A, [LISTEN, { ...CONN, rxQueue: 40 }], { moveCounters: false });
    let scans = 0;
    let rxQueue: number | undefined;
    while (scans < every && rxQueue !== 40) {
      const record = (await scanner.scan()).namespaces[0]!.sockets.find((socket) => socket.inode === '1002');
      rxQueue = record && record.proto !== 'unix' ? record.rxQueue : undefined;
      scans++;
    }
    assert.equal(rxQueue, 40, `seen within ${every} scans`);
  });
});

describe('IncrementalScanner: owners kept across scans', () => {
  test('a new process is walked and its sockets get their holder in the same scan', async () => {
    const tree = newTree();
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.addProcess(101, NS_A);
    tree.addFd(101, 7, CONN.inode);
    tree.setTcp(NS_A, [LISTEN, CONN]);
    const second = await scanner.scan();
    assert.deepEqual([...second.walked], [101]);
    assert.deepEqual(second.holders.get('1002'), [{ pid: 101, fd: 7 }]);
    assert.equal(second.processes.get(101)?.comm, 'proc101');
  });

  test('an exited process is dropped: the socket it shared keeps only the other holder', async () => {
    const tree = newTree();
    tree.addProcess(101, NS_A);
    tree.addFd(101, 4, LISTEN.inode);
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: 100 });
    assert.deepEqual((await scanner.scan()).holders.get('1001'), [
      { pid: 100, fd: 3 },
      { pid: 101, fd: 4 },
    ]);
    tree.removeProcess(101);
    const second = await scanner.scan();
    assert.deepEqual(second.exited, [101]);
    assert.deepEqual(second.holders.get('1001'), [{ pid: 100, fd: 3 }]);
    assert.deepEqual([...second.changed], [NS_A]);
  });

  test('an inode nobody is known to hold: the members are walked in that scan, and only once for an inode no process holds', async () => {
    const tree = newTree();
    const fs = new CountingHostFs(tree.root);
    const scanner = new IncrementalScanner(fs, { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.addFd(100, 5, CONN.inode);
    tree.setTcp(NS_A, [LISTEN, CONN]);
    fs.take(/./);
    assert.deepEqual((await scanner.scan()).holders.get('1002'), [{ pid: 100, fd: 5 }]);
    assert.deepEqual(fs.take(/^100\/fd$/), ['100/fd']);
    // A kernel socket (VXLAN, an in-kernel client): an inode no fd ever names.
    const kernel: FakeSocket = { inode: 1009, localPort: 4789, state: 0x07 };
    tree.setTcp(NS_A, [LISTEN, CONN, kernel]);
    await scanner.scan();
    assert.deepEqual(fs.take(/^100\/fd$/), ['100/fd'], 'walked when the inode first shows');
    tree.setTcp(NS_A, [LISTEN, CONN, kernel, { ...CONN, inode: 1003, remotePort: 40001 }]);
    tree.addFd(100, 6, 1003);
    await scanner.scan();
    assert.deepEqual(fs.take(/^100\/fd$/), ['100/fd'], 'a new unknown inode: walked again');
    tree.setTcp(NS_A, [LISTEN, CONN, kernel, { ...CONN, inode: 1003, remotePort: 40001, rxQueue: 5 }]);
    await scanner.scan();
    assert.deepEqual(fs.take(/^100\/fd$/), [], 'the kernel socket alone does not make every scan walk');
  });

  test('new inodes: the member that held new sockets last time is walked first, and the walk stops once each has its holder', async () => {
    const tree = newTree();
    // 150: never its safety-net turn (150 % 100) in these scans.
    tree.addProcess(150, NS_A);
    const fs = new CountingHostFs(tree.root);
    const scanner = new IncrementalScanner(fs, { protos: PROTOS, fullReadEvery: 100 });
    await scanner.scan();
    tree.addFd(150, 4, CONN.inode);
    tree.setTcp(NS_A, [LISTEN, CONN]);
    fs.take(/./);
    await scanner.scan();
    assert.deepEqual(fs.take(/^\d+\/fd$/), ['100/fd', '150/fd'], 'in member order the first time');
    tree.addFd(150, 5, 1003);
    tree.setTcp(NS_A, [LISTEN, CONN, { ...CONN, inode: 1003, remotePort: 40001 }]);
    assert.deepEqual((await scanner.scan()).holders.get('1003'), [{ pid: 150, fd: 5 }]);
    assert.deepEqual(fs.take(/^\d+\/fd$/), ['150/fd'], 'the last holder of new sockets first; nothing else needed');
  });

  test('fd passing to a live process (no new pid, no new inode) shows at its turn: pid modulo fullReadEvery', async () => {
    const every = 5;
    const tree = newTree();
    tree.addProcess(102, NS_A);
    const scanner = new IncrementalScanner(new CountingHostFs(tree.root), { protos: PROTOS, fullReadEvery: every });
    await scanner.scan(); // scan 0
    tree.addFd(102, 9, LISTEN.inode);
    const seenAt: number[] = [];
    for (let index = 1; index <= every; index++) {
      const scan = await scanner.scan();
      if (scan.holders.get('1001')?.some((holder) => holder.pid === 102)) seenAt.push(index);
    }
    assert.equal(seenAt[0]! % every, 102 % every, 'first seen at the scan whose turn is 102 % 5');
  });
});

/** A resolver the test changes by hand; version moves only when told. */
class HandResolver implements VersionedPodResolver {
  version = 0;
  pod: PodMeta | undefined;
  byUid(uid: string): PodMeta | undefined {
    return uid === this.pod?.uid ? this.pod : undefined;
  }
}

const cartPod = (name: string): PodMeta => ({
  uid: POD_UID,
  namespace: 'shop',
  name,
  labels: { app: 'cart' },
  hostNetwork: false,
  podIPs: [],
  containers: new Map([['a'.repeat(64), 'cart']]),
});

describe('NodeScanner: wire sockets rebuilt only for what changed', () => {
  test('a resolver whose version does not move is not asked again; when it moves, every namespace is re-attributed', async () => {
    const tree = newTree([{ netns: NS_B, pid: 200 }]);
    const resolver = new HandResolver();
    const scanner = new NodeScanner({ hostFs: new CountingHostFs(tree.root), node: 'n1', resolver, fullReadEvery: 100 });
    const table = new SocketTable();
    const first = await scanner.scan(1_000);
    assert.deepEqual([...first.rebuilt.keys()].sort(), [NS_A, NS_B]);
    table.updateNamespaces(first.rebuilt, first.present);
    resolver.pod = cartPod('cart-0');
    const unmoved = await scanner.scan(2_000);
    assert.deepEqual([...unmoved.rebuilt.keys()], [], 'nothing rebuilt while the version stays');
    resolver.version++;
    const moved = await scanner.scan(3_000);
    assert.deepEqual([...moved.rebuilt.keys()].sort(), [NS_A, NS_B]);
    const changes = table.updateNamespaces(moved.rebuilt, moved.present);
    assert.deepEqual(
      changes.upserted.map((socket) => [socket.inode, socket.pod?.name, socket.pod?.container]),
      [[1001n, 'cart-0', 'cart']],
    );
  });

  test('a process moved to another cgroup: its namespace is re-attributed at its turn', async () => {
    const every = 4;
    const tree = newTree();
    const scanner = new NodeScanner({ hostFs: new CountingHostFs(tree.root), node: 'n1', resolver: new HandResolver(), fullReadEvery: every });
    await scanner.scan(1_000); // scan 0
    tree.setCgroup(100, cgroupOf('b'.repeat(64)));
    let container: string | undefined;
    let index = 1;
    for (; index <= every && container !== 'b'.repeat(64); index++) container = (await scanner.scan(1_000 + index)).rebuilt.get(NS_A)?.[0]?.pod?.containerId;
    assert.equal(container, 'b'.repeat(64));
    assert.equal((index - 1) % every, 100 % every, 'at the scan whose turn is 100 % 4');
  });

  test('an idle namespace costs no wire work: nothing rebuilt, nothing upserted', async () => {
    const tree = newTree([{ netns: NS_B, pid: 200 }]);
    const scanner = new NodeScanner({ hostFs: new CountingHostFs(tree.root), node: 'n1', resolver: new HandResolver(), fullReadEvery: 100 });
    const table = new SocketTable();
    const first = await scanner.scan(1_000);
    table.updateNamespaces(first.rebuilt, first.present);
    tree.setTcp(NS_B, [{ inode: 2000, localPort: 9000, state: 0x0a }, { inode: 2001, localPort: 9000, remotePort: 5555, state: 0x01 }]);
    const second = await scanner.scan(2_000);
    assert.deepEqual([...second.rebuilt.keys()], [NS_B]);
    const changes = table.updateNamespaces(second.rebuilt, second.present);
    assert.deepEqual(changes.upserted.map((socket) => socket.inode), [2001n]);
    assert.equal(table.size, 3);
  });

  test('after changes the counters saw, the table holds exactly what a full scan shows', async () => {
    const tree = newTree([{ netns: NS_B, pid: 200 }]);
    const scanner = new NodeScanner({ hostFs: new CountingHostFs(tree.root), node: 'n1', resolver: new HandResolver(), fullReadEvery: 100 });
    const table = new SocketTable();
    const apply = async (): Promise<void> => {
      const rescan = await scanner.scan(1_000);
      table.updateNamespaces(rescan.rebuilt, rescan.present);
    };
    await apply();
    tree.addProcess(101, NS_A);
    tree.addFd(101, 3, CONN.inode);
    tree.setTcp(NS_A, [LISTEN, CONN]);
    await apply();
    tree.addFd(100, 8, 1003);
    tree.setTcp(NS_A, [LISTEN, CONN, { ...CONN, inode: 1003, remotePort: 40001, state: 0x08 }]);
    tree.removeProcess(200);
    await apply();
    const full = await hostSockets(tree.root, 'n1', 1_000);
    const byKey = (sockets: Socket[]): Socket[] => [...sockets].sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(byKey(table.snapshot()), byKey(full));
  });
});

describe('SocketTable.updateNamespaces', () => {
  const socket = (netns: bigint, key: string, recvQ = 0n): Socket => Socket.fromPartial({ netns, key, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', recvQ });

  test('namespaces not rebuilt are kept, absent ones removed, rebuilt ones diffed', async () => {
    const table = new SocketTable();
    table.update([socket(1n, 'a1'), socket(2n, 'b1'), socket(2n, 'b2'), socket(3n, 'c1')]);
    const changes = table.updateNamespaces(new Map([['2', [socket(2n, 'b1', 5n), socket(2n, 'b3')]]]), new Set(['1', '2']));
    assert.deepEqual(changes.upserted.map((s) => s.key), ['b1', 'b3']);
    assert.deepEqual(changes.removed.sort(), ['b2', 'c1']);
    assert.deepEqual(table.snapshot().map((s) => s.key).sort(), ['a1', 'b1', 'b3']);
    assert.equal(table.size, 3);
  });
});

describe('PodStore.version moves with every change a lookup could see', () => {
  test('upsert of a new or changed pod, deletion, and the end of a grace period move it; a repeat does not', async () => {
    let now = 0;
    const store = new PodStore(1_000, () => now);
    const versions = [store.version];
    store.upsert(cartPod('cart-0'));
    versions.push(store.version);
    store.upsert(cartPod('cart-0'));
    versions.push(store.version);
    store.upsert({ ...cartPod('cart-0'), labels: { app: 'cart', tier: 'web' } });
    versions.push(store.version);
    store.markDeleted(POD_UID);
    versions.push(store.version);
    now = 500;
    versions.push(store.version);
    now = 1_500;
    versions.push(store.version);
    assert.deepEqual(versions, [0, 1, 1, 2, 3, 3, 4]);
    assert.equal(store.byUid(POD_UID), undefined);
  });
});

describe('NodeScanner: within a rebuilt namespace, unchanged sockets keep their wire object', () => {
  test('a changed line or a changed holder makes a new wire socket; the others are the same objects', async () => {
    const tree = newTree();
    tree.setTcp(NS_A, [LISTEN, CONN]);
    const scanner = new NodeScanner({ hostFs: new CountingHostFs(tree.root), node: 'n1', resolver: new HandResolver(), fullReadEvery: 100 });
    const first = (await scanner.scan(1_000)).rebuilt.get(NS_A)!;
    tree.setTcp(NS_A, [LISTEN, { ...CONN, rxQueue: 7 }]);
    const second = (await scanner.scan(2_000)).rebuilt.get(NS_A)!;
    assert.equal(second[0], first[0], 'the listener is the same object');
    assert.notEqual(second[1], first[1]);
    assert.equal(second[1]!.recvQ, 7n);
    tree.addProcess(101, NS_A);
    tree.addFd(101, 4, LISTEN.inode);
    const third = (await scanner.scan(3_000)).rebuilt.get(NS_A)!;
    assert.notEqual(third[0], second[0], 'a new holder: a new wire socket');
    assert.deepEqual(third[0]!.processes.map((process) => process.pid), [100, 101]);
    assert.equal(third[1], second[1]);
  });
});
