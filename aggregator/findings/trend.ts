/**
 * Is a count growing? A leak raises a count's *floor*: healthy churn moves a count up and down
 * around a level (CLOSE_WAIT sockets that the application closes a moment later, connections
 * opened and closed), a leak never gives back what it took. So a window is cut into buckets,
 * each keeping the lowest count seen in it, and the count grew by how much the lowest value of
 * the newest buckets exceeds the lowest of the oldest. Six numbers per subject, whatever the
 * evaluation interval.
 */

/** Buckets per window, and how many at each end are compared. */
const BUCKETS = 6;
const ENDS = 2;
const NO_DATA = -1;

interface Floors {
  /** Lowest count per bucket, oldest first; NO_DATA where nothing was observed. */
  readonly minima: Float64Array;
  /** The bucket minima[BUCKETS - 1] is (time / bucket length). */
  bucket: number;
  /** When the subject was first observed (ms): the window must be covered before it is judged. */
  readonly sinceMs: number;
  /** The pass that last observed it. */
  pass: number;
}

export interface Rise {
  /** The floor of the window's oldest buckets and of its newest ones. */
  readonly from: number;
  readonly to: number;
}

/** Floors of many subjects over one window; subjects not observed in a pass are forgotten. */
export class FloorTrends {
  private readonly floors = new Map<string, Floors>();
  private readonly bucketMs: number;
  private pass = 0;

  constructor(
    readonly windowMs: number,
    /** Subjects tracked at most; beyond it new ones are not (a bound on memory, 100 bytes each). */
    private readonly maxSubjects: number,
  ) {
    this.bucketMs = windowMs / BUCKETS;
  }

  get size(): number {
    return this.floors.size;
  }

  /** Starts a pass: subjects not observed in it are forgotten by endPass(). */
  beginPass(): void {
    this.pass++;
  }

  observe(subject: string, nowMs: number, count: number): void {
    const bucket = Math.floor(nowMs / this.bucketMs);
    let floors = this.floors.get(subject);
    if (!floors) {
      if (this.floors.size >= this.maxSubjects) return;
      floors = { minima: new Float64Array(BUCKETS).fill(NO_DATA), bucket, sinceMs: nowMs, pass: this.pass };
      this.floors.set(subject, floors);
    }
    floors.pass = this.pass;
    const shift = Math.min(BUCKETS, bucket - floors.bucket);
    if (shift > 0) {
      floors.minima.copyWithin(0, shift);
      floors.minima.fill(NO_DATA, BUCKETS - shift);
      floors.bucket = bucket;
    }
    const last = floors.minima[BUCKETS - 1]!;
    floors.minima[BUCKETS - 1] = last === NO_DATA ? count : Math.min(last, count);
  }

  endPass(): void {
    // forEach: a for-of over entries makes an array per subject, every pass.
    this.floors.forEach((floors, subject) => {
      if (floors.pass !== this.pass) this.floors.delete(subject);
    });
  }

  /** How the floor moved over the window; undefined until the subject was observed for (nearly) a whole window. */
  rise(subject: string, nowMs: number): Rise | undefined {
    const floors = this.floors.get(subject);
    if (!floors || nowMs - floors.sinceMs < this.windowMs - this.bucketMs) return undefined;
    const from = lowest(floors.minima, 0, ENDS);
    const to = lowest(floors.minima, BUCKETS - ENDS, BUCKETS);
    return from === undefined || to === undefined ? undefined : { from, to };
  }
}

function lowest(minima: Float64Array, from: number, to: number): number | undefined {
  let low: number | undefined;
  for (let i = from; i < to; i++) if (minima[i] !== NO_DATA && (low === undefined || minima[i]! < low)) low = minima[i]!;
  return low;
}
