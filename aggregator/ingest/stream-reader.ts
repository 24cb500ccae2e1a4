import { ssCodeOfName } from '../../model/filter.js';
import { Goodbye, Heartbeat, Hello, NamespaceTable, type NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import { hashKey, PodIndex, type PendingSocket } from '../store/node-sockets.js';
import { tagsOf, WIRE, WireType, wireTypeOf } from '../../model/wire-fields.js';

/**
 * The aggregator keeps each socket as the bytes its agent sent plus the few fields queries
 * filter on; it decodes a socket only to answer with it. Decoding a million sockets into
 * objects would cost ~1.7 KiB each and most of the ingest CPU; this reader walks the
 * protobuf encoding of StreamRequest (proto/kubenetstat/v1/agent.proto) field by field
 * and copies out only the socket bytes, key and indexed fields.
 */

/** Input that is not the protobuf the contract says: the stream is rejected. */
export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

export type Envelope =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'snapshot'; readonly sequence: number; readonly snapshotId: number; readonly index: number; readonly sockets: PendingSocket[]; readonly last: boolean; readonly namespaces: NamespaceInfo[] | undefined }
  | { readonly kind: 'delta'; readonly sequence: number; readonly upserted: PendingSocket[]; readonly removed: RemovedKeys; readonly namespaces: NamespaceInfo[] | undefined }
  | { readonly kind: 'heartbeat'; readonly sequence: number; readonly socketCount: number }
  | { readonly kind: 'goodbye'; readonly sequence: number; readonly reason: string };


/** The keys a delta removes, as byte ranges of its message: [start, end) pairs, flattened. */
export interface RemovedKeys {
  readonly source: Buffer;
  readonly bounds: ArrayLike<number>;
}

/** A minimal protobuf reader over one buffer: varints and length-delimited fields. */
class Reader {
  constructor(
    public buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  /** The same reader over another range: readSocket reuses one for every socket instead of allocating one each. */
  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a number; beyond 2^53 the input is not ours. */
  varint(): number {
    // Tags, lengths and small numbers: one byte (kept small enough to be inlined). At or past
    // the end of the buffer the byte reads as undefined and the checked path throws.
    const byte = this.buf[this.pos]!;
    if (byte < 0x80 && this.pos < this.end) {
      this.pos++;
      return byte;
    }
    return this.longerVarint();
  }

  /**
   * Two to four bytes (tags of fields 16 and above, numbers below 2^28) added up as int32;
   * longer ones, and any near the end of the input, byte by byte with every check.
   */
  private longerVarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos + 4 > this.end) return this.longVarint();
    let byte = buf[pos++]!;
    let value = byte & 0x7f;
    byte = buf[pos++]!;
    value |= (byte & 0x7f) << 7;
    if (byte >= 0x80) {
      byte = buf[pos++]!;
      value |= (byte & 0x7f) << 14;
      if (byte >= 0x80) {
        byte = buf[pos++]!;
        value |= (byte & 0x7f) << 21;
        if (byte >= 0x80) return this.longVarint();
      }
    }
    this.pos = pos;
    return value;
  }

  /**
   * varint() for numbers of more than 28 bits (times in ms, namespace inodes), and near the end
   * of the input: the bits above 28 are gathered as an int of their own (2^53 needs 25 of them).
   */
  private longVarint(): number {
    const buf = this.buf;
    let low = 0;
    let high = 0;
    let beyond = false;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = buf[this.pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) low |= bits << (7 * i);
      else if (i < 8) high |= bits << (7 * (i - 4));
      else if (bits !== 0) beyond = true;
      if (byte < 0x80) {
        const value = low + high * 2 ** 28;
        if (beyond || value > Number.MAX_SAFE_INTEGER) throw new WireFormatError('varint out of range');
        return value;
      }
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** Moves past a varint: one of up to 7 bytes (below 2^49) without adding it up; a longer one is read, and checked, by varint(). */
  private skipVarint(): void {
    const last = Math.min(this.pos + 7, this.end);
    for (let pos = this.pos; pos < last; pos++) {
      if (this.buf[pos]! < 0x80) {
        this.pos = pos + 1;
        return;
      }
    }
    this.varint();
  }

  /** Moves past a length-delimited field and returns where its payload starts (it ends at pos). */
  delimited(): number {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new WireFormatError('field runs past its message');
    this.pos = end;
    return start;
  }

  /** A string field; invalid UTF-8 becomes U+FFFD, as protobuf-es does when not strict. */
  string(): string {
    const start = this.delimited();
    return this.buf.toString('utf8', start, this.pos);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.skipVarint();
        return;
      case WireType.I64:
        this.pos += 8;
        break;
      case WireType.LEN:
        this.delimited();
        return;
      case WireType.I32:
        this.pos += 4;
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireFormatError('field runs past its message');
  }
}

