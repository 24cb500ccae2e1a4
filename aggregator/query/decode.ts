import { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { PeerResolver } from '../peers/types.js';
import type { NodeSockets, PodIndex } from '../store/index.js';

/**
 * A stored socket as the answer carries it: decoded, with its pod, always labelled with the
 * node that holds it, and with its peer when `peers` names one. Ingest indexes sockets without
 * decoding their nested messages, so a socket whose bytes do not decode is left out of answers
 * (and counted) instead of failing them.
 */
export function decodeStored(sockets: NodeSockets, slot: number, node: string, peers?: PeerResolver): Socket | undefined {
  return decodeSocket(sockets.bytesOf(slot), sockets.pod(slot), node, peers);
}

/** decodeStored for bytes and a pod kept apart from the store (a watcher's last known socket). */
export function decodeSocket(bytes: Uint8Array, pod: PodIndex | undefined, node: string, peers?: PeerResolver): Socket | undefined {
  try {
    const socket = Socket.decode(bytes);
    if (pod) socket.pod = pod.ref();
    // Agents send pods by ref on their stream; answers carry the pod itself.
    socket.podRef = 0;
    socket.node = node;
    // Shared by every answer naming the same peer: callers must not mutate it.
    socket.peer = peers?.peerOf(socket.foreignAddress, socket.foreignPort)?.message;
    return socket;
  } catch (error) {
    if (error instanceof Error) return undefined;
    throw error;
  }
}

