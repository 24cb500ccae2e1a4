/**
 * The agent's listen-drop counters (agent/procfs/listen-overflows.ts): TcpExt parsed from
 * net/netstat, read only for namespaces whose listeners have a backlog, and — on the real
 * kernel — ListenOverflows rising when clients complete handshakes into a full accept queue.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { TcpState, type InetSocketRecord, type SocketRecord } from '../../../model/socket.js';
import { ListenCounters, hasWaitingListener, parseListenDrops } from '../../../agent/procfs/listen-overflows.js';
import { LocalHostFs, type HostFs } from '../../../agent/procfs/hostfs.js';
import { netnsInodeOf, netnsSkipReason, TestNetns } from '../../support/netns.js';
import { waitFor } from '../../support/wait.js';
import { requirement } from '../../support/requirements.js';

/** The first two lines of a real /proc/net/netstat (kernel 6.18), cut after ListenDrops's neighbours. */
const NETSTAT = [
  'TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts PruneCalled RcvPruned OfoPruned OutOfWindowIcmps LockDroppedIcmps ArpFilter TW TWRecycled TWKilled PAWSActive PAWSEstab BeyondWindow TSEcrRejected PAWSOldAck PAWSTimewait DelayedACKs DelayedACKLocked DelayedACKLost ListenOverflows ListenDrops TCPHPHits',
  'TcpExt: 0 0 0 0 0 0 0 0 0 0 74919 63 0 0 0 0 0 1 0 514600 5 36126 17 21 940059',
  'IpExt: InNoRoutes InTruncatedPkts',
  'IpExt: 0 0',
  '',
].join('\n');

const listener = (rxQueue: number, proto: 'tcp' | 'tcp6' | 'udp' = 'tcp'): InetSocketRecord => ({
  proto, shape: 'full', localAddress: '0.0.0.0', localPort: 8080, foreignAddress: '0.0.0.0', foreignPort: 0, stateCode: TcpState.LISTEN,
  txQueue: 0, rxQueue, timer: { code: 0, ticks: 0, retransmits: 0, probes: 0 }, uid: 0, inode: '1', refCount: 1, pointer: '',
});

test('parseListenDrops: TcpExt ListenOverflows and ListenDrops by name', () => {
  assert.deepEqual(parseListenDrops(NETSTAT), { overflows: 17, drops: 21 });
  assert.equal(parseListenDrops('IpExt: InNoRoutes\nIpExt: 0\n'), undefined);
  assert.equal(parseListenDrops('TcpExt: ListenOverflows ListenDrops\nTcpExt: 1\n'), undefined, 'a values line of another length');
});

test('hasWaitingListener: a TCP listener with connections in its accept queue', () => {
  assert.equal(hasWaitingListener([listener(0)]), false);
  assert.equal(hasWaitingListener([listener(2)]), true);
  assert.equal(hasWaitingListener([listener(2, 'tcp6')]), true);
  assert.equal(hasWaitingListener([listener(2, 'udp')]), false);
});

describe('ListenCounters reads only namespaces with a backlog', () => {
  const reads: string[] = [];
  const files: Record<string, string> = { '10/net/netstat': NETSTAT, '20/net/netstat': NETSTAT };
  const hostFs: HostFs = {
    procRoot: '/fixture',
    readFile: (path) => (reads.push(path), files[path] === undefined ? undefined : Buffer.from(files[path]!, 'latin1')),
    readdir: () => undefined,
    readlink: () => undefined,
  };
  const counters = new ListenCounters(hostFs);
  const scanned = (netnsInode: string, readVia: number, sockets: SocketRecord[]) => ({ netnsInode, readVia, sockets });

  test('a backlog starts, the counters move, the backlog ends', () => {
    assert.equal(counters.update([scanned('a', 10, [listener(0)]), scanned('b', 20, [])]), false);
    assert.deepEqual(reads.splice(0), [], 'no backlog: nothing read');
    assert.equal(counters.update([scanned('a', 10, [listener(3)]), scanned('b', 20, [])]), true);
    assert.deepEqual(reads.splice(0), ['10/net/netstat']);
    assert.deepEqual(counters.get('a'), { overflows: 17, drops: 21 });
    assert.equal(counters.update([scanned('a', 10, [listener(3)])]), false, 'the same values');
    files['10/net/netstat'] = NETSTAT.replace('17 21', '19 23');
    assert.equal(counters.update([scanned('a', 10, [listener(3)])]), true);
    assert.deepEqual(counters.get('a'), { overflows: 19, drops: 23 });
    assert.equal(counters.update([scanned('a', 10, [listener(0)])]), true, 'the backlog is gone');
    assert.equal(counters.get('a'), undefined);
  });
});

describe('on the kernel: a listener that never accepts overflows', { skip: requirement(netnsSkipReason(['ip'])) }, () => {
  let netns: TestNetns | undefined;
  after(() => netns?.cleanup());

  test('clients completing handshakes into a full accept queue raise the namespace\'s ListenOverflows', async () => {
    netns = await TestNetns.create();
    // listen(1) and never accept(); then ten clients connect: the queue holds two, the rest overflow.
    const script = [
      'import socket, json, time',
      's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)',
      'port = s.getsockname()[1]',
      'clients = []',
      'for i in range(10):',
      '    c = socket.socket(); c.setblocking(False)',
      '    try: c.connect(("127.0.0.1", port))',
      '    except BlockingIOError: pass',
      '    clients.append(c)',
      'print("READY " + json.dumps({"port": port}), flush=True)',
      'time.sleep(600)',
    ].join('\n');
    const member = await netns.start(['python3', '-c', script], { readyTimeoutMs: 10_000 });
    const counters = new ListenCounters(new LocalHostFs('/proc'));
    const inode = netnsInodeOf(member.pid);
    await waitFor(
      () => {
        counters.update([{ netnsInode: inode, readVia: member.pid, sockets: [listener(2)] }]);
        return (counters.get(inode)?.overflows ?? 0) > 0;
      },
      { timeoutMs: 15_000, what: 'ListenOverflows to rise in the namespace', describe: () => JSON.stringify(counters.get(inode)) },
    );
    const drops = counters.get(inode)!;
    assert.ok(drops.drops >= drops.overflows, JSON.stringify(drops));
    // The host's own counters are not the namespace's.
    const host = parseListenDrops((await import('node:fs')).readFileSync('/proc/1/net/netstat', 'latin1'))!;
    assert.notDeepEqual(host, drops);
  });
});