const POD = tagsOf(WIRE.PodRef);
const LABEL = tagsOf(WIRE.PodRef_LabelsEntry);
const POD_DEF = tagsOf(WIRE.PodDef);
/** Pods one connection remembers; a node runs at most a few hundred. */
const POD_CACHE_LIMIT = 4_096;

/** Pod refs are 1–65535 (agent.proto PodDef). */
const MAX_POD_REF = 65_535;

/**
 * The pods of one agent connection: those it defined by ref (PodDef), and those sent inline
 * with each socket. An inline pod is mostly the same as the previous socket's, and a node has
 * few pods, so a pod is recognised by comparing bytes (with the last one, then with the one of
 * the same UID) and parsed only when it is new or changed (labels edited, container restarted).
 */
export class PodCache {
  private last: PodIndex | undefined;
  private readonly byUid = new Map<string, PodIndex>();
  /** By ref (1–MAX_POD_REF): an array, as every socket sent by ref looks its pod up here. */
  private readonly byRef: Array<PodIndex | undefined> = [];

  get(buf: Buffer, start: number, end: number): PodIndex {
    const last = this.last;
    if (last && sameBytes(last.bytes, buf, start, end)) return last;
    const uid = podUid(buf, start, end);
    let pod = this.byUid.get(uid);
    if (!pod || !sameBytes(pod.bytes, buf, start, end)) {
      pod = parsePod(buf, start, end);
      if (this.byUid.size >= POD_CACHE_LIMIT) this.byUid.clear();
      this.byUid.set(uid, pod);
    }
    this.last = pod;
    return pod;
  }

  /** A PodDef at [start, end): the ref now names this pod for the rest of the stream. */
  define(buf: Buffer, start: number, end: number): void {
    const reader = new Reader(buf, start, end);
    let ref = 0;
    let pod: PodIndex | undefined;
    while (!reader.done) {
      const tag = reader.varint();
      if (tag === POD_DEF.ref) ref = reader.varint();
      else if (tag === POD_DEF.pod) {
        const podStart = reader.delimited();
        pod = this.get(buf, podStart, reader.pos);
      } else reader.skip(wireTypeOf(tag));
    }
    if (ref < 1 || ref > MAX_POD_REF) throw new WireFormatError(`pod ref ${ref} out of range 1–${MAX_POD_REF}`);
    if (!pod) throw new WireFormatError(`pod ref ${ref} defined without a pod`);
    this.byRef[ref] = pod;
  }

  resolve(ref: number): PodIndex {
    const pod = ref >= 1 && ref <= MAX_POD_REF ? this.byRef[ref] : undefined;
    if (!pod) throw new WireFormatError(`pod ref ${ref} was never defined on this stream`);
    return pod;
  }
}

function sameBytes(bytes: Buffer, buf: Buffer, start: number, end: number): boolean {
  return bytes.length === end - start && buf.compare(bytes, 0, bytes.length, start, end) === 0;
}

function podUid(buf: Buffer, start: number, end: number): string {
  const reader = new Reader(buf, start, end);
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === POD.uid) return reader.string();
    reader.skip(wireTypeOf(tag));
  }
  return '';
}

