import type { FilterView } from '../../model/filter.js';
import { Proto, PodRef } from '../../gen/kubenetstat/v1/socket.js';
import { chunkBytes, sameChunk, SlabAllocator, type SlabStats } from './slab-allocator.js';
import { varintBytes, varintLength } from '../wire/varint.js';
import { WIRE } from '../../model/wire-fields.js';

/**
 * How the aggregator holds a node's sockets. A million sockets must fit in well under a GiB and
 * take ≥500k changes/s, and a JavaScript object per socket costs both (each one is allocated,
 * promoted and traced by every major GC). So a node's sockets are columns: the agent's protobuf
 * bytes (minus the pod, kept once per pod) in a chunk of the shared slab allocator, the fields
 * queries filter on in typed arrays indexed by slot, and an open-addressing hash table from key
 * bytes to slot. Ingest allocates nothing that outlives a message; nothing is decoded until a
 * query answers with it.
 */

/** A pod as the sockets of one agent connection share it: its encoding, and what queries match. */
export class PodIndex {
  private decoded: PodRef | undefined;
  private keyText: string | undefined;
  /**
   * For one walk over the stores at a time (the findings pass): the walk's number and what it
   * keeps for this pod, so that a walk finds it without a Map lookup per socket.
   */
  walk = 0;
  walkValue: unknown = undefined;
  /** The bucket of the pod's namespace in the store that last asked (NodeSockets.bucketFor): a store asks for every socket it takes. */
  bucketStore: NodeSockets | undefined;
  bucketId = -1;
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

  /** `namespace/name`: the pod's identity across its containers and streams (made once, on first use). */
  get key(): string {
    return (this.keyText ??= `${this.namespace}/${this.name}`);
  }

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
  /** Where firstSeen's varint lies in the message ([firstSeenAt, firstSeenEnd); equal when absent). */
  readonly firstSeenAt: number;
  readonly firstSeenEnd: number;
  /** The first (lowest) pid holding the socket; 0 when no process does. */
  readonly pid: number;
  readonly pod: PodIndex | undefined;
}

/** Where since-times count from: 2020-01-01T00:00:00Z. */
const SINCE_EPOCH_MS = Date.UTC(2020, 0, 1);

/** A time as the store keeps it: whole seconds since SINCE_EPOCH_MS, at least 1 (0 means none). */
function sinceOf(ms: number): number {
  return Math.max(1, Math.floor((ms - SINCE_EPOCH_MS) / 1000));
}

function msOf(since: number): number {
  return since === 0 ? 0 : SINCE_EPOCH_MS + since * 1000;
}

/** A queue stays stuck since `since` while it is non-empty and does not shrink; shrinking (draining) starts it again. */
function queueSince(bytes: number, before: number, since: number, now: number): number {
  if (bytes === 0) return 0;
  return since !== 0 && bytes >= before ? since : now;
}

/** Socket.first_seen_unix_ms's tag as a varint. */
const FIRST_SEEN_TAG = varintBytes(WIRE.Socket.firstSeenUnixMs.tag);

/**
 * Writes firstSeen (with its tag when `tagged`) at `at`, its varint spread over exactly
 * `length` bytes (with the tag, when tagged). An earlier time never needs more bytes than the
 * one it replaces; fewer are padded with continuation bytes, which protobuf decoders accept.
 */
function writeFirstSeen(buf: Buffer, at: number, ms: number, length: number, tagged: boolean): void {
  let pos = at;
  if (tagged) {
    buf.set(FIRST_SEEN_TAG, pos);
    pos += FIRST_SEEN_TAG.length;
  }
  const last = at + length - 1;
  let value = ms;
  for (; pos < last; pos++) {
    buf[pos] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[last] = value;
}

let viewed: Uint8Array | undefined;
let viewedAs: DataView = new DataView(new ArrayBuffer(0));

/** A DataView over `buf` (the last one asked for is kept: ingest asks for one message's many times). */
function viewOf(buf: Uint8Array): DataView {
  if (buf !== viewed) {
    viewed = buf;
    viewedAs = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  return viewedAs;
}

/**
 * What the table is keyed by: an FNV-style hash of a key's bytes taken four at a time, with
 * their number (never 0, which marks a free slot). Reading words instead of bytes halves its cost;
 * little-endian words, the CPU's own order on x86 and arm64 (no byte swap).
 */
export function hashKey(buf: Uint8Array, start: number, end: number): number {
  const view = viewOf(buf);
  let hash = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    hash = Math.imul(hash ^ view.getInt32(i, true), 0x01000193);
    hash ^= hash >>> 15;
  }
  for (; i < end; i++) hash = Math.imul(hash ^ view.getUint8(i), 0x01000193);
  return hash | 1;
}

/**
 * Copies from[start, end) to into[at...], four bytes at a time. Buffer.copy makes a Uint8Array
 * view of the source range for every call that does not start at its first byte: ~100 bytes of
 * garbage per socket stored, ~40 MB in a burst of 435,000 upserts.
 */
function copyBytes(from: DataView, start: number, end: number, into: DataView, at: number): void {
  let i = start;
  for (; i + 4 <= end; i += 4, at += 4) into.setInt32(at, from.getInt32(i, true), true);
  for (; i < end; i++, at++) into.setUint8(at, from.getUint8(i));
}

/** Whether a[aAt, aAt + length) and b[bAt, bAt + length) hold the same bytes (compared four at a time). */
function sameBytes(a: DataView, aAt: number, b: DataView, bAt: number, length: number): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) if (a.getInt32(aAt + i, true) !== b.getInt32(bAt + i, true)) return false;
  for (; i < length; i++) if (a.getUint8(aAt + i) !== b.getUint8(bAt + i)) return false;
  return true;
}

