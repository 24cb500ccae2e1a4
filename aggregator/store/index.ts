/** Where the aggregator holds what agents sent: every node's state, and each node's sockets as their encoded bytes plus the fields queries filter on. */
export { applyNamespaceTable, listenOverflowsOf, NodeStore, portRangeOf, type NodeState, type UnavailableCause } from './node-store.js';
export { NodeSockets } from './node-sockets.js';
export { SocketChunks } from './socket-chunks.js';
export { SlotView } from './slot-view.js';
export { inPod, PodIndex } from './pod-index.js';
export type { PendingSocket } from './pending-socket.js';
export { hashKey } from './hash.js';
export { bytesView } from './bytes.js';
export { NetnsReader } from './netns-reader.js';
