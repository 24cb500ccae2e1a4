import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistoryStore, SERIES_NAMES, type HistorySettings, type PodSample } from '../aggregator/history/index.js';
import { DEFAULTS } from '../cli/defaults.js';

/** Per-pod history: ring buffers at two resolutions, retention, the pod cap and its memory. */

const T0 = Date.UTC(2024, 0, 1);
/** 6 fine samples of 10 s, 4 coarse ones of 30 s. */
const SMALL: HistorySettings = { fineSeconds: 10, fineRetentionSeconds: 60, coarseSeconds: 30, coarseRetentionSeconds: 120, maxPods: 3 };

const series = (name: (typeof SERIES_NAMES)[number]): number => SERIES_NAMES.indexOf(name);

/** A pod's sample with counts by ss state name. */
function sample(name: string, counts: Partial<Record<(typeof SERIES_NAMES)[number], number>>, namespace = 'shop'): PodSample {
  const array = new Array<number>(SERIES_NAMES.length).fill(0);
  for (const [state, count] of Object.entries(counts)) array[series(state as (typeof SERIES_NAMES)[number])] = count;
  return { namespace, name, uid: `uid-${name}`, node: 'node-a', counts: array };
}

describe('pod history', () => {
  test('a fine sample per step, coarse samples keep the highest fine sample of their step, only the states the pod had', () => {
    const history = new HistoryStore(SMALL);
    const closeWait = [1, 3, 2, 5, 4, 4, 6];
    closeWait.forEach((count, i) => history.record(T0 + i * 10_000, [sample('cart-0', { 'CLOSE-WAIT': count, ESTAB: 2 })]));
    const view = history.get('shop', 'cart-0')!;
    assert.deepEqual([view.namespace, view.name, view.uid, view.node, view.firstSampleMs - T0, view.lastPresentMs - T0], ['shop', 'cart-0', 'uid-cart-0', 'node-a', 0, 60_000]);
    const [fine, coarse] = view.resolutions;
    assert.deepEqual(fine, {
      name: 'fine',
      stepSeconds: 10,
      retentionSeconds: 60,
      aggregate: 'sample',
      timesMs: [10, 20, 30, 40, 50, 60].map((s) => T0 + s * 1000),
      series: { ESTAB: [2, 2, 2, 2, 2, 2], 'CLOSE-WAIT': [3, 2, 5, 4, 4, 6] },
    });
    assert.deepEqual(coarse, {
      name: 'coarse',
      stepSeconds: 30,
      retentionSeconds: 120,
      aggregate: 'max',
      timesMs: [0, 30, 60].map((s) => T0 + s * 1000),
      series: { ESTAB: [2, 2, 2], 'CLOSE-WAIT': [3, 5, 6] },
    });
  });

  test('a second call within one fine step records nothing', () => {
    const history = new HistoryStore(SMALL);
    assert.equal(history.record(T0, [sample('cart-0', { ESTAB: 1 })]), true);
    assert.equal(history.record(T0 + 9_999, [sample('cart-0', { ESTAB: 9 })]), false);
    assert.deepEqual(history.get('shop', 'cart-0')!.resolutions[0]!.series, { ESTAB: [1] });
  });

  test('a pod that came later starts at its first sample; one that has no sockets is counted 0 and kept for the coarse retention, then dropped', () => {
    const history = new HistoryStore(SMALL);
    for (let i = 0; i < 3; i++) history.record(T0 + i * 10_000, [sample('a', { ESTAB: 1 }), ...(i === 2 ? [sample('b', { LISTEN: 1 })] : [])]);
    assert.deepEqual(history.get('shop', 'b')!.resolutions[0]!.series, { LISTEN: [1] });
    // a is gone from 30 s on.
    for (let i = 3; i < 6; i++) history.record(T0 + i * 10_000, [sample('b', { LISTEN: 1 })]);
    assert.deepEqual(history.get('shop', 'a')!.resolutions[0]!.series, { ESTAB: [1, 1, 1, 0, 0, 0] });
    assert.equal(history.get('shop', 'a')!.lastPresentMs, T0 + 20_000);
    // Kept for the coarse retention (120 s) plus one coarse step after it was last present.
    history.record(T0 + 170_000, [sample('b', { LISTEN: 1 })]);
    assert.ok(history.get('shop', 'a'));
    history.record(T0 + 180_000, [sample('b', { LISTEN: 1 })]);
    assert.equal(history.get('shop', 'a'), undefined);
    assert.equal(history.podCount, 1);
  });

  test('at the cap a new pod replaces the one gone longest; while every tracked pod is present, new ones are not tracked', () => {
    const history = new HistoryStore(SMALL);
    history.record(T0, ['a', 'b', 'c'].map((name) => sample(name, { ESTAB: 1 })));
    history.record(T0 + 10_000, [sample('b', { ESTAB: 1 }), sample('c', { ESTAB: 1 })]);
    history.record(T0 + 20_000, [sample('c', { ESTAB: 1 })]);
    history.record(T0 + 30_000, [sample('c', { ESTAB: 1 }), sample('d', { ESTAB: 1 }), sample('e', { ESTAB: 1 })]);
    assert.deepEqual(['a', 'b', 'c', 'd', 'e'].map((name) => history.get('shop', name) !== undefined), [false, false, true, true, true]);
    history.record(T0 + 40_000, ['c', 'd', 'e', 'f'].map((name) => sample(name, { ESTAB: 1 })));
    assert.equal(history.get('shop', 'f'), undefined);
    assert.equal(history.untracked, 1);
    assert.equal(history.podCount, 3);
  });

  test('memory: within the documented bound per pod; a count past 255, then 65,535 widens only its own series; an all-zero series is freed', () => {
    const history = new HistoryStore({ ...DEFAULTS.aggregator.history, maxPods: 100 });
    const empty = history.bytes();
    const states = { ESTAB: 40, LISTEN: 2, 'TIME-WAIT': 300, 'CLOSE-WAIT': 1 };
    for (let i = 0; i < 100; i++) history.record(T0 + i * 10_000, Array.from({ length: 100 }, (_, pod) => sample(`pod-${pod}`, states)));
    const perPod = (history.bytes() - empty) / 100;
    // history-store.ts: ~0.5 KiB a pod and ~0.75 KiB a state (twice that for TIME-WAIT, past 255).
    assert.ok(perPod >= 3 * 1024 && perPod <= 4.5 * 1024, `${perPod} bytes per pod`);
    history.record(T0 + 100 * 10_000, [sample('pod-0', { ...states, 'TIME-WAIT': 70_000 })]);
    const widened = history.bytes() - empty - 100 * perPod;
    assert.ok(Math.abs(widened - (360 + 288) * 2) < 64, `only TIME-WAIT widened: ${widened} bytes more`);
    assert.equal(history.get('shop', 'pod-0')!.resolutions[0]!.series['TIME-WAIT']!.at(-1), 70_000);
    // States gone for longer than both rings hold: their series are freed (and the pods gone as long, dropped).
    const later = T0 + 101 * 10_000 + (86_400 + 300) * 1000;
    history.record(later, [sample('pod-0', { ESTAB: 40 })]);
    history.record(later + 10_000, [sample('pod-0', { ESTAB: 40 })]);
    assert.equal(history.podCount, 1);
    assert.deepEqual(Object.keys(history.get('shop', 'pod-0')!.resolutions[0]!.series), ['ESTAB']);
  });
});
