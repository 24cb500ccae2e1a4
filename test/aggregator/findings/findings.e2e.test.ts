/**
 * Leak findings end to end: simulated pods (real network namespaces, kubelet-style cgroups,
 * real processes holding real sockets) on node-a, the test API server naming them, a real
 * agent and a real aggregator with short rule windows (--evaluate-every 1s, --rule ...).
 * A server that never closes what its clients closed leaks CLOSE_WAIT; a server that stopped
 * reading has a stuck Recv-Q; TIME_WAIT towards one destination in a namespace with a
 * narrowed ip_local_port_range is port pressure; a client and server churning short
 * connections properly are healthy. Needs root and the cgroup mounts; everything is removed in after(), even on failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FindingItem, FindingList, PodHistoryObject } from '../../../model/json/finding-list.js';
import type { SocketList } from '../../../model/json/socket-list.js';
import { SimulatedNode, cgroupSkipReason, type PodTruth, type SimulatedPod } from '../../support/harness/index.js';
import { netnsSkipReason } from '../../support/netns.js';
import { runCli } from '../../support/run-cli.js';
import { TestApiServer, namespace, type KubeObject } from '../../support/k8s/index.js';
import { ProcessSet, startAggregatorProcess, type AggregatorProcess } from '../../support/stream/processes.js';
import { waitFor } from '../../support/wait.js';
import { requirement } from '../../support/requirements.js';

const skip = requirement(netnsSkipReason(['ip', 'nsenter']), cgroupSkipReason());
const NODE = 'node-a';
const TOKEN = 'findings-e2e-token';
/** The rule windows the aggregator runs with: short, so that the test takes seconds. */
const CLOSE_WAIT_WINDOW_S = 20;
const CLOSE_WAIT_MAX_AGE_S = 10;
const STUCK_AFTER_S = 5;
/** The narrowed ip_local_port_range of one pod: 100 ports from here. */
const PORT_LOW = 40_000;

