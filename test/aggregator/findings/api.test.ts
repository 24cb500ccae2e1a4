import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { loadKubeConfig } from '../../../kube/kubeconfig.js';
import { FindingEvents } from '../../../aggregator/findings/events.js';
import { findingsCollector } from '../../../aggregator/findings/metrics.js';
import { findingMessage } from '../../../aggregator/findings/wire.js';
import { HistoryStore, SERIES_NAMES } from '../../../aggregator/history/index.js';
import { createHttpServer } from '../../../aggregator/server/index.js';
import { findingItem, type FindingList, type PodHistoryObject } from '../../../model/json/finding-list.js';
import { AGGREGATOR_DEFAULTS } from '../../../config/aggregator-settings.js';
import { aggregatorSettings } from '../../../cmd/aggregator.js';
import { UsageError } from '../../../config/usage-error.js';
import { FindingsRequest, FindingsResponse, HistoryRequest, type HistoryResponse } from '../../../gen/kubenetstat/v1/query.js';
import { settle } from '../../support/grpc.js';
import { pod, process } from '../../support/agent-sockets.js';
import { FindingsCluster, T0, settingsWith, tcp } from '../../support/findings-cluster.js';
import { queriedDuringSuite } from '../../support/loopback-aggregator.js';
import { listenDuringSuite } from '../../support/loopback-http.js';
import { namespace, TestApiServer } from '../../support/k8s/index.js';

/** Findings and histories over HTTP (JSON and protobuf) and gRPC, Kubernetes Events, and the flags that set the rules. */

const CART = pod('shop', 'cart-7d9f-abcde', 'cart');
const PAY = pod('payments', 'pay-0', 'pay');

/** A cluster with a CLOSE_WAIT leak in shop/cart and a stuck Recv-Q in payments/pay, evaluated over 70 s. */
function leakyCluster(): FindingsCluster {
  const cluster = new FindingsCluster(settingsWith({ closeWait: { maxAgeSeconds: 60 }, stuckQueue: { afterSeconds: 60 } }));
  cluster.snapshot('node-a', [
    tcp('cw1', 'close-wait', { pod: CART, processes: [process(4242, 'cart-server')], localPort: 41_001, foreignAddress: '10.0.3.7', foreignPort: 5432 }),
    tcp('cw2', 'close-wait', { pod: CART, processes: [process(4242, 'cart-server')], localPort: 41_002, foreignAddress: '10.0.3.7', foreignPort: 5432 }),
  ]);
  for (let i = 0; i <= 6; i++) {
    if (i === 1) cluster.put('node-a', tcp('rq', 'estab', { pod: PAY, processes: [process(7, 'pay')], recvQ: 512n, foreignAddress: '10.0.9.1', foreignPort: 443 }));
    cluster.evaluate();
    cluster.advance(10);
  }
  cluster.evaluate();
  return cluster;
}

