import { UsageError } from './usage-error.js';

/**
 * Durations as Go's time.ParseDuration and kubectl write them (`500ms`, `90s`, `10m`,
 * `1h30m`), plus days (`1d`); a bare number is seconds, as the chart passes its values
 * (`--interval "1"`, `--watch-poll "0.5"`). Every duration flag of every command reads them so.
 */

/** Largest first, as formatDuration writes them. */
const MS_PER_UNIT: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };
const BARE = /^\d+(?:\.\d+)?$/;
const WITH_UNITS = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)([a-zA-Zµ]*)/y;
/** How a duration is written, for usage texts and errors. */
export const DURATION_SYNTAX = '500ms, 90s, 10m, 1h30m or 1d, or a number of seconds';
const EXPECTED = `expected a duration such as ${DURATION_SYNTAX}`;

/** Whether parseDuration reads the text (for a flag whose value is optional: is the next word its value?). */
export function isDuration(text: string): boolean {
  return BARE.test(text) || WITH_UNITS.test(text);
}

/** The text as seconds; `name` (a flag, `--rule NAME`) is what a usage error names. */
export function parseDuration(text: string, name: string): number {
  if (BARE.test(text)) return Number(text);
  if (text === '') throw new UsageError(`invalid ${name} '': ${EXPECTED}`);
  let ms = 0;
  for (let at = 0; at < text.length; ) {
    PART.lastIndex = at;
    const part = PART.exec(text);
    if (!part) throw new UsageError(`invalid ${name} '${text}': ${at === 0 ? '' : `'${text.slice(at)}' is not a number with a unit; `}${EXPECTED}`);
    const amount = part[1]!;
    const unit = part[2]!;
    if (unit === '') throw new UsageError(`invalid ${name} '${text}': ${amount} has no unit; ${EXPECTED}`);
    const scale = MS_PER_UNIT[unit];
    if (scale === undefined) throw new UsageError(`invalid ${name} '${text}': unknown unit '${unit}' (ms, s, m, h or d)`);
    ms += Number(amount) * scale;
    at = PART.lastIndex;
  }
  return ms / 1_000;
}

/** Seconds as the shortest duration parseDuration reads back exactly to the millisecond: 90 is `1m30s`, 0.5 is `500ms`. */
export function formatDuration(seconds: number): string {
  let ms = Math.round(seconds * 1_000);
  if (ms === 0) return '0s';
  let text = '';
  for (const [unit, size] of Object.entries(MS_PER_UNIT)) {
    if (ms < size) continue;
    text += `${Math.floor(ms / size)}${unit}`;
    ms %= size;
  }
  return text;
}
