import type { FilterView } from '../agent/filter.js';
import { Proto, PodRef } from '../gen/kubenetstat/v1/socket.js';

/**
 * How the aggregator holds a node's sockets. A million sockets must fit in well under a GiB and
 * take ≥500k changes/s, and a JavaScript object per socket costs both (each one is allocated,
 * promoted and traced by every major GC). So a node's sockets are columns: the agent's protobuf
 * bytes (minus the pod, kept once per pod) in one arena, the fields queries filter on in typed
 * arrays indexed by slot, and an open-addressing hash table from key bytes to slot. Ingest
 * allocates nothing that outlives a message; nothing is decoded until a query answers with it.
 */

/** A pod as the sockets of one agent connection share it: its encoding, and what queries match. */
export class PodIndex {
  private decoded: PodRef | undefined;
  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly uid: string,
    readonly container: string,
    readonly workloadKind: string,
    readonly workloadName: string,
    readonly labels: Readonly<Record<string, string>>,
    /** The PodRef message exactly as the agent encoded it. */
    readonly bytes: Buffer,
  ) {}

  /** The decoded PodRef, shared by every answer that carries this pod: callers must not mutate it. */
  ref(): PodRef {
    return (this.decoded ??= PodRef.decode(this.bytes));
  }
}

/**
 * A socket read from a message and not yet stored: its indexed fields and where its bytes lie
 * in the message. [cutStart, cutEnd) is the pod field, which is not copied (`pod` has it);
 * [keyStart, keyEnd) is its key, `keyHash` the key's hash (hashKey). Addresses are not
 * decoded at ingest: the store keeps where their text is, and filters read it when asked.
 */
export interface PendingSocket {
  readonly source: Buffer;
  readonly start: number;
  readonly cutStart: number;
  readonly cutEnd: number;
  readonly end: number;
  readonly keyStart: number;
  readonly keyEnd: number;
  readonly keyHash: number;
  readonly proto: number;
  /** The kernel state code; for unix sockets the one ss shows them in (filter.ts). */
  readonly stateCode: number;
  /** Where the addresses' text lies in the message (0, 0 for none). */
  readonly localStart: number;
  readonly localEnd: number;
  readonly localPort: number;
  readonly foreignStart: number;
  readonly foreignEnd: number;
  readonly foreignPort: number;
  readonly recvQ: number;
  readonly sendQ: number;
  /** When the agent first saw the socket (Unix ms; 0 when it did not say). */
  readonly firstSeenMs: number;
  readonly pod: PodIndex | undefined;
}

/** FNV-1a over a key's bytes: what the table is keyed by (never 0, which marks a free slot). */
export function hashKey(buf: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  return hash | 1;
}

/** The pod a socket is in, if any: a pod field without a name (never sent by agents) counts as none. */
function inPod(pod: PodIndex | undefined): PodIndex | undefined {
  return pod?.name ? pod : undefined;
}

const MIN_SLOTS = 64;
const MIN_ARENA_BYTES = 16 * 1024;
/** Compact in place while the arena has this much room over the live bytes… */
const ARENA_SLACK = 1.25;
/** …else move to an arena this much bigger than the live bytes. */
const ARENA_GROWTH = 1.6;
const EMPTY = Buffer.alloc(0);
const EMPTY_SLOTS = new Int32Array(0);
/** Hash table cells: 0 empty, -1 deleted, else slot + 1. */
const DELETED = -1;

/**
 * Arena sizes come from a ladder of quarter powers of two (≤19% above what was asked): arenas
 * freed by one node are then the sizes other nodes ask for, and the C heap reuses them instead
 * of fragmenting.
 */
function arenaSize(bytes: number): number {
  if (bytes <= MIN_ARENA_BYTES) return MIN_ARENA_BYTES;
  const step = 2 ** (Math.ceil(4 * Math.log2(bytes)) / 4);
  return Math.ceil(step / 64) * 64;
}