describe('findings and history over HTTP', () => {
  const cluster = leakyCluster();
  const server = createHttpServer(cluster.store, () => true, () => undefined, undefined, undefined, { engine: cluster.engine, history: cluster.history, store: cluster.store });
  const { url } = listenDuringSuite(server);
  const get = async <T>(path: string): Promise<{ code: number; body: T }> => {
    const response = await fetch(url(path));
    return { code: response.status, body: (await response.json()) as T };
  };

  test('GET /api/v1/findings: a FindingList, newest first, every item the whole finding', async () => {
    const { code, body } = await get<FindingList>('/api/v1/findings');
    assert.equal(code, 200);
    assert.deepEqual([body.apiVersion, body.kind, body.evaluatedAt, body.unavailableNodes], ['kubenetstat.io/v1', 'FindingList', new Date(T0 + 70_000).toISOString(), []]);
    assert.deepEqual(body.items.map((item) => [item.rule, item.namespace, item.pod]), [['stuck-recv-q', 'payments', 'pay-0'], ['close-wait-leak', 'shop', 'cart-7d9f-abcde']]);
    const closeWait = cluster.engine.all().find((finding) => finding.rule === 'close-wait-leak')!;
    assert.deepEqual(body.items[1], {
      id: closeWait.id,
      rule: 'close-wait-leak',
      severity: 'warning',
      state: 'open',
      namespace: 'shop',
      pod: 'cart-7d9f-abcde',
      podUID: 'uid-cart-7d9f-abcde',
      node: 'node-a',
      workload: { kind: 'ReplicaSet', name: 'cart-7d9f' },
      sockets: 2,
      trend: null,
      details: { oldestSeconds: 70 },
      containers: ['cart'],
      processes: [{ pid: 4242, name: 'cart-server', comm: 'cart-server', sockets: 2 }],
      peers: [{ address: '10.0.3.7', port: 5432, direction: 'outbound', peer: null, sockets: 2 }],
      summary: closeWait.text.summary,
      explanation: closeWait.text.explanation,
      nextStep: closeWait.text.nextStep,
      firstSeen: new Date(T0 + 60_000).toISOString(),
      lastSeen: new Date(T0 + 70_000).toISOString(),
      resolvedAt: null,
      evidence: { sockets: 2, decoded: 1, collectedAt: new Date(T0 + 60_000).toISOString() },
    });
  });

  test('filters: namespace, pod, rule, severity, state; protobuf when asked', async () => {
    const rules = async (query: string) => (await get<FindingList>(`/api/v1/findings?${query}`)).body.items.map((item) => item.rule);
    assert.deepEqual(await rules('namespace=shop'), ['close-wait-leak']);
    assert.deepEqual(await rules('namespace=shop,payments&pod=pay-0'), ['stuck-recv-q']);
    assert.deepEqual(await rules('rule=stuck-recv-q,port-pressure'), ['stuck-recv-q']);
    assert.deepEqual(await rules('severity=critical'), []);
    assert.deepEqual(await rules('state=resolved'), []);
    assert.deepEqual(await rules('state=all&limit=1'), ['stuck-recv-q']);
    const response = await fetch(url('/api/v1/findings?namespace=shop'), { headers: { accept: 'application/x-protobuf' } });
    assert.equal(response.headers.get('content-type'), 'application/x-protobuf');
    const decoded = FindingsResponse.decode(new Uint8Array(await response.arrayBuffer()));
    assert.deepEqual(decoded.items.map(findingItem), cluster.engine.all().filter((finding) => finding.namespace === 'shop').map(findingMessage).map(findingItem));
    assert.deepEqual(decoded.items.map(findingItem), (await get<FindingList>('/api/v1/findings?namespace=shop')).body.items);
  });

  test('/metrics: the history\'s fill, pods kept and pods its cap left out by the latest sample', async () => {
    const history = new HistoryStore({ ...AGGREGATOR_DEFAULTS.history, maxPods: 2 });
    const counts = Array.from(SERIES_NAMES, (name) => (name === 'ESTAB' ? 1 : 0));
    history.record(T0, ['a', 'b', 'c'].map((name) => ({ namespace: 'shop', name, uid: `uid-${name}`, node: 'node-a', counts })));
    const registry = new Registry();
    findingsCollector(cluster.engine, history)(registry);
    const text = await registry.metrics();
    assert.match(text, /^kubenetstat_history_pods 2$/m);
    assert.match(text, /^kubenetstat_history_untracked_pods 1$/m);
  });

  test('GET /api/v1/history?namespace=&pod=: a PodHistory with the counts by state at both resolutions', async () => {
    const { code, body } = await get<PodHistoryObject>('/api/v1/history?namespace=shop&pod=cart-7d9f-abcde');
    assert.equal(code, 200);
    const times = Array.from({ length: 8 }, (_, i) => new Date(T0 + i * 10_000).toISOString());
    assert.deepEqual(body, {
      apiVersion: 'kubenetstat.io/v1',
      kind: 'PodHistory',
      namespace: 'shop',
      pod: 'cart-7d9f-abcde',
      podUID: 'uid-cart-7d9f-abcde',
      node: 'node-a',
      firstSample: times[0],
      lastPresent: times[7],
      resolutions: [
        { name: 'fine', stepSeconds: 10, retentionSeconds: 3600, aggregate: 'sample', times, series: { 'CLOSE-WAIT': [2, 2, 2, 2, 2, 2, 2, 2] } },
        { name: 'coarse', stepSeconds: 300, retentionSeconds: 86_400, aggregate: 'max', times: [times[0]], series: { 'CLOSE-WAIT': [2] } },
      ],
    });
  });

  test('bad parameters are 400, a pod without history 404, with a Status saying why', async () => {
    for (const [path, code, message] of [
      ['/api/v1/findings?rule=leaky', 400, /unknown rule 'leaky': expected one of close-wait-leak, /],
      ['/api/v1/findings?severity=bad', 400, /unknown severity 'bad'/],
      ['/api/v1/findings?state=closed', 400, /unknown state 'closed': expected one of open, resolved, all/],
      ['/api/v1/history?namespace=shop', 400, /give namespace and pod/],
      ['/api/v1/history?namespace=shop&pod=nobody', 404, /no history of pod shop\/nobody/],
    ] as const) {
      const { code: actual, body } = await get<{ kind: string; code: number; message: string }>(path);
      assert.equal(actual, code, path);
      assert.deepEqual([body.kind, body.code], ['Status', code], path);
      assert.match(body.message, message, path);
    }
  });
});

