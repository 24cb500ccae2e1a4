import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PassMemory, passOver, type Pass } from '../../../aggregator/findings/pass.js';
import { runThrough, Slice } from '../../../aggregator/slice.js';
import { NetnsReader } from '../../../aggregator/store/index.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { WIRE } from '../../../model/wire-fields.js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { pod, process } from '../../support/agent-sockets.js';
import { FindingsCluster, settingsWith, tcp } from '../../support/findings-cluster.js';

/**
 * What the findings engine keeps from one evaluation to the next so that a pass allocates next
 * to nothing (pass.ts PassMemory, engine.ts): tallies reset, not accumulated; pods and processes
 * that went away forgotten; texts written late that still say what their evaluation saw; and
 * evidence of findings opened together gathered again a share at a time.
 */

const CART = pod('shop', 'cart-0', 'cart');
const PAY = pod('payments', 'pay-0', 'pay');
const CLOSE_WAIT = 8;
const ESTABLISHED = 1;

function run(cluster: FindingsCluster, memory: PassMemory): Pass {
  return runThrough(passOver(cluster.store, settingsWith(), cluster.ms, undefined, new Slice(Infinity), memory));
}

describe('NetnsReader: a stored socket\'s network namespace, read without decoding it', () => {
  const reader = new NetnsReader();
  test('is the netns field as decimal text, wherever it sits among the other fields, for any inode below 2^53', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 53n - 1n }), fc.string(), fc.nat({ max: 65535 }), fc.string(), (netns, key, port, container) => {
        const bytes = Socket.encode(Socket.fromPartial({ key, node: 'node-a', netns, proto: Proto.PROTO_TCP, localPort: port, pod: { ...CART, container } })).finish();
        assert.equal(reader.read(Buffer.from(bytes)), netns.toString());
      }),
    );
  });

  test('is empty without the field, and for an inode a number cannot hold exactly', () => {
    assert.equal(reader.read(Buffer.from(Socket.encode(Socket.fromPartial({ key: 'k', node: 'node-a' })).finish())), '');
    assert.equal(reader.read(Buffer.from(Socket.encode(Socket.fromPartial({ key: 'k', netns: 2n ** 60n + 1n })).finish())), '');
    assert.equal(reader.read(Buffer.from(new BinaryWriter().uint32(WIRE.Socket.node.tag).uint32(5).raw(Uint8Array.of(0x61)).finish())), '', 'a length past the end');
  });
});

describe('PassMemory: tallies kept between passes', () => {
  test('counts start again from zero each pass; pods and processes without sockets are forgotten', () => {
    const cluster = new FindingsCluster();
    cluster.snapshot('node-a', [
      tcp('cw1', 'close-wait', { pod: CART, processes: [process(10, 'cart')] }),
      tcp('cw2', 'close-wait', { pod: CART, processes: [process(10, 'cart')] }),
      tcp('e1', 'estab', { pod: PAY, processes: [process(20, 'pay')] }),
    ]);
    const memory = new PassMemory();
    const first = run(cluster, memory);
    const cart = first.pods.get('shop/cart-0')!;
    assert.deepEqual([cart.counts[CLOSE_WAIT], first.pods.get('payments/pay-0')!.counts[ESTABLISHED]], [2, 1]);
    assert.deepEqual(first.processes.map((p) => [p.pid, p.sockets, p.pod.key]).sort(), [[10, 2, 'shop/cart-0'], [20, 1, 'payments/pay-0']]);

    cluster.remove('node-a', 'cw2', 'e1');
    cluster.put('node-a', tcp('e2', 'estab', { pod: CART, processes: [process(11, 'cart')] }));
    const second = run(cluster, memory);
    assert.equal(second.pods.get('shop/cart-0'), cart, 'the same tally, reset');
    assert.deepEqual([cart.counts[CLOSE_WAIT], cart.counts[ESTABLISHED]], [1, 1]);
    assert.deepEqual([...second.pods.keys()], ['shop/cart-0'], 'pay-0 has no sockets left');
    assert.deepEqual(second.processes.map((p) => [p.pid, p.sockets]).sort(), [[10, 1], [11, 1]], 'pid 20 is gone');
  });

  test('a pod of the same name on two nodes is one tally that knows both nodes, their processes apart; the next pass forgets the node that let it go', () => {
    const cluster = new FindingsCluster();
    // The same pid on both nodes: two processes (pids are per node).
    cluster.snapshot('node-a', [tcp('a1', 'close-wait', { pod: CART, processes: [process(10, 'cart')] })]);
    cluster.snapshot('node-b', [tcp('b1', 'close-wait', { pod: CART, node: 'node-b', processes: [process(10, 'cart')] }), tcp('b2', 'estab', { pod: CART, node: 'node-b', processes: [process(10, 'cart')] })]);
    const memory = new PassMemory();
    const first = run(cluster, memory);
    const tally = first.pods.get('shop/cart-0')!;
    assert.deepEqual([tally.counts[CLOSE_WAIT], [tally.nodeState, ...(tally.moreNodes ?? [])].map((node) => node.name).sort()], [2, ['node-a', 'node-b']]);
    assert.deepEqual(first.processes.map((p) => [p.node.name, p.pid, p.sockets]).sort(), [['node-a', 10, 1], ['node-b', 10, 2]]);
    cluster.remove('node-a', 'a1');
    run(cluster, memory);
    assert.deepEqual([tally.counts[CLOSE_WAIT], tally.node, tally.moreNodes], [1, 'node-b', undefined]);
  });
});

