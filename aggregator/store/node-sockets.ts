import { bytesView, copyBytes, sameBytes } from './bytes.js';
import { firstSeenFieldLength, writeFirstSeen } from './first-seen.js';
import { grown } from './grown.js';
import { hashKey } from './hash.js';
import type { PendingSocket } from './pending-socket.js';
import { NamespaceBuckets } from './namespace-buckets.js';
import type { PodIndex } from './pod-index.js';
import * as record from './record.js';
import { msOf, queueSince, sinceOf } from './since.js';
import { chunkBytes, sameChunk, type SlabAllocator } from './slab-allocator.js';
import type { Ledger, SocketChunks } from './socket-chunks.js';
import { SlotView } from './slot-view.js';
import { varintLength } from '../wire/index.js';

// The record's fields as this module's own consts: optimized code folds a module's const, but
// loads an imported binding (a live binding) on every use, and these are read for every socket
// in every walk of the store.
const { ADDRESS, BUCKET, FIRST_SEEN, FLAGS, FLOATS, FOREIGN_AT, HASH, INTS, KEY_AT, KEY_LENGTH, KIND, LENGTH, LOCAL_AT, PID, PORTS, RECV_Q, RECV_Q_SINCE, SEND_Q, SEND_Q_SINCE, STATE_SINCE, VALIDATED } = record;

/**
 * How the aggregator holds a node's sockets. A million sockets must fit in well under a GiB and
 * take ≥500k changes/s, and a JavaScript object per socket costs both (each one is allocated,
 * promoted and traced by every major GC). So a node's sockets are columns: the agent's protobuf
 * bytes (minus the pod, kept once per pod) in a chunk of its NodeStore's slab allocator, the
 * fields queries filter on in a record of typed arrays per slot (record.ts), and an
 * open-addressing hash table from key bytes to slot. Ingest allocates nothing that outlives a
 * message; nothing is decoded until a query answers with it.
 */

const MIN_SLOTS = 64;
/**
 * Hash table cells are pairs: the key's hash, then 0 (empty), -1 (deleted) or slot + 1. With
 * the hash in the cell a probe reads a slot's record only when the hashes agree: on a table
 * of a million sockets, each record read is a cache miss.
 */
const DELETED = -1;

/**
 * One node's sockets. Slots are reused through a free list; a slot is live while its length
 * is non-zero. A socket's bytes are in a chunk of `chunks`, rewritten in place when the new
 * bytes fit its size class, else moved to a new chunk; removing it frees its chunk.
 */
export class NodeSockets {
  private capacity = 0;
  private high = 0;
  private count = 0;
  private freeList: number[] = [];
  private ints: Int32Array = new Int32Array(0);
  private floats: Float64Array = new Float64Array(0);
  private podOf: Array<PodIndex | undefined> = [];
  private table: Int32Array = new Int32Array(0);
  private tableUsed = 0;
  private readonly namespaces = new NamespaceBuckets();
  private live = 0;
  private held = 0;
  private changes = 0;
  private readonly ledger: Ledger;
  private readonly chunks: SlabAllocator;

  /** Its sockets' bytes go in `chunks` (its NodeStore's), and back to them when the store is collected. */
  constructor(chunks: SocketChunks) {
    this.chunks = chunks.allocator;
    this.ledger = { ints: this.ints };
    chunks.track(this, this.ledger);
  }

  get size(): number {
    return this.count;
  }

  /** Moves on every put and removal (not on compaction): a watcher skips a node whose version it has seen. */
  get version(): number {
    return this.changes;
  }

  /** Bytes of socket encodings held (excluding pods, which are shared). */
  get liveBytes(): number {
    return this.live;
  }

  /** Bytes of the chunks that hold them (each socket's bytes rounded up to its size class). */
  get chunkBytes(): number {
    return this.held;
  }

