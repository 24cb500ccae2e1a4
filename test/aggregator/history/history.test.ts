import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistoryStore, SERIES_NAMES, type HistorySettings, type PodSample, type ResolutionView } from '../../../aggregator/history/index.js';
import { Slice } from '../../../aggregator/slice.js';
import { AGGREGATOR_DEFAULTS } from '../../../config/aggregator-settings.js';

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

type Rings = Pick<ResolutionView, 'timesMs' | 'series'>;

/** A resolution without its oldest sample (series all zero after it are not listed, as get() leaves them out). */
function withoutOldest({ timesMs, series }: Rings): Rings {
  const rest = Object.entries(series).map(([name, counts]) => [name, counts.slice(1)] as const);
  return { timesMs: timesMs.slice(1), series: Object.fromEntries(rest.filter(([, counts]) => counts.some((count) => count > 0))) };
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

  test('at the cap, pods present now keep their history whatever order the sample lists them in', () => {
    const history = new HistoryStore(SMALL);
    const all = (names: string[], estab: number): PodSample[] => names.map((name) => sample(name, { ESTAB: estab }));
    history.record(T0, all(['a', 'b', 'c'], 1));
    // The new pod comes first: every tracked pod is present too, so d is the one left out.
    history.record(T0 + 10_000, all(['d', 'a', 'b', 'c'], 2));
    history.record(T0 + 20_000, all(['c', 'd', 'b', 'a'], 3));
    assert.equal(history.get('shop', 'd'), undefined);
    assert.equal(history.podCount, 3);
    assert.equal(history.untracked, 1);
    for (const name of ['a', 'b', 'c']) assert.deepEqual(history.get('shop', name)!.resolutions[0]!.series, { ESTAB: [1, 2, 3] }, name);
  });

  test('a sample taken in slices: readers see the samples before it until it ends, then exactly what one call records', () => {
    // Coarse steps as long as fine ones: every sample opens a bucket, so none shows early.
    const settings: HistorySettings = { fineSeconds: 10, fineRetentionSeconds: 40, coarseSeconds: 10, coarseRetentionSeconds: 30, maxPods: 1000 };
    const whole = new HistoryStore(settings);
    const sliced = new HistoryStore(settings);
    const names = Array.from({ length: 300 }, (_, i) => `pod-${i}`);
    const watched = ['pod-0', 'pod-150', 'pod-299'];
    let yields = 0;
    for (let i = 0; i < 9; i++) {
      const nowMs = T0 + i * 10_000;
      // Pods come and go (every third sample lists a third of them), counts change every sample.
      const present = names.filter((_, p) => i % 3 !== 2 || p % 3 === 0).map((name, p) => sample(name, { ESTAB: i * 10 + (p % 7), ...(i % 2 === 0 && { 'TIME-WAIT': i + 1 }) }));
      // The rings as they were (a pod new in this sample has none of its samples yet), less the
      // oldest sample of a full ring: its cell is the one being overwritten.
      const ringsOf = (history: HistoryStore): Rings[][] => watched.map((name) => history.get('shop', name)?.resolutions.map(({ timesMs, series }) => ({ timesMs, series })) ?? []);
      const before = ringsOf(whole);
      const steps = sliced.sample(nowMs, present, new Slice(0));
      let step = steps.next();
      while (!step.done) {
        yields++;
        ringsOf(sliced).forEach((rings, w) =>
          rings.forEach((ring, r) => {
            const was = before[w]![r] ?? { timesMs: [], series: {} };
            assert.deepEqual(ring, ring.timesMs.length < was.timesMs.length ? withoutOldest(was) : was, `sample ${i}, yield ${yields}, ${watched[w]}`);
          }),
        );
        step = steps.next();
      }
      assert.equal(step.value, whole.record(nowMs, present));
      assert.deepEqual(
        names.map((name) => sliced.get('shop', name)),
        names.map((name) => whole.get('shop', name)),
      );
    }
    assert.ok(yields >= 9 * 4, `${yields} yields`);
  });

  test('a sample abandoned half-way (the engine stopped) is not published, and the next one writes every pod', () => {
    const history = new HistoryStore(SMALL);
    history.record(T0, [sample('a', { ESTAB: 1 })]);
    const fillers = Array.from({ length: 100 }, (_, i) => sample(`filler-${i}`, { ESTAB: 1 }));
    const abandoned = history.sample(T0 + 10_000, [sample('a', { ESTAB: 5 }), ...fillers], new Slice(0));
    assert.equal(abandoned.next().done, false);
    // a was written before the first yield; the sample is dropped there.
    history.record(T0 + 20_000, [sample('b', { ESTAB: 1 })]);
    const fine = history.get('shop', 'a')!.resolutions[0]!;
    assert.deepEqual(fine.timesMs, [T0, T0 + 20_000]);
    assert.deepEqual(fine.series, { ESTAB: [1, 0] });
  });

  test('memory: within the documented bound per pod; a count past 255, then 65,535 widens only its own series; an all-zero series is freed', () => {
    const history = new HistoryStore({ ...AGGREGATOR_DEFAULTS.history, maxPods: 100 });
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
