import { PodDictionary } from '../../../agent/stream/pod-dictionary.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { STREAM_WINDOW_BYTES } from '../../../aggregator/server/index.js';
import { AGENT_DEFAULTS } from '../../../config/agent-settings.js';
import { StreamRequest } from '../../../gen/kubenetstat/v1/agent.js';
import { runCli } from '../../support/run-cli.js';
import { comparable, difference, exactView, nodeView, ownScan, served, waitConverged, type ComparableItem, type NodeView } from '../../support/stream/converge.js';
import { NodeTree } from '../../support/stream/node-tree.js';
import { InvariantPoller } from '../../support/stream/poller.js';
import { ProcessSet, startAgentProcess, startAggregatorProcess, type AggregatorProcess, type KubeNetstatProcess } from '../../support/stream/processes.js';
import { CuttingProxy } from '../../support/stream/tcp-proxy.js';
import { waitFor } from '../../support/wait.js';
import { hostSockets } from '../../support/host-sockets.js';

/**
 * The streaming contract end to end, with real processes on loopback: one aggregator, agents
 * over fixture proc trees as simulated nodes. converged(node) means the aggregator vouches for
 * the node and serves exactly what the node's own scan shows now (every field but firstSeen).
 * The scenarios run in order on one cluster; each ends with every live node converged.
 */

/** Short enough that f's staleness and eviction fit in a test (the CLI's lowest values). */
const AGGREGATOR_TIMING = { staleAfter: '3s', evictAfter: '10s' } as const;
const SMALL_NODES = ['node-a', 'node-b', 'node-c'] as const;
const BIG_NODE = 'node-big';
/** Sockets per snapshot chunk: the agent's default (not a flag). */
const CHUNK_SIZE = AGENT_DEFAULTS.chunkSize;
/** Rows the big node adds to the demo table: a snapshot of several chunks. */
const BIG_ROWS = 2_200;

function newTree(index: number): NodeTree {
  const digit = index.toString(16);
  return new NodeTree({
    netnsInode: String(4026539100 + index),
    podUid: `${digit.repeat(8)}-0000-4000-8000-${String(index).padStart(12, '0')}`,
    containerId: digit.repeat(64),
    inodeBase: 7_000_000 + index * 100_000,
  });
}

/** Fails the poll when any of `nodes` is served differently from its baseline. */
async function unchangedWatcher(httpPort: number, nodes: readonly string[]): Promise<InvariantPoller> {
  const baseline = new Map<string, Awaited<ReturnType<typeof exactView>>>();
  for (const node of nodes) baseline.set(node, await exactView(httpPort, node));
  for (const [node, view] of baseline) assert.equal(view.unavailable, undefined, `${node} must be live before the scenario`);
  return new InvariantPoller(async () => {
    for (const node of nodes) {
      const view = await exactView(httpPort, node);
      if (!isDeepStrictEqual(view, baseline.get(node))) return `${node} changed: unavailable=${view.unavailable ?? 'no'}, ${view.items.length} items (was ${baseline.get(node)!.items.length})`;
    }
    return undefined;
  });
}

/** Encoded bytes of each snapshot chunk the agent sends for this tree (its own differ only in firstSeen, a varint of the same width). */
async function snapshotChunkBytes(procRoot: string, node: string): Promise<number[]> {
  const sockets = await hostSockets(procRoot, node);
  const sizes: number[] = [];
  // As the agent's stream sends them: pods defined once, then referred to.
  const dictionary = new PodDictionary();
  for (let index = 0; index * CHUNK_SIZE < sockets.length; index++) {
    const { sockets: slice, pods } = dictionary.encode(sockets.slice(index * CHUNK_SIZE, (index + 1) * CHUNK_SIZE));
    sizes.push(StreamRequest.encode({ message: { $case: 'snapshot', value: { sequence: BigInt(index + 1), snapshotId: 1n, index, sockets: slice, last: false, pods } } }).finish().length);
  }
  return sizes;
}

/** A byte count that ends inside the snapshot's second chunk: all of chunk 0, half of chunk 1. */
async function cutInsideSnapshot(procRoot: string, node: string): Promise<{ cutAt: number; snapshotBytes: number }> {
  const sizes = await snapshotChunkBytes(procRoot, node);
  assert.ok(sizes.length >= 3, `the big node's snapshot must span several chunks, got ${sizes.length}`);
  return { cutAt: sizes[0]! + Math.floor(sizes[1]! / 2), snapshotBytes: sizes.reduce((sum, size) => sum + size, 0) };
}

