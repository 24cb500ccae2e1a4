import { Goodbye, Heartbeat, Hello } from '../gen/kubenetstat/v1/agent.js';

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

export interface PodIndex {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface StoredSocket {
  readonly key: string;
  /** The Socket message exactly as the agent encoded it. */
  readonly bytes: Uint8Array;
  readonly proto: number;
  readonly stateCode: number;
  readonly ssState: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly foreignAddress: string;
  readonly foreignPort: number;
  readonly pod: PodIndex | undefined;
}

export type Envelope =
  | { readonly kind: 'hello'; readonly hello: Hello }
  | { readonly kind: 'snapshot'; readonly sequence: number; readonly snapshotId: number; readonly index: number; readonly sockets: StoredSocket[]; readonly last: boolean }
  | { readonly kind: 'delta'; readonly sequence: number; readonly upserted: StoredSocket[]; readonly removed: string[] }
  | { readonly kind: 'heartbeat'; readonly sequence: number; readonly socketCount: number }
  | { readonly kind: 'goodbye'; readonly sequence: number; readonly reason: string };


/** A minimal protobuf reader over one buffer: varints and length-delimited fields. */
class Reader {
  pos: number;
  readonly buf: Buffer;
  constructor(
    buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a number; beyond 2^53 the input is not ours. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw new WireFormatError('varint out of range');
        return value;
      }
      scale *= 128;
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** The [start, end) of a length-delimited field's payload; the reader moves past it. */
  delimited(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new WireFormatError('field runs past its message');
    this.pos = end;
    return [start, end];
  }