function parsePod(buf: Buffer, start: number, end: number): PodIndex {
  const reader = new Reader(buf, start, end);
  let namespace = '';
  let name = '';
  let uid = '';
  let container = '';
  let workloadKind = '';
  let workloadName = '';
  const labels: Record<string, string> = {};
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case POD.namespace:
        namespace = reader.string();
        break;
      case POD.name:
        name = reader.string();
        break;
      case POD.uid:
        uid = reader.string();
        break;
      case POD.container:
        container = reader.string();
        break;
      case POD.workloadKind:
        workloadKind = reader.string();
        break;
      case POD.workloadName:
        workloadName = reader.string();
        break;
      case POD.labels: {
        const entryStart = reader.delimited();
        const entry = new Reader(buf, entryStart, reader.pos);
        let key = '';
        let value = '';
        while (!entry.done) {
          const entryTag = entry.varint();
          if (entryTag === LABEL.key) key = entry.string();
          else if (entryTag === LABEL.value) value = entry.string();
          else entry.skip(wireTypeOf(entryTag));
        }
        labels[key] = value;
        break;
      }
      default:
        reader.skip(wireTypeOf(tag));
    }
  }
  const bytes = Buffer.allocUnsafeSlow(end - start);
  buf.copy(bytes, 0, start, end);
  return new PodIndex(namespace, name, uid, container, workloadKind, workloadName, labels, bytes);
}

/** Socket fields (socket.proto) the index keeps. */
const T = tagsOf(WIRE.Socket);

/** Ingest reads one socket at a time: these readers serve every one (readSocket, firstPid). */
const SOCKET_READER = new Reader(Buffer.alloc(0));
const PROCESS_READER = new Reader(Buffer.alloc(0));

/** netnsOf's own reader: the findings pass reads stored sockets, not a message being ingested. */
const NETNS_READER = new Reader(Buffer.alloc(0));

/**
 * Socket.netns of a stored socket's bytes, as decimal text, read without decoding the rest;
 * '' when absent or not readable (the findings pass reads it for every pod, every pass).
 */
export function netnsOf(bytes: Buffer): string {
  const reader = NETNS_READER.reset(bytes, 0, bytes.length);
  try {
    while (!reader.done) {
      const tag = reader.varint();
      if (tag === T.netns) return String(reader.varint());
      reader.skip(wireTypeOf(tag));
    }
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
  }
  return '';
}

/** IPv6 text is at most 45 characters (with an IPv4 tail); the store keeps address lengths in a byte. */
const MAX_ADDRESS_BYTES = 64;

/** The largest time a JavaScript Date holds (ms): a firstSeen beyond it could never be printed. */
const MAX_DATE_MS = 8.64e15;

/** A socket read from a message: one class, so that readSocket fills fresh and pooled ones alike. */
class PendingRecord implements PendingSocket {
  source: Buffer = NO_BYTES;
  start = 0;
  cutStart = 0;
  cutEnd = 0;
  end = 0;
  keyStart = 0;
  keyEnd = 0;
  keyHash = 0;
  proto = 0;
  stateCode = 0;
  localStart = 0;
  localEnd = 0;
  localPort = 0;
  foreignStart = 0;
  foreignEnd = 0;
  foreignPort = 0;
  recvQ = 0;
  sendQ = 0;
  firstSeenMs = 0;
  firstSeenAt = 0;
  firstSeenEnd = 0;
  pid = 0;
  pod: PodIndex | undefined = undefined;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * PendingSockets reused from one message to the next, for a reader that is done with a
 * message's sockets before it reads the next (ingest: Connection.receive applies a message
 * before it returns, so one pool serves every connection). A burst of 435,000 upserts read
 * into fresh objects was ~60 MB of young garbage, collected while the burst was applied.
 */
export class PendingPool {
  private readonly records: PendingRecord[] = [];
  private readonly sockets: PendingSocket[] = [];
  private used = 0;

  /** Starts a message: the sockets handed out for the previous one are taken back. */
  begin(): PendingSocket[] {
    this.used = 0;
    this.sockets.length = 0;
    return this.sockets;
  }

  /** A record for the message's next socket; the array begin() returned lists it. */
  next(): PendingRecord {
    const record = (this.records[this.used++] ??= new PendingRecord());
    this.sockets.push(record);
    return record;
  }
}

/**
 * One Socket message at [start, end) of a request: its indexed fields, its pod (through the
 * connection's cache or its ref) and where its bytes are, read into `into` (a fresh object by
 * default; a PendingPool's record for ingest). A field of an unexpected wire type is skipped,
 * as protobuf decoders do; two pod fields, a pod and a pod ref, or a peer are rejected (agents
 * never send them; the stored bytes leave the pod out, and answers add the peer, which would
 * merge with one stored instead of replacing it).
 */