describe('findings and history over gRPC', () => {
  const served = queriedDuringSuite({ findings: { ...settingsWith({ closeWait: { maxAgeSeconds: 10 } }), evaluateEverySeconds: 300 } }, (aggregator) => {
    const { session } = aggregator.store.claim('node-a', 1n, 'boot');
    aggregator.store.replaceSockets(aggregator.store.owned('node-a', session!)!, leakyCluster().store.get('node-a')!.sockets);
    aggregator.findings.engine.evaluate();
  });
  const findings = (request: FindingsRequest) => new Promise<FindingsResponse>((resolve, reject) => served.client.findings(request, settle(resolve, reject)));
  const history = (request: HistoryRequest) => new Promise<HistoryResponse>((resolve, reject) => served.client.history(request, settle(resolve, reject)));

  test('Findings answers as HTTP does; History a pod\'s counts; NOT_FOUND and INVALID_ARGUMENT when asked wrong', async () => {
    const found = await findings(FindingsRequest.fromPartial({ namespaces: ['shop'] }));
    assert.deepEqual(found.items.map((finding) => [finding.rule, finding.pod, finding.sockets, finding.processes]), [['close-wait-leak', 'cart-7d9f-abcde', 2n, [{ pid: 4242, name: 'cart-server', comm: 'cart-server', sockets: 2n }]]]);
    assert.deepEqual(found.items.map(findingItem), served.aggregator.findings.engine.all().filter((finding) => finding.namespace === 'shop').map(findingMessage).map(findingItem));
    assert.ok(found.evaluatedUnixMs > 0n);
    const answer = await history(HistoryRequest.fromPartial({ namespace: 'shop', pod: 'cart-7d9f-abcde' }));
    assert.deepEqual(answer.history?.resolutions.map((resolution) => [resolution.name, Object.keys(resolution.series), resolution.timesUnixMs.length]), [['fine', ['CLOSE-WAIT'], 1], ['coarse', ['CLOSE-WAIT'], 1]]);
    await assert.rejects(history(HistoryRequest.fromPartial({ namespace: 'shop', pod: 'nobody' })), (error: ServiceError) => error.code === status.NOT_FOUND);
    await assert.rejects(findings(FindingsRequest.fromPartial({ rules: ['nonsense'] })), (error: ServiceError) => error.code === status.INVALID_ARGUMENT && /unknown rule 'nonsense'/.test(error.details));
  });
});

