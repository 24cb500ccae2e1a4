import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { chunkBytes, MAX_CHUNK, sameChunk, SlabAllocator } from '../../../aggregator/store/slab-allocator.js';

/** A live chunk as the test wrote it: where, how long, and the byte it is filled with. */
interface Held {
  readonly address: number;
  readonly length: number;
  readonly fill: number;
}

function write(chunks: SlabAllocator, held: Held): void {
  const at = chunks.offsetOf(held.address);
  chunks.bufferOf(held.address).fill(held.fill, at, at + held.length);
}

function intact(chunks: SlabAllocator, held: Held): boolean {
  const at = chunks.offsetOf(held.address);
  const bytes = chunks.bufferOf(held.address).subarray(at, at + held.length);
  return bytes.length === held.length && bytes.every((byte) => byte === held.fill);
}

describe('SlabAllocator: socket bytes in size classes of shared slabs', () => {
  test('size classes: 16-byte steps to 1 KiB, then at most 1/8 over; larger chunks are exact', () => {
    const cases = [
      { name: 'tiny', length: 1, bytes: 16 },
      { name: 'a step', length: 16, bytes: 16 },
      { name: 'one over a step', length: 17, bytes: 32 },
      { name: 'a typical socket', length: 221, bytes: 224 },
      { name: '1 KiB', length: 1024, bytes: 1024 },
      { name: 'just over 1 KiB', length: 1025, bytes: 1152 },
      { name: 'the largest class', length: MAX_CHUNK, bytes: MAX_CHUNK },
      { name: 'a chunk of its own', length: MAX_CHUNK + 1, bytes: MAX_CHUNK + 1 },
    ];
    for (const { name, length, bytes } of cases) assert.equal(chunkBytes(length), bytes, name);
    for (let length = 1; length <= MAX_CHUNK; length += 7) assert.ok(chunkBytes(length) >= length && chunkBytes(length) <= Math.max(length + 15, length * 1.125), `length ${length}`);
  });

  test('a chunk is rewritten in place only by bytes of its class', () => {
    assert.equal(sameChunk(200, 208), true);
    assert.equal(sameChunk(208, 209), false);
    assert.equal(sameChunk(MAX_CHUNK + 5, MAX_CHUNK + 5), true);
    assert.equal(sameChunk(MAX_CHUNK + 5, MAX_CHUNK + 6), false);
  });

  test('a freed chunk is the next one its class hands out; an emptied slab serves another class', () => {
    const chunks = new SlabAllocator();
    const first = chunks.allocate(200);
    const second = chunks.allocate(200);
    chunks.release(first, 200);
    assert.equal(chunks.allocate(205), first);
    chunks.release(first, 200);
    chunks.release(second, 200);
    assert.deepEqual({ ...chunks.stats(), reservedBytes: 0 }, { reservedBytes: 0, chunkBytes: 0, slabsInUse: 0, slabsFree: 64 });
    const other = chunks.allocate(1000);
    assert.equal(chunks.bufferOf(other), chunks.bufferOf(first));
  });

  test('releasing what was not allocated is an error, not silent corruption', () => {
    const chunks = new SlabAllocator();
    const address = chunks.allocate(100);
    assert.throws(() => chunks.release(address, 300), /was not allocated/);
  });

  test('any sequence of allocations and releases: live chunks never overlap, and the counts add up', () => {
    const step = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('allocate' as const), length: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 600 }) }, fc.integer({ min: 601, max: MAX_CHUNK }), fc.integer({ min: MAX_CHUNK + 1, max: 3 * MAX_CHUNK })) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 2_000 }), (steps) => {
        const chunks = new SlabAllocator();
        const live: Held[] = [];
        let fill = 0;
        for (const next of steps) {
          if (next.kind === 'allocate') {
            const held = { address: chunks.allocate(next.length), length: next.length, fill: (fill = (fill % 255) + 1) };
            write(chunks, held);
            live.push(held);
          } else if (live.length > 0) {
            const [held] = live.splice(next.pick % live.length, 1);
            chunks.release(held!.address, held!.length);
          }
        }
        for (const held of live) assert.ok(intact(chunks, held), `chunk ${held.address} of ${held.length} bytes was overwritten`);
        assert.equal(chunks.stats().chunkBytes, live.reduce((sum, held) => sum + chunkBytes(held.length), 0));
        for (const held of live) chunks.release(held.address, held.length);
        const emptied = chunks.stats();
        assert.deepEqual([emptied.chunkBytes, emptied.slabsInUse], [0, 0]);
      }),
      { numRuns: 100 },
    );
  });
});
