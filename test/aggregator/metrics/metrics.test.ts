import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Gauge, type Registry } from 'prom-client';
import { AgentMetrics } from '../../../agent/metrics.js';
import { startAgentMetricsServer } from '../../../agent/metrics-server.js';
import type { ScanFigures } from '../../../agent/runner.js';
import { AgentStream } from '../../../agent/stream/client.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import { AggregatorMetrics, OTHER, socketSeries, type SocketSeries } from '../../../aggregator/metrics/index.js';
import { NodeStore } from '../../../aggregator/store/index.js';
import { startAggregator, type RunningAggregator } from '../../../aggregator/server/index.js';
import { summarize } from '../../../aggregator/query/index.js';
import { agentSettings } from '../../../cmd/agent.js';
import { aggregatorSettings } from '../../../cmd/aggregator.js';
import { UsageError } from '../../../config/usage-error.js';
import { QueryServiceClient, type SummaryResponse } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { STATES, type StateName } from '../../support/agent-sockets.js';
import { parseExposition, samplesOf, type Exposition } from '../../support/exposition.js';
import { runCli } from '../../support/run-cli.js';
import { storedSockets } from '../../support/stored.js';
import { NodeTree } from '../../support/stream/node-tree.js';
import { waitFor } from '../../support/wait.js';

const quiet = (): void => undefined;

const pod = (namespace: string, name: string, workloadKind = '', workloadName = ''): PodRef => ({
  namespace,
  name,
  uid: `uid-${name}`,
  container: 'main',
  containerId: '',
  runtime: '',
  workloadKind,
  workloadName,
  labels: {},
});

let serial = 0;
const socket = (state: StateName, fields: Partial<Socket> = {}): Socket => {
  const [stateCode, name, ssState] = STATES[state];
  serial++;
  return Socket.fromPartial({ key: `k${serial}`, proto: Proto.PROTO_TCP, stateCode, state: name, ssState, localAddress: '10.0.0.1', localPort: 8080, foreignAddress: '10.0.0.2', foreignPort: 40_000 + serial, ...fields });
};
const times = (count: number, make: () => Socket): Socket[] => Array.from({ length: count }, make);

const cart = pod('shop', 'cart-1', 'ReplicaSet', 'cart-7d9f');
const web = pod('shop', 'web-1', 'ReplicaSet', 'web-5c6b');
const debug = pod('shop', 'debug');
const pay = pod('payments', 'pay-0', 'StatefulSet', 'pay');

/** Sockets of each node: cart and pay leak CLOSE-WAIT on node-a; web, a bare pod and host sockets on node-b. */
function nodeSockets(): Record<string, Socket[]> {
  return {
    'node-a': [
      ...times(3, () => socket('close-wait', { pod: cart })),
      socket('estab', { pod: cart }),
      socket('listen', { pod: cart, foreignAddress: '0.0.0.0', foreignPort: 0 }),
      socket('close-wait', { pod: pay }),
      socket('estab', { pod: pay }),
    ],
    'node-b': [
      socket('estab', { pod: web }),
      socket('time-wait', { pod: web }),
      ...times(2, () => socket('estab', { pod: debug })),
      socket('listen', { localPort: 10250, foreignAddress: '0.0.0.0', foreignPort: 0 }),
      socket('estab', { proto: Proto.PROTO_UNIX, stateCode: 3, state: 'CONNECTED', ssState: 'ESTAB', localAddress: '', localPort: 0, foreignAddress: '', foreignPort: 0 }),
    ],
  };
}

function cluster(): NodeStore {
  const store = new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 120_000 });
  for (const [name, sockets] of Object.entries(nodeSockets())) {
    const { session } = store.claim(name, 1n, 'boot');
    store.replaceSockets(store.owned(name, session!)!, storedSockets(sockets));
  }
  return store;
}

/** The series as plain records, for whole-record comparisons. */
const plain = (series: SocketSeries) => JSON.parse(JSON.stringify(series)) as SocketSeries;

