import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findingId, type Finding } from '../../../aggregator/findings/index.js';
import { passOver } from '../../../aggregator/findings/pass.js';
import { Slice } from '../../../aggregator/slice.js';
import { AGGREGATOR_DEFAULTS } from '../../../config/aggregator-settings.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { applyNamespaceTable, listenOverflowsOf } from '../../../aggregator/store/index.js';
import { pod, process } from '../../support/agent-sockets.js';
import { FindingsCluster, NETNS, T0, settingsWith, tcp } from '../../support/findings-cluster.js';

/**
 * The leak rules over synthetic stores and a clock the tests move: each rule fires on the
 * condition it describes, names the pod, containers, processes and peers, and stays silent on
 * healthy churn. Evaluations are called by hand; nothing sleeps.
 */

const CART = pod('shop', 'cart-7d9f-abcde', 'cart');
const PAY = pod('payments', 'pay-0', 'pay');
const SERVER = process(4242, 'cart-server');
const DB = { foreignAddress: '10.0.3.7', foreignPort: 5432 };

/** The fields of a finding a test compares whole (times and texts are checked apart). */
function essentials(finding: Finding): object {
  return {
    rule: finding.rule,
    severity: finding.severity,
    state: finding.state,
    namespace: finding.namespace,
    pod: finding.pod,
    node: finding.node,
    sockets: finding.sockets,
    trend: finding.trend,
    details: finding.details,
    containers: finding.evidence.containers,
    processes: finding.evidence.processes,
    peers: finding.evidence.peers.map((peer) => ({ address: peer.address, port: peer.port, direction: peer.direction, sockets: peer.sockets })),
  };
}

describe('CLOSE_WAIT leak', () => {
  test('a count that keeps growing: pod, container, process, peers, count and trend, explained', () => {
    const cluster = new FindingsCluster(settingsWith({ closeWait: { windowSeconds: 60, minGrowth: 5, maxAgeSeconds: 3600 } }));
    cluster.snapshot('node-a', [tcp('listen', 'listen', { pod: CART, processes: [SERVER], localPort: 8080, foreignAddress: '0.0.0.0', foreignPort: 0 })]);
    let serial = 0;
    const leak = () => {
      for (let i = 0; i < 2; i++) cluster.put('node-a', tcp(`cw${++serial}`, 'close-wait', { pod: CART, processes: [SERVER], localPort: 41_000 + serial, ...DB }));
    };
    const seen: number[] = [];
    let finding: Finding | undefined;
    for (let step = 0; step <= 6; step++) {
      leak();
      const open = cluster.evaluate();
      seen.push(open.length);
      finding ??= open[0];
      cluster.advance(10);
    }
    // Nothing until the window is (nearly) covered, then the leak.
    assert.deepEqual(seen, [0, 0, 0, 0, 0, 1, 1]);
    assert.deepEqual(essentials(finding!), {
      rule: 'close-wait-leak',
      severity: 'warning',
      state: 'open',
      namespace: 'shop',
      pod: 'cart-7d9f-abcde',
      node: 'node-a',
      sockets: 12,
      trend: { windowSeconds: 60, from: 2, to: 10 },
      details: { oldestSeconds: 50 },
      containers: ['cart'],
      processes: [{ pid: 4242, name: 'cart-server', comm: 'cart-server', sockets: 12 }],
      peers: [{ address: '10.0.3.7', port: 5432, direction: 'outbound', sockets: 12 }],
    });
    assert.match(finding!.text.summary, /^12 CLOSE_WAIT sockets in shop\/cart-7d9f-abcde \(container cart, process cart-server \(pid 4242\)\), up from 2 60 s ago; the oldest has waited 50 s; peers 10\.0\.3\.7:5432 ×12$/);
    assert.match(finding!.text.explanation, /peer closed.*never called close\(\)/);
    assert.match(finding!.text.nextStep, /kubectl netstat -n shop --pod cart-7d9f-abcde -tanp --state close-wait/);
    assert.equal(finding!.id, findingId({ rule: 'close-wait-leak', subject: 'shop/cart-7d9f-abcde' }));
    // Counts follow every evaluation; the evidence is gathered again every evidence-refresh (60 s).
    const [later] = cluster.open();
    assert.deepEqual([later!.id, later!.sockets, later!.trend, later!.evidence.sockets], [finding!.id, 14, { windowSeconds: 60, from: 4, to: 12 }, 12]);
  });

  test('a CLOSE_WAIT older than close-wait.max-age is a leak by itself; a long connection that just got there is not', () => {
    const cluster = new FindingsCluster(settingsWith({ closeWait: { maxAgeSeconds: 600 } }));
    // Established for a day (its firstSeen), closed by the peer now: the age counts from its CLOSE_WAIT.
    const old = BigInt(T0 - 86_400_000);
    cluster.snapshot('node-a', [tcp('c1', 'estab', { pod: CART, processes: [SERVER], firstSeenUnixMs: old, ...DB })]);
    cluster.advance(3600);
    cluster.put('node-a', tcp('c1', 'close-wait', { pod: CART, processes: [SERVER], firstSeenUnixMs: old, ...DB }));
    assert.deepEqual(cluster.evaluate(), []);
    cluster.advance(590);
    assert.deepEqual(cluster.evaluate(), []);
    cluster.advance(10);
    const [finding] = cluster.evaluate();
    assert.equal(finding?.rule, 'close-wait-leak');
    assert.equal(finding?.sockets, 1);
    assert.deepEqual(finding?.details, { oldestSeconds: 600 });
    assert.equal(finding?.trend, null, 'not followed for a whole window yet');
  });

  test('from close-wait.critical-count sockets the leak is critical', () => {
    const cluster = new FindingsCluster(settingsWith({ closeWait: { maxAgeSeconds: 60, criticalCount: 50 } }));
    cluster.snapshot('node-a', Array.from({ length: 50 }, (_, i) => tcp(`c${i}`, 'close-wait', { pod: CART, foreignPort: 30_000 + i })));
    cluster.advance(60);
    assert.equal(cluster.evaluate()[0]?.severity, 'critical');
  });
});

