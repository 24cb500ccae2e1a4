import { hashKey } from '../store/index.js';
import type { RemovedKeys } from './envelope.js';

/**
 * The keys one delta removes, as a set of their hashes (hashKey, never 0), reused message after
 * message: ingest applies a delta's removals before its upserts, and skips an upsert whose key
 * the same delta removes, which is what applying the upserts first would have left.
 */
export class RemovedKeySet {
  private cells = new Int32Array(1024);
  private mask = 1023;
  private hashes = new Int32Array(512);
  private removed: RemovedKeys | undefined;

  /** Takes a delta's removed keys (their hashes are then hashOf(0), hashOf(1), ...). */
  reset(removed: RemovedKeys): void {
    const { sourceView, bounds } = removed;
    const count = bounds.length / 2;
    let size = 1024;
    while (size < 2 * count) size *= 2;
    if (size > this.cells.length) this.cells = new Int32Array(size);
    else this.cells.fill(0, 0, size);
    this.mask = size - 1;
    this.removed = removed;
    if (count > this.hashes.length) this.hashes = new Int32Array(size);
    for (let i = 0; i < count; i++) {
      const hash = hashKey(sourceView, bounds[2 * i]!, bounds[2 * i + 1]!);
      this.hashes[i] = hash;
      let cell = hash & this.mask;
      while (this.cells[cell] !== 0 && this.cells[cell] !== hash) cell = (cell + 1) & this.mask;
      this.cells[cell] = hash;
    }
  }

  /** The hash of the i-th removed key. */
  hashOf(i: number): number {
    return this.hashes[i]!;
  }

  /** Whether the key buf[start, end), whose hash is `hash`, is one of the removed keys. */
  has(buf: Uint8Array, start: number, end: number, hash: number): boolean {
    let cell = hash & this.mask;
    for (; this.cells[cell] !== hash; cell = (cell + 1) & this.mask) if (this.cells[cell] === 0) return false;
    // The same hash: compare the bytes (never equal but for a hostile or broken agent).
    const { source, bounds } = this.removed!;
    const length = end - start;
    for (let i = 0; i < bounds.length; i += 2) {
      if (bounds[i + 1]! - bounds[i]! === length && source.compare(buf, start, end, bounds[i]!, bounds[i + 1]!) === 0) return true;
    }
    return false;
  }
}
