/**
 * The one duration grammar every duration flag reads (config/duration.ts): Go's and kubectl's
 * units plus days, or a bare number of seconds as the chart passes them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration, isDuration, parseDuration } from '../../config/duration.js';
import { UsageError } from '../../config/usage-error.js';

describe('parseDuration', () => {
  const good: Array<{ name: string; text: string; seconds: number }> = [
    { name: 'milliseconds', text: '500ms', seconds: 0.5 },
    { name: 'seconds', text: '90s', seconds: 90 },
    { name: 'minutes', text: '10m', seconds: 600 },
    { name: 'hours and minutes', text: '1h30m', seconds: 5_400 },
    { name: 'a day', text: '1d', seconds: 86_400 },
    { name: 'every unit at once', text: '1d2h3m4s5ms', seconds: 86_400 + 7_200 + 180 + 4 + 0.005 },
    { name: 'a fraction with a unit', text: '1.5m', seconds: 90 },
    { name: 'a bare whole number is seconds', text: '15', seconds: 15 },
    { name: 'a bare fraction is seconds', text: '0.5', seconds: 0.5 },
    { name: 'zero', text: '0', seconds: 0 },
    { name: 'fifty milliseconds, exactly', text: '50ms', seconds: 0.05 },
  ];
  for (const { name, text, seconds } of good) {
    test(`reads ${name}: ${text}`, () => {
      assert.equal(parseDuration(text, '--x'), seconds);
      assert.equal(isDuration(text), true);
    });
  }

  const bad: Array<{ name: string; text: string; message: RegExp }> = [
    { name: 'empty', text: '', message: /^invalid --x '': expected a duration such as 500ms/ },
    { name: 'a word', text: 'soon', message: /^invalid --x 'soon': expected a duration/ },
    { name: 'an unknown unit', text: '5x', message: /^invalid --x '5x': unknown unit 'x' \(ms, s, m, h or d\)$/ },
    { name: 'microseconds, which no setting needs', text: '10us', message: /unknown unit 'us'/ },
    { name: 'a number without its unit after one with', text: '1h30', message: /^invalid --x '1h30': 30 has no unit/ },
    { name: 'a negative duration', text: '-5s', message: /^invalid --x '-5s': expected a duration/ },
    { name: 'a space inside', text: '1h 30m', message: /' 30m' is not a number with a unit/ },
    { name: 'an upper-case unit', text: '5S', message: /unknown unit 'S'/ },
  ];
  for (const { name, text, message } of bad) {
    test(`refuses ${name}, naming the flag`, () => {
      assert.throws(() => parseDuration(text, '--x'), (error) => error instanceof UsageError && message.test(error.message));
      assert.equal(isDuration(text), false);
    });
  }
});

describe('formatDuration', () => {
  const cases: Array<{ seconds: number; text: string }> = [
    { seconds: 0, text: '0s' },
    { seconds: 0.05, text: '50ms' },
    { seconds: 0.5, text: '500ms' },
    { seconds: 1.5, text: '1s500ms' },
    { seconds: 30, text: '30s' },
    { seconds: 90, text: '1m30s' },
    { seconds: 600, text: '10m' },
    { seconds: 5_400, text: '1h30m' },
    { seconds: 86_400, text: '1d' },
    { seconds: 604_800, text: '7d' },
  ];
  for (const { seconds, text } of cases) {
    test(`${seconds} s is ${text}, which reads back as ${seconds}`, () => {
      assert.equal(formatDuration(seconds), text);
      assert.equal(parseDuration(text, '--x'), seconds);
    });
  }
});