describe('Kubernetes Events on the pod when a finding opens', () => {
  let api: TestApiServer;
  let dir = '';
  before(async () => {
    api = await TestApiServer.start({ token: 'events-token' });
    api.store.upsert(namespace('shop'));
    dir = mkdtempSync(join(tmpdir(), 'kns-events-'));
    api.writeKubeconfig(join(dir, 'kubeconfig'));
  });
  after(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an Event naming the pod, the rule as its reason, the summary and next step as its message', async () => {
    const kubeConfig = (await loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') }))!;
    const finding = leakyCluster().engine.all().find((candidate) => candidate.rule === 'close-wait-leak')!;
    const events = new FindingEvents(kubeConfig, () => undefined, () => T0);
    await events.post(finding);
    const [event] = api.store.list('Event', 'shop');
    assert.deepEqual(
      { involvedObject: event!.involvedObject, reason: event!.reason, type: event!.type, source: event!.source, count: event!.count, name: event!.metadata.name },
      { involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'cart-7d9f-abcde', uid: 'uid-cart-7d9f-abcde' }, reason: 'CloseWaitLeak', type: 'Warning', source: { component: 'kube-netstat' }, count: 1, name: `cart-7d9f-abcde.${finding.id.slice(-16)}.${T0.toString(16)}` },
    );
    assert.equal(event!.message, `${finding.text.summary}. ${finding.text.nextStep}`);
  });

  test('refused (no RBAC to create events): logged once, then no Event is tried again; never thrown', async () => {
    const kubeConfig = (await loadKubeConfig({ kubeconfig: join(dir, 'kubeconfig') }))!;
    const findings = leakyCluster().engine.all();
    const logs: string[] = [];
    const events = new FindingEvents(kubeConfig, (message) => logs.push(message));
    api.injectFailure({ status: 403, matching: (request) => request.method === 'POST', message: 'events is forbidden: User "system:serviceaccount:kube-netstat:aggregator" cannot create resource "events"' });
    const posts = () => api.requests.filter((request) => request.method === 'POST').length;
    const before = posts();
    await events.post(findings[0]!);
    await events.post(findings[1]!);
    assert.equal(posts() - before, 1);
    assert.equal(events.enabled, false);
    assert.deepEqual(logs, ['kubernetes events off: the API refused to create one (give the aggregator RBAC to create events, or --events off)']);
  });
});

describe('flags: --rule, --evaluate-every, --events, --history-max-pods', () => {
  test('thresholds by name, times with units; the rest keep their defaults', () => {
    const settings = aggregatorSettings(['--rule', 'close-wait.max-age=2m', '--rule', 'stuck-queue.after=90s', '--rule', 'port-pressure.warn-share=0.3', '--evaluate-every', '2s', '--events', 'off', '--history-max-pods', '500']);
    assert.deepEqual([settings.findings.closeWait.maxAgeSeconds, settings.findings.stuckQueue.afterSeconds, settings.findings.portPressure.warnShare, settings.findings.closeWait.windowSeconds], [120, 90, 0.3, 600]);
    assert.deepEqual([settings.findings.evaluateEverySeconds, settings.findings.events, settings.history.maxPods, settings.history.fineSeconds], [2, 'off', 500, 10]);
  });

  test('an unknown name, a unit on a count, or a value out of range is a usage error that says which', () => {
    assert.throws(() => aggregatorSettings(['--rule', 'close-wait.maxage=1']), (error: unknown) => error instanceof UsageError && /--rule close-wait.maxage: no such threshold; one of close-wait.window, /.test(error.message));
    assert.throws(() => aggregatorSettings(['--rule', 'close-wait.min-growth=5m']), /expected a number/);
    assert.throws(() => aggregatorSettings(['--rule', 'events=on']), /no such threshold/);
    assert.throws(() => aggregatorSettings(['--rule', 'stuck-queue.after=1s']), /--rule stuck-queue.after: Too small/);
    assert.throws(() => aggregatorSettings(['--evaluate-every', '0']), /--evaluate-every: Too small/);
    assert.throws(() => aggregatorSettings(['--events', 'maybe']), /--events: /);
  });
});
