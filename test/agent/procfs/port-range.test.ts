/**
 * Each network namespace's ip_local_port_range: parsed, kept current by PortRanges, read from
 * inside a real namespace (root), and carried to the aggregator's NodeState in snapshots and
 * deltas (NamespaceTable), where a range that cannot be a port range is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parsePortRange, PortRanges, SysctlPortRangeReader, type NamespaceRef } from '../../../agent/procfs/port-range.js';
import { DEFAULT_PORT_RANGE, type PortRange } from '../../../model/port-range.js';
import { AgentStream } from '../../../agent/stream/client.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import { portRangeOf } from '../../../aggregator/store/index.js';
import { startAggregator, type RunningAggregator } from '../../../aggregator/server/index.js';
import { PodCache, StreamReader } from '../../../aggregator/ingest/index.js';
import { WireFormatError } from '../../../aggregator/wire/index.js';
import { StreamRequest } from '../../../gen/kubenetstat/v1/agent.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { netnsInodeOf, netnsSkipReason, TestNetns } from '../../support/netns.js';
import { requirement } from '../../support/requirements.js';
import { waitFor } from '../../support/wait.js';

test('parsePortRange: the sysctl\'s two numbers, or nothing', () => {
  assert.deepEqual(parsePortRange('32768\t60999\n'), { low: 32768, high: 60999 });
  assert.deepEqual(parsePortRange('1024 1024'), { low: 1024, high: 1024 });
  for (const bad of ['', '60999 32768', '0 100', '1 70000', 'a b', '1 2 3']) assert.equal(parsePortRange(bad), undefined, bad);
});

describe('PortRanges keeps the table current', () => {
  const ranges = new Map<string, PortRange>([['100', { low: 40000, high: 40100, assumed: false }], ['200', DEFAULT_PORT_RANGE]]);
  const reads: string[] = [];
  const reader = { read: async (namespace: NamespaceRef): Promise<PortRange> => (reads.push(namespace.netnsInode), ranges.get(namespace.netnsInode) ?? DEFAULT_PORT_RANGE) };
  let now = 0;
  const table = new PortRanges(reader, { refreshMs: 1_000, perUpdate: 2, now: () => now });
  const ns = (...inodes: string[]): NamespaceRef[] => inodes.map((netnsInode) => ({ netnsInode, pids: [1] }));

  test('new namespaces are read (at most perUpdate per update), then again only after refreshMs', async () => {
    assert.equal(await table.update(ns('100', '200', '300')), true);
    assert.deepEqual(reads.splice(0), ['100', '200']);
    assert.equal(await table.update(ns('100', '200', '300')), true, 'the third, read now, is new');
    assert.deepEqual(reads.splice(0), ['300']);
    assert.equal(await table.update(ns('100', '200', '300')), false);
    assert.deepEqual(reads, []);
    now = 1_000;
    ranges.set('100', { low: 50000, high: 50010, assumed: false });
    assert.equal(await table.update(ns('100', '200', '300')), true, 'a refreshed range that moved');
    assert.deepEqual(table.table().find((info) => info.netns === 100n), { netns: 100n, portRangeLow: 50000, portRangeHigh: 50010, portRangeAssumed: false });
  });

  test('a namespace that is gone leaves the table', async () => {
    assert.equal(await table.update(ns('100', '200')), true);
    assert.deepEqual(table.table().map((info) => info.netns).sort(), [100n, 200n]);
  });
});

describe('reading a namespace\'s own sysctl from outside it', { skip: requirement(netnsSkipReason(['ip', 'nsenter'])) }, () => {
  let netns: TestNetns | undefined;
  after(() => netns?.cleanup());

  test('nsenter reads the narrowed range of another namespace; the reader\'s own is read directly', async () => {
    netns = await TestNetns.create();
    await netns.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 40099']);
    const member = await netns.start(['sh', '-c', 'echo "READY {}"; exec sleep 600'], { readyTimeoutMs: 10_000 });
    const reader = new SysctlPortRangeReader('/proc');
    assert.deepEqual(await reader.read({ netnsInode: netnsInodeOf(member.pid), pids: [member.pid] }), { low: 40000, high: 40099, assumed: false });
    const own = parsePortRange((await import('node:fs')).readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))!;
    assert.deepEqual(await reader.read({ netnsInode: netnsInodeOf(process.pid), pids: [] }), { ...own, assumed: false });
    // A namespace none of whose processes can be entered: the default, said to be assumed.
    assert.deepEqual(await reader.read({ netnsInode: '1', pids: [2 ** 22 + 1] }), DEFAULT_PORT_RANGE);
  });
});

describe('the namespace table travels to the aggregator', () => {
  let aggregator: RunningAggregator | undefined;
  const controller = new AbortController();
  let running: Promise<void> | undefined;

  before(async () => {
    aggregator = await startAggregator({ grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', staleAfterMs: 10_000, evictAfterMs: 60_000, maxMessageBytes: 1 << 20, maxSocketsPerMessage: 1_000, maxSocketsPerNode: 10_000, log: () => undefined });
  });
  after(async () => {
    controller.abort();
    await running;
    await aggregator?.stop();
  });

  test('in the snapshot, then whole in a delta when it changes', async () => {
    const table = new SocketTable();
    table.update([Socket.fromPartial({ key: 'k1', netns: 100n, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '10.0.0.1', localPort: 1, foreignAddress: '10.0.0.2', foreignPort: 2 })]);
    const stream = new AgentStream({ address: `127.0.0.1:${aggregator!.grpcPort}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table, heartbeatMs: 200 });
    stream.offerNamespaces([{ netns: 100n, portRangeLow: 40000, portRangeHigh: 40099, portRangeAssumed: false }]);
    running = stream.run(controller.signal);
    const node = () => aggregator!.store.get('node-a');
    await waitFor(() => node()?.synced === true && node()!.namespaces.size === 1, { what: 'the snapshot with its table', timeoutMs: 5_000, intervalMs: 25 });
    assert.deepEqual(portRangeOf(node()!, '100'), { low: 40000, high: 40099, assumed: false });
    stream.offerNamespaces([{ netns: 200n, portRangeLow: 32768, portRangeHigh: 60999, portRangeAssumed: true }]);
    await waitFor(() => node()!.namespaces.has('200'), { what: 'the new table', timeoutMs: 5_000, intervalMs: 25 });
    assert.equal(portRangeOf(node()!, '100'), undefined, 'replaced whole');
    assert.deepEqual(portRangeOf(node()!, '200'), { low: 32768, high: 60999, assumed: true });
  });

  test('a range that cannot be one is refused as malformed', () => {
    for (const [low, high] of [[0, 100], [60000, 50000], [1, 70000]] as const) {
      const bytes = Buffer.from(StreamRequest.encode({ message: { $case: 'delta', value: { sequence: 1n, upserted: [], removedKeys: [], pods: [], namespaces: { namespaces: [{ netns: 1n, portRangeLow: low, portRangeHigh: high, portRangeAssumed: false }] } } } }).finish());
      assert.throws(() => new StreamReader().read(bytes, new PodCache()), WireFormatError);
    }
  });
});