describe('healthy churn makes no finding', () => {
  test('many short connections that close properly, TIME_WAIT below the pressure threshold, a CLOSE_WAIT closed at once, a queue that drains', () => {
    const cluster = new FindingsCluster();
    cluster.snapshot('node-a', [tcp('listen', 'listen', { pod: CART, processes: [SERVER], foreignAddress: '0.0.0.0', foreignPort: 0 })]);
    let living: Array<{ key: string; port: number; closedAt: number }> = [];
    let serial = 0;
    // 40 minutes at 200 new connections per 10 s towards one destination: ~1,200 in TIME_WAIT at
    // any time (60 s each), 4 % of the default range; each is ESTABLISHED for one evaluation.
    for (let step = 0; step < 240; step++) {
      // Established ones close (TIME_WAIT, no holder); TIME_WAIT ends after 60 s.
      living = living.filter((entry) => {
        if (entry.closedAt === 0) {
          cluster.put('node-a', tcp(entry.key, 'time-wait', { pod: CART, localPort: entry.port, ...DB }));
          entry.closedAt = cluster.ms;
        } else if (cluster.ms - entry.closedAt >= 60_000) {
          cluster.remove('node-a', entry.key);
          return false;
        }
        return true;
      });
      for (let i = 0; i < 200; i++) {
        const port = 32_768 + (serial % 28_000);
        const key = `c${++serial}`;
        cluster.put('node-a', tcp(key, 'estab', { pod: CART, processes: [SERVER], localPort: port, recvQ: BigInt(step % 3) * 100n, ...DB }));
        living.push({ key, port, closedAt: 0 });
      }
      // The server gets a FIN now and then and closes a moment later.
      cluster.put('node-a', tcp(`in${step}`, 'close-wait', { pod: CART, processes: [SERVER], localPort: 8080, foreignPort: 50_000 + step }));
      cluster.evaluate();
      cluster.remove('node-a', `in${step}`);
      cluster.advance(10);
    }
    assert.deepEqual(cluster.engine.all(), []);
    assert.ok((cluster.engine.lastEvaluation?.sockets ?? 0) > 1_000);
  });
});

