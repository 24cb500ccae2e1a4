/**
 * Cleanup that runs every step even when one before it failed, in order, then reports what
 * failed together: whatever a failing step left behind, the later ones still remove theirs.
 */
export class Teardown {
  private readonly failures: unknown[] = [];

  async step(what: () => unknown): Promise<void> {
    try {
      await what();
    } catch (error) {
      this.failures.push(error);
    }
  }

  /** Throws what failed (the one error, or an AggregateError of several); nothing when all went well. */
  finish(what: string): void {
    if (this.failures.length === 1) throw this.failures[0];
    if (this.failures.length > 1) throw new AggregateError(this.failures, `${what}: ${this.failures.length} cleanup steps failed`);
  }
}
