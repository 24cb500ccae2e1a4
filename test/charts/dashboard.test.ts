import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AgentMetrics } from '../../agent/metrics.js';
import { startAggregator, type RunningAggregator } from '../../aggregator/server/index.js';
import { dashboardExpressions, metricNamesIn, readDashboard, seriesNames } from '../support/dashboard.js';

/**
 * Metrics a panel shows before the code registers them (the findings a colleague is writing).
 * Kept honest both ways: a name here that the code now registers fails the test, to be removed.
 */
/** Metric names the dashboard may use before the code registers them (none now). */
const PENDING = new Set<string>();

describe('the Grafana dashboard shipped with the chart', () => {
  const dashboard = readDashboard();
  let aggregator: RunningAggregator;
  let registered: Set<string>;

  before(async () => {
    // The aggregator as the binary builds it (every collector its server registers), and an agent's registry.
    aggregator = await startAggregator({ grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', staleAfterMs: 15_000, evictAfterMs: 60_000, maxMessageBytes: 16 << 20, maxSocketsPerMessage: 20_000, maxSocketsPerNode: 1_000_000, log: () => undefined });
    registered = new Set([...seriesNames(aggregator.metrics.registry), ...seriesNames(new AgentMetrics().registry)]);
  });
  after(async () => {
    await aggregator?.stop();
  });

  test('is a dashboard Grafana imports: uid, title, unique panel ids, grid positions inside 24 columns, the data source as a variable', () => {
    assert.equal(dashboard.uid, 'kube-netstat');
    assert.ok(dashboard.schemaVersion >= 36);
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const panel of dashboard.panels) {
      const { x, w, h } = panel.gridPos;
      assert.ok(x >= 0 && w > 0 && h > 0 && x + w <= 24, `panel "${panel.title}" fits the grid`);
      if (panel.type !== 'row') {
        assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, `panel "${panel.title}" uses the data source variable`);
        assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" queries something`);
      }
    }
    assert.deepEqual(dashboard.templating.list.map((variable) => [variable.name, variable.type]), [['datasource', 'datasource'], ['namespace', 'query'], ['state', 'query']]);
  });

  test('has the panels the operator needs: states per workload, leaking pods, TIME-WAIT and port pressure, findings, aggregator health', () => {
    const titles = dashboard.panels.map((panel) => panel.title);
    for (const wanted of ['State counts per workload', 'Top leaking pods (CLOSE-WAIT)', 'TIME-WAIT per pod (top 10)', 'Port pressure estimate (share of 32768-60999)', 'Leak findings', 'Nodes by status', 'Query latency p99 by route', 'Scan duration p99 per agent']) {
      assert.ok(titles.includes(wanted), `a panel "${wanted}"`);
    }
  });

  test('every PromQL expression uses only metric names the aggregator or the agent registers', () => {
    const expressions = dashboardExpressions(dashboard);
    assert.ok(expressions.length >= 25, `${expressions.length} expressions`);
    const unknown: string[] = [];
    for (const { where, expr } of expressions) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where} names a metric: ${expr}`);
      for (const name of names) if (!registered.has(name) && !PENDING.has(name)) unknown.push(`${where}: ${name}`);
    }
    assert.deepEqual(unknown, []);
    for (const name of PENDING) assert.ok(!registered.has(name), `${name} is registered now: remove it from PENDING`);
  });
});
