/** First and longest wait after a failure (ms). */
export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * The wait after `failures` consecutive failures (1 for the first): initialMs doubled per
 * failure up to maxMs, then a random point in its upper half, so that clients dropped together
 * (an aggregator or API server restarting) do not all come back at the same moment.
 * `random` returns [0, 1), as Math.random.
 */
export function backoffDelayMs(backoff: Backoff, failures: number, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
