import * as record from './record.js';
import { SlabAllocator, type SlabStats } from './slab-allocator.js';

// This module's own consts, which optimized code folds (node-sockets.ts says why).
const { ADDRESS, INTS, LENGTH } = record;

/**
 * What a store's records say it holds, kept up to date as they grow (NodeSockets.grow): the
 * chunks to give back when the store is gone.
 */
export interface Ledger {
  ints: Int32Array;
}

/**
 * Where the socket bytes of every node of one NodeStore live: one allocator, so that a chunk
 * freed by one node is reused by any other. A store's chunks go back to it when the store is
 * collected (a snapshot replaced it, its node was evicted, a resync dropped it half-built),
 * which no code path has to remember to do.
 */
export class SocketChunks {
  readonly allocator = new SlabAllocator();
  private readonly unreachable = new FinalizationRegistry<Ledger>(({ ints }) => {
    for (let r = 0; r < ints.length; r += INTS) if (ints[r + LENGTH] !== 0) this.allocator.release(ints[r + ADDRESS]!, ints[r + LENGTH]!);
  });

  /** Frees what `ledger` lists once `store` is collected. */
  track(store: object, ledger: Ledger): void {
    this.unreachable.register(store, ledger);
  }

  /** What the allocator holds, for the bench and metrics. */
  stats(): SlabStats {
    return this.allocator.stats();
  }
}