function grown<T extends Float64Array | Int32Array | Uint16Array | Uint8Array>(old: T, size: number, make: (n: number) => T): T {
  const next = make(size);
  next.set(old);
  return next;
}

/** One namespace's slots, in no particular order (removal swaps the last one in). */
class Bucket {
  slots: Int32Array = new Int32Array(16);
  size = 0;
}

/**
 * One node's sockets. Slots are reused through a free list; a slot is live while its length
 * is non-zero. Replaced or removed sockets leave garbage in the arena until it fills; then the
 * live bytes are compacted (see compact), so an arena holds 1.25–1.6× its live bytes when the
 * node's table is steady (up to 4× after it shrank).
 */
export class NodeSockets {
  private capacity = 0;
  private high = 0;
  private count = 0;
  private freeList: number[] = [];
  private offset: Int32Array = new Int32Array(0);
  private length: Int32Array = new Int32Array(0);
  private keyAt: Int32Array = new Int32Array(0);
  private keyLength: Int32Array = new Int32Array(0);
  private hash: Int32Array = new Int32Array(0);
  private protoOf: Uint8Array = new Uint8Array(0);
  private stateOf: Uint8Array = new Uint8Array(0);
  private recvQOf: Float64Array = new Float64Array(0);
  private sendQOf: Float64Array = new Float64Array(0);
  private firstSeenOf: Float64Array = new Float64Array(0);
  private localPortOf: Uint16Array = new Uint16Array(0);
  private foreignPortOf: Uint16Array = new Uint16Array(0);
  /** Position of the slot in its namespace's bucket. */
  private bucketAt: Int32Array = new Int32Array(0);
  /** Where each address's text starts within the socket's bytes, and its length (0: none). */
  private localAt: Int32Array = new Int32Array(0);
  private localLength: Uint8Array = new Uint8Array(0);
  private foreignAt: Int32Array = new Int32Array(0);
  private foreignLength: Uint8Array = new Uint8Array(0);
  private podOf: Array<PodIndex | undefined> = [];
  private table: Int32Array = new Int32Array(0);
  private tableUsed = 0;
  private readonly buckets = new Map<string, Bucket>();
  private arena: Buffer = EMPTY;
  private used = 0;
  private live = 0;

  get size(): number {
    return this.count;
  }

  /** Bytes of socket encodings held (excluding pods, which are shared). */
  get liveBytes(): number {
    return this.live;
  }

  get arenaBytes(): number {
    return this.arena.length;
  }

  /** Stores a socket, replacing the one with the same key. */
  put(pending: PendingSocket): void {
    const { source, start, cutStart, cutEnd, end, keyStart, keyEnd, keyHash } = pending;
    const length = end - start - (cutEnd - cutStart);
    let slot = this.lookup(source, keyStart, keyEnd, keyHash);
    if (slot >= 0) {
      // Rewritten in place: its old bytes are garbage from now on (a compaction skips them).
      this.live -= this.length[slot]!;
      this.unindex(slot);
      this.length[slot] = 0;
    }
    if (this.used + length > this.arena.length) this.compact(length);
    if (slot < 0) slot = this.allocate(keyHash);
    const at = this.used;
    source.copy(this.arena, at, start, cutStart);
    source.copy(this.arena, at + (cutStart - start), cutEnd, end);
    this.used += length;
    this.live += length;
    this.offset[slot] = at;
    this.length[slot] = length;
    // The key lies inside the copied bytes (it is never inside the pod field).
    this.keyAt[slot] = keyStart < cutStart ? at + (keyStart - start) : at + (keyStart - start) - (cutEnd - cutStart);
    this.keyLength[slot] = keyEnd - keyStart;
    this.protoOf[slot] = pending.proto;
    this.stateOf[slot] = pending.stateCode;
    this.recvQOf[slot] = pending.recvQ;
    this.sendQOf[slot] = pending.sendQ;
    this.firstSeenOf[slot] = pending.firstSeenMs;
    this.localPortOf[slot] = pending.localPort;
    this.foreignPortOf[slot] = pending.foreignPort;
    // Positions within the stored bytes: past the cut pod field, they move up by its length.
    const within = (at: number): number => (at < cutStart ? at - start : at - start - (cutEnd - cutStart));
    this.localAt[slot] = within(pending.localStart);
    this.localLength[slot] = pending.localEnd - pending.localStart;
    this.foreignAt[slot] = within(pending.foreignStart);
    this.foreignLength[slot] = pending.foreignEnd - pending.foreignStart;
    this.podOf[slot] = pending.pod;
    this.index(slot);
  }

