/** The one reconnect and retry delay (common/backoff.ts) the agent's stream and the informers use. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs } from '../../common/backoff.js';

const BACKOFF = { initialMs: 200, maxMs: 30_000 };

const cases: Array<{ name: string; failures: number; random: number; ms: number }> = [
  { name: 'the first failure waits between half the initial wait and all of it (lowest)', failures: 1, random: 0, ms: 100 },
  { name: 'the first failure, highest', failures: 1, random: 0.999_999, ms: 200 },
  { name: 'each failure doubles the ceiling', failures: 2, random: 0.5, ms: 300 },
  { name: 'the fifth failure', failures: 5, random: 0, ms: 1_600 },
  { name: 'the ceiling stops at maxMs', failures: 20, random: 0, ms: 15_000 },
  { name: 'and the wait never exceeds it', failures: 20, random: 0.999_999, ms: 30_000 },
];
for (const { name, failures, random, ms } of cases) {
  test(`backoffDelayMs: ${name}`, () => assert.equal(backoffDelayMs(BACKOFF, failures, () => random), ms));
}