export function readSocket(buf: Buffer, start: number, end: number, pods: PodCache, into: PendingRecord = new PendingRecord()): PendingSocket {
  const reader = SOCKET_READER.reset(buf, start, end);
  let keyStart = 0;
  let keyEnd = 0;
  let proto = 0;
  let stateCode = 0;
  let ssStart = 0;
  let ssEnd = 0;
  let localStart = 0;
  let localEnd = 0;
  let localPort = 0;
  let foreignStart = 0;
  let foreignEnd = 0;
  let foreignPort = 0;
  let pod: PodIndex | undefined;
  let podRef = 0;
  let recvQ = 0;
  let sendQ = 0;
  let firstSeenMs = 0;
  let firstSeenAt = 0;
  let firstSeenEnd = 0;
  let pid = 0;
  let cutStart = end;
  let cutEnd = end;
  while (!reader.done) {
    const fieldStart = reader.pos;
    const t = reader.varint();
    switch (t) {
      case T.proto:
        proto = reader.varint();
        break;
      case T.stateCode:
        stateCode = reader.varint();
        break;
      case T.localPort:
        localPort = reader.varint();
        break;
      case T.foreignPort:
        foreignPort = reader.varint();
        break;
      case T.podRef:
        podRef = reader.varint();
        break;
      case T.recvQ:
        recvQ = reader.varint();
        break;
      case T.sendQ:
        sendQ = reader.varint();
        break;
      case T.firstSeenUnixMs:
        firstSeenAt = reader.pos;
        firstSeenMs = reader.varint();
        firstSeenEnd = reader.pos;
        if (firstSeenMs > MAX_DATE_MS) throw new WireFormatError('firstSeen out of range');
        break;
      case T.key:
        keyStart = reader.delimited();
        keyEnd = reader.pos;
        break;
      case T.localAddress:
        localStart = reader.delimited();
        localEnd = reader.pos;
        break;
      case T.foreignAddress:
        foreignStart = reader.delimited();
        foreignEnd = reader.pos;
        break;
      case T.ssState:
        // Read only for unix sockets (below), whose filter state comes from ss's name.
        ssStart = reader.delimited();
        ssEnd = reader.pos;
        break;
      case T.processes: {
        // Holders come by pid; the first one is what per-process counts go by.
        const processStart = reader.delimited();
        if (pid === 0) pid = firstPid(reader.buf, processStart, reader.pos);
        break;
      }
      case T.peer:
        throw new WireFormatError('a socket with a peer: only answers to queries name peers');
      case T.pod: {
        if (cutStart !== end) throw new WireFormatError('a socket with two pod fields');
        const podStart = reader.delimited();
        pod = pods.get(reader.buf, podStart, reader.pos);
        cutStart = fieldStart;
        cutEnd = reader.pos;
        break;
      }
      default:
        reader.skip(wireTypeOf(t));
    }
  }
  if (keyEnd === keyStart) throw new WireFormatError('a socket without a key');
  if (podRef !== 0) {
    if (pod) throw new WireFormatError('a socket with both a pod and a pod ref');
    pod = pods.resolve(podRef);
  }
  if (localPort > 0xffff || foreignPort > 0xffff) throw new WireFormatError('port out of range');
  // The kernel's state codes and the Proto enum are small; the store keeps each in a byte.
  if (stateCode > 0xff || proto > 0xff) throw new WireFormatError('state or proto out of range');
  if (localEnd - localStart > MAX_ADDRESS_BYTES || foreignEnd - foreignStart > MAX_ADDRESS_BYTES) throw new WireFormatError('address longer than any IP address text');
  const unix = proto === Proto.PROTO_UNIX;
  into.source = reader.buf;
  into.start = start;
  into.cutStart = cutStart;
  into.cutEnd = cutEnd;
  into.end = end;
  into.keyStart = keyStart;
  into.keyEnd = keyEnd;
  into.keyHash = hashKey(reader.buf, keyStart, keyEnd);
  into.proto = proto;
  into.stateCode = unix ? ssCodeOfName(reader.buf.toString('utf8', ssStart, ssEnd)) : stateCode;
  into.localStart = unix ? 0 : localStart;
  into.localEnd = unix ? 0 : localEnd;
  into.localPort = unix ? 0 : localPort;
  into.foreignStart = unix ? 0 : foreignStart;
  into.foreignEnd = unix ? 0 : foreignEnd;
  into.foreignPort = unix ? 0 : foreignPort;
  into.recvQ = recvQ;
  into.sendQ = sendQ;
  into.firstSeenMs = firstSeenMs;
  into.firstSeenAt = firstSeenAt;
  into.firstSeenEnd = firstSeenEnd;
  into.pid = pid;
  into.pod = pod;
  return into;
}