/** The pod a socket is in, if any: a pod field without a name (never sent by agents) counts as none. */
export function inPod(pod: PodIndex | undefined): PodIndex | undefined {
  return pod?.name ? pod : undefined;
}

const MIN_SLOTS = 64;
const EMPTY_SLOTS = new Int32Array(0);
/**
 * Hash table cells are pairs: the key's hash, then 0 (empty), -1 (deleted) or slot + 1. With
 * the hash in the cell a probe reads a slot's record only when the hashes agree: on a table
 * of a million sockets, each record read is a cache miss.
 */
const DELETED = -1;

/** Every node's socket bytes, in one allocator: a chunk freed by one node is reused by any other. */
const SHARED_CHUNKS = new SlabAllocator();

/** What the shared allocator holds, for the bench and metrics. */
export function socketChunkStats(): SlabStats {
  return SHARED_CHUNKS.stats();
}

/**
 * A store's chunks go back to its allocator when the store is collected (a snapshot replaced
 * it, its node was evicted, a resync dropped it half-built): what the store's records say it
 * holds, which its ledger keeps pointing at as they grow.
 */
interface Ledger {
  ints: Int32Array;
  readonly chunks: SlabAllocator;
}

const unreachable = new FinalizationRegistry<Ledger>(({ ints, chunks }) => {
  for (let r = 0; r < ints.length; r += INTS) if (ints[r + LENGTH] !== 0) chunks.release(ints[r + ADDRESS]!, ints[r + LENGTH]!);
});

function grown<T extends Float64Array | Int32Array>(old: T, size: number, make: (n: number) => T): T {
  const next = make(size);
  next.set(old);
  return next;
}

/** One namespace's slots, in no particular order (removal swaps the last one in). */
class Bucket {
  slots: Int32Array = new Int32Array(16);
  size = 0;
  constructor(readonly namespace: string) {}
}

/**
 * A slot's fields, as one record of int32s (one cache line of 64 bytes): looking a
 * key up or storing a socket touches one record instead of a dozen arrays, which on a store of
 * a million sockets is most of the cost. Offsets of the key and addresses are relative to the
 * socket's bytes, which are in the chunk at ADDRESS (slab-allocator.ts).
 */
const ADDRESS = 0;
const LENGTH = 1;
const HASH = 2;
const KEY_AT = 3;
const KEY_LENGTH = 4;
const BUCKET_AT = 5;
const LOCAL_AT = 6;
const FOREIGN_AT = 7;
/** proto | state << 8 | local address length << 16 | foreign address length << 24. */
const KIND = 8;
/** local port | foreign port << 16. */
const PORTS = 9;
/** VALIDATED once its bytes decoded as a Socket. */
const FLAGS = 10;
/** The slot's namespace bucket (an index into buckets), -1 outside pods. */
const BUCKET = 11;
/**
 * Times in whole seconds since SINCE_EPOCH_MS (int32 lasts until 2088): when the socket entered
 * its state, and since when its Recv-Q / Send-Q have been non-empty without shrinking (0: empty).
 * They are the aggregator's observations (ingest time), carried across deltas and snapshots of
 * the same boot (see put), and what the leak rules judge lingering and stuck queues by.
 */
