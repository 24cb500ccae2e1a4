import type { PendingSocket } from '../store/index.js';
import type { PodCache } from './pod-cache.js';
import type { SocketBounds } from './socket-bounds.js';

/**
 * What the readers of a snapshot chunk or a delta reuse from one message to the next
 * (StreamReader's): where the message's sockets and removed keys are, and the reading of its
 * sockets, whose results are valid until the next message is read.
 */
export interface MessageParts {
  readonly socketBounds: SocketBounds;
  readonly removedBounds: SocketBounds;
  /** The sockets at `bounds` of `message` (`view` over its bytes), each with its pod. */
  readSockets(bounds: SocketBounds, message: Buffer, view: DataView, pods: PodCache): PendingSocket[];
}