  /**
   * Stores a socket, replacing the one with the same key. What the aggregator knows of the
   * socket already — from this store, else from `previous` (the store a snapshot replaces, of
   * the same boot: keys hold inodes, unique only within one) — is carried over: the earliest
   * firstSeen wins (an agent that restarted sees every socket anew; its bytes are rewritten to
   * say so), and the times it entered its state and its queues stopped draining stay unless
   * the state changed or the queue shrank. `nowMs` is when the change arrived.
   */
  put(pending: PendingSocket, nowMs = Date.now(), previous?: NodeSockets): void {
    const { sourceView, start, cutStart, cutEnd, end, keyStart, keyEnd, keyHash } = pending;
    const cut = cutEnd - cutStart;
    let slot = this.lookup(sourceView, keyStart, keyEnd, keyHash);
    const replaced = slot >= 0;
    const known: NodeSockets | undefined = slot >= 0 ? this : previous;
    const from = slot >= 0 ? slot : (previous?.lookup(sourceView, keyStart, keyEnd, keyHash) ?? -1);
    const now = sinceOf(nowMs);
    let firstSeenMs = pending.firstSeenMs;
    let stateSince = now;
    let recvQSince = pending.recvQ > 0 ? now : 0;
    let sendQSince = pending.sendQ > 0 ? now : 0;
    if (known && from >= 0) {
      const earlier = known.floats[from * FLOATS + FIRST_SEEN]!;
      if (earlier > 0 && (firstSeenMs === 0 || earlier < firstSeenMs)) firstSeenMs = earlier;
      const r = from * INTS;
      if (known.stateCode(from) === pending.stateCode) stateSince = known.ints[r + STATE_SINCE]!;
      recvQSince = queueSince(pending.recvQ, known.recvQ(from), known.ints[r + RECV_Q_SINCE]!, now);
      sendQSince = queueSince(pending.sendQ, known.sendQ(from), known.ints[r + SEND_Q_SINCE]!, now);
    }
    // An earlier firstSeen is written over the agent's (an earlier time needs no more bytes),
    // or appended (a later field wins in protobuf) when the agent sent none or a zero.
    const rewrite = firstSeenMs !== pending.firstSeenMs;
    const appended = rewrite && pending.firstSeenEnd - pending.firstSeenAt < varintLength(firstSeenMs) ? firstSeenFieldLength(firstSeenMs) : 0;
    const length = end - start - cut + appended;
    const chunks = this.chunks;
    let address: number;
    if (slot >= 0) {
      // Rewritten in place when the new bytes fit its chunk, else moved to a new one.
      const held = this.ints[slot * INTS + LENGTH]!;
      this.live -= held;
      address = this.ints[slot * INTS + ADDRESS]!;
      if (!sameChunk(held, length)) {
        chunks.release(address, held);
        this.held += chunkBytes(length) - chunkBytes(held);
        address = chunks.allocate(length);
      }
    } else {
      slot = this.allocate(keyHash);
      address = chunks.allocate(length);
      this.held += chunkBytes(length);
    }
    const buffer = chunks.bufferOf(address);
    const at = chunks.offsetOf(address);
    const into = chunks.viewOf(address);
    copyBytes(sourceView, start, cutStart, into, at);
    // Sockets whose pod comes by ref (PodDef) have no pod field to cut: one copy.
    if (cutEnd < end) copyBytes(sourceView, cutEnd, end, into, at + (cutStart - start));
    if (appended > 0) writeFirstSeen(buffer, at + length - appended, firstSeenMs, appended, true);
    else if (rewrite) writeFirstSeen(buffer, at + pending.firstSeenAt - start - (pending.firstSeenAt < cutStart ? 0 : cut), firstSeenMs, pending.firstSeenEnd - pending.firstSeenAt, false);
    this.live += length;
    const ints = this.ints;
    const r = slot * INTS;
    ints[r + ADDRESS] = address;
    ints[r + LENGTH] = length;
    // Positions within the stored bytes: past the cut pod field they move up by its length
    // (the key and addresses are top-level fields, never inside it).
    ints[r + KEY_AT] = keyStart - start - (keyStart < cutStart ? 0 : cut);
    ints[r + KEY_LENGTH] = keyEnd - keyStart;
    ints[r + LOCAL_AT] = pending.localStart - start - (pending.localStart < cutStart ? 0 : cut);
    ints[r + FOREIGN_AT] = pending.foreignStart - start - (pending.foreignStart < cutStart ? 0 : cut);
    ints[r + KIND] = pending.proto | (pending.stateCode << 8) | ((pending.localEnd - pending.localStart) << 16) | ((pending.foreignEnd - pending.foreignStart) << 24);
    ints[r + PORTS] = pending.localPort | (pending.foreignPort << 16);
    ints[r + FLAGS] = 0;
    ints[r + STATE_SINCE] = stateSince;
    ints[r + RECV_Q_SINCE] = recvQSince;
    ints[r + SEND_Q_SINCE] = sendQSince;
    ints[r + PID] = pending.pid;
    const f = slot * FLOATS;
    this.floats[f + RECV_Q] = pending.recvQ;
    this.floats[f + SEND_Q] = pending.sendQ;
    this.floats[f + FIRST_SEEN] = firstSeenMs;
    // A socket replaced within its namespace keeps its place in the bucket.
    const bucket = this.namespaces.idOf(pending.pod);
    if (!replaced || ints[r + BUCKET] !== bucket) {
      if (replaced) this.namespaces.remove(ints, slot);
      this.namespaces.add(ints, slot, bucket);
    }
    this.podOf[slot] = pending.pod;
    this.changes++;
  }