  /** A string field; invalid UTF-8 becomes U+FFFD, as protobuf-es does when not strict. */
  string(): string {
    const [start, end] = this.delimited();
    return this.buf.toString('utf8', start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.delimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireFormatError('field runs past its message');
  }
}

/** Interned strings: addresses, states and pods repeat across thousands of sockets. */
class Interner<T> {
  private readonly values = new Map<string, T>();
  constructor(private readonly limit: number) {}
  get(key: string, make: () => T): T {
    let value = this.values.get(key);
    if (value === undefined) {
      if (this.values.size >= this.limit) this.values.clear();
      value = make();
      this.values.set(key, value);
    }
    return value;
  }
}

const strings = new Interner<string>(200_000);
const pods = new Interner<PodIndex>(100_000);
const intern = (text: string): string => strings.get(text, () => text);

function readPod(buf: Uint8Array, start: number, end: number): PodIndex {
  const signature = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
  return pods.get(signature, () => {
    const reader = new Reader(buf, start, end);
    let namespace = '';
    let name = '';
    const labels: Record<string, string> = {};
    while (!reader.done) {
      const tag = reader.varint();
      const field = tag >>> 3;
      if (field === 1 && (tag & 7) === 2) namespace = reader.string();
      else if (field === 2 && (tag & 7) === 2) name = reader.string();
      else if (field === 9 && (tag & 7) === 2) {
        const [entryStart, entryEnd] = reader.delimited();
        const entry = new Reader(buf, entryStart, entryEnd);
        let key = '';
        let value = '';
        while (!entry.done) {
          const entryTag = entry.varint();
          if (entryTag === 10) key = entry.string();
          else if (entryTag === 18) value = entry.string();
          else entry.skip(entryTag & 7);
        }
        labels[key] = value;
      } else reader.skip(tag & 7);
    }
    return { namespace: intern(namespace), name: intern(name), labels };
  });
}

/** Socket fields (socket.proto) the index keeps. */
const F = { pod: 3, proto: 4, localAddress: 5, localPort: 6, foreignAddress: 7, foreignPort: 8, stateCode: 9, firstSeen: 22, key: 24, ssState: 26 } as const;

const INDEXED_VARINTS: ReadonlySet<number> = new Set([F.proto, F.stateCode, F.localPort, F.foreignPort, F.firstSeen]);
const INDEXED_STRINGS: ReadonlySet<number> = new Set([F.pod, F.key, F.localAddress, F.foreignAddress, F.ssState]);

/** The largest time a JavaScript Date holds (ms): a firstSeen beyond it could never be printed. */
const MAX_DATE_MS = 8.64e15;

export function readSocket(buf: Uint8Array, start: number, end: number): StoredSocket {
  const reader = new Reader(buf, start, end);
  let key = '';
  let proto = 0;
  let stateCode = 0;
  let ssState = '';
  let localAddress = '';
  let localPort = 0;
  let foreignAddress = '';
  let foreignPort = 0;
  let pod: PodIndex | undefined;
  while (!reader.done) {
    const tag = reader.varint();
    const wireType = tag & 7;
    const field = tag >>> 3;
    // A field of an unexpected wire type is skipped, as protobuf decoders do.
    if (wireType === 0 && INDEXED_VARINTS.has(field)) {
      const value = reader.varint();
      if (field === F.proto) proto = value;
      else if (field === F.stateCode) stateCode = value;
      else if (field === F.localPort) localPort = value;
      else if (field === F.foreignPort) foreignPort = value;
      else if (value > MAX_DATE_MS) throw new WireFormatError('firstSeen out of range');
    } else if (wireType === 2 && INDEXED_STRINGS.has(field)) {
      if (field === F.pod) {
        const [podStart, podEnd] = reader.delimited();
        pod = readPod(buf, podStart, podEnd);
        continue;
      }
      const value = reader.string();
      if (field === F.key) key = value;
      else if (field === F.localAddress) localAddress = intern(value);
      else if (field === F.foreignAddress) foreignAddress = intern(value);
      else ssState = intern(value);
    } else {
      reader.skip(wireType);
    }
  }
  if (!key) throw new WireFormatError('a socket without a key');
  if (localPort > 0xffff || foreignPort > 0xffff) throw new WireFormatError('port out of range');
  // A private copy: the socket outlives the message it came in.
  const bytes = Buffer.from(buf.subarray(start, end));
  return { key, bytes, proto, stateCode, ssState, localAddress, localPort, foreignAddress, foreignPort, pod: pod?.name ? pod : undefined };
}

/** Parses one StreamRequest as received (gRPC's raw message bytes). */
export function readEnvelope(buf: Uint8Array): Envelope {
  const reader = new Reader(buf);
  let envelope: Envelope | undefined;
  while (!reader.done) {
    const tag = reader.varint();
    const field = tag >>> 3;
    if ((tag & 7) !== 2 || field < 1 || field > 5) {
      reader.skip(tag & 7);
      continue;
    }
    const [start, end] = reader.delimited();
    const body = buf.subarray(start, end);
    try {
      switch (field) {
        case 1:
          envelope = { kind: 'hello', hello: Hello.decode(body) };
          break;
        case 2:
          envelope = readSnapshot(buf, start, end);
          break;
        case 3:
          envelope = readDelta(buf, start, end);
          break;
        case 4: {
          const heartbeat = Heartbeat.decode(body);
          envelope = { kind: 'heartbeat', sequence: Number(heartbeat.sequence), socketCount: Number(heartbeat.socketCount) };
          break;
        }
        case 5: {
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

/** A Socket message nested at the reader's position (a repeated Socket field). */
function nestedSocket(reader: Reader): StoredSocket {
  const [start, end] = reader.delimited();
  return readSocket(reader.buf, start, end);
}

function readSnapshot(buf: Uint8Array, start: number, end: number): Envelope {
  const reader = new Reader(buf, start, end);
  let sequence = 0;
  let snapshotId = 0;
  let index = 0;
  let last = false;
  const sockets: StoredSocket[] = [];
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case 8:
        sequence = reader.varint();
        break;
      case 16:
        snapshotId = reader.varint();
        break;
      case 24:
        index = reader.varint();
        break;
      case 34:
        sockets.push(nestedSocket(reader));
        break;
      case 40:
        last = reader.varint() !== 0;
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return { kind: 'snapshot', sequence, snapshotId, index, sockets, last };
}

function readDelta(buf: Uint8Array, start: number, end: number): Envelope {
  const reader = new Reader(buf, start, end);
  let sequence = 0;
  const upserted: StoredSocket[] = [];
  const removed: string[] = [];
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case 8:
        sequence = reader.varint();
        break;
      case 18:
        upserted.push(nestedSocket(reader));
        break;
      case 26:
        removed.push(reader.string());
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return { kind: 'delta', sequence, upserted, removed };
}
