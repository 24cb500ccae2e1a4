/**
 * Where a message's sockets (or removed keys) are ([start, end) pairs), gathered while it is
 * walked. Sockets are read once the whole message was: its PodDefs, which encoders write after
 * the sockets (field order), apply to all of them.
 */
export class SocketBounds {
  private pairs = new Int32Array(1024);
  private size = 0;

  /** Starts a message: its pairs replace the previous one's. */
  reset(): this {
    this.size = 0;
    return this;
  }

  add(start: number, end: number): void {
    if (2 * this.size + 2 > this.pairs.length) {
      const pairs = new Int32Array(2 * this.pairs.length);
      pairs.set(this.pairs);
      this.pairs = pairs;
    }
    this.pairs[2 * this.size] = start;
    this.pairs[2 * this.size + 1] = end;
    this.size++;
  }

  get count(): number {
    return this.size;
  }

  startOf(i: number): number {
    return this.pairs[2 * i]!;
  }

  endOf(i: number): number {
    return this.pairs[2 * i + 1]!;
  }

  /** The pairs, flattened: a view, valid until the next reset. */
  flat(): Int32Array {
    return this.pairs.subarray(0, 2 * this.size);
  }
}
