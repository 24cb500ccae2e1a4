/**
 * Where every node's socket bytes live (node-sockets.ts): chunks of a few size classes carved
 * from 64 KiB slabs, which come from 4 MiB blocks allocated once and kept. A socket's bytes
 * take a chunk of its class (at most 1/16 or 1/8 more than it needs) and are rewritten in place
 * while their size stays in the class; a freed chunk is reused by the next socket of its class,
 * and a slab whose chunks are all free goes back to the pool for any class. So a churning
 * store needs no compaction and no reserve of slack, and nothing in it goes through malloc per
 * node or per socket, which would leave the C heap fragmented between short-lived gRPC
 * message buffers.
 *
 * An address names a chunk: its slab (high bits) and its offset in 16-byte units (low 12 bits).
 * Chunks above MAX_CHUNK (sockets of thousands of processes; never in practice) get a buffer of
 * their own, registered as a slab of its own. The memory of blocks is kept for reuse, as V8
 * keeps its heap: the store is bounded by its own high-water mark.
 */

const UNIT_BITS = 4;
const SLAB_BYTES = 64 * 1024;
const OFFSET_BITS = 12; // SLAB_BYTES >> UNIT_BITS = 2^12 units
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
const SLABS_PER_BLOCK = 64;
/** Addresses are non-negative int32: slab indices below 2^19 (32 GiB of slabs). */
const MAX_SLABS = 2 ** (31 - OFFSET_BITS);
/** Largest chunk of a size class; larger ones are buffers of their own. */
export const MAX_CHUNK = 16 * 1024;
/** Free-list links are written into the first 4 bytes of a free chunk (offset + 1; 0 ends the list). */
const NO_SLAB = -1;
const HUGE = -2;

/** Chunk sizes: every 16 bytes up to 1 KiB, then steps of 1/8 of a power of two, to MAX_CHUNK. */
function classSizes(): number[] {
  const sizes: number[] = [];
  for (let size = 16; size <= 1024; size += 16) sizes.push(size);
  for (let size = 1024; size < MAX_CHUNK; ) {
    const step = 2 ** (Math.floor(Math.log2(size)) - 3);
    size = Math.min(MAX_CHUNK, size + step);
    sizes.push(size);
  }
  return sizes;
}

const SIZES = classSizes();

/** The size class of a chunk of `length` bytes (length ≤ MAX_CHUNK). */
function classOf(length: number): number {
  if (length <= 1024) return length <= 16 ? 0 : ((length + 15) >>> 4) - 1;
  let c = 64;
  while (SIZES[c]! < length) c++;
  return c;
}

/** Bytes a chunk for `length` bytes takes. */
export function chunkBytes(length: number): number {
  return length > MAX_CHUNK ? length : SIZES[classOf(length)]!;
}

/** Whether a chunk allocated for `held` bytes also holds `length` bytes: the same class (or the same huge size). */
export function sameChunk(held: number, length: number): boolean {
  if (held > MAX_CHUNK || length > MAX_CHUNK) return held === length;
  return classOf(held) === classOf(length);
}

export interface SlabStats {
  /** Bytes of blocks and huge buffers allocated. */
  readonly reservedBytes: number;
  /** Bytes of chunks in use (each socket's bytes rounded up to its class). */
  readonly chunkBytes: number;
  /** Slabs holding at least one chunk, and slabs free for any class. */
  readonly slabsInUse: number;
  readonly slabsFree: number;
}

export class SlabAllocator {
  private slabs: Buffer[] = [];
  /** A DataView over each slab, for reading several bytes at once. */
  private views: DataView[] = [];
  /** Per slab: its class (NO_SLAB when free, HUGE for a buffer of its own). */
  private slabClass: Int32Array = new Int32Array(0);
  private live: Int32Array = new Int32Array(0);
  /** Never-used space starts here (bytes); beyond it the slab was never carved. */
  private bump: Int32Array = new Int32Array(0);
  /** First free chunk (offset + 1), 0 for none. */
  private freeHead: Int32Array = new Int32Array(0);
  /** Partial slabs of a class (some chunk free or never used), doubly linked; -1 ends. */
  private prev: Int32Array = new Int32Array(0);
  private next: Int32Array = new Int32Array(0);
  private readonly partialHead = new Int32Array(SIZES.length).fill(-1);
  private readonly emptySlabs: number[] = [];
  /** Indices of released huge buffers, for the next huge one. */
  private readonly freeIndices: number[] = [];
  private reserved = 0;
  private inUse = 0;

  /** The slab (a Buffer) holding the chunk at `address`. */
  bufferOf(address: number): Buffer {
    return this.slabs[address >>> OFFSET_BITS]!;
  }

  /** The same slab as a DataView. */
  viewOf(address: number): DataView {
    return this.views[address >>> OFFSET_BITS]!;
  }

  /** Where in bufferOf(address) the chunk starts. */
  offsetOf(address: number): number {
    return (address & OFFSET_MASK) << UNIT_BITS;
  }

