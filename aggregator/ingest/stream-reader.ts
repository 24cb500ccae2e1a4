import { Goodbye, Heartbeat, Hello } from '../../gen/kubenetstat/v1/agent.js';
import { tagsOf, WIRE, wireTypeOf } from '../../model/wire-fields.js';
import { bytesView, type PendingSocket } from '../store/index.js';
import { Reader, WireFormatError } from '../wire/index.js';
import { readDelta } from './delta.js';
import type { Envelope } from './envelope.js';
import type { MessageParts } from './message-parts.js';
import { PendingPool } from './pending-pool.js';
import type { PodCache } from './pod-cache.js';
import { readSnapshot } from './snapshot.js';
import { SocketBounds } from './socket-bounds.js';
import { SocketReader } from './socket-reader.js';

const MESSAGE = tagsOf(WIRE.StreamRequest);

/**
 * Reads the StreamRequests agents send (proto/kubenetstat/v1/agent.proto) as gRPC hands them
 * over, raw: the aggregator keeps each socket as the bytes its agent sent plus the few fields
 * queries filter on, so this walks the encoding field by field and copies out only the socket
 * bytes, key and indexed fields; hello, heartbeat and goodbye are small and decoded.
 *
 * What it reuses from one message to the next (field readers, where a message's sockets and
 * removed keys are, the records its sockets are read into) is its own: an Envelope it returns
 * is valid until its next read. One serves every connection of an ingest, which applies each
 * message before it reads the next.
 */
export class StreamReader implements MessageParts {
  readonly socketBounds = new SocketBounds();
  readonly removedBounds = new SocketBounds();
  private readonly sockets = new SocketReader();
  private readonly pool = new PendingPool();

  /** One StreamRequest; input that is not one throws WireFormatError. */
  read(buf: Buffer, pods: PodCache): Envelope {
    const reader = new Reader(buf);
    let envelope: Envelope | undefined;
    while (!reader.done) {
      const tag = reader.varint();
      switch (tag) {
        case MESSAGE.hello:
        case MESSAGE.snapshot:
        case MESSAGE.delta:
        case MESSAGE.heartbeat:
        case MESSAGE.goodbye: {
          const start = reader.delimited();
          envelope = this.message(tag, buf, start, reader.pos, pods);
          break;
        }
        default:
          reader.skip(wireTypeOf(tag));
      }
    }
    if (!envelope) throw new WireFormatError('empty message');
    return envelope;
  }

  readSockets(bounds: SocketBounds, message: Buffer, view: DataView, pods: PodCache): PendingSocket[] {
    const sockets = this.pool.begin();
    for (let i = 0; i < bounds.count; i++) this.sockets.read(message, view, bounds.startOf(i), bounds.endOf(i), pods, this.pool.next());
    return sockets;
  }

  /** The message kind `tag` names, at [start, end) of `buf`. */
  private message(tag: number, buf: Buffer, start: number, end: number, pods: PodCache): Envelope {
    const body = buf.subarray(start, end);
    try {
      switch (tag) {
        case MESSAGE.hello:
          return { kind: 'hello', hello: Hello.decode(body) };
        case MESSAGE.snapshot:
          return readSnapshot(buf, bytesView(buf), start, end, pods, this);
        case MESSAGE.delta:
          return readDelta(buf, bytesView(buf), start, end, pods, this);
        case MESSAGE.heartbeat: {
          const heartbeat = Heartbeat.decode(body);
          return { kind: 'heartbeat', sequence: Number(heartbeat.sequence), socketCount: Number(heartbeat.socketCount) };
        }
        default: {
          const goodbye = Goodbye.decode(body);
          return { kind: 'goodbye', sequence: Number(goodbye.sequence), reason: goodbye.reason };
        }
      }
    } catch (error) {
      if (error instanceof WireFormatError) throw error;
      throw new WireFormatError(error instanceof Error ? error.message : String(error));
    }
  }
}
