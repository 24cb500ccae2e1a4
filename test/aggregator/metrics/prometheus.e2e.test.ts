import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { pod } from '../../support/k8s/index.js';
import { startApiCluster, type ApiCluster } from '../../support/api-cluster.js';
import { dashboardExpressions, readDashboard, withAllVariables } from '../../support/dashboard.js';
import { PrometheusServer, type VectorSample } from '../../support/prometheus.js';
import { missingTools, requirement } from '../../support/requirements.js';
import { getJson, getText } from '../../support/stream/converge.js';
import { NodeTree } from '../../support/stream/node-tree.js';
import { ProcessSet, startAggregatorProcess, type AggregatorProcess } from '../../support/stream/processes.js';
import { waitFor } from '../../support/wait.js';

/**
 * Metrics end to end: a real aggregator and a real agent (over a fixture proc tree, its pod
 * named by a test API server), scraped every second by a real Prometheus server on loopback;
 * PromQL must return the leaking pod's CLOSE_WAIT count, and follow it when it grows.
 */

const NODE = 'node-prom';
const POD = { namespace: 'shop', name: 'leaky-0' } as const;
const TCP_CLOSE_WAIT = 0x08;
const skip = requirement(missingTools(['prometheus', 'promtool']));

interface SummaryRowJson {
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly states: Record<string, number>;
}