describe('stuck queues', () => {
  test('a Recv-Q that does not drain for stuck-queue.after is stuck; one that drains starts again', () => {
    const cluster = new FindingsCluster(settingsWith({ stuckQueue: { afterSeconds: 60 } }));
    const socket = (key: string, recvQ: bigint) => tcp(key, 'estab', { pod: PAY, processes: [process(7, 'pay')], recvQ, foreignAddress: '10.0.9.1', foreignPort: 443 });
    cluster.snapshot('node-a', [socket('a', 1000n), socket('b', 1000n)]);
    cluster.advance(20);
    cluster.put('node-a', socket('b', 500n)); // b drains some
    cluster.advance(20);
    cluster.put('node-a', socket('a', 1200n), socket('b', 800n)); // both grow
    cluster.advance(20);
    const [finding] = cluster.evaluate();
    assert.deepEqual(essentials(finding!), {
      rule: 'stuck-recv-q',
      severity: 'warning',
      state: 'open',
      namespace: 'payments',
      pod: 'pay-0',
      node: 'node-a',
      sockets: 1,
      trend: null,
      details: { oldestSeconds: 60, queuedBytes: 1200 },
      containers: ['pay'],
      processes: [{ pid: 7, name: 'pay', comm: 'pay', sockets: 1 }],
      peers: [{ address: '10.0.9.1', port: 443, direction: 'outbound', sockets: 1 }],
    });
    assert.match(finding!.text.summary, /1 socket in payments\/pay-0 .* has 1200 bytes waiting to be read, not draining for 60 s/);
    cluster.advance(20);
    assert.equal(cluster.evaluate()[0]?.sockets, 2, 'b has not drained since its last shrink 60 s ago');
    cluster.put('node-a', socket('a', 0n), socket('b', 0n));
    assert.deepEqual(cluster.evaluate(), [], 'read: resolved');
  });

  test('a Send-Q that does not drain is stuck (the peer does not take the data); CLOSE_WAIT\'s unread FIN is not a stuck Recv-Q', () => {
    const cluster = new FindingsCluster(settingsWith({ stuckQueue: { afterSeconds: 60 }, closeWait: { maxAgeSeconds: 3600 } }));
    cluster.snapshot('node-a', [tcp('s', 'estab', { pod: PAY, sendQ: 65_536n, ...DB }), tcp('f', 'close-wait', { pod: PAY, recvQ: 1n, foreignPort: 41_000 })]);
    cluster.advance(61);
    const findings = cluster.evaluate();
    assert.deepEqual(findings.map((finding) => [finding.rule, finding.sockets, finding.details]), [['stuck-send-q', 1, { oldestSeconds: 61, queuedBytes: 65_536 }]]);
    assert.match(findings[0]!.text.explanation, /peer does not acknowledge/);
  });
});