  /** Removes the socket whose key is buf[start, end); false when there is none. */
  delete(buf: Uint8Array, start: number, end: number, keyHash = hashKey(buf, start, end)): boolean {
    const slot = this.lookup(buf, start, end, keyHash);
    if (slot < 0) return false;
    this.release(slot);
    return true;
  }

  /** Whether a socket with this key (as bytes) is held. */
  hasKeyBytes(buf: Uint8Array, start: number, end: number, keyHash = hashKey(buf, start, end)): boolean {
    return this.lookup(buf, start, end, keyHash) >= 0;
  }

  /** The slot of a key given as text (one char per byte, as wire-index reads keys), or -1. */
  find(key: string): number {
    const bytes = Buffer.from(key, 'latin1');
    return this.lookup(bytes, 0, bytes.length, hashKey(bytes, 0, bytes.length));
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** Every live slot, in slot order (a copy: the node may change while the caller looks). */
  slots(): Int32Array {
    return this.liveSlots();
  }

  /** The pod namespaces present (sockets outside pods are in none). */
  namespaceNames(): IterableIterator<string> {
    return this.buckets.keys();
  }

  /** Slots are below this; with isLive, a query walks them without allocating. */
  get slotLimit(): number {
    return this.high;
  }

  isLive(slot: number): boolean {
    return this.length[slot] !== 0;
  }

  /** The live slots of one namespace's pods: a view, valid until the next change to this node. */
  bucketView(namespace: string): Int32Array {
    const bucket = this.buckets.get(namespace);
    return bucket ? bucket.slots.subarray(0, bucket.size) : EMPTY_SLOTS;
  }

  /** The live slots of one namespace's pods (a copy). */
  slotsIn(namespace: string): Int32Array {
    const bucket = this.buckets.get(namespace);
    return bucket ? bucket.slots.slice(0, bucket.size) : new Int32Array(0);
  }

  /** The socket's bytes without its pod: a view, valid until the next change to this node. */
  bytesOf(slot: number): Buffer {
    return this.arena.subarray(this.offset[slot], this.offset[slot]! + this.length[slot]!);
  }

  keyOf(slot: number): string {
    return this.arena.toString('latin1', this.keyAt[slot], this.keyAt[slot]! + this.keyLength[slot]!);
  }

  pod(slot: number): PodIndex | undefined {
    return this.podOf[slot];
  }

  proto(slot: number): number {
    return this.protoOf[slot]!;
  }

  /** The kernel state code; for unix sockets the one ss shows them in. */
  stateCode(slot: number): number {
    return this.stateOf[slot]!;
  }

  recvQ(slot: number): number {
    return this.recvQOf[slot]!;
  }

  sendQ(slot: number): number {
    return this.sendQOf[slot]!;
  }

  firstSeenMs(slot: number): number {
    return this.firstSeenOf[slot]!;
  }

  localPort(slot: number): number {
    return this.localPortOf[slot]!;
  }

  foreignPort(slot: number): number {
    return this.foreignPortOf[slot]!;
  }

  localAddress(slot: number): string {
    return this.text(slot, this.localAt[slot]!, this.localLength[slot]!);
  }

  foreignAddress(slot: number): string {
    return this.text(slot, this.foreignAt[slot]!, this.foreignLength[slot]!);
  }

  private text(slot: number, at: number, length: number): string {
    const from = this.offset[slot]! + at;
    return length === 0 ? '' : this.arena.toString('utf8', from, from + length);
  }

  /** A FilterView over this node's slots: point it at a slot, then filter; one object per query. */
  view(): SlotView {
    return new SlotView(this);
  }

  private lookup(buf: Uint8Array, start: number, end: number, keyHash: number): number {
    if (this.count === 0) return -1;
    const mask = this.table.length - 1;
    const length = end - start;
    for (let cell = keyHash & mask; ; cell = (cell + 1) & mask) {
      const entry = this.table[cell]!;
      if (entry === 0) return -1;
      if (entry === DELETED) continue;
      const slot = entry - 1;
      if (this.hash[slot] !== keyHash || this.keyLength[slot] !== length) continue;
      const at = this.keyAt[slot]!;
      const arena = this.arena;
      let i = 0;
      while (i < length && arena[at + i] === buf[start + i]) i++;
      if (i === length) return slot;
    }
  }

  /** A free slot for a new key, entered in the hash table. */
  private allocate(keyHash: number): number {
    let slot = this.freeList.pop();
    if (slot === undefined) {
      if (this.high === this.capacity) this.grow();
      slot = this.high++;
    }
    this.hash[slot] = keyHash;
    // Load (live keys and tombstones) stays under 1/2; a rehash leaves it under 1/4.
    if ((this.tableUsed + 1) * 2 > this.table.length) this.rehash(4 * (this.count + 1));
    const mask = this.table.length - 1;
    let cell = keyHash & mask;
    while (this.table[cell]! > 0) cell = (cell + 1) & mask;
    if (this.table[cell] === 0) this.tableUsed++;
    this.table[cell] = slot + 1;
    this.count++;
    return slot;
  }

  /** Frees a slot: its bytes become garbage, its key leaves the table. */
  private release(slot: number): void {
    this.live -= this.length[slot]!;
    this.unindex(slot);
    this.podOf[slot] = undefined;
    const mask = this.table.length - 1;
    let cell = this.hash[slot]! & mask;
    while (this.table[cell] !== slot + 1) cell = (cell + 1) & mask;
    this.table[cell] = DELETED;
    this.length[slot] = 0;
    this.freeList.push(slot);
    this.count--;
  }

  private index(slot: number): void {
    const namespace = inPod(this.podOf[slot])?.namespace;
    if (namespace === undefined) {
      this.bucketAt[slot] = -1;
      return;
    }
    let bucket = this.buckets.get(namespace);
    if (!bucket) this.buckets.set(namespace, (bucket = new Bucket()));
    if (bucket.size === bucket.slots.length) bucket.slots = grown(bucket.slots, bucket.size * 2, (n) => new Int32Array(n));
    bucket.slots[bucket.size] = slot;
    this.bucketAt[slot] = bucket.size++;
  }

  private unindex(slot: number): void {
    const at = this.bucketAt[slot]!;
    if (at < 0) return;
    const namespace = inPod(this.podOf[slot])!.namespace;
    const bucket = this.buckets.get(namespace)!;
    const last = bucket.slots[--bucket.size]!;
    bucket.slots[at] = last;
    this.bucketAt[last] = at;
    if (bucket.size === 0) this.buckets.delete(namespace);
  }

  private grow(): void {
    const size = Math.max(MIN_SLOTS, this.capacity * 2);
    const i32 = (n: number): Int32Array => new Int32Array(n);
    this.offset = grown(this.offset, size, i32);
    this.length = grown(this.length, size, i32);
    this.keyAt = grown(this.keyAt, size, i32);
    this.keyLength = grown(this.keyLength, size, i32);
    this.hash = grown(this.hash, size, i32);
    this.bucketAt = grown(this.bucketAt, size, i32);
    this.protoOf = grown(this.protoOf, size, (n) => new Uint8Array(n));
    this.stateOf = grown(this.stateOf, size, (n) => new Uint8Array(n));
    const f64 = (n: number): Float64Array => new Float64Array(n);
    this.recvQOf = grown(this.recvQOf, size, f64);
    this.sendQOf = grown(this.sendQOf, size, f64);
    this.firstSeenOf = grown(this.firstSeenOf, size, f64);
    this.localPortOf = grown(this.localPortOf, size, (n) => new Uint16Array(n));
    this.foreignPortOf = grown(this.foreignPortOf, size, (n) => new Uint16Array(n));
    this.localAt = grown(this.localAt, size, i32);
    this.foreignAt = grown(this.foreignAt, size, i32);
    this.localLength = grown(this.localLength, size, (n) => new Uint8Array(n));
    this.foreignLength = grown(this.foreignLength, size, (n) => new Uint8Array(n));
    this.capacity = size;
  }

  /** A fresh table of at least `minimum` cells (a power of two) holding every live key. */
  private rehash(minimum: number): void {
    let size = 2 * MIN_SLOTS;
    while (size < minimum) size *= 2;
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let slot = 0; slot < this.high; slot++) {
      if (this.length[slot] === 0) continue;
      let cell = this.hash[slot]! & mask;
      while (table[cell] !== 0) cell = (cell + 1) & mask;
      table[cell] = slot + 1;
    }
    this.table = table;
    this.tableUsed = this.count;
  }