  /** Removes the socket whose key is the bytes [start, end) of `view`; false when there is none. */
  delete(view: DataView, start: number, end: number, keyHash = hashKey(view, start, end)): boolean {
    const slot = this.lookup(view, start, end, keyHash);
    if (slot < 0) return false;
    this.release(slot);
    return true;
  }

  /** Whether a socket with this key (as bytes) is held. */
  hasKeyBytes(view: DataView, start: number, end: number, keyHash = hashKey(view, start, end)): boolean {
    return this.lookup(view, start, end, keyHash) >= 0;
  }

  /** The slot of a key given as text (one char per byte, as keyOf reads keys), or -1. */
  find(key: string): number {
    const view = bytesView(Buffer.from(key, 'latin1'));
    return this.lookup(view, 0, view.byteLength, hashKey(view, 0, view.byteLength));
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** Every live slot, in slot order (a copy: the node may change while the caller looks). */
  slots(): Int32Array {
    const live = new Int32Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.high; slot++) if (this.ints[slot * INTS + LENGTH] !== 0) live[n++] = slot;
    return live.subarray(0, n);
  }

  /** The pod namespaces present (sockets outside pods are in none). */
  namespaceNames(): string[] {
    return this.namespaces.names();
  }

  /** Slots are below this; with isLive, a query walks them without allocating. */
  get slotLimit(): number {
    return this.high;
  }

  isLive(slot: number): boolean {
    return this.ints[slot * INTS + LENGTH] !== 0;
  }

  /** The live slots of one namespace's pods: a view, valid until the next change to this node. */
  bucketView(namespace: string): Int32Array {
    return this.namespaces.view(namespace);
  }

  /** The live slots of one namespace's pods (a copy). */
  slotsIn(namespace: string): Int32Array {
    return this.namespaces.view(namespace).slice();
  }

  /** The socket's bytes without its pod: a view, valid until the next change to this node. */
  bytesOf(slot: number): Buffer {
    const address = this.ints[slot * INTS + ADDRESS]!;
    const at = this.chunks.offsetOf(address);
    return this.chunks.bufferOf(address).subarray(at, at + this.ints[slot * INTS + LENGTH]!);
  }

  keyOf(slot: number): string {
    return this.text(slot, this.ints[slot * INTS + KEY_AT]!, this.ints[slot * INTS + KEY_LENGTH]!, 'latin1');
  }

  pod(slot: number): PodIndex | undefined {
    return this.podOf[slot];
  }

  /**
   * Ingest reads only a socket's top-level fields; answers that copy its bytes verbatim need
   * to know it decodes (decoded once, then remembered until the socket changes).
   */
  isValidated(slot: number): boolean {
    return (this.ints[slot * INTS + FLAGS]! & VALIDATED) !== 0;
  }

  markValidated(slot: number): void {
    this.ints[slot * INTS + FLAGS] = this.ints[slot * INTS + FLAGS]! | VALIDATED;
  }

  proto(slot: number): number {
    return this.ints[slot * INTS + KIND]! & 0xff;
  }

  /** The kernel state code; for unix sockets the one ss shows them in. */
  stateCode(slot: number): number {
    return (this.ints[slot * INTS + KIND]! >>> 8) & 0xff;
  }

  recvQ(slot: number): number {
    return this.floats[slot * FLOATS + RECV_Q]!;
  }

  sendQ(slot: number): number {
    return this.floats[slot * FLOATS + SEND_Q]!;
  }

  firstSeenMs(slot: number): number {
    return this.floats[slot * FLOATS + FIRST_SEEN]!;
  }

  /** When the socket entered its current state, as the aggregator saw it (Unix ms, whole seconds). */
  stateSinceMs(slot: number): number {
    return msOf(this.ints[slot * INTS + STATE_SINCE]!);
  }

  /** Since when the Recv-Q has been non-empty without shrinking (Unix ms, whole seconds); 0 when empty. */
  recvQSinceMs(slot: number): number {
    return msOf(this.ints[slot * INTS + RECV_Q_SINCE]!);
  }

  /** As recvQSinceMs, for the Send-Q. */
  sendQSinceMs(slot: number): number {
    return msOf(this.ints[slot * INTS + SEND_Q_SINCE]!);
  }

  /** The first (lowest) pid holding the socket; 0 when no process does. */
  pid(slot: number): number {
    return this.ints[slot * INTS + PID]!;
  }

  localPort(slot: number): number {
    return this.ints[slot * INTS + PORTS]! & 0xffff;
  }

  foreignPort(slot: number): number {
    return this.ints[slot * INTS + PORTS]! >>> 16;
  }

