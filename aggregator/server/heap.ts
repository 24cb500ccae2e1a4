import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full GC left live before it
 * marks the whole heap again: 100%, where V8 would otherwise choose between 10% and 300% by
 * how fast the program allocates.
 *
 * The aggregator's heap is nearly all long-lived (every pod's index, tallies and history; the
 * sockets themselves are in typed arrays outside it) and ingest allocates next to nothing that
 * outlives a message, so V8 measures a slow allocation rate and picks the smallest factor: a
 * full mark of millions of objects after every few MiB promoted, several per burst of changes,
 * each freeing almost nothing. `npm run bench` compares the factors (README, Performance).
 */
export const HEAP_GROWING_PERCENT = 100;

const FLAG = '--heap-growing-percent';

/**
 * Sets the growth factor for this process unless node was started with the flag (an
 * operator's choice wins). V8 reads it at every full GC, so setting it at start-up takes
 * effect. Returns whether it set it.
 */
export function tuneAggregatorHeap(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => arg === FLAG || arg.startsWith(`${FLAG}=`) || arg.startsWith('--heap_growing_percent'))) return false;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return true;
}