describe('listen queue and SYN_RECV', () => {
  const listener = (recvQ: bigint, sendQ = 0n) => tcp('l', 'listen', { pod: CART, processes: [SERVER], localPort: 8080, foreignAddress: '0.0.0.0', foreignPort: 0, recvQ, sendQ });

  test('an accept queue that does not drain for listen-queue.after: warning; at a backlog the agent reports: critical', () => {
    const cluster = new FindingsCluster(settingsWith({ listenQueue: { afterSeconds: 30 } }));
    cluster.snapshot('node-a', [listener(3n), ...[1, 2, 3].map((i) => tcp(`q${i}`, 'estab', { pod: CART, localPort: 8080, foreignAddress: '10.244.7.7', foreignPort: 50_000 + i }))]);
    cluster.advance(29);
    assert.deepEqual(cluster.evaluate(), []);
    cluster.advance(1);
    const [finding] = cluster.evaluate();
    assert.deepEqual(essentials(finding!), {
      rule: 'listen-overflow',
      severity: 'warning',
      state: 'open',
      namespace: 'shop',
      pod: 'cart-7d9f-abcde',
      node: 'node-a',
      sockets: 3,
      trend: null,
      details: { localPort: 8080, acceptQueue: 3, oldestSeconds: 30 },
      containers: ['cart'],
      processes: [{ pid: 4242, name: 'cart-server', comm: 'cart-server', sockets: 1 }],
      peers: [{ address: '10.244.7.7', port: null, direction: 'inbound', sockets: 3 }],
    });
    assert.match(finding!.text.explanation, /not called accept\(\)/);
    cluster.put('node-a', listener(4n, 4n));
    const [full] = cluster.evaluate();
    assert.equal(full?.severity, 'critical');
    assert.deepEqual(full?.details, { localPort: 8080, acceptQueue: 4, backlog: 4, oldestSeconds: 30 });
    assert.equal(full?.id, finding!.id);
  });

  test('the namespace\'s ListenOverflows rising during the backlog: critical, with the drops counted from its start', () => {
    const cluster = new FindingsCluster(settingsWith({ listenQueue: { afterSeconds: 30 } }));
    cluster.snapshot('node-a', [listener(3n)]);
    const node = cluster.store.get('node-a')!;
    const table = (overflows: bigint | undefined) => [{ netns: NETNS, portRangeLow: 32768, portRangeHigh: 60999, portRangeAssumed: false, ...(overflows !== undefined && { listenDrops: { overflows, drops: overflows } }) }];
    // The agent reads the counters once a listener has a backlog: the first value is the baseline.
    applyNamespaceTable(node, table(1_000n));
    cluster.advance(30);
    assert.equal(cluster.evaluate()[0]?.severity, 'warning', 'queued, nothing dropped yet');
    applyNamespaceTable(node, table(1_007n));
    const [dropping] = cluster.evaluate();
    assert.equal(dropping?.severity, 'critical');
    assert.equal(dropping?.details.listenOverflows, 7);
    assert.match(dropping!.text.summary, /the kernel dropped 7 connection attempts into the full queue meanwhile \(ListenOverflows\)/);
    // The backlog ends (no counters sent), then a new one starts: counted from its own start.
    applyNamespaceTable(node, table(undefined));
    assert.equal(listenOverflowsOf(node, String(NETNS)), undefined);
    applyNamespaceTable(node, table(1_010n));
    assert.equal(listenOverflowsOf(node, String(NETNS)), 0);
  });

  test('a SYN flood: syn-recv.min-count half-open connections on one port for syn-recv.for', () => {
    const cluster = new FindingsCluster(settingsWith({ synRecv: { minCount: 100, forSeconds: 30 } }));
    const half = (n: number) => Array.from({ length: n }, (_, i) => tcp(`s${i}`, 'syn-recv', { pod: CART, localPort: 8080, foreignAddress: '198.51.100.4', foreignPort: 10_000 + i }));
    cluster.snapshot('node-a', [listener(0n), ...half(99)]);
    cluster.advance(60);
    assert.deepEqual(cluster.evaluate(), [], '99 is below the threshold');
    cluster.put('node-a', ...half(150));
    assert.deepEqual(cluster.evaluate(), [], 'held for 0 s');
    cluster.advance(20);
    assert.deepEqual(cluster.evaluate(), [], 'held for 20 s');
    cluster.advance(10);
    const [finding] = cluster.evaluate();
    assert.deepEqual([finding?.rule, finding?.sockets, finding?.details, finding?.evidence.peers.map((peer) => [peer.address, peer.direction, peer.sockets])], ['syn-flood', 150, { localPort: 8080 }, [['198.51.100.4', 'inbound', 150]]]);
  });
});