  localAddress(slot: number): string {
    return this.text(slot, this.ints[slot * INTS + LOCAL_AT]!, (this.ints[slot * INTS + KIND]! >>> 16) & 0xff, 'utf8');
  }

  foreignAddress(slot: number): string {
    return this.text(slot, this.ints[slot * INTS + FOREIGN_AT]!, this.ints[slot * INTS + KIND]! >>> 24, 'utf8');
  }

  private text(slot: number, at: number, length: number, encoding: 'utf8' | 'latin1'): string {
    if (length === 0) return '';
    const address = this.ints[slot * INTS + ADDRESS]!;
    const from = this.chunks.offsetOf(address) + at;
    return this.chunks.bufferOf(address).toString(encoding, from, from + length);
  }

  /** A FilterView over this node's slots: point it at a slot, then filter; one object per query. */
  view(): SlotView {
    return new SlotView(this);
  }

  private lookup(view: DataView, start: number, end: number, keyHash: number): number {
    if (this.count === 0) return -1;
    const table = this.table;
    const mask = (table.length >>> 1) - 1;
    const length = end - start;
    const ints = this.ints;
    for (let cell = keyHash & mask; ; cell = (cell + 1) & mask) {
      const entry = table[2 * cell + 1]!;
      if (entry === 0) return -1;
      if (entry === DELETED || table[2 * cell] !== keyHash) continue;
      const r = (entry - 1) * INTS;
      if (ints[r + KEY_LENGTH] !== length) continue;
      const address = ints[r + ADDRESS]!;
      if (sameBytes(this.chunks.viewOf(address), this.chunks.offsetOf(address) + ints[r + KEY_AT]!, view, start, length)) return entry - 1;
    }
  }

  /** A free slot for a new key, entered in the hash table. */
  private allocate(keyHash: number): number {
    let slot = this.freeList.pop();
    if (slot === undefined) {
      if (this.high === this.capacity) this.grow();
      slot = this.high++;
    }
    this.ints[slot * INTS + HASH] = keyHash;
    // Load (live keys and tombstones) stays under 1/2; a rehash leaves it under 1/4.
    if ((this.tableUsed + 1) * 4 > this.table.length) this.rehash(4 * (this.count + 1));
    const table = this.table;
    const mask = (table.length >>> 1) - 1;
    let cell = keyHash & mask;
    while (table[2 * cell + 1]! > 0) cell = (cell + 1) & mask;
    if (table[2 * cell + 1] === 0) this.tableUsed++;
    table[2 * cell] = keyHash;
    table[2 * cell + 1] = slot + 1;
    this.count++;
    return slot;
  }

  /** Frees a slot: its chunk goes back to the allocator, its key leaves the table. */
  private release(slot: number): void {
    const r = slot * INTS;
    const length = this.ints[r + LENGTH]!;
    this.chunks.release(this.ints[r + ADDRESS]!, length);
    this.held -= chunkBytes(length);
    this.live -= length;
    this.namespaces.remove(this.ints, slot);
    this.podOf[slot] = undefined;
    const table = this.table;
    const mask = (table.length >>> 1) - 1;
    let cell = this.ints[r + HASH]! & mask;
    while (table[2 * cell + 1] !== slot + 1) cell = (cell + 1) & mask;
    table[2 * cell + 1] = DELETED;
    this.ints[r + LENGTH] = 0;
    this.freeList.push(slot);
    this.count--;
    this.changes++;
  }

  private grow(): void {
    const size = Math.max(MIN_SLOTS, this.capacity * 2);
    this.ints = grown(this.ints, size * INTS, (n) => new Int32Array(n));
    this.ledger.ints = this.ints;
    this.floats = grown(this.floats, size * FLOATS, (n) => new Float64Array(n));
    this.capacity = size;
  }

  /**
   * A table of at least `minimum` cells (a power of two) holding every live key, without the
   * tombstones. Keys are re-entered from the slots' records, so a table of the same size is
   * cleared and reused (a churning node rehashes every thousand changes or so).
   */
  private rehash(minimum: number): void {
    let size = 2 * MIN_SLOTS;
    while (size < minimum) size *= 2;
    const table = this.table.length === 2 * size ? this.table.fill(0) : new Int32Array(2 * size);
    const mask = size - 1;
    for (let slot = 0; slot < this.high; slot++) {
      if (this.ints[slot * INTS + LENGTH] === 0) continue;
      const hash = this.ints[slot * INTS + HASH]!;
      let cell = hash & mask;
      while (table[2 * cell + 1] !== 0) cell = (cell + 1) & mask;
      table[2 * cell] = hash;
      table[2 * cell + 1] = slot + 1;
    }
    this.table = table;
    this.tableUsed = this.count;
  }
}

