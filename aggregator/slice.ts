/**
 * Time slices of long work on the event loop (the findings pass, the engine's steps after it,
 * the history's sample): due() once `ms` went by since the slice began; rest() yields — queries
 * and ingest run meanwhile — and begins the next slice. A loop whose steps take microseconds
 * asks tick() instead, which reads the clock every TICKS-th step only.
 */

/** Steps between clock reads in tick(): a power of two. */
const TICKS = 64;

export class Slice {
  private start = performance.now();
  private ticks = 0;
  constructor(private readonly ms: number) {}

  due(): boolean {
    return performance.now() - this.start >= this.ms;
  }

  /** due(), checked on every TICKS-th call: a step of a loop over pods or processes. */
  tick(): boolean {
    return (++this.ticks & (TICKS - 1)) === 0 && this.due();
  }

  *rest(): Generator<void, void> {
    yield;
    this.start = performance.now();
  }
}

/** Runs stepped work (a generator that yields between steps) to its end, in one go: its result. */
export function runThrough<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