describe('Prometheus scrapes the aggregator and the agent', { skip, timeout: 180_000 }, () => {
  const processes = new ProcessSet();
  const tree = new NodeTree({ netnsInode: '4026539777', podUid: '7e57a11c-0000-4000-8000-000000000777', containerId: 'c'.repeat(64), inodeBase: 9_000_000 });
  let cluster: ApiCluster | undefined;
  let aggregator: AggregatorProcess;
  let prometheus: PrometheusServer | undefined;
  let agentMetricsPort = 0;

  /** The pod's CLOSE-WAIT count as the aggregator's own summary has it. */
  const summaryCloseWait = async (): Promise<number | undefined> => {
    const { body } = await getJson<{ items: SummaryRowJson[] }>(aggregator.httpPort, `/api/v1/summary?by=pod&namespace=${POD.namespace}`);
    return body.items.find((row) => row.pod === POD.name)?.states['CLOSE-WAIT'];
  };
  const closeWaitQuery = `kubenetstat_sockets{namespace="${POD.namespace}", pod="${POD.name}", state="CLOSE-WAIT"}`;
  /** Waits until the aggregator counts `count` CLOSE-WAIT for the pod, then until PromQL returns it. */
  const promqlReturns = async (count: number): Promise<VectorSample[]> => {
    let served: number | undefined;
    await waitFor(async () => (served = await summaryCloseWait()) === count, { timeoutMs: 20_000, intervalMs: 100, what: `the aggregator counting ${count} CLOSE-WAIT in ${POD.name}`, describe: () => `summary: ${served}` });
    let samples: VectorSample[] = [];
    await waitFor(async () => (samples = await prometheus!.query(closeWaitQuery)).length === 1 && samples[0]!.value === count, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: `PromQL ${closeWaitQuery} = ${count}`,
      describe: () => `${JSON.stringify(samples)}\n${prometheus!.log()}`,
    });
    return samples;
  };

  before(async () => {
    cluster = await startApiCluster();
    cluster.server.store.upsert(pod({ name: POD.name, namespace: POD.namespace, nodeName: NODE, uid: '7e57a11c-0000-4000-8000-000000000777', containers: [{ name: 'app', containerID: `containerd://${'c'.repeat(64)}` }] }));
    for (let i = 0; i < 6; i++) tree.add({ state: TCP_CLOSE_WAIT });
    tree.write();
    aggregator = await startAggregatorProcess(processes, { staleAfter: '15s', evictAfter: '60s' });
    const agent = processes.start('agent', ['agent', '--aggregator', `127.0.0.1:${aggregator.grpcPort}`, '--node-name', NODE, '--proc-root', tree.root, '--kubeconfig', cluster.kubeconfig, '--interval', '0.2', '--heartbeat', '1s', '--metrics-listen', '127.0.0.1:0']);
    agentMetricsPort = Number((await agent.waitForLog((line) => line.msg === 'agent metrics listening', 'the agent\'s metrics listener')).port);
    prometheus = await PrometheusServer.start({ scrapeSeconds: 1, jobs: { 'kube-netstat-aggregator': [`127.0.0.1:${aggregator.httpPort}`], 'kube-netstat-agent': [`127.0.0.1:${agentMetricsPort}`] } });
  });

  after(async () => {
    await prometheus?.stop();
    await processes.killAll();
    await cluster?.stop();
    tree.dispose();
  });

  test('PromQL returns the leaking pod\'s CLOSE_WAIT count, labelled with its workload, and follows it as it grows', async () => {
    const closeWaitRows = () => tree.rows.filter((row) => Number(row.state) === TCP_CLOSE_WAIT).length;
    const first = await promqlReturns(closeWaitRows());
    assert.ok(first[0]!.value >= 6, 'the six sockets the test added are counted');
    assert.deepEqual(first[0]!.metric, {
      __name__: 'kubenetstat_sockets',
      instance: `127.0.0.1:${aggregator.httpPort}`,
      job: 'kube-netstat-aggregator',
      namespace: POD.namespace,
      pod: POD.name,
      // A pod without an owner is its own workload, as summaries group it.
      workload: POD.name,
      workload_kind: 'Pod',
      state: 'CLOSE-WAIT',
    });
    for (let i = 0; i < 4; i++) tree.add({ state: TCP_CLOSE_WAIT });
    tree.write();
    await promqlReturns(closeWaitRows());
    const perNamespace = await prometheus!.query(`kubenetstat_namespace_sockets{namespace="${POD.namespace}", state="CLOSE-WAIT"}`);
    assert.deepEqual(perNamespace.map((sample) => sample.value), [closeWaitRows()]);
    const top = await prometheus!.query(`topk(1, sum by (namespace, pod) (kubenetstat_sockets{state="CLOSE-WAIT"}))`);
    assert.deepEqual(top.map((sample) => [sample.metric.pod, sample.value]), [[POD.name, closeWaitRows()]]);
  });

  test('the agent\'s own metrics (--metrics-listen) and the aggregator\'s health are scraped', async () => {
    assert.deepEqual(await prometheus!.targetsUp(), { 'kube-netstat-aggregator': 1, 'kube-netstat-agent': 1 });
    // The agent's count of the node's sockets is what the aggregator holds of it (its only node).
    let sockets: VectorSample[] = [];
    await waitFor(async () => (sockets = await prometheus!.query('kubenetstat_agent_sockets == on () kubenetstat_stored_sockets')).length === 1 && sockets[0]!.value > 0, {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'kubenetstat_agent_sockets equal to kubenetstat_stored_sockets',
      describe: () => JSON.stringify(sockets),
    });
    assert.deepEqual((await prometheus!.query('kubenetstat_agent_connected')).map((sample) => sample.value), [1]);
    assert.ok((await prometheus!.query('kubenetstat_agent_wire_bytes_total{kind="snapshot"}'))[0]!.value > 0);
    assert.deepEqual((await prometheus!.query('kubenetstat_nodes{status="live"}')).map((sample) => sample.value), [1]);
    assert.equal((await getText(agentMetricsPort, '/healthz')).status, 200);
  });

  test('every expression of the Grafana dashboard is PromQL that Prometheus evaluates', async () => {
    const refused: string[] = [];
    for (const { where, expr } of dashboardExpressions(readDashboard())) {
      // label_values() is Grafana's, not PromQL: Prometheus evaluates the selector inside it.
      const promql = withAllVariables(expr).replace(/^label_values\((.*), \w+\)$/, '$1');
      await prometheus!.query(promql).catch((error: unknown) => refused.push(`${where}: ${error instanceof Error ? error.message : String(error)}`));
    }
    assert.deepEqual(refused, []);
  });

  test('promtool check metrics finds nothing to fix in kube-netstat\'s series', async () => {
    for (const port of [aggregator.httpPort, agentMetricsPort]) {
      const { text } = await getText(port, '/metrics');
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // prom-client's own nodejs_* gauges end in _total; that is its choice, not ours.
      const ours = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.trim() && !line.startsWith('nodejs_'));
      assert.deepEqual(ours, [], `port ${port}`);
    }
  });
});