  /** A chunk that holds `length` bytes; give it back with release(address, length). */
  allocate(length: number): number {
    if (length > MAX_CHUNK) return this.allocateHuge(length);
    const c = classOf(length);
    const size = SIZES[c]!;
    let slab = this.partialHead[c]!;
    if (slab < 0) {
      slab = this.takeEmptySlab(c);
      this.link(slab, c);
    }
    let offset: number;
    const head = this.freeHead[slab]!;
    if (head !== 0) {
      offset = head - 1;
      this.freeHead[slab] = this.slabs[slab]!.readInt32LE(offset);
    } else {
      offset = this.bump[slab]!;
      this.bump[slab] = offset + size;
    }
    this.live[slab]!++;
    if (this.freeHead[slab] === 0 && this.bump[slab]! + size > SLAB_BYTES) this.unlink(slab, c);
    this.inUse += size;
    return (slab << OFFSET_BITS) | (offset >>> UNIT_BITS);
  }

  /** Gives back the chunk at `address`, allocated for `length` bytes; its bytes may be reused at once. */
  release(address: number, length: number): void {
    const slab = address >>> OFFSET_BITS;
    const c = this.slabClass[slab]!;
    if (c === HUGE) return this.releaseHuge(slab);
    if (c < 0 || c !== classOf(length)) throw new Error(`slab allocator: chunk ${address} of ${length} bytes was not allocated`);
    const size = SIZES[c]!;
    const offset = (address & OFFSET_MASK) << UNIT_BITS;
    const wasFull = this.freeHead[slab] === 0 && this.bump[slab]! + size > SLAB_BYTES;
    this.slabs[slab]!.writeInt32LE(this.freeHead[slab]!, offset);
    this.freeHead[slab] = offset + 1;
    this.inUse -= size;
    if (--this.live[slab]! === 0) {
      if (!wasFull) this.unlink(slab, c);
      this.slabClass[slab] = NO_SLAB;
      this.bump[slab] = 0;
      this.freeHead[slab] = 0;
      this.emptySlabs.push(slab);
    } else if (wasFull) this.link(slab, c);
  }

  stats(): SlabStats {
    let slabsInUse = 0;
    for (let slab = 0; slab < this.slabs.length; slab++) if (this.slabClass[slab]! >= 0 || this.slabClass[slab] === HUGE) slabsInUse++;
    return { reservedBytes: this.reserved, chunkBytes: this.inUse, slabsInUse, slabsFree: this.emptySlabs.length };
  }

  private takeEmptySlab(c: number): number {
    if (this.emptySlabs.length === 0) this.addBlock();
    const slab = this.emptySlabs.pop()!;
    this.slabClass[slab] = c;
    return slab;
  }

  /** A new block's slabs, all empty (taken from the end first, so low slabs fill first). */
  private addBlock(): void {
    const first = this.slabs.length;
    this.ensureSlabs(first + SLABS_PER_BLOCK);
    const block = Buffer.allocUnsafeSlow(SLABS_PER_BLOCK * SLAB_BYTES);
    this.reserved += block.length;
    for (let i = 0; i < SLABS_PER_BLOCK; i++) {
      this.slabs.push(block.subarray(i * SLAB_BYTES, (i + 1) * SLAB_BYTES));
      this.views.push(new DataView(block.buffer, block.byteOffset + i * SLAB_BYTES, SLAB_BYTES));
      this.slabClass[first + i] = NO_SLAB;
    }
    for (let i = SLABS_PER_BLOCK - 1; i >= 0; i--) this.emptySlabs.push(first + i);
  }

  private allocateHuge(length: number): number {
    const buffer = Buffer.allocUnsafeSlow(length);
    let slab = this.freeIndices.pop();
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (slab === undefined) {
      slab = this.slabs.length;
      this.ensureSlabs(slab + 1);
      this.slabs.push(buffer);
      this.views.push(view);
    } else {
      this.slabs[slab] = buffer;
      this.views[slab] = view;
    }
    this.slabClass[slab] = HUGE;
    this.reserved += length;
    this.inUse += length;
    return slab << OFFSET_BITS;
  }

  private releaseHuge(slab: number): void {
    const length = this.slabs[slab]!.length;
    this.reserved -= length;
    this.inUse -= length;
    this.slabs[slab] = EMPTY;
    this.views[slab] = EMPTY_VIEW;
    this.slabClass[slab] = NO_SLAB;
    this.freeIndices.push(slab);
  }

  private ensureSlabs(count: number): void {
    if (count > MAX_SLABS) throw new RangeError(`slab allocator: more than ${MAX_SLABS} slabs`);
    if (count <= this.slabClass.length) return;
    const size = Math.max(count, 2 * this.slabClass.length, 256);
    const grow = (old: Int32Array, fill = 0): Int32Array => {
      const next = new Int32Array(size).fill(fill);
      next.set(old);
      return next;
    };
    this.slabClass = grow(this.slabClass, NO_SLAB);
    this.live = grow(this.live);
    this.bump = grow(this.bump);
    this.freeHead = grow(this.freeHead);
    this.prev = grow(this.prev, -1);
    this.next = grow(this.next, -1);
  }

  private link(slab: number, c: number): void {
    const head = this.partialHead[c]!;
    this.prev[slab] = -1;
    this.next[slab] = head;
    if (head >= 0) this.prev[head] = slab;
    this.partialHead[c] = slab;
  }

  private unlink(slab: number, c: number): void {
    const before = this.prev[slab]!;
    const after = this.next[slab]!;
    if (before >= 0) this.next[before] = after;
    else this.partialHead[c] = after;
    if (after >= 0) this.prev[after] = before;
    this.prev[slab] = -1;
    this.next[slab] = -1;
  }
}

const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
