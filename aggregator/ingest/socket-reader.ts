import { ssCodeOfName } from '../../model/filter.js';
import { tagsOf, WIRE, wireTypeOf } from '../../model/wire-fields.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import { bytesView, hashKey, type PendingSocket, type PodIndex } from '../store/index.js';
import { Reader, WireFormatError } from '../wire/index.js';
import { PendingRecord } from './pending-pool.js';
import type { PodCache } from './pod-cache.js';

/** Socket fields (socket.proto) the index keeps. */
const T = tagsOf(WIRE.Socket);
const PROCESS = tagsOf(WIRE.ProcessRef);

/** IPv6 text is at most 45 characters (with an IPv4 tail); the store keeps address lengths in a byte. */
const MAX_ADDRESS_BYTES = 64;

/** The largest time a JavaScript Date holds (ms): a firstSeen beyond it could never be printed. */
const MAX_DATE_MS = 8.64e15;

const NO_BYTES = Buffer.alloc(0);

/** Reads Socket messages with readers of its own, allocated once: ingest reads every socket of every message with one. */
export class SocketReader {
  private readonly fields = new Reader(NO_BYTES);
  private readonly holder = new Reader(NO_BYTES);

  /**
   * One Socket message at [start, end) of `buf` (`view` over the same bytes): its indexed
   * fields, its pod (through the connection's cache or its ref) and where its bytes are, read
   * into `into`. A field of an unexpected wire type is skipped, as protobuf decoders do; two pod
   * fields, a pod and a pod ref, or a peer are rejected (agents never send them; the stored
   * bytes leave the pod out, and answers add the peer, which would merge with one stored
   * instead of replacing it).
   */
  read(buf: Buffer, view: DataView, start: number, end: number, pods: PodCache, into: PendingRecord): PendingSocket {
    const reader = this.fields.reset(buf, start, end);
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
          if (pid === 0) pid = this.firstPid(reader.buf, processStart, reader.pos);
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
    into.sourceView = view;
    into.start = start;
    into.cutStart = cutStart;
    into.cutEnd = cutEnd;
    into.end = end;
    into.keyStart = keyStart;
    into.keyEnd = keyEnd;
    into.keyHash = hashKey(view, keyStart, keyEnd);
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

  /**
   * ProcessRef.pid of the ProcessRef at [start, end); 0 when it has none, or when the
   * ProcessRef is malformed: ingest does not judge nested messages (an answer leaves out a
   * socket whose bytes do not decode, query/decode.ts), so neither does this.
   */
  private firstPid(buf: Buffer, start: number, end: number): number {
    const reader = this.holder.reset(buf, start, end);
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
}

/** One socket message on its own (outside a stream), into a fresh record. */
export function readSocket(buf: Buffer, start: number, end: number, pods: PodCache): PendingSocket {
  return new SocketReader().read(buf, bytesView(buf), start, end, pods, new PendingRecord());
}
