/**
 * `kubectl netstat leaks` and `history`: the text they print for a FindingList and a
 * PodHistory (golden), the sparklines, and the flags. Against a real aggregator evaluating
 * rules over real sockets: test/aggregator/findings/findings.e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FindingItem, FindingList, PodHistoryObject } from '../../../model/json/finding-list.js';
import { parseQueryFlags } from '../../../cli/query/flags.js';
import { renderFindings, renderHistory, sparkline } from '../../../cli/query/leaks.js';
import { UsageError } from '../../../config/usage-error.js';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();

const closeWait: FindingItem = {
  id: 'close-wait-leak/shop/cart-7d9f-abcde',
  rule: 'close-wait-leak',
  severity: 'warning',
  state: 'open',
  namespace: 'shop',
  pod: 'cart-7d9f-abcde',
  podUID: 'uid-cart',
  node: 'node-a',
  workload: { kind: 'Deployment', name: 'cart' },
  sockets: 42,
  trend: { windowSeconds: 600, from: 12, to: 42 },
  details: { oldestSeconds: 660 },
  containers: ['cart'],
  processes: [{ pid: 4242, name: 'python3', comm: 'python3', sockets: 42 }],
  peers: [
    { address: '10.0.1.7', port: null, direction: 'inbound', peer: { kind: 'pod', namespace: 'shop', name: 'web-1', services: [] }, sockets: 40 },
    { address: '10.96.0.10', port: 5432, direction: 'outbound', peer: { kind: 'service', namespace: 'db', name: 'postgres', services: [] }, sockets: 2 },
  ],
  summary: '42 sockets in CLOSE_WAIT, up from 12 ten minutes ago; the oldest for 11m.',
  explanation: 'the peer closed these connections, and the application never called close() on its end.',
  nextStep: 'look for a code path in cart that returns without closing the connection (a missing finally / defer / with).',
  firstSeen: ago(720),
  lastSeen: ago(5),
  resolvedAt: null,
  evidence: { sockets: 42, decoded: 42, collectedAt: ago(5) },
};

describe('kubectl netstat leaks', () => {
  test('a finding as a block: what, where, since when, trend, why, next step, evidence', () => {
    const list: FindingList = { apiVersion: 'kubenetstat.io/v1', kind: 'FindingList', evaluatedAt: ago(5), items: [closeWait], unavailableNodes: [] };
    assert.equal(renderFindings(list, NOW), [
      'WARNING  close-wait-leak  shop/cart-7d9f-abcde (Deployment/cart) on node-a, since 12m (open)',
      '  42 sockets in CLOSE_WAIT, up from 12 ten minutes ago; the oldest for 11m.',
      '  Trend:      12 → 42 in 10m',
      '  Why:        the peer closed these connections, and the application never called close() on its end.',
      '  Next step:  look for a code path in cart that returns without closing the connection (a missing finally / defer / with).',
      '  Containers: cart',
      '  Processes:  4242/python3 (42)',
      '  Peers:      10.0.1.7 pod/shop/web-1 inbound (40), 10.96.0.10:5432 svc/db/postgres outbound (2)',
      '  ID:         close-wait-leak/shop/cart-7d9f-abcde',
      '',
    ].join('\n'));
  });

  test('none: says so, and when the rules last ran', () => {
    assert.equal(renderFindings({ apiVersion: 'kubenetstat.io/v1', kind: 'FindingList', evaluatedAt: ago(8), items: [], unavailableNodes: [] }, NOW), 'No leak findings (rules last evaluated 8s ago).\n');
    assert.equal(renderFindings({ apiVersion: 'kubenetstat.io/v1', kind: 'FindingList', evaluatedAt: null, items: [], unavailableNodes: [] }, NOW), 'No leak findings (the rules have not run yet).\n');
  });

  test('flags: --rule and --severity only with leaks; -a asks for resolved ones too', () => {
    const flags = parseQueryFlags(['leaks', '-A', '--rule', 'close-wait-leak,port-pressure', '--severity', 'warning', '-a']);
    assert.deepEqual([flags.command, flags.rules, flags.severity, flags.netstat.all], ['leaks', ['close-wait-leak', 'port-pressure'], 'warning', true]);
    assert.throws(() => parseQueryFlags(['--rule', 'x']), UsageError);
  });
});

describe('kubectl netstat history', () => {
  test('sparklines keep each bucket\'s peak and scale to the series\' maximum', () => {
    assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8), '▁▂▃▄▅▆▇█');
    assert.equal(sparkline([0, 0, 0], 10), '▁▁▁');
    // 12 samples in 4 characters: each the highest of its 3 (a spike is not averaged away).
    assert.equal(sparkline([0, 0, 8, 0, 0, 0, 0, 4, 0, 0, 0, 0], 4), '█▁▅▁');
    assert.equal(sparkline([], 10), '');
  });

  test('one row per state: sparkline, latest count, range', () => {
    const history: PodHistoryObject = {
      apiVersion: 'kubenetstat.io/v1',
      kind: 'PodHistory',
      namespace: 'shop',
      pod: 'cart-7d9f-abcde',
      podUID: 'uid-cart',
      node: 'node-a',
      firstSample: ago(80),
      lastPresent: ago(0),
      resolutions: [
        { name: 'fine', stepSeconds: 10, retentionSeconds: 3600, aggregate: 'sample', times: [80, 70, 60, 50, 40, 30, 20, 10].map(ago), series: { ESTAB: [3, 3, 3, 3, 3, 3, 3, 3], 'CLOSE-WAIT': [0, 6, 12, 18, 24, 30, 36, 42] } },
        { name: 'coarse', stepSeconds: 60, retentionSeconds: 86_400, aggregate: 'max', times: [ago(60)], series: { 'CLOSE-WAIT': [42] } },
      ],
    };
    assert.equal(renderHistory(history, undefined, 60, NOW), [
      'shop/cart-7d9f-abcde on node-a: fine, one sample per 10s over the last 80s (kept 60m)',
      'ESTAB       ████████  3  (3–3)',
      'CLOSE-WAIT  ▁▂▃▄▅▆▇█  42  (0–42)',
      '',
    ].join('\n'));
    assert.match(renderHistory(history, 'coarse', 60, NOW), /^shop\/cart-7d9f-abcde on node-a: coarse, one peak per 60s over the last 60s \(kept 24h\)\nCLOSE-WAIT  █  42  \(42–42\)\n$/);
    assert.throws(() => renderHistory(history, 'hourly', 60, NOW), /no resolution 'hourly': this history has fine, coarse/);
  });

  test('flags: the pod is its one word, NAME or NAMESPACE/NAME', () => {
    assert.equal(parseQueryFlags(['history', 'cart-1', '-n', 'shop']).subject, 'cart-1');
    assert.equal(parseQueryFlags(['-n', 'shop', 'history', 'shop/cart-1', '--width', '30']).width, 30);
    assert.throws(() => parseQueryFlags(['history']), /history needs a pod/);
    assert.throws(() => parseQueryFlags(['history', 'a', 'b']), /unexpected argument 'b'/);
  });
});