describe('socket series: counts by state per pod, namespace and node, with a cap on pods', () => {
  const store = cluster();

  test('every pod gets its labels and counts; a pod without an owner is its own workload', () => {
    assert.deepEqual(plain(socketSeries(store, 100)), {
      pods: [
        { labels: { namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1' }, states: { 'CLOSE-WAIT': 3, ESTAB: 1, LISTEN: 1 } },
        { labels: { namespace: 'payments', workload_kind: 'StatefulSet', workload: 'pay', pod: 'pay-0' }, states: { 'CLOSE-WAIT': 1, ESTAB: 1 } },
        { labels: { namespace: 'shop', workload_kind: 'Pod', workload: 'debug', pod: 'debug' }, states: { ESTAB: 2 } },
        { labels: { namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'web-5c6b', pod: 'web-1' }, states: { ESTAB: 1, 'TIME-WAIT': 1 } },
      ],
      namespaces: [
        { labels: { namespace: 'payments' }, states: { 'CLOSE-WAIT': 1, ESTAB: 1 } },
        { labels: { namespace: 'shop' }, states: { 'CLOSE-WAIT': 3, ESTAB: 4, LISTEN: 1, 'TIME-WAIT': 1 } },
      ],
      hosts: [{ labels: { node: 'node-b' }, states: { LISTEN: 1, 'unix:ESTAB': 1 } }],
      foldedPods: 0,
    });
  });

  test('the counts are the summary\'s, by pod, by namespace and for host sockets', () => {
    const series = socketSeries(store, 100);
    const byPod = summarize(store, {}, 'pod').rows.filter((row) => row.pod !== null);
    assert.deepEqual(
      series.pods.map(({ labels, states }) => [labels.namespace, labels.pod, states]).sort(),
      byPod.map((row) => [row.namespace, row.pod, row.states]).sort(),
    );
    const byNamespace = summarize(store, {}, 'namespace').rows;
    assert.deepEqual(
      series.namespaces.map(({ labels, states }) => [labels.namespace, states]),
      byNamespace.filter((row) => row.namespace !== null).map((row) => [row.namespace, row.states]),
    );
    assert.deepEqual(
      series.hosts.map(({ labels, states }) => [labels.node, states]),
      byNamespace.filter((row) => row.namespace === null).map((row) => [row.node, row.states]),
    );
  });

  const capCases = [
    {
      name: 'a cap of 2 keeps the pods with the most CLOSE-WAIT, folds the rest of their namespace',
      maxPods: 2,
      pods: [
        ['shop/cart-1', { 'CLOSE-WAIT': 3, ESTAB: 1, LISTEN: 1 }],
        ['payments/pay-0', { 'CLOSE-WAIT': 1, ESTAB: 1 }],
        [`shop/${OTHER}`, { ESTAB: 3, 'TIME-WAIT': 1 }],
      ],
      folded: 2,
    },
    {
      name: 'a cap of 3 keeps the bigger pod among those without CLOSE-WAIT (then by name)',
      maxPods: 3,
      pods: [
        ['shop/cart-1', { 'CLOSE-WAIT': 3, ESTAB: 1, LISTEN: 1 }],
        ['payments/pay-0', { 'CLOSE-WAIT': 1, ESTAB: 1 }],
        ['shop/debug', { ESTAB: 2 }],
        [`shop/${OTHER}`, { ESTAB: 1, 'TIME-WAIT': 1 }],
      ],
      folded: 1,
    },
    {
      name: 'a cap of 0 folds every pod: one series set per namespace',
      maxPods: 0,
      pods: [
        [`payments/${OTHER}`, { 'CLOSE-WAIT': 1, ESTAB: 1 }],
        [`shop/${OTHER}`, { 'CLOSE-WAIT': 3, ESTAB: 4, LISTEN: 1, 'TIME-WAIT': 1 }],
      ],
      folded: 4,
    },
  ] as const;
  for (const { name, maxPods, pods, folded } of capCases) {
    test(name, () => {
      const series = socketSeries(store, maxPods);
      assert.deepEqual(plain(series).pods.map(({ labels, states }) => [`${labels.namespace}/${labels.pod}`, states]), pods);
      assert.equal(series.foldedPods, folded);
      for (const other of series.pods.filter(({ labels }) => labels.pod === OTHER)) assert.deepEqual(other.labels, { namespace: other.labels.namespace, workload_kind: '', workload: OTHER, pod: OTHER });
      assert.deepEqual(series.namespaces, socketSeries(store, 100).namespaces, 'namespace totals do not depend on the cap');
    });
  }
});

/** The text a registry serves, parsed (which checks its format). */
async function scrape(registry: Registry): Promise<Exposition> {
  return parseExposition(await registry.metrics());
}

describe('the aggregator\'s registry', () => {
  test('one scrape walks the store once and serves every pod, namespace and host series', async () => {
    const store = cluster();
    let walks = 0;
    const sweep = store.sweep.bind(store);
    // Every pass over the store (aggregator/query/selection.ts orderedNodes) starts with a sweep.
    store.sweep = () => {
      walks++;
      sweep();
    };
    const metrics = new AggregatorMetrics(store, { maxPods: 2, openWatches: () => 3, processMetrics: false, log: quiet });
    const exposition = await scrape(metrics.registry);
    assert.equal(walks, 1);
    const values = (name: string) => samplesOf(exposition, name).map(({ labels, value }) => [labels, value]);
    // Series in any order: states come in the order the pods' sockets were met.
    const sorted = (rows: ReturnType<typeof values>) => rows.map((row) => ({ row, text: JSON.stringify(row) })).sort((a, b) => (a.text < b.text ? -1 : 1)).map(({ row }) => row);
    assert.deepEqual(sorted(values('kubenetstat_sockets')), sorted([
      [{ namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1', state: 'CLOSE-WAIT' }, 3],
      [{ namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1', state: 'ESTAB' }, 1],
      [{ namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1', state: 'LISTEN' }, 1],
      [{ namespace: 'payments', workload_kind: 'StatefulSet', workload: 'pay', pod: 'pay-0', state: 'CLOSE-WAIT' }, 1],
      [{ namespace: 'payments', workload_kind: 'StatefulSet', workload: 'pay', pod: 'pay-0', state: 'ESTAB' }, 1],
      [{ namespace: 'shop', workload_kind: '', workload: OTHER, pod: OTHER, state: 'ESTAB' }, 3],
      [{ namespace: 'shop', workload_kind: '', workload: OTHER, pod: OTHER, state: 'TIME-WAIT' }, 1],
    ]));
    assert.deepEqual(sorted(values('kubenetstat_namespace_sockets')), sorted([
      [{ namespace: 'payments', state: 'CLOSE-WAIT' }, 1],
      [{ namespace: 'payments', state: 'ESTAB' }, 1],
      [{ namespace: 'shop', state: 'CLOSE-WAIT' }, 3],
      [{ namespace: 'shop', state: 'ESTAB' }, 4],
      [{ namespace: 'shop', state: 'LISTEN' }, 1],
      [{ namespace: 'shop', state: 'TIME-WAIT' }, 1],
    ]));
    assert.deepEqual(values('kubenetstat_host_sockets'), [
      [{ node: 'node-b', state: 'LISTEN' }, 1],
      [{ node: 'node-b', state: 'unix:ESTAB' }, 1],
    ]);
    assert.deepEqual(values('kubenetstat_metrics_folded_pods'), [[{}, 2]]);
    assert.deepEqual(values('kubenetstat_nodes'), [[{ status: 'live' }, 2], [{ status: 'syncing' }, 0], [{ status: 'stale' }, 0], [{ status: 'disconnected' }, 0]]);
    assert.deepEqual(values('kubenetstat_stored_sockets'), [[{}, 13]]);
    assert.deepEqual(values('kubenetstat_watches_open'), [[{}, 3]]);
    assert.equal(exposition.types.get('kubenetstat_query_duration_seconds'), 'histogram');
    assert.equal(samplesOf(exposition, 'process_cpu_seconds_total').length, 0, 'no process metrics when asked not to');

    // A pod that goes away leaves no series behind at the next scrape.
    const node = store.get('node-b')!;
    store.replaceSockets(node, storedSockets([]));
    const next = await scrape(metrics.registry);
    assert.equal(walks, 2);
    assert.deepEqual(samplesOf(next, 'kubenetstat_sockets', { namespace: 'shop', state: 'TIME-WAIT' }), []);
    assert.deepEqual(samplesOf(next, 'kubenetstat_host_sockets'), []);
  });

  test('nodes by status: syncing before the first snapshot, disconnected, stale', async () => {
    let now = 1_000_000;
    const store = new NodeStore({ staleAfterMs: 15_000, evictAfterMs: 600_000, now: () => now });
    const metrics = new AggregatorMetrics(store, { maxPods: 10, openWatches: () => 0, processMetrics: false, log: quiet });
    const claim = (name: string) => store.owned(name, store.claim(name, 1n, 'boot').session!)!;
    store.replaceSockets(claim('live'), storedSockets([]));
    claim('syncing');
    const gone = claim('gone');
    store.disconnected('gone', gone.session, 'test');
    now += 10_000;
    const silent = claim('silent');
    store.replaceSockets(silent, storedSockets([]));
    now += 10_000;
    store.touch(store.get('live')!);
    now += 6_000;
    const statuses = samplesOf(await scrape(metrics.registry), 'kubenetstat_nodes').map(({ labels, value }) => [labels.status, value]);
    // live was touched 6 s ago; silent 16 s ago (stale); syncing never sent a snapshot.
    assert.deepEqual(statuses, [['live', 1], ['syncing', 1], ['stale', 1], ['disconnected', 1]]);
  });

  test('ingest events count messages, changes, snapshots, resyncs and rejections by status', async () => {
    const metrics = new AggregatorMetrics(new NodeStore({ staleAfterMs: 15_000, evictAfterMs: 60_000 }), { maxPods: 10, openWatches: () => 0, processMetrics: false, log: quiet });
    for (const message of ['hello', 'snapshot', 'snapshot', 'delta'] as const) metrics.onIngestEvent({ kind: 'message', message });
    metrics.onApplied(250);
    metrics.onApplied(3);
    metrics.onIngestEvent({ kind: 'snapshot' });
    metrics.onIngestEvent({ kind: 'resync' });
    metrics.onIngestEvent({ kind: 'rejected', code: 'INVALID_ARGUMENT' });
    const exposition = await scrape(metrics.registry);
    const values = (name: string) => samplesOf(exposition, name).map(({ labels, value }) => [labels, value]);
    assert.deepEqual(values('kubenetstat_ingest_messages_total'), [[{ kind: 'hello' }, 1], [{ kind: 'snapshot' }, 2], [{ kind: 'delta' }, 1]]);
    assert.deepEqual(values('kubenetstat_ingest_changes_total'), [[{}, 253]]);
    assert.deepEqual(values('kubenetstat_ingest_snapshots_total'), [[{}, 1]]);
    assert.deepEqual(values('kubenetstat_ingest_resyncs_total'), [[{}, 1]]);
    assert.deepEqual(values('kubenetstat_ingest_errors_total'), [[{ reason: 'invalid_argument' }, 1]]);
  });

  test('the collector seam: another module\'s gauge is served, computed at scrape time; a name taken twice throws', async () => {
    const metrics = new AggregatorMetrics(new NodeStore({ staleAfterMs: 15_000, evictAfterMs: 60_000 }), { maxPods: 10, openWatches: () => 0, processMetrics: false, log: quiet });
    let open = 2;
    const findings = (registry: Registry): void => {
      new Gauge({
        name: 'kubenetstat_test_findings',
        help: 'Findings open, by rule.',
        labelNames: ['rule'],
        registers: [registry],
        collect() {
          this.set({ rule: 'close-wait-leak' }, open);
        },
      });
    };
    metrics.add(findings);
    assert.deepEqual(samplesOf(await scrape(metrics.registry), 'kubenetstat_test_findings').map(({ labels, value }) => [labels, value]), [[{ rule: 'close-wait-leak' }, 2]]);
    open = 5;
    assert.equal(samplesOf(await scrape(metrics.registry), 'kubenetstat_test_findings')[0]!.value, 5);
    assert.throws(() => metrics.add(findings), /already been registered/);
  });
});

function httpGet(port: number, path: string): Promise<{ status: number; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type']), text }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${path} timed out`)));
    request.on('error', reject);
  });
}

describe('GET /metrics on the aggregator, fed by a real agent stream', () => {
  let aggregator: RunningAggregator;
  const controller = new AbortController();
  let streaming: Promise<void> | undefined;
  const agentMetrics = new AgentMetrics({ processMetrics: false });

  before(async () => {
    aggregator = await startAggregator({ grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', staleAfterMs: 10_000, evictAfterMs: 60_000, maxMessageBytes: 16 << 20, maxSocketsPerMessage: 20_000, maxSocketsPerNode: 1_000_000, metricsMaxPods: 1, log: quiet });
    const table = new SocketTable();
    table.update(nodeSockets()['node-a']!);
    const stream = new AgentStream({ address: `127.0.0.1:${aggregator.grpcPort}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table, heartbeatMs: 200, onEvent: agentMetrics.onStreamEvent, onSent: agentMetrics.onSent });
    streaming = stream.run(controller.signal);
    await waitFor(() => aggregator.store.get('node-a')?.synced === true, { what: 'the snapshot', timeoutMs: 15_000, intervalMs: 20 });
  });

  after(async () => {
    controller.abort();
    await streaming;
    await aggregator?.stop();
  });

  test('serves the text format: pod series under the cap, folded pods, ingest counted, queries timed by route', async () => {
    const client = new QueryServiceClient(`127.0.0.1:${aggregator.grpcPort}`, credentials.createInsecure());
    try {
      await new Promise<SummaryResponse>((resolve, reject) => client.summary({ filter: undefined, by: 'pod' }, (error, response) => (error ? reject(error) : resolve(response))));
    } finally {
      client.close();
    }
    assert.equal((await httpGet(aggregator.httpPort, '/api/v1/top?by=close-wait')).status, 200);
    assert.equal((await httpGet(aggregator.httpPort, '/no/such/route')).status, 404);
    const served = await httpGet(aggregator.httpPort, '/metrics');
    assert.equal(served.status, 200);
    assert.equal(served.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    const exposition = parseExposition(served.text);
    const values = (name: string, labels: Record<string, string> = {}) => samplesOf(exposition, name, labels).map(({ labels: all, value }) => [all, value]);
    assert.deepEqual(values('kubenetstat_sockets'), [
      [{ namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1', state: 'CLOSE-WAIT' }, 3],
      [{ namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1', state: 'ESTAB' }, 1],
      [{ namespace: 'shop', workload_kind: 'ReplicaSet', workload: 'cart-7d9f', pod: 'cart-1', state: 'LISTEN' }, 1],
      [{ namespace: 'payments', workload_kind: '', workload: OTHER, pod: OTHER, state: 'CLOSE-WAIT' }, 1],
      [{ namespace: 'payments', workload_kind: '', workload: OTHER, pod: OTHER, state: 'ESTAB' }, 1],
    ]);
    assert.deepEqual(values('kubenetstat_metrics_folded_pods'), [[{}, 1]]);
    assert.deepEqual(values('kubenetstat_nodes', { status: 'live' }), [[{ status: 'live' }, 1]]);
    assert.deepEqual(values('kubenetstat_stored_sockets'), [[{}, 7]]);
    assert.deepEqual(values('kubenetstat_ingest_messages_total', { kind: 'hello' }), [[{ kind: 'hello' }, 1]]);
    assert.ok(samplesOf(exposition, 'kubenetstat_ingest_changes_total')[0]!.value >= 7);
    assert.equal(samplesOf(exposition, 'kubenetstat_ingest_snapshots_total')[0]!.value, 1);
    const counted = (transport: string, route: string) => samplesOf(exposition, 'kubenetstat_query_duration_seconds_count', { transport, route }).map(({ value }) => value);
    assert.deepEqual(counted('grpc', 'Summary'), [1]);
    assert.deepEqual(counted('http', '/api/v1/top'), [1]);
    assert.deepEqual(counted('http', 'other'), [1], 'an unknown path is timed as other, not under its own name');
    assert.equal(samplesOf(exposition, 'kubenetstat_query_duration_seconds_count').filter(({ labels }) => labels.route === '/no/such/route').length, 0);
    assert.ok(samplesOf(exposition, 'process_resident_memory_bytes')[0]!.value > 0, 'process metrics are on');
  });

  test('an open watch is counted as open, not timed', async () => {
    const before = samplesOf(parseExposition((await httpGet(aggregator.httpPort, '/metrics')).text), 'kubenetstat_query_duration_seconds_count', { route: '/api/v1/sockets' });
    await new Promise<void>((resolve, reject) => {
      const request = get({ host: '127.0.0.1', port: aggregator.httpPort, path: '/api/v1/sockets?watch=1', agent: false }, (response) => {
        response.once('data', () => {
          void (async () => {
            const open = parseExposition((await httpGet(aggregator.httpPort, '/metrics')).text);
            assert.deepEqual(samplesOf(open, 'kubenetstat_watches_open').map(({ value }) => value), [1]);
            request.destroy();
          })().then(resolve, reject);
        });
      });
      request.on('error', () => undefined);
    });
    await waitFor(async () => samplesOf(parseExposition((await httpGet(aggregator.httpPort, '/metrics')).text), 'kubenetstat_watches_open')[0]!.value === 0, { what: 'the watch to close', timeoutMs: 15_000, intervalMs: 20 });
    const afterWatch = samplesOf(parseExposition((await httpGet(aggregator.httpPort, '/metrics')).text), 'kubenetstat_query_duration_seconds_count', { route: '/api/v1/sockets' });
    assert.deepEqual(afterWatch, before);
  });

  test('the agent\'s stream metrics: messages and bytes by kind, connected', async () => {
    const exposition = await scrape(agentMetrics.registry);
    const kinds = samplesOf(exposition, 'kubenetstat_agent_wire_messages_total').map(({ labels }) => labels.kind);
    assert.deepEqual(kinds.slice(0, 2), ['hello', 'snapshot']);
    for (const kind of ['hello', 'snapshot']) assert.ok(samplesOf(exposition, 'kubenetstat_agent_wire_bytes_total', { kind })[0]!.value > 0, kind);
    assert.deepEqual(samplesOf(exposition, 'kubenetstat_agent_connected').map(({ value }) => value), [1]);
    assert.deepEqual(samplesOf(exposition, 'kubenetstat_agent_snapshots_sent_total').map(({ value }) => value), [1]);
  });
});

const figures = (fields: Partial<ScanFigures> = {}): ScanFigures => ({
  sockets: 120,
  upserted: 5,
  removed: 2,
  ms: 30,
  namespacesRead: 2,
  namespacesRebuilt: 1,
  namespaces: 11,
  processesWalked: 4,
  problems: { namespaceDenied: 0, fdDenied: 1, vanished: 3, tablesDenied: 0, duplicatesDropped: 0, refusals: [] },
  unparsedLines: 1,
  ...fields,
});

describe('the agent\'s metrics and its own listener', () => {
  test('scans: duration, sockets, namespaces read and skipped, fd walks, errors by kind, changes', async () => {
    const metrics = new AgentMetrics({ processMetrics: false });
    metrics.onScan(figures());
    metrics.onScan(figures({ ms: 1_500, sockets: 118, namespacesRead: 11, problems: { namespaceDenied: 0, fdDenied: 0, vanished: 1, tablesDenied: 0, duplicatesDropped: 0, refusals: [] }, unparsedLines: 0 }));
    const exposition = await scrape(metrics.registry);
    const values = (name: string) => samplesOf(exposition, name).map(({ labels, value }) => [labels, value]);
    assert.deepEqual(values('kubenetstat_agent_sockets'), [[{}, 118]]);
    assert.deepEqual(values('kubenetstat_agent_namespaces'), [[{}, 11]]);
    assert.deepEqual(values('kubenetstat_agent_namespace_scans_total'), [[{ result: 'read' }, 13], [{ result: 'skipped' }, 9]]);
    assert.deepEqual(values('kubenetstat_agent_processes_walked_total'), [[{}, 8]]);
    assert.deepEqual(values('kubenetstat_agent_scan_errors_total'), [
      [{ kind: 'namespace_denied' }, 0],
      [{ kind: 'fd_denied' }, 1],
      [{ kind: 'vanished' }, 4],
      [{ kind: 'tables_denied' }, 0],
      [{ kind: 'duplicates_dropped' }, 0],
    ]);
    assert.deepEqual(values('kubenetstat_agent_unparsed_lines'), [[{}, 0]]);
    assert.deepEqual(values('kubenetstat_agent_changes_total'), [[{ change: 'upserted' }, 10], [{ change: 'removed' }, 4]]);
    assert.deepEqual(values('kubenetstat_agent_scan_duration_seconds_count'), [[{}, 2]]);
    assert.deepEqual(samplesOf(exposition, 'kubenetstat_agent_scan_duration_seconds_bucket', { le: '0.05' }).map(({ value }) => value), [1]);
    assert.deepEqual(values('kubenetstat_agent_scan_duration_seconds_sum'), [[{}, 1.53]]);
  });

  test('stream events: connected, reconnects, snapshots and resyncs', async () => {
    const metrics = new AgentMetrics({ processMetrics: false });
    metrics.onStreamEvent({ kind: 'connected' });
    metrics.onStreamEvent({ kind: 'snapshot', sockets: 3, chunks: 1, reason: 'connected' });
    metrics.onStreamEvent({ kind: 'resync-requested', reason: 'gap' });
    metrics.onStreamEvent({ kind: 'snapshot', sockets: 3, chunks: 1, reason: 'resync: gap' });
    metrics.onStreamEvent({ kind: 'disconnected', error: 'gone', retryInMs: 100, refused: false });
    const exposition = await scrape(metrics.registry);
    const value = (name: string) => samplesOf(exposition, name).map((sample) => sample.value);
    assert.deepEqual([value('kubenetstat_agent_connected'), value('kubenetstat_agent_reconnects_total'), value('kubenetstat_agent_snapshots_sent_total'), value('kubenetstat_agent_resyncs_requested_total')], [[0], [1], [2], [1]]);
  });

  test('--metrics-listen: /metrics in the text format, /healthz failing once scans stop', async () => {
    let now = 0;
    const metrics = new AgentMetrics({ now: () => now });
    const server = await startAgentMetricsServer({ listen: '127.0.0.1:0', metrics, unhealthyAfterMs: 60_000, log: quiet });
    try {
      const served = await httpGet(server.port, '/metrics');
      assert.equal(served.status, 200);
      const exposition = parseExposition(served.text);
      assert.equal(exposition.types.get('kubenetstat_agent_scan_duration_seconds'), 'histogram');
      assert.ok(samplesOf(exposition, 'process_resident_memory_bytes').length === 1, 'an agent of its own has process metrics');
      assert.deepEqual([(await httpGet(server.port, '/healthz')).status, (await httpGet(server.port, '/nope')).status], [200, 404]);
      now = 61_000;
      const stuck = await httpGet(server.port, '/healthz');
      assert.deepEqual([stuck.status, stuck.text], [503, 'no scan ended for 61 s\n']);
      metrics.onScan(figures());
      assert.equal((await httpGet(server.port, '/healthz')).status, 200);
    } finally {
      await server.close();
    }
  });
});

describe('kube-netstat standalone: one /metrics for the aggregator and the agent', () => {
  const saved = { kubeconfig: process.env.KUBECONFIG, level: process.env.LOG_LEVEL };
  const tree = new NodeTree({ netnsInode: '4026539888', podUid: '5a1e0000-0000-4000-8000-000000000888', containerId: 'd'.repeat(64), inodeBase: 9_500_000 });
  before(() => {
    // No kubeconfig (pods by UID), and no log lines in the test output.
    process.env.KUBECONFIG = '';
    process.env.LOG_LEVEL = 'silent';
  });
  after(() => {
    for (const [key, value] of [['KUBECONFIG', saved.kubeconfig], ['LOG_LEVEL', saved.level]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    tree.dispose();
  });

  test('the agent\'s series are on the aggregator\'s registry, its process metrics once', async () => {
    const controller = new AbortController();
    let port: number | undefined;
    const run = runCli(['standalone', '--http-port', '0', '--proc-root', tree.root, '--interval', '0.2'], {
      signal: controller.signal,
      onStdout: (text) => {
        port ??= Number(/http:\/\/127\.0\.0\.1:(\d+)/.exec(text)?.[1] ?? Number.NaN) || undefined;
      },
    });
    try {
      await waitFor(() => port !== undefined, { what: 'standalone listening', timeoutMs: 15_000, intervalMs: 20 });
      let exposition: Exposition | undefined;
      const value = (name: string) => exposition && samplesOf(exposition, name)[0]?.value;
      await waitFor(async () => {
        exposition = parseExposition((await httpGet(port!, '/metrics')).text);
        return (value('kubenetstat_agent_sockets') ?? 0) > 0 && value('kubenetstat_agent_sockets') === value('kubenetstat_stored_sockets');
      }, { what: 'the agent\'s sockets held by the aggregator', timeoutMs: 15_000, intervalMs: 20 });
      assert.equal(value('kubenetstat_agent_connected'), 1);
      assert.equal(samplesOf(exposition!, 'process_resident_memory_bytes').length, 1);
    } finally {
      controller.abort();
      const result = await run;
      assert.equal(result.code, 0, result.stderr);
    }
  });
});

describe('metrics flags and their environment variables', () => {
  const saved = { listen: process.env.KUBE_NETSTAT_METRICS_LISTEN, maxPods: process.env.KUBE_NETSTAT_METRICS_MAX_PODS };
  after(() => {
    for (const [key, value] of [['KUBE_NETSTAT_METRICS_LISTEN', saved.listen], ['KUBE_NETSTAT_METRICS_MAX_PODS', saved.maxPods]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const agent = (...flags: string[]) => agentSettings(['--aggregator', '127.0.0.1:9100', '--node-name', 'n', ...flags]);

  test('defaults: no agent listener, 2000 pods; flags and environment set them; out of range is a usage error', () => {
    delete process.env.KUBE_NETSTAT_METRICS_LISTEN;
    delete process.env.KUBE_NETSTAT_METRICS_MAX_PODS;
    assert.deepEqual([agent().metricsListen, aggregatorSettings([]).metricsMaxPods], ['', 2_000]);
    assert.deepEqual([agent('--metrics-listen', '0.0.0.0:9102').metricsListen, aggregatorSettings(['--metrics-max-pods', '50']).metricsMaxPods], ['0.0.0.0:9102', 50]);
    process.env.KUBE_NETSTAT_METRICS_LISTEN = '127.0.0.1:9999';
    process.env.KUBE_NETSTAT_METRICS_MAX_PODS = '0';
    assert.deepEqual([agent().metricsListen, aggregatorSettings([]).metricsMaxPods], ['127.0.0.1:9999', 0]);
    assert.throws(() => agent('--metrics-listen', 'nowhere'), (error: unknown) => error instanceof UsageError && /--metrics-listen: expected host:port/.test(error.message));
    assert.throws(() => aggregatorSettings(['--metrics-max-pods', '100001']), (error: unknown) => error instanceof UsageError && /--metrics-max-pods:/.test(error.message));
    assert.throws(() => aggregatorSettings(['--metrics-max-pods', '1.5']), UsageError);
  });
});
