/** Tunables of the test API server: each with its unit, default and accepted range, checked in one place. */

export interface Range {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

/** Writes (all resources) kept for watch resumption before older revisions answer 410 Gone. etcd keeps about five minutes; a thousand writes outlast any test. */
export const HISTORY_SIZE: Range = { default: 1000, min: 1, max: 1_000_000 };

/** Milliseconds between BOOKMARK events on watches that allow them. The real server sends one about every minute; tests want them quickly. */
export const BOOKMARK_INTERVAL_MS: Range = { default: 1000, min: 10, max: 600_000 };

/** The value, or the default when undefined; throws RangeError naming the option when out of range. */
export function inRange(name: string, value: number | undefined, range: Range): number {
  const chosen = value ?? range.default;
  if (!Number.isInteger(chosen) || chosen < range.min || chosen > range.max) throw new RangeError(`${name} must be an integer in ${range.min}..${range.max}, got ${chosen}`);
  return chosen;
}
