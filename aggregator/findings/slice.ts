/**
 * Time slices of an evaluation (the pass and the engine's steps after it): due() once `ms`
 * went by since the slice began; rest() yields — queries and ingest run meanwhile — and begins
 * the next slice.
 */
export class Slice {
  private start = performance.now();
  constructor(private readonly ms: number) {}

  due(): boolean {
    return performance.now() - this.start >= this.ms;
  }

  *rest(): Generator<void, void> {
    yield;
    this.start = performance.now();
  }
}