const STATE_SINCE = 12;
const RECV_Q_SINCE = 13;
const SEND_Q_SINCE = 14;
/** The first holder's pid, 0 for none (a per-process socket count needs no decoding). */
const PID = 15;
const INTS = 16;
const VALIDATED = 1;
/** Numbers beyond 32 bits, a record of float64s per slot. */
const RECV_Q = 0;
const SEND_Q = 1;
const FIRST_SEEN = 2;
const FLOATS = 3;

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
  /** Namespace buckets by id (a record's BUCKET); an emptied bucket stays, to keep ids stable. */
  private readonly buckets: Bucket[] = [];
  private readonly bucketIds = new Map<string, number>();
  private live = 0;
  private held = 0;
  private changes = 0;
  private readonly ledger: Ledger;

  constructor(private readonly chunks: SlabAllocator = SHARED_CHUNKS) {
    this.ledger = { ints: this.ints, chunks };
    unreachable.register(this, this.ledger);
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
    const { source, start, cutStart, cutEnd, end, keyStart, keyEnd, keyHash } = pending;
    const cut = cutEnd - cutStart;
    let slot = this.lookup(source, keyStart, keyEnd, keyHash);
    const replaced = slot >= 0;
    const known: NodeSockets | undefined = slot >= 0 ? this : previous;
    const from = slot >= 0 ? slot : (previous?.lookup(source, keyStart, keyEnd, keyHash) ?? -1);
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
    const appended = rewrite && pending.firstSeenEnd - pending.firstSeenAt < varintLength(firstSeenMs) ? FIRST_SEEN_TAG.length + varintLength(firstSeenMs) : 0;
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
    copyBytes(viewOf(source), start, cutStart, into, at);
    // Sockets whose pod comes by ref (PodDef) have no pod field to cut: one copy.
    if (cutEnd < end) copyBytes(viewOf(source), cutEnd, end, into, at + (cutStart - start));
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
    const bucket = this.bucketFor(pending.pod);
    if (!replaced || ints[r + BUCKET] !== bucket) {
      if (replaced) this.unindex(slot);
      this.index(slot, bucket);
    }
    this.podOf[slot] = pending.pod;
    this.changes++;
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
    const live = new Int32Array(this.count);
    let n = 0;
    for (let slot = 0; slot < this.high; slot++) if (this.ints[slot * INTS + LENGTH] !== 0) live[n++] = slot;
    return live.subarray(0, n);
  }

  /** The pod namespaces present (sockets outside pods are in none). */
  namespaceNames(): string[] {
    return this.buckets.filter((bucket) => bucket.size > 0).map((bucket) => bucket.namespace);
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
    const bucket = this.bucketOf(namespace);
    return bucket ? bucket.slots.subarray(0, bucket.size) : EMPTY_SLOTS;
  }

  /** The live slots of one namespace's pods (a copy). */
  slotsIn(namespace: string): Int32Array {
    const bucket = this.bucketOf(namespace);
    return bucket ? bucket.slots.slice(0, bucket.size) : new Int32Array(0);
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

  private lookup(buf: Uint8Array, start: number, end: number, keyHash: number): number {
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
      if (sameBytes(this.chunks.viewOf(address), this.chunks.offsetOf(address) + ints[r + KEY_AT]!, viewOf(buf), start, length)) return entry - 1;
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
    this.unindex(slot);
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

  private bucketOf(namespace: string): Bucket | undefined {
    const id = this.bucketIds.get(namespace);
    return id === undefined ? undefined : this.buckets[id];
  }

  /** The bucket (id) of a pod's namespace, made on first sight; -1 outside pods. */
  private bucketFor(pod: PodIndex | undefined): number {
    if (pod === undefined) return -1;
    if (pod.bucketStore === this) return pod.bucketId;
    const namespace = inPod(pod)?.namespace;
    let id = -1;
    if (namespace !== undefined) {
      id = this.bucketIds.get(namespace) ?? -1;
      if (id < 0) {
        id = this.buckets.push(new Bucket(namespace)) - 1;
        this.bucketIds.set(namespace, id);
      }
    }
    pod.bucketStore = this;
    pod.bucketId = id;
    return id;
  }

  private index(slot: number, id: number): void {
    const r = slot * INTS;
    if (id < 0) {
      this.ints[r + BUCKET] = -1;
      return;
    }
    const bucket = this.buckets[id]!;
    if (bucket.size === bucket.slots.length) bucket.slots = grown(bucket.slots, bucket.size * 2, (n) => new Int32Array(n));
    bucket.slots[bucket.size] = slot;
    this.ints[r + BUCKET] = id;
    this.ints[r + BUCKET_AT] = bucket.size++;
  }

  private unindex(slot: number): void {
    const r = slot * INTS;
    const id = this.ints[r + BUCKET]!;
    if (id < 0) return;
    const bucket = this.buckets[id]!;
    const at = this.ints[r + BUCKET_AT]!;
    const last = bucket.slots[--bucket.size]!;
    bucket.slots[at] = last;
    this.ints[last * INTS + BUCKET_AT] = at;
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

/** The filter fields of whichever slot `at` points to; addresses are read from its bytes when asked. */
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