describe('findings across evaluations', () => {
  test('a finding\'s text, read after later passes changed its pod\'s tallies, still tells what its own evaluation saw', () => {
    const cluster = new FindingsCluster(settingsWith({ lingering: { lastAckSeconds: 120 } }));
    cluster.snapshot('node-a', [tcp('l1', 'last-ack', { pod: PAY }), tcp('l2', 'last-ack', { pod: PAY, foreignPort: 40_001 })]);
    cluster.advance(130);
    cluster.evaluate();
    // Kept open: made again, its text not read (an opening is logged with its text).
    cluster.advance(10);
    const [twoSockets] = cluster.evaluate();
    cluster.remove('node-a', 'l2');
    cluster.advance(10);
    const [oneSocket] = cluster.evaluate();
    assert.deepEqual([twoSockets!.sockets, oneSocket!.sockets], [2, 1]);
    assert.match(twoSockets!.text.summary, /^2 sockets in payments\/pay-0/);
    assert.match(oneSocket!.text.summary, /^1 socket in payments\/pay-0/);
    assert.equal(JSON.parse(JSON.stringify(oneSocket)).text.summary, oneSocket!.text.summary, 'the text is part of the finding as served');
  });

  test('on a timer, evidence of findings opened together is gathered again a share per evaluation, oldest first, until all are fresh', () => {
    // 12 pods with a CLOSE_WAIT each; evidence refreshed every 60 s, evaluations every 10 s: 2 per evaluation.
    const settings = settingsWith({ closeWait: { maxAgeSeconds: 60 }, evidenceRefreshSeconds: 60 } as never);
    const cluster = new FindingsCluster(settings, { evaluateEveryMs: 10_000 });
    const pods = Array.from({ length: 12 }, (_, i) => pod('shop', `cart-${i}`, 'cart'));
    cluster.snapshot('node-a', pods.map((ref, i) => tcp(`cw${i}`, 'close-wait', { pod: ref, foreignPort: 41_000 + i })));
    cluster.advance(60);
    const opened = cluster.evaluate();
    assert.equal(opened.length, 12);
    const openedAt = cluster.ms;
    const refreshedPerEvaluation: number[] = [];
    for (let i = 0; i < 12; i++) {
      cluster.advance(10);
      const before = cluster.ms;
      refreshedPerEvaluation.push(cluster.evaluate().filter((finding) => finding.evidence.collectedMs === before).length);
    }
    // Nothing is due for 60 s; then 2 per evaluation (ceil(12 × 10 / 60)) until every finding was refreshed, then the first again.
    assert.deepEqual(refreshedPerEvaluation, [0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2]);
    assert.ok(cluster.open().every((finding) => finding.evidence.collectedMs > openedAt));
  });

  test('by hand (no timer), every finding whose evidence is due is gathered again at once', () => {
    const settings = settingsWith({ closeWait: { maxAgeSeconds: 60 }, evidenceRefreshSeconds: 60 } as never);
    const cluster = new FindingsCluster(settings);
    cluster.snapshot('node-a', Array.from({ length: 5 }, (_, i) => tcp(`cw${i}`, 'close-wait', { pod: pod('shop', `cart-${i}`, 'cart'), foreignPort: 41_000 + i })));
    cluster.advance(60);
    cluster.evaluate();
    cluster.advance(60);
    assert.equal(cluster.evaluate().filter((finding) => finding.evidence.collectedMs === cluster.ms).length, 5);
  });
});
