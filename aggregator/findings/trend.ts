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
/**
 * A subject's record in FloorTrends.cells: its lowest count per bucket (oldest first, NO_DATA
 * where nothing was observed), the bucket the last of them is (time / bucket length), and when
 * it was first observed (ms: the window must be covered before it is judged).
 */
const BUCKET = BUCKETS;
const SINCE = BUCKETS + 1;
const CELLS = BUCKETS + 2;

export interface Rise {
  /** The floor of the window's oldest buckets and of its newest ones. */
  readonly from: number;
  readonly to: number;
}

/**
 * Floors of many subjects over one window; subjects not observed in a pass are forgotten. Every
 * subject's numbers are a record in one array, found through one Map entry: an object and a
 * Float64Array per subject would be several heap objects each, for tens of thousands of
 * processes, which every major GC of the aggregator would mark again.
 */
export class FloorTrends {
  /** Subject → record number. */
  private readonly records = new Map<string, number>();
  private cells = new Float64Array(0);
  /** The pass that last observed each record. */
  private passes = new Int32Array(0);
  private readonly free: number[] = [];
  private used = 0;
  private readonly bucketMs: number;
  private pass = 0;

  constructor(
    readonly windowMs: number,
    /** Subjects tracked at most; beyond it new ones are not (a bound on memory, ~100 bytes each). */
    private readonly maxSubjects: number,
  ) {
    this.bucketMs = windowMs / BUCKETS;
  }

  get size(): number {
    return this.records.size;
  }

  /** Starts a pass: subjects not observed in it are forgotten by endPass(). */
  beginPass(): void {
    this.pass++;
  }

  observe(subject: string, nowMs: number, count: number): void {
    const bucket = Math.floor(nowMs / this.bucketMs);
    let record = this.records.get(subject);
    if (record === undefined) {
      if (this.records.size >= this.maxSubjects) return;
      record = this.allocate();
      const at = record * CELLS;
      this.cells.fill(NO_DATA, at, at + BUCKETS);
      this.cells[at + BUCKET] = bucket;
      this.cells[at + SINCE] = nowMs;
      this.records.set(subject, record);
    }
    this.passes[record] = this.pass;
    const cells = this.cells;
    const at = record * CELLS;
    const shift = Math.min(BUCKETS, bucket - cells[at + BUCKET]!);
    if (shift > 0) {
      cells.copyWithin(at, at + shift, at + BUCKETS);
      cells.fill(NO_DATA, at + BUCKETS - shift, at + BUCKETS);
      cells[at + BUCKET] = bucket;
    }
    const last = cells[at + BUCKETS - 1]!;
    cells[at + BUCKETS - 1] = last === NO_DATA ? count : Math.min(last, count);
  }

  endPass(): void {
    // forEach: a for-of over entries makes an array per subject, every pass.
    this.records.forEach((record, subject) => {
      if (this.passes[record] === this.pass) return;
      this.records.delete(subject);
      this.free.push(record);
    });
  }

  /** How the floor moved over the window; undefined until the subject was observed for (nearly) a whole window. */
  rise(subject: string, nowMs: number): Rise | undefined {
    const record = this.records.get(subject);
    if (record === undefined) return undefined;
    const at = record * CELLS;
    if (nowMs - this.cells[at + SINCE]! < this.windowMs - this.bucketMs) return undefined;
    const from = this.lowest(at, at + ENDS);
    const to = this.lowest(at + BUCKETS - ENDS, at + BUCKETS);
    return from === undefined || to === undefined ? undefined : { from, to };
  }

  private lowest(from: number, to: number): number | undefined {
    let low: number | undefined;
    for (let i = from; i < to; i++) {
      const value = this.cells[i]!;
      if (value !== NO_DATA && (low === undefined || value < low)) low = value;
    }
    return low;
  }

  /** A free record: one given back by endPass(), else a new one (the arrays double as needed). */
  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.passes.length) {
      const capacity = Math.max(64, 2 * this.passes.length);
      const cells = new Float64Array(capacity * CELLS);
      cells.set(this.cells);
      this.cells = cells;
      const passes = new Int32Array(capacity);
      passes.set(this.passes);
      this.passes = passes;
    }
    return this.used++;
  }
}