describe('leak findings from real sockets', { skip }, () => {
  let node: SimulatedNode | undefined;
  let api: TestApiServer | undefined;
  const processes = new ProcessSet();
  let aggregator: AggregatorProcess | undefined;
  let dir = '';
  const pods = new Map<string, SimulatedPod>();
  const truths = new Map<string, PodTruth>();
  /** When the aggregator first served every simulated pod's sockets. */
  let servedAtMs = 0;

  const getJson = async <T>(path: string): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${aggregator!.httpPort}${path}`);
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  const findings = (query: string): Promise<FindingItem[]> => getJson<FindingList>(`/api/v1/findings?${query}`).then((list) => list.items);
  const podName = (key: string): string => truths.get(key)!.name;
  const container = (key: string, name: string) => truths.get(key)!.containers.find((candidate) => candidate.name === name)!;

  before(async () => {
    node = await SimulatedNode.create({ name: NODE });
    api = await TestApiServer.start({ token: TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'kns-findings-'));
    const kubeconfig = join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfig);
    for (const name of ['shop', 'payments']) api.store.upsert(namespace(name));
    const specs: Array<[string, Parameters<SimulatedNode['createPod']>[0]]> = [
      // Accepts, and never closes a connection its client closed: CLOSE_WAIT piles up at 5/s.
      ['leaky', { namespace: 'shop', owner: { kind: 'Deployment', name: 'leaky' }, containers: [
        { name: 'server', comm: 'leaky-server', sockets: [{ kind: 'listen', port: 8080, label: 'api', onPeerClose: 'keep' }] },
        { name: 'client', comm: 'leaky-client', sockets: [{ kind: 'churn', port: { label: 'api' }, everyMs: 200 }] },
      ] }],
      // The same churn, 50 connections a second, against a server that closes: healthy.
      ['healthy', { namespace: 'shop', owner: { kind: 'Deployment', name: 'healthy' }, containers: [
        { name: 'server', comm: 'healthy-server', sockets: [{ kind: 'listen', port: 8080, label: 'api' }] },
        { name: 'client', comm: 'healthy-client', sockets: [{ kind: 'churn', port: { label: 'api' }, everyMs: 20 }] },
      ] }],
      // 60 connections to one destination closed by this side: 60 TIME_WAIT entries, in a namespace of 100 ephemeral ports.
      ['bursty', { namespace: 'shop', name: 'bursty-0', sysctls: { 'net.ipv4.ip_local_port_range': `${PORT_LOW} ${PORT_LOW + 99}` }, containers: [
        { name: 'client', comm: 'bursty-client', sockets: [{ kind: 'time-wait', count: 60 }] },
      ] }],
      // Accepts, and never reads what its two clients sent.
      ['stalled', { namespace: 'payments', owner: { kind: 'StatefulSet', name: 'stalled' }, containers: [
        { name: 'sink', comm: 'stalled-sink', sockets: [{ kind: 'listen', port: 9000, label: 'sink', reads: false }] },
        { name: 'feeder', comm: 'feeder', sockets: [{ kind: 'connect', port: { label: 'sink' }, count: 2, send: 4096 }] },
      ] }],
    ];
    for (const [key, spec] of specs) {
      const simulated = await node.createPod(spec);
      pods.set(key, simulated);
      api.store.upsert(simulated.toApiObject() as unknown as KubeObject);
    }
    for (const [key, simulated] of pods) truths.set(key, await simulated.truth());

    aggregator = await startAggregatorProcess(processes, {
      staleAfter: '15s',
      evictAfter: '60s',
      kubeconfig,
      extraArgs: [
        '--evaluate-every', '1s',
        '--rule', `close-wait.window=${CLOSE_WAIT_WINDOW_S}s`,
        '--rule', `close-wait.max-age=${CLOSE_WAIT_MAX_AGE_S}s`,
        '--rule', `stuck-queue.after=${STUCK_AFTER_S}s`,
        '--events', 'on',
      ],
    });
    processes.start('agent', ['agent', '--aggregator', `127.0.0.1:${aggregator.grpcPort}`, '--node-name', NODE, '--kubeconfig', kubeconfig, '--interval', '0.5', '--heartbeat', '1s', '--full-read-every', '5']);
    let seen = new Set<string>();
    await waitFor(
      async () => {
        seen = new Set((await getJson<SocketList>('/api/v1/sockets?proto=tcp')).items.map((item) => item.pod ?? ''));
        return [...truths.values()].every((truth) => seen.has(truth.name));
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the aggregator to serve every simulated pod by name', describe: () => [...seen].join(', ') },
    );
    servedAtMs = Date.now();
  });

  after(async () => {
    await processes.killAll();
    await node?.cleanup();
    await api?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('TIME_WAIT towards one destination in a namespace with a narrowed ip_local_port_range: port pressure with the right share', async () => {
    let found: FindingItem | undefined;
    await waitFor(
      async () => {
        found = (await findings(`namespace=shop&pod=bursty-0&rule=port-pressure`))[0];
        return found !== undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, what: 'a port-pressure finding for the bursty pod', describe: () => aggregator!.process.tail() },
    );
    const timeWait = truths.get('bursty')!.containers[0]!.timeWait;
    assert.equal(timeWait.length, 60);
    assert.deepEqual(found!.details, {
      source: '127.0.0.1',
      destination: { address: '127.0.0.1', port: timeWait[0]!.foreignPort },
      share: 0.6,
      portRange: { low: PORT_LOW, high: PORT_LOW + 99, assumed: false },
      timeWait: 60,
    });
    assert.deepEqual([found!.severity, found!.sockets], ['warning', 60]);
    assert.match(found!.summary, /uses 60 % of its ephemeral ports towards 127\.0\.0\.1:\d+ from 127\.0\.0\.1: 60 connections \(60 in TIME_WAIT\) in a range of 100 \(40000–40099\)$/);
  });

  test('a server that never closes what its clients closed: a CLOSE_WAIT finding naming the pod, container and process, within the window', async () => {
    let found: FindingItem | undefined;
    await waitFor(
      async () => {
        found = (await findings(`namespace=shop&pod=${podName('leaky')}&rule=close-wait-leak`))[0];
        return found !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'a CLOSE_WAIT finding for the leaky pod', describe: () => aggregator!.process.tail() },
    );
    const openedAfterMs = Date.parse(found!.firstSeen) - servedAtMs;
    assert.ok(openedAfterMs <= (CLOSE_WAIT_WINDOW_S + 3) * 1000, `opened ${openedAfterMs} ms after the pod was served`);
    const server = container('leaky', 'server');
    assert.deepEqual(
      { namespace: found!.namespace, pod: found!.pod, node: found!.node, workload: found!.workload?.kind, state: found!.state, containers: found!.containers, processes: found!.processes.map((process) => [process.pid, process.comm]) },
      { namespace: 'shop', pod: podName('leaky'), node: NODE, workload: 'Deployment', state: 'open', containers: ['server'], processes: [[server.pid, 'leaky-server']] },
    );
    assert.ok(found!.sockets >= 5, `${found!.sockets} sockets`);
    assert.deepEqual(found!.peers.map((peer) => [peer.address, peer.port, peer.direction]), [['127.0.0.1', null, 'inbound']]);
    assert.match(found!.summary, new RegExp(`CLOSE_WAIT sockets in shop/${podName('leaky')} \\(container server, process .* \\(pid ${server.pid}\\)\\)`));
    assert.match(found!.explanation, /never called close\(\)/);
    assert.ok(aggregator!.process.logs.some((line) => line.msg === 'finding opened' && line.id === found!.id));
  });

  test('a server that stopped reading: a stuck Recv-Q finding with the bytes its clients sent', async () => {
    let found: FindingItem | undefined;
    await waitFor(
      async () => {
        found = (await findings(`namespace=payments&rule=stuck-recv-q`))[0];
        return found !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'a stuck Recv-Q finding for the stalled pod', describe: () => aggregator!.process.tail() },
    );
    const sink = container('stalled', 'sink');
    assert.deepEqual(
      { pod: found!.pod, containers: found!.containers, processes: found!.processes.map((process) => [process.pid, process.comm, process.sockets]), sockets: found!.sockets, queuedBytes: found!.details.queuedBytes },
      { pod: podName('stalled'), containers: ['sink'], processes: [[sink.pid, 'stalled-sink', 2]], sockets: 2, queuedBytes: 8192 },
    );
    assert.ok(found!.details.oldestSeconds! >= STUCK_AFTER_S);
  });

  test('a client and server churning short connections properly: no finding, and the churn is in the pod\'s history', async () => {
    // Both findings above took at least their windows; the healthy pair churned all along.
    await waitFor(async () => (await getJson<FindingList>('/api/v1/findings?state=all')).items.length >= 3, { timeoutMs: 30_000, what: 'the other findings' });
    const all = await findings('state=all');
    assert.deepEqual(all.filter((finding) => finding.pod === podName('healthy')), []);
    assert.deepEqual(all.map((finding) => `${finding.pod} ${finding.rule}`).sort(), ['bursty-0 port-pressure', `${podName('leaky')} close-wait-leak`, `${podName('stalled')} stuck-recv-q`].sort());
    const history = await getJson<PodHistoryObject>(`/api/v1/history?namespace=shop&pod=${podName('healthy')}`);
    const timeWait = history.resolutions[0]!.series['TIME-WAIT'] ?? [];
    assert.ok(Math.max(...timeWait) >= 20, `TIME-WAIT samples: ${timeWait.join(' ')}`);
  });

  test('kubectl netstat leaks and history show them; /metrics carries kubenetstat_findings', async () => {
    const server = `http://127.0.0.1:${aggregator!.httpPort}`;
    const finding = (await findings(`namespace=shop&pod=${podName('leaky')}&rule=close-wait-leak`))[0]!;
    const leaks = await runCli(['query', '--server', server, 'leaks', '-A', '--rule', 'close-wait-leak']);
    assert.equal(leaks.code, 0, leaks.stderr);
    const block = new RegExp(`^(WARNING|CRITICAL)  close-wait-leak  shop/${podName('leaky')} \\(Deployment/[^)]+\\) on ${NODE}, since \\S+ \\(open\\)\n  .*CLOSE_WAIT[\\s\\S]*  Why: +.*never called close\\(\\)[\\s\\S]*  Processes:  ${container('leaky', 'server').pid}/`, 'm');
    assert.match(leaks.stdout, block);
    assert.match(leaks.stdout, new RegExp(`  ID: +${finding.id}$`, 'm'));
    const history = await runCli(['query', '--server', server, 'history', '-n', 'shop', podName('healthy')]);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, new RegExp(`^shop/${podName('healthy')} on ${NODE}: fine, one sample per 10s`));
    assert.match(history.stdout, /^TIME-WAIT +[▁▂▃▄▅▆▇█]+ +\d+ +\(\d+–\d+\)$/m);
    const missing = await runCli(['query', '--server', server, 'history', '-n', 'shop', 'no-such-pod']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no history of pod shop\/no-such-pod/);
    const metrics = await (await fetch(`${server}/metrics`)).text();
    const series = metrics.split('\n').find((line) => line.startsWith('kubenetstat_findings{') && line.includes(`pod="${podName('leaky')}"`) && line.includes('rule="close-wait-leak"'));
    assert.ok(series, `no kubenetstat_findings series for the leaky pod in:\n${metrics.split('\n').filter((line) => line.startsWith('kubenetstat_findings')).join('\n')}`);
    assert.ok(Number(series.split(' ').at(-1)) >= 5, series);
  });

  test('the CLOSE_WAIT finding is a Kubernetes Event on the pod', async () => {
    await waitFor(() => (api!.store.list('Event', 'shop').some((event) => (event.involvedObject as { name?: string }).name === podName('leaky'))), { timeoutMs: 10_000, what: 'an Event on the leaky pod' });
    const event = api!.store.list('Event', 'shop').find((candidate) => (candidate.involvedObject as { name?: string }).name === podName('leaky'))!;
    assert.deepEqual([event.reason, event.type, (event.involvedObject as { kind?: string }).kind], ['CloseWaitLeak', 'Warning', 'Pod']);
    assert.match(String(event.message), /CLOSE_WAIT sockets in shop\//);
  });
});