  /**
   * Makes room for `incoming` bytes. The live bytes slide down within the arena when they fit
   * with slack to spare; otherwise they move to a bigger (or, after the node shrank, smaller)
   * arena. Arenas are rarely reallocated: on a churning node the same memory is reused, instead
   * of freeing and allocating arena-sized blocks that fragment the C heap.
   */
  private compact(incoming: number): void {
    const wanted = this.live + incoming;
    const live = this.liveSlots();
    // In offset order every socket moves down (never past one not yet moved), and neighbours
    // that were adjacent stay adjacent, so they move in one copy.
    const offsets = this.offset;
    live.sort((a, b) => offsets[a]! - offsets[b]!);
    const capacity = this.arena.length;
    const target = wanted * ARENA_SLACK <= capacity && wanted * 4 > capacity ? this.arena : Buffer.allocUnsafeSlow(arenaSize(wanted * ARENA_GROWTH));
    this.used = this.moveInto(target, live);
    this.arena = target;
  }

  private liveSlots(): Int32Array {
    const live = new Int32Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.high; slot++) if (this.length[slot] !== 0) live[n++] = slot;
    return live.subarray(0, n);
  }

  /** Copies the slots' bytes, in the given (offset) order, to the start of `target`; returns the bytes used. */
  private moveInto(target: Buffer, slots: Int32Array): number {
    const source = this.arena;
    let used = 0;
    let runFrom = 0;
    let runTo = 0;
    let runAt = 0;
    const flush = (): void => {
      if (runTo === runFrom) return;
      if (target === source) target.copyWithin(runAt, runFrom, runTo);
      else source.copy(target, runAt, runFrom, runTo);
    };
    for (const slot of slots) {
      const length = this.length[slot]!;
      const from = this.offset[slot]!;
      if (from !== runTo) {
        flush();
        runFrom = from;
        runAt = used;
      }
      runTo = from + length;
      this.keyAt[slot] = this.keyAt[slot]! - from + used;
      this.offset[slot] = used;
      used += length;
    }
    flush();
    return used;
  }
}

/** The filter fields of whichever slot `at` points to; addresses are read from the arena when asked. */
export class SlotView implements FilterView {
  at = 0;
  constructor(private readonly sockets: NodeSockets) {}

  get unix(): boolean {
    return this.sockets.proto(this.at) === Proto.PROTO_UNIX;
  }
  get stateCode(): number {
    return this.sockets.stateCode(this.at);
  }
  get localAddress(): string {
    return this.sockets.localAddress(this.at);
  }
  get localPort(): number {
    return this.sockets.localPort(this.at);
  }
  get foreignAddress(): string {
    return this.sockets.foreignAddress(this.at);
  }
  get foreignPort(): number {
    return this.sockets.foreignPort(this.at);
  }
}
