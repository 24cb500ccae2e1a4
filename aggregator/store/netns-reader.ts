import { tagsOf, WIRE, wireTypeOf } from '../../model/wire-fields.js';
import { Reader, WireFormatError } from '../wire/index.js';

const SOCKET = tagsOf(WIRE.Socket);
const NO_BYTES = Buffer.alloc(0);

/**
 * Socket.netns of stored sockets' bytes (NodeSockets.bytesOf), read without decoding the rest:
 * the findings pass reads it for every pod, every pass, with one reader of its own.
 */
export class NetnsReader {
  private readonly reader = new Reader(NO_BYTES);

  /** The netns as decimal text; '' when absent or not readable. */
  read(bytes: Buffer): string {
    const reader = this.reader.reset(bytes, 0, bytes.length);
    try {
      while (!reader.done) {
        const tag = reader.varint();
        if (tag === SOCKET.netns) return String(reader.varint());
        reader.skip(wireTypeOf(tag));
      }
    } catch (error) {
      if (!(error instanceof WireFormatError)) throw error;
    }
    return '';
  }
}
