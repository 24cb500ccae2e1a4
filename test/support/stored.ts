import { NodeSockets, SocketChunks } from '../../aggregator/store/index.js';
import { PodCache, readSocket } from '../../aggregator/ingest/index.js';
import { Socket } from '../../gen/kubenetstat/v1/socket.js';

/** Stores one socket as ingest does: the agent's encoding read by readSocket, pods through `pods`, arriving at `nowMs`. */
export function putSocket(store: NodeSockets, pods: PodCache, socket: Socket, nowMs?: number): void {
  const bytes = Buffer.from(Socket.encode(socket).finish());
  store.put(readSocket(bytes, 0, bytes.length, pods), nowMs);
}

/** A node's store holding these sockets, as one agent connection would have sent them (at `nowMs`). */
export function storedSockets(sockets: readonly Socket[], nowMs?: number): NodeSockets {
  const store = new NodeSockets(new SocketChunks());
  const pods = new PodCache();
  for (const socket of sockets) putSocket(store, pods, socket, nowMs);
  return store;
}