describe('agent → aggregator streaming over loopback, with faults', { timeout: 180_000 }, () => {
  const processes = new ProcessSet();
  const trees = new Map<string, NodeTree>();
  const agents = new Map<string, KubeNetstatProcess>();
  /** Every tree made, for after(); `trees` maps each node to the one its agent scans now. */
  const created: NodeTree[] = [];
  const treeFor = (index: number): NodeTree => {
    const made = newTree(index);
    created.push(made);
    return made;
  };
  let aggregator: AggregatorProcess;
  let proxy: CuttingProxy | undefined;
  const savedKubeconfig = process.env.KUBECONFIG;

  const grpcAddress = (): string => `127.0.0.1:${aggregator.grpcPort}`;
  const tree = (node: string): NodeTree => trees.get(node)!;
  const liveNodes = (): string[] => [...agents.keys()].sort();
  const allConverged = (nodes: readonly string[] = liveNodes()): Promise<ComparableItem[][]> =>
    Promise.all(nodes.map((node) => waitConverged(aggregator.httpPort, node, tree(node).root)));
  const waitForView = async (node: string, predicate: (view: NodeView) => boolean, what: string, timeoutMs = 15_000): Promise<NodeView> => {
    let view: NodeView | undefined;
    await waitFor(
      async () => {
        view = await nodeView(aggregator.httpPort, node);
        return predicate(view);
      },
      { timeoutMs, intervalMs: 50, what: `${node}: ${what}`, describe: () => `unavailable=${view?.unavailable?.reason ?? 'no'}, ${view?.items.length ?? '?'} items` },
    );
    return view!;
  };

  before(async () => {
    // `local` in-process: no kubeconfig, pods by UID, exactly like the agents.
    process.env.KUBECONFIG = '';
    SMALL_NODES.forEach((node, index) => trees.set(node, treeFor(index + 1)));
    aggregator = await startAggregatorProcess(processes, AGGREGATOR_TIMING);
    for (const node of SMALL_NODES) agents.set(node, startAgentProcess(processes, { node, procRoot: tree(node).root, aggregator: grpcAddress() }));
  });

  after(async () => {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
    await processes.killAll();
    await proxy?.stop();
    for (const made of created) made.dispose();
  });

  it('a. every node converges after the initial sync, and again after its table churns', async () => {
    for (const node of SMALL_NODES) {
      // The reference is what `kube-netstat local -o json` prints for the node's tree.
      const local = await runCli(['local', '--proc-root', tree(node).root, '-tuwxan', '-o', 'json', '--node', node]);
      assert.equal(local.code, 0, local.stderr);
      assert.deepEqual(comparable((JSON.parse(local.stdout) as { items: Parameters<typeof comparable>[0] }).items), await ownScan(tree(node).root, node));
    }
    let previous = await allConverged(SMALL_NODES);
    for (let round = 1; round <= 3; round++) {
      for (const node of SMALL_NODES) tree(node).churn(round);
      const now = await allConverged(SMALL_NODES);
      now.forEach((items, i) => assert.notDeepEqual(items, previous[i], 'churn must change what the node shows'));
      previous = now;
    }
    const closeWait = previous[0]!.filter((item) => item.state === 'CLOSE_WAIT' && Number(item.inode) >= 7_100_000);
    assert.ok(closeWait.length > 0, 'a socket that changed state to CLOSE_WAIT is served');
  });

  it('b. aggregator SIGKILLed and restarted on the same ports: agents reconnect and resend, churn made meanwhile included', async () => {
    const { grpcPort, httpPort } = aggregator;
    const marks = new Map(SMALL_NODES.map((node) => [node, agents.get(node)!.logs.length]));
    aggregator.process.signal('SIGKILL');
    await aggregator.process.exited;
    for (const node of SMALL_NODES) {
      const unreachable = await agents.get(node)!.waitForLog((line) => line.msg === 'aggregator unreachable', 'a failed connection', { from: marks.get(node)! });
      assert.ok(Number(unreachable.retryInMs) > 0);
    }
    for (const node of SMALL_NODES) tree(node).churn(10);
    aggregator = await startAggregatorProcess(processes, { grpcPort, httpPort, ...AGGREGATOR_TIMING });
    assert.deepEqual([aggregator.grpcPort, aggregator.httpPort], [grpcPort, httpPort]);
    await allConverged(SMALL_NODES);
    for (const node of SMALL_NODES) assert.ok(agents.get(node)!.running, `${node}'s agent survived`);
  });

  it('c. an agent SIGKILLed and restarted with a new epoch converges; the other nodes are untouched throughout', async () => {
    const node = 'node-b';
    const connectedEpoch = (from: number): bigint =>
      BigInt(String([...aggregator.process.logs.slice(from)].reverse().find((line) => line.msg === 'node connected' && line.node === node)?.epoch ?? 0));
    const oldEpoch = connectedEpoch(0);
    assert.ok(oldEpoch > 0n);
    const watcher = await unchangedWatcher(aggregator.httpPort, ['node-a', 'node-c']);
    try {
      const last = await waitConverged(aggregator.httpPort, node, tree(node).root);
      const from = aggregator.process.logs.length;
      const killed = agents.get(node)!;
      killed.signal('SIGKILL');
      await killed.exited;
      await waitForView(node, (view) => /^agent disconnected/.test(view.unavailable?.reason ?? '') && isDeepStrictEqual(view.items, last), 'flagged disconnected, last sockets served');
      tree(node).churn(20);
      agents.set(node, startAgentProcess(processes, { node, procRoot: tree(node).root, aggregator: grpcAddress() }));
      await aggregator.process.waitForLog((line) => line.msg === 'node connected' && line.node === node, 'the new agent', { from });
      assert.ok(connectedEpoch(from) > oldEpoch, 'the restarted agent has a newer epoch');
      await waitConverged(aggregator.httpPort, node, tree(node).root);
    } finally {
      await watcher.stop();
    }
    assert.deepEqual(watcher.violations, []);
    assert.ok(watcher.polls >= 10, `the other nodes were watched (${watcher.polls} polls)`);
  });

  it('d1. a connection cut inside the first snapshot: the node is never vouched for with part of its sockets', async () => {
    const big = treeFor(4);
    trees.set(BIG_NODE, big);
    for (let i = 0; i < BIG_ROWS; i++) big.add({ owned: i % 10 === 0 });
    big.write();
    const full = await ownScan(big.root, BIG_NODE);
    const { cutAt, snapshotBytes } = await cutInsideSnapshot(big.root, BIG_NODE);
    proxy = await CuttingProxy.start(aggregator.grpcPort, { cutFirstAfter: cutAt });
    // No complete snapshot yet, so nothing may be served: flagged and empty, or whole.
    const poller = new InvariantPoller(
      async () => {
        const view = await nodeView(aggregator.httpPort, BIG_NODE);
        if (view.unavailable) return view.items.length === 0 ? undefined : `flagged (${view.unavailable.reason}) yet serving ${view.items.length} of ${full.length} sockets, never sent whole`;
        if (view.items.length === 0 || isDeepStrictEqual(view.items, full)) return undefined;
        return `vouched for with ${view.items.length} of ${full.length} sockets`;
      },
      { intervalMs: 15 },
    );
    const from = aggregator.process.logs.length;
    try {
      agents.set(BIG_NODE, startAgentProcess(processes, { node: BIG_NODE, procRoot: big.root, aggregator: `127.0.0.1:${proxy.port}` }));
      await aggregator.process.waitForLog((line) => line.msg === 'node disconnected' && line.node === BIG_NODE, 'the cut connection', { from });
      await waitConverged(aggregator.httpPort, BIG_NODE, big.root, 30_000);
    } finally {
      await poller.stop();
    }
    assert.deepEqual(proxy.cut, [0], 'the first connection was cut');
    assert.equal(proxy.forwarded[0], cutAt);
    assert.ok(cutAt < snapshotBytes, 'the cut fell inside the snapshot');
    assert.ok(proxy.connections >= 2, 'the agent reconnected');
    assert.deepEqual(poller.violations.slice(0, 5), [], `${poller.violations.length} violations in ${poller.polls} polls`);
  });

  it('d2. a connection cut inside a resent snapshot: the previous complete state stays, flagged, until the new one is whole', async () => {
    assert.ok(proxy, 'd1 set up the proxy');
    const big = tree(BIG_NODE);
    const bigAgent = agents.get(BIG_NODE)!;
    const stateA = await waitConverged(aggregator.httpPort, BIG_NODE, big.root);
    const { cutAt } = await cutInsideSnapshot(big.root, BIG_NODE);
    let stateB: ComparableItem[] | undefined;
    let sawPreviousFlagged = false;
    const poller = new InvariantPoller(
      async () => {
        const view = await nodeView(aggregator.httpPort, BIG_NODE);
        const isA = isDeepStrictEqual(view.items, stateA);
        const isB = stateB !== undefined && isDeepStrictEqual(view.items, stateB);
        if (view.unavailable && isA) sawPreviousFlagged = true;
        return isA || isB ? undefined : `served neither complete state: ${difference(stateB ?? stateA, view.items)} (unavailable=${view.unavailable?.reason ?? 'no'})`;
      },
      { intervalMs: 15 },
    );
    try {
      proxy.refuse(true);
      const from = bigAgent.logs.length;
      proxy.dropAll();
      // While it cannot connect, a third of what the node added goes, as much comes, and some sockets change state.
      const added = big.rows.filter((row) => Number(row.inode) >= 7_400_000);
      const gone = new Set(added.slice(0, 700));
      big.remove((row) => gone.has(row));
      for (let i = 0; i < 700; i++) big.add({ owned: i % 7 === 0 });
      for (const row of big.rows.slice(100, 200)) if (row.state === '01') row.state = '08';
      big.write();
      stateB = await ownScan(big.root, BIG_NODE);
      // Refused reconnects take backoff time, in which the agent rescans: its next snapshot is B.
      await waitFor(() => bigAgent.logs.slice(from).filter((line) => line.msg === 'aggregator unreachable').length >= 3, { timeoutMs: 10_000, what: 'three refused reconnects' });
      const cutConnection = proxy.connections;
      proxy.cutNext(cutAt);
      proxy.refuse(false);
      await waitFor(() => proxy!.connections > cutConnection + 1, { timeoutMs: 15_000, what: 'a connection after the cut one' });
      assert.deepEqual([proxy.cut.at(-1), proxy.forwarded[cutConnection]], [cutConnection, cutAt], 'that connection was cut inside the snapshot');
      await waitConverged(aggregator.httpPort, BIG_NODE, big.root, 30_000);
    } finally {
      await poller.stop();
    }
    assert.deepEqual(poller.violations.slice(0, 5), [], `${poller.violations.length} violations in ${poller.polls} polls`);
    assert.ok(sawPreviousFlagged, 'while the new snapshot was incomplete the previous state was served, flagged');
  });

  it('e. aggregator frozen with SIGSTOP while tables churn: agents hold back, stay bounded, and converge after SIGCONT', async (t) => {
    assert.ok(proxy, 'd1 set up the proxy');
    await allConverged();
    const big = tree(BIG_NODE);
    const bigAgent = agents.get(BIG_NODE)!;
    const rssBefore = bigAgent.rssBytes();
    let rssMax = rssBefore;
    const connection = proxy.connections - 1;
    const bytesBefore = proxy.forwarded[connection]!;
    let rounds = 0;
    aggregator.process.signal('SIGSTOP');
    try {
      for (; rounds < 20; rounds++) {
        for (const node of SMALL_NODES) tree(node).churn(30 + rounds);
        // Every socket of the big node changes its queues: each scan's delta is the whole table.
        for (const row of big.rows) row.rxQueue = (rounds + 1).toString(16).toUpperCase().padStart(8, '0');
        big.write();
        rssMax = Math.max(rssMax, bigAgent.rssBytes());
        // Paces the workload at about one agent scan per round (not an assertion).
        await sleep(250);
      }
    } finally {
      aggregator.process.signal('SIGCONT');
    }
    const bytesAtResume = proxy.forwarded[connection]!;
    for (const [node, agent] of agents) assert.ok(agent.running, `${node}'s agent survived the frozen aggregator`);
    await allConverged();
    assert.equal(proxy.connections - 1, connection, 'the big node kept its connection');
    const chunkBytes = await snapshotChunkBytes(big.root, BIG_NODE);
    const tableBytes = chunkBytes.reduce((sum, size) => sum + size, 0);
    const whileFrozen = bytesAtResume - bytesBefore;
    const afterResume = proxy.forwarded[connection]! - bytesAtResume;
    t.diagnostic(`${rounds} rounds of whole-table churn (${tableBytes} bytes a table on the wire): ${whileFrozen} bytes sent while frozen, ${afterResume} after; agent RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB → max ${(rssMax / 2 ** 20).toFixed(0)} MiB`);
    // Flow control: a frozen reader's HTTP/2 stream window (aggregator/http2-windows.ts, plus
    // frame headers), not the churn (20 tables here), bounds what leaves the agent.
    const windowBound = STREAM_WINDOW_BYTES + 16 * 1024;
    assert.ok(windowBound < (rounds * tableBytes) / 10, `a window (${windowBound} bytes) under a tenth of the churn (${rounds} tables of ${tableBytes})`);
    assert.ok(whileFrozen < windowBound, `flow control held the agent back: ${whileFrozen} bytes while frozen, bound ${windowBound}`);
    // Coalescing: the backlog is what the call had buffered when its write() first said wait
    // (grpc-js queues 16 messages per call before that), one merged table, and at most one
    // snapshot if the aggregator asks for a resync on waking — however many scans the freeze
    // lasted. One delta per scan would have been a table per scan: 20 tables here.
    const backlogBound = 16 * Math.max(...chunkBytes) + 3 * tableBytes;
    assert.ok(afterResume < backlogBound, `the backlog was coalesced: ${afterResume} bytes after resume, bound ${backlogBound}`);
    // A crash guard only: the agent's RSS saw-tooths by ~150 MiB under steady scanning.
    assert.ok(rssMax - rssBefore < 256 * 2 ** 20, `agent RSS stayed bounded: ${rssBefore} → max ${rssMax}`);
  });

  it('g. a second agent claiming a node: the newer epoch wins, deterministically, and the aggregator logs it', async () => {
    const node = 'node-a';
    const older = agents.get(node)!;
    const newerTree = treeFor(5);
    const from = aggregator.process.logs.length;
    const olderFrom = older.logs.length;
    const newer = startAgentProcess(processes, { node, procRoot: newerTree.root, aggregator: grpcAddress() });
    const replaced = await aggregator.process.waitForLog((line) => line.msg === 'agent connection replaced' && line.node === node, 'the replacement', { from });
    assert.ok(BigInt(String(replaced.epoch)) > BigInt(String(replaced.previousEpoch)), 'the newer epoch replaced the older');
    const refusedLine = (line: { msg: string; [field: string]: unknown }) => line.msg === 'agent refused' && line.node === node && line.epoch === replaced.previousEpoch && line.current === replaced.epoch;
    await aggregator.process.waitForLog(refusedLine, 'the older agent refused', { from });
    await older.waitForLog((line) => line.msg === 'aggregator unreachable' && /FAILED_PRECONDITION.*held by a newer agent/.test(String(line.error)), 'the refusal', { from: olderFrom });
    await waitConverged(aggregator.httpPort, node, newerTree.root);
    // The older agent keeps retrying and keeps losing; the node stays the newer agent's.
    const mark = aggregator.process.logs.length;
    await aggregator.process.waitForLog(refusedLine, 'another refusal', { from: mark });
    const view = await nodeView(aggregator.httpPort, node);
    assert.equal(view.unavailable, undefined);
    assert.deepEqual(view.items, await ownScan(newerTree.root, node));
    assert.ok(older.running && newer.running);
    await older.kill();
    agents.set(node, newer);
    trees.set(node, newerTree);
  });

  it('f. a node going away: flagged while its last sockets are served, forgotten after the eviction TTL; others unaffected', async () => {
    const gone = 'node-c';
    const last = await waitConverged(aggregator.httpPort, gone, tree(gone).root);
    const silent = 'node-b';
    const silentLast = await waitConverged(aggregator.httpPort, silent, tree(silent).root);
    const watcher = await unchangedWatcher(aggregator.httpPort, ['node-a', BIG_NODE]);
    const from = aggregator.process.logs.length;
    try {
      const agent = agents.get(gone)!;
      // Taken before the kill: the aggregator may see the connection reset before this process sees the exit.
      const killedAt = Date.now();
      agent.signal('SIGKILL');
      await agent.exited;
      agents.delete(gone);
      await waitForView(gone, (view) => /^agent disconnected .*showing its last known sockets/.test(view.unavailable?.reason ?? '') && isDeepStrictEqual(view.items, last), 'flagged disconnected with its last sockets');
      // A connected agent that goes silent is flagged stale, still with its last sockets.
      agents.get(silent)!.signal('SIGSTOP');
      try {
        await waitForView(silent, (view) => /^stale: nothing from its agent/.test(view.unavailable?.reason ?? '') && isDeepStrictEqual(view.items, silentLast), 'flagged stale with its last sockets');
      } finally {
        agents.get(silent)!.signal('SIGCONT');
      }
      await waitConverged(aggregator.httpPort, silent, tree(silent).root);
      const evicted = await aggregator.process.waitForLog((line) => line.msg === 'node evicted' && line.node === gone, 'the eviction', { from, timeoutMs: 20_000 });
      assert.ok(Number(evicted.downForMs) > 10_000);
      assert.ok(Date.now() - killedAt >= 10_000, 'not before the eviction TTL');
      const afterEviction = await served(aggregator.httpPort, gone);
      assert.deepEqual([afterEviction.items, afterEviction.unavailableNodes], [[], []]);
      const clusterWide = await served(aggregator.httpPort, '');
      assert.ok(!clusterWide.items.some((item) => item.node === gone) && !clusterWide.unavailableNodes.some((entry) => entry.node === gone), 'gone from cluster-wide answers too');
    } finally {
      await watcher.stop();
    }
    assert.deepEqual(watcher.violations, []);
    await allConverged();
  });
});