describe('socket growth, lingering FIN_WAIT2 and LAST_ACK', () => {
  test('a process whose socket count keeps rising (the fd leak before EMFILE); churn around a level is not growth', () => {
    const cluster = new FindingsCluster(settingsWith({ socketGrowth: { windowSeconds: 60, minGrowth: 50, minSockets: 100 } }));
    const leaker = process(900, 'worker');
    const churner = process(901, 'api');
    const socket = (key: string, owner: typeof leaker, port: number) => tcp(key, 'estab', { pod: CART, processes: [owner], localPort: port, foreignAddress: '10.0.5.5', foreignPort: 6379 });
    cluster.snapshot('node-a', []);
    let serial = 0;
    for (let step = 0; step <= 7; step++) {
      cluster.put('node-a', ...Array.from({ length: 20 }, () => socket(`w${++serial}`, leaker, 33_000 + serial)));
      // The other process holds 150 connections, replacing half of them each step.
      if (step > 0) cluster.remove('node-a', ...Array.from({ length: 75 }, (_, i) => `a${step - 1}-${i}`));
      cluster.put('node-a', ...Array.from({ length: step === 0 ? 150 : 75 }, (_, i) => socket(`a${step}-${i}`, churner, 40_000 + step * 200 + i)));
      cluster.evaluate();
      cluster.advance(10);
    }
    const findings = cluster.open();
    assert.deepEqual(findings.map((finding) => [finding.rule, finding.details, finding.sockets, finding.trend]), [['socket-growth', { pid: 900 }, 160, { windowSeconds: 60, from: 60, to: 140 }]]);
    assert.match(findings[0]!.text.summary, /^Process worker \(pid 900\) in shop\/cart-7d9f-abcde \(container cart\) holds 160 sockets, up from 60 60 s ago/);
    assert.match(findings[0]!.text.explanation, /EMFILE/);
  });

  test('FIN_WAIT2 past lingering.fin-wait2 and LAST_ACK past lingering.last-ack; orphans the kernel ends in 60 s never count', () => {
    const cluster = new FindingsCluster(settingsWith({ lingering: { finWait2Seconds: 300, lastAckSeconds: 120 } }));
    cluster.snapshot('node-a', [
      tcp('f1', 'fin-wait2', { pod: CART, processes: [SERVER], ...DB }),
      tcp('orphan', 'fin-wait2', { pod: CART, foreignPort: 41_000 }),
      tcp('l1', 'last-ack', { pod: PAY, foreignAddress: '10.0.8.8', foreignPort: 9092 }),
    ]);
    cluster.advance(60);
    cluster.remove('node-a', 'orphan'); // tcp_fin_timeout
    cluster.advance(60);
    const atTwoMinutes = cluster.evaluate();
    assert.deepEqual(atTwoMinutes.map((finding) => [finding.rule, finding.pod, finding.severity, finding.sockets]), [['last-ack-lingering', 'pay-0', 'info', 1]]);
    cluster.advance(180);
    const later = cluster.evaluate().map((finding) => [finding.rule, finding.pod, finding.details]);
    assert.deepEqual(later.sort(), [['fin-wait2-lingering', 'cart-7d9f-abcde', { oldestSeconds: 300 }], ['last-ack-lingering', 'pay-0', { oldestSeconds: 300 }]]);
  });
});