const PROCESS = tagsOf(WIRE.ProcessRef);

/**
 * ProcessRef.pid of the ProcessRef at [start, end); 0 when it has none, or when the
 * ProcessRef is malformed: ingest does not judge nested messages (an answer leaves out a
 * socket whose bytes do not decode, query.ts), so neither does this.
 */
function firstPid(buf: Buffer, start: number, end: number): number {
  const reader = PROCESS_READER.reset(buf, start, end);
  try {
    while (!reader.done) {
      const tag = reader.varint();
      if (tag === PROCESS.pid) return Math.min(reader.varint(), 0x7fffffff);
      reader.skip(wireTypeOf(tag));
    }
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
  }
  return 0;
}

const MESSAGE = tagsOf(WIRE.StreamRequest);
const MESSAGE_TAGS: ReadonlySet<number> = new Set(Object.values(MESSAGE));

/**
 * Parses one StreamRequest as received (gRPC's raw message bytes). With a `pool`, a snapshot's
 * or delta's sockets are the pool's records and a delta's removed keys a reused array: valid
 * until the next message read with it.
 */
export function readEnvelope(buf: Buffer, pods: PodCache, pool?: PendingPool): Envelope {
  const reader = new Reader(buf);
  let envelope: Envelope | undefined;
  while (!reader.done) {
    const tag = reader.varint();
    if (!MESSAGE_TAGS.has(tag)) {
      reader.skip(wireTypeOf(tag));
      continue;
    }
    const start = reader.delimited();
    const end = reader.pos;
    const body = buf.subarray(start, end);
    try {
      switch (tag) {
        case MESSAGE.hello:
          envelope = { kind: 'hello', hello: Hello.decode(body) };
          break;
        case MESSAGE.snapshot:
          envelope = readSnapshot(buf, start, end, pods, pool);
          break;
        case MESSAGE.delta:
          envelope = readDelta(buf, start, end, pods, pool);
          break;
        case MESSAGE.heartbeat: {
          const heartbeat = Heartbeat.decode(body);
          envelope = { kind: 'heartbeat', sequence: Number(heartbeat.sequence), socketCount: Number(heartbeat.socketCount) };
          break;
        }
        case MESSAGE.goodbye: {
          const goodbye = Goodbye.decode(body);
          envelope = { kind: 'goodbye', sequence: Number(goodbye.sequence), reason: goodbye.reason };
          break;
        }
      }
    } catch (error) {
      if (error instanceof WireFormatError) throw error;
      throw new WireFormatError(error instanceof Error ? error.message : String(error));
    }
  }
  if (!envelope) throw new WireFormatError('empty message');
  return envelope;
}

/** Namespaces in one message: a few per pod, never many; more is not an agent's. */
const MAX_NAMESPACES = 100_000;

/** A NamespaceTable nested at the reader's position: the node's whole table. */
function namespaceTable(reader: Reader): NamespaceInfo[] {
  const start = reader.delimited();
  const { namespaces } = NamespaceTable.decode(reader.buf.subarray(start, reader.pos));
  if (namespaces.length > MAX_NAMESPACES) throw new WireFormatError(`${namespaces.length} namespaces in one table (at most ${MAX_NAMESPACES})`);
  for (const info of namespaces) {
    if (info.portRangeLow < 1 || info.portRangeLow > info.portRangeHigh || info.portRangeHigh > 65535) throw new WireFormatError(`namespace ${info.netns}: invalid port range ${info.portRangeLow}-${info.portRangeHigh}`);
  }
  return namespaces;
}

