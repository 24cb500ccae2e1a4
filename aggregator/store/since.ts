/**
 * Times as the store keeps them: whole seconds since SINCE_EPOCH_MS in an int32 (which lasts
 * until 2088), at least 1; 0 means none.
 */

/** Where since-times count from: 2020-01-01T00:00:00Z. */
const SINCE_EPOCH_MS = Date.UTC(2020, 0, 1);

/** A time (Unix ms) as the store keeps it. */
export function sinceOf(ms: number): number {
  return Math.max(1, Math.floor((ms - SINCE_EPOCH_MS) / 1000));
}

/** A kept time as Unix ms (whole seconds); 0 for none. */
export function msOf(since: number): number {
  return since === 0 ? 0 : SINCE_EPOCH_MS + since * 1000;
}

/** A queue stays stuck since `since` while it is non-empty and does not shrink; shrinking (draining) starts it again. */
export function queueSince(bytes: number, before: number, since: number, now: number): number {
  if (bytes === 0) return 0;
  return since !== 0 && bytes >= before ? since : now;
}
