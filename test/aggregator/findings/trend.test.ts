import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FloorTrends, type Rise } from '../../../aggregator/findings/trend.js';

/** The model: each subject's lowest count per bucket in an array of its own, shifted as time moves. */
class ModelTrends {
  private readonly floors = new Map<string, { minima: number[]; bucket: number; sinceMs: number; pass: number }>();
  private pass = 0;
  private readonly bucketMs: number;
  constructor(
    private readonly windowMs: number,
    private readonly maxSubjects: number,
  ) {
    this.bucketMs = windowMs / 6;
  }
  beginPass(): void {
    this.pass++;
  }
  observe(subject: string, nowMs: number, count: number): void {
    const bucket = Math.floor(nowMs / this.bucketMs);
    let floors = this.floors.get(subject);
    if (!floors) {
      if (this.floors.size >= this.maxSubjects) return;
      floors = { minima: [-1, -1, -1, -1, -1, -1], bucket, sinceMs: nowMs, pass: this.pass };
      this.floors.set(subject, floors);
    }
    floors.pass = this.pass;
    const shift = Math.min(6, bucket - floors.bucket);
    for (let i = 0; i < shift; i++) floors.minima = [...floors.minima.slice(1), -1];
    if (shift > 0) floors.bucket = bucket;
    const last = floors.minima[5]!;
    floors.minima[5] = last === -1 ? count : Math.min(last, count);
  }
  endPass(): void {
    for (const [subject, floors] of [...this.floors]) if (floors.pass !== this.pass) this.floors.delete(subject);
  }
  get size(): number {
    return this.floors.size;
  }
  rise(subject: string, nowMs: number): Rise | undefined {
    const floors = this.floors.get(subject);
    if (!floors || nowMs - floors.sinceMs < this.windowMs - this.bucketMs) return undefined;
    const low = (values: number[]): number | undefined => {
      const seen = values.filter((value) => value !== -1);
      return seen.length === 0 ? undefined : Math.min(...seen);
    };
    const from = low(floors.minima.slice(0, 2));
    const to = low(floors.minima.slice(4));
    return from === undefined || to === undefined ? undefined : { from, to };
  }
}

describe('FloorTrends', () => {
  test('a floor that rises is a rise; churn around a level is not', () => {
    const trends = new FloorTrends(60_000, 10);
    for (let t = 0; t <= 60_000; t += 10_000) {
      trends.beginPass();
      trends.observe('leak', t, 10 + t / 1000);
      trends.observe('churn', t, t % 20_000 === 0 ? 5 : 50);
      trends.endPass();
    }
    assert.deepEqual(trends.rise('leak', 60_000), { from: 20, to: 60 });
    assert.deepEqual(trends.rise('churn', 60_000), { from: 5, to: 5 });
    assert.equal(trends.rise('unknown', 60_000), undefined);
  });

  test('pooled records answer as an array per subject would, as subjects come, go and come back', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('observe' as const), subject: fc.integer({ min: 0, max: 11 }), advanceMs: fc.integer({ min: 0, max: 25_000 }), count: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ op: fc.constant('pass' as const), keep: fc.array(fc.integer({ min: 0, max: 11 }), { maxLength: 12 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.integer({ min: 1, max: 8 }), (steps, maxSubjects) => {
        const pooled = new FloorTrends(60_000, maxSubjects);
        const model = new ModelTrends(60_000, maxSubjects);
        let now = 1_000_000;
        for (const s of steps) {
          if (s.op === 'observe') {
            now += s.advanceMs;
            pooled.observe(`s${s.subject}`, now, s.count);
            model.observe(`s${s.subject}`, now, s.count);
          } else {
            // A pass observes some subjects; the others are forgotten and their records reused.
            pooled.beginPass();
            model.beginPass();
            for (const subject of s.keep) {
              pooled.observe(`s${subject}`, now, 1);
              model.observe(`s${subject}`, now, 1);
            }
            pooled.endPass();
            model.endPass();
          }
          assert.equal(pooled.size, model.size);
          for (let subject = 0; subject < 12; subject++) assert.deepEqual(pooled.rise(`s${subject}`, now), model.rise(`s${subject}`, now), `s${subject}`);
        }
      }),
      { numRuns: 300 },
    );
  });
});