/**
 * Where a message's sockets (or removed keys) are ([start, end) pairs), gathered while it is
 * walked. Sockets are read once the whole message was: its PodDefs, which encoders write after
 * the sockets (field order), apply to all of them. Messages are read one at a time, so one set
 * of pairs serves them all.
 */
class SocketBounds {
  private pairs = new Int32Array(1024);
  private count = 0;

  reset(): this {
    this.count = 0;
    return this;
  }

  add(start: number, end: number): void {
    if (2 * this.count + 2 > this.pairs.length) {
      const pairs = new Int32Array(2 * this.pairs.length);
      pairs.set(this.pairs);
      this.pairs = pairs;
    }
    this.pairs[2 * this.count] = start;
    this.pairs[2 * this.count + 1] = end;
    this.count++;
  }

  /** The pairs, flattened: a view of these (valid until the next reset) when `reused`, else a copy. */
  flat(reused: boolean): Int32Array {
    return reused ? this.pairs.subarray(0, 2 * this.count) : this.pairs.slice(0, 2 * this.count);
  }

  /** The sockets, read: into `pool`'s records when given (valid until the pool's next message). */
  read(buf: Buffer, pods: PodCache, pool: PendingPool | undefined): PendingSocket[] {
    if (pool) {
      const sockets = pool.begin();
      for (let i = 0; i < this.count; i++) readSocket(buf, this.pairs[2 * i]!, this.pairs[2 * i + 1]!, pods, pool.next());
      return sockets;
    }
    const sockets: PendingSocket[] = [];
    for (let i = 0; i < this.count; i++) sockets.push(readSocket(buf, this.pairs[2 * i]!, this.pairs[2 * i + 1]!, pods));
    return sockets;
  }
}

const SOCKET_BOUNDS = new SocketBounds();
const REMOVED_BOUNDS = new SocketBounds();

const SNAPSHOT = tagsOf(WIRE.SnapshotChunk);
const DELTA = tagsOf(WIRE.Delta);

function readSnapshot(buf: Buffer, start: number, end: number, pods: PodCache, pool: PendingPool | undefined): Envelope {
  const reader = new Reader(buf, start, end);
  let sequence = 0;
  let snapshotId = 0;
  let index = 0;
  let last = false;
  let namespaces: NamespaceInfo[] | undefined;
  const sockets = SOCKET_BOUNDS.reset();
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case SNAPSHOT.sequence:
        sequence = reader.varint();
        break;
      case SNAPSHOT.snapshotId:
        snapshotId = reader.varint();
        break;
      case SNAPSHOT.index:
        index = reader.varint();
        break;
      case SNAPSHOT.sockets:
        sockets.add(reader.delimited(), reader.pos);
        break;
      case SNAPSHOT.last:
        last = reader.varint() !== 0;
        break;
      case SNAPSHOT.pods: {
        const defStart = reader.delimited();
        pods.define(buf, defStart, reader.pos);
        break;
      }
      case SNAPSHOT.namespaces:
        namespaces = namespaceTable(reader);
        break;
      default:
        reader.skip(wireTypeOf(tag));
    }
  }
  return { kind: 'snapshot', sequence, snapshotId, index, sockets: sockets.read(buf, pods, pool), last, namespaces };
}

function readDelta(buf: Buffer, start: number, end: number, pods: PodCache, pool: PendingPool | undefined): Envelope {
  const reader = new Reader(buf, start, end);
  let sequence = 0;
  const upserted = SOCKET_BOUNDS.reset();
  const removed = REMOVED_BOUNDS.reset();
  let namespaces: NamespaceInfo[] | undefined;
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case DELTA.sequence:
        sequence = reader.varint();
        break;
      case DELTA.upserted:
        upserted.add(reader.delimited(), reader.pos);
        break;
      case DELTA.removedKeys:
        removed.add(reader.delimited(), reader.pos);
        break;
      case DELTA.pods: {
        const defStart = reader.delimited();
        pods.define(buf, defStart, reader.pos);
        break;
      }
      case DELTA.namespaces:
        namespaces = namespaceTable(reader);
        break;
      default:
        reader.skip(wireTypeOf(tag));
    }
  }
  return { kind: 'delta', sequence, upserted: upserted.read(buf, pods, pool), removed: { source: reader.buf, bounds: removed.flat(pool !== undefined) }, namespaces };
}