describe('ephemeral port pressure', () => {
  const clients = (count: number, timeWait: number, from = 0) =>
    Array.from({ length: count }, (_, i) => tcp(`p${from + i}`, i < timeWait ? 'time-wait' : 'estab', { pod: CART, ...(i >= timeWait && { processes: [SERVER] }), localPort: 40_000 + from + i, ...DB }));

  test('the share of the namespace\'s ip_local_port_range in use towards one destination, TIME_WAIT included', () => {
    const cluster = new FindingsCluster(settingsWith(), { portRangeOf: (node, netns) => (node.name === 'node-a' && netns === String(NETNS) ? { low: 40_000, high: 40_099, assumed: false } : undefined) });
    // The pod's first socket is a unix one, made in the host's namespace: the range is the pod's namespace's all the same.
    const unix = Socket.fromPartial({ key: 'u1', netns: 4026531840n, proto: Proto.PROTO_UNIX, stateCode: 1, state: 'CONNECTED', ssState: 'ESTAB', pod: CART, processes: [SERVER] });
    cluster.snapshot('node-a', [unix, ...clients(49, 40)]);
    assert.deepEqual(cluster.evaluate(), [], '49 % is below port-pressure.warn-share');
    cluster.put('node-a', ...clients(11, 11, 49));
    const [warning] = cluster.evaluate();
    assert.deepEqual(essentials(warning!), {
      rule: 'port-pressure',
      severity: 'warning',
      state: 'open',
      namespace: 'shop',
      pod: 'cart-7d9f-abcde',
      node: 'node-a',
      sockets: 60,
      trend: null,
      details: { source: '10.244.1.5', destination: { address: '10.0.3.7', port: 5432 }, share: 0.6, portRange: { low: 40_000, high: 40_099, assumed: false }, timeWait: 51 },
      containers: ['cart'],
      processes: [{ pid: 4242, name: 'cart-server', comm: 'cart-server', sockets: 9 }],
      peers: [{ address: '10.0.3.7', port: 5432, direction: 'outbound', sockets: 60 }],
    });
    assert.match(warning!.text.summary, /uses 60 % of its ephemeral ports towards 10\.0\.3\.7:5432 from 10\.244\.1\.5: 60 connections \(51 in TIME_WAIT\) in a range of 100 \(40000–40099\)$/);
    assert.match(warning!.text.explanation, /cannot assign requested address/);
    cluster.put('node-a', ...clients(25, 25, 60));
    const [critical] = cluster.evaluate();
    assert.deepEqual([critical?.severity, critical?.details.share, critical?.id], ['critical', 0.85, warning!.id]);
  });

  test('TIME_WAIT sockets, which no container holds, name no container (not an empty one)', () => {
    const cluster = new FindingsCluster(settingsWith({ portPressure: { warnShare: 0.01, criticalShare: 0.5 } }));
    // As the agent attributes them: the pod by the network namespace, no container, no process.
    const inPodOnly = { ...CART, container: '', containerId: '' };
    cluster.snapshot('node-a', Array.from({ length: 300 }, (_, i) => tcp(`tw${i}`, 'time-wait', { pod: inPodOnly, localPort: 40_000 + i, ...DB })));
    const [finding] = cluster.evaluate();
    assert.equal(finding?.rule, 'port-pressure');
    assert.deepEqual(finding!.evidence.containers, []);
    assert.doesNotMatch(finding!.text.summary, /container/);
    assert.match(finding!.text.summary, /^shop\/cart-7d9f-abcde uses /);
  });

  test('a namespace the agent said nothing of is assumed to have the kernel\'s default range, and the finding says so', () => {
    const cluster = new FindingsCluster(settingsWith({ portPressure: { warnShare: 0.01, criticalShare: 0.5 } }));
    cluster.snapshot('node-a', clients(300, 300));
    const [finding] = cluster.evaluate();
    assert.deepEqual(finding?.details.portRange, { low: 32_768, high: 60_999, assumed: true });
    assert.match(finding!.text.summary, /in a range of 28232 \(32768–60999, assumed: the agent did not report this namespace's range\)/);
  });
});

describe('the findings\' lifecycle', () => {
  test('stable ids, newest first, resolved when the condition goes, reopened under the same id; an Event only for a new finding', () => {
    const cluster = new FindingsCluster(settingsWith({ closeWait: { maxAgeSeconds: 60 }, stuckQueue: { afterSeconds: 60 }, resolvedRetentionSeconds: 600 }));
    cluster.snapshot('node-a', [tcp('cw', 'close-wait', { pod: CART, ...DB })]);
    cluster.advance(60);
    const [closeWait] = cluster.evaluate();
    cluster.put('node-a', tcp('rq', 'estab', { pod: PAY, recvQ: 10n, ...DB }));
    cluster.advance(60);
    assert.deepEqual(cluster.evaluate().map((finding) => [finding.rule, finding.firstSeenMs - T0]), [['stuck-recv-q', 120_000], ['close-wait-leak', 60_000]]);
    cluster.remove('node-a', 'cw');
    cluster.advance(10);
    cluster.evaluate();
    const resolved = cluster.engine.all().find((finding) => finding.id === closeWait!.id)!;
    assert.deepEqual([resolved.state, resolved.resolvedMs! - T0, resolved.lastSeenMs - T0], ['resolved', 130_000, 120_000]);
    assert.ok(cluster.logs.some((line) => line.message === 'finding resolved' && line.fields.id === closeWait!.id));
    cluster.put('node-a', tcp('cw2', 'close-wait', { pod: CART, ...DB }));
    cluster.advance(60);
    const reopened = cluster.evaluate().find((finding) => finding.rule === 'close-wait-leak')!;
    assert.deepEqual([reopened.id, reopened.firstSeenMs, reopened.state, reopened.resolvedMs], [closeWait!.id, closeWait!.firstSeenMs, 'open', null]);
    assert.deepEqual(cluster.opened.map((finding) => finding.rule), ['close-wait-leak', 'stuck-recv-q'], 'one Event per finding, none for a reopening');
    // A resolved finding is listed for resolved-retention, then forgotten.
    cluster.remove('node-a', 'cw2');
    cluster.advance(10);
    cluster.evaluate();
    cluster.advance(601);
    cluster.evaluate();
    assert.deepEqual(cluster.engine.all().map((finding) => finding.rule), ['stuck-recv-q']);
  });

  test('at max-findings, a new finding takes the place of a resolved one, or is left out (logged once)', () => {
    const cluster = new FindingsCluster(settingsWith({ closeWait: { maxAgeSeconds: 60 }, maxFindings: 2 }));
    const pods = ['a', 'b', 'c'].map((name) => pod('shop', `${name}-0`, name));
    cluster.snapshot('node-a', pods.slice(0, 2).map((owner, i) => tcp(`cw${i}`, 'close-wait', { pod: owner, foreignPort: 41_000 + i })));
    cluster.advance(60);
    cluster.evaluate();
    cluster.put('node-a', tcp('cw2', 'close-wait', { pod: pods[2], foreignPort: 41_002 }));
    cluster.advance(60);
    assert.deepEqual(cluster.evaluate().map((finding) => finding.pod).sort(), ['a-0', 'b-0']);
    cluster.advance(10);
    cluster.evaluate();
    assert.equal(cluster.logs.filter((line) => line.message.startsWith('findings left out')).length, 1);
    cluster.remove('node-a', 'cw0');
    cluster.advance(10);
    cluster.evaluate();
    assert.deepEqual(cluster.evaluate().map((finding) => finding.pod).sort(), ['b-0', 'c-0'], 'a-0 resolved, and made room for c-0');
    assert.deepEqual(cluster.opened.map((finding) => finding.pod), ['a-0', 'b-0', 'c-0']);
  });

  test('a pass can give the event loop back between nodes', () => {
    const cluster = new FindingsCluster();
    for (const node of ['node-a', 'node-b', 'node-c']) cluster.snapshot(node, [tcp(`${node}/cw`, 'close-wait', { pod: CART })]);
    const pass = passOver(cluster.store, settingsWith(), cluster.ms, undefined, new Slice(0));
    let yields = 0;
    let step = pass.next();
    for (; !step.done; step = pass.next()) yields++;
    assert.deepEqual([yields, step.value.sockets, step.value.pods.get('shop/cart-7d9f-abcde')?.counts[8]], [3, 3, 3]);
  });

  test('a node that cannot be vouched for keeps its findings as they were: none opens, none resolves', () => {
    const cluster = new FindingsCluster(settingsWith({ closeWait: { maxAgeSeconds: 60 }, stuckQueue: { afterSeconds: 60 } }), { staleAfterMs: 15_000 });
    cluster.snapshot('node-a', [tcp('cw', 'close-wait', { pod: CART, ...DB }), tcp('rq', 'estab', { pod: CART, recvQ: 5n, ...DB })]);
    cluster.advance(40);
    cluster.put('node-a', tcp('rq', 'estab', { pod: CART, recvQ: 0n, ...DB }));
    cluster.advance(20);
    assert.deepEqual(cluster.evaluate().map((finding) => finding.rule), ['close-wait-leak']);
    cluster.remove('node-a', 'cw');
    cluster.put('node-a', tcp('rq', 'estab', { pod: CART, recvQ: 5n, ...DB }));
    // The agent goes silent: its last known sockets age, but nothing is judged on them.
    cluster.advance(120, ['node-a']);
    assert.deepEqual(cluster.evaluate().map((finding) => [finding.rule, finding.lastSeenMs - T0]), [['close-wait-leak', 60_000]]);
  });
});

describe('an evaluation in slices', () => {
  /** Two nodes of healthy sockets, the same in both clusters: nothing for any rule to find. */
  function healthy(): FindingsCluster {
    const cluster = new FindingsCluster();
    cluster.snapshot('node-a', [tcp('a1', 'estab', { pod: CART, processes: [SERVER], ...DB }), tcp('a2', 'listen', { pod: CART, localPort: 8080, foreignAddress: '0.0.0.0', foreignPort: 0 })]);
    cluster.snapshot('node-b', [tcp('b1', 'estab', { pod: PAY, ...DB })]);
    return cluster;
  }

  test('every step over all pods starts a slice of its own, and slicing changes no result', () => {
    const whole = healthy();
    const expected = whole.engine.evaluate();
    const sliced = healthy();
    // A slice of 0 ms is always used up: the evaluation yields at every point it may.
    const steps = sliced.engine.steps(0);
    let yields = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) yields++;
    assert.deepEqual({ ...step.value, atMs: 0, durationMs: 0 }, { ...expected, atMs: 0, durationMs: 0 });
    // Before each node's tally (2), each pod new to the history (2), each of the 9 rules (their
    // pods fit in one part), the findings' lifecycle (1) and pruning (1); none for candidates or
    // findings, there being none, nor for pods the history tracks already (it looks at the clock
    // every 64th of those).
    assert.equal(yields, 2 + 2 + 9 + 1 + 1);
  });

  /** One node of `pods` pods, each with a process and a connection; every `leakEvery`th pod also has a CLOSE_WAIT socket. */
  function crowded(pods: number, leakEvery = 0): FindingsCluster {
    const cluster = new FindingsCluster();
    const sockets = Array.from({ length: pods }, (_, i) => {
      const ref = pod('shop', `cart-${i}`, 'cart');
      return [tcp(`e${i}`, 'estab', { pod: ref, processes: [process(1000 + i, 'cart')], ...DB }), ...(leakEvery && i % leakEvery === 0 ? [tcp(`c${i}`, 'close-wait', { pod: ref, ...DB })] : [])];
    });
    cluster.snapshot('node-a', sockets.flat());
    return cluster;
  }

  test('the history sample and every rule yield inside too: 1,200 pods', () => {
    const cluster = crowded(1200);
    cluster.engine.evaluate();
    cluster.advance(AGGREGATOR_DEFAULTS.history.fineSeconds);
    const steps = cluster.engine.steps(0);
    let yields = 0;
    for (let step = steps.next(); !step.done; step = steps.next()) yields++;
    // The node (1); the history's sample, its pods all tracked now, looks at the clock every
    // 64th pod of its walks over the present and the absent (2,400 looks: 37 yields); 9 rules ×
    // 3 parts of 500 pods (and processes); lifecycle (1) and pruning (1).
    assert.equal(yields, 1 + 37 + 9 * 3 + 1 + 1);
  });

  test('in slices, 1,200 pods of which 400 leak: the same findings as at once', () => {
    const whole = crowded(1200, 3);
    const sliced = crowded(1200, 3);
    for (const cluster of [whole, sliced]) cluster.advance(settingsWith().closeWait.maxAgeSeconds + 60);
    whole.engine.evaluate();
    const steps = sliced.engine.steps(0);
    while (!steps.next().done);
    const summary = (cluster: FindingsCluster): unknown[] => cluster.engine.all().map(({ id, rule, state, sockets, severity }) => ({ id, rule, state, sockets, severity }));
    assert.equal(whole.open().length, 400);
    assert.deepEqual(summary(sliced), summary(whole));
    assert.deepEqual(sliced.history.get('shop', 'cart-3')!.resolutions, whole.history.get('shop', 'cart-3')!.resolutions);
  });
});
