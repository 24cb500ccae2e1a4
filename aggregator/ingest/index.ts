/** Where agents' streams come in: each StreamRequest read without decoding its sockets, checked, and applied to the store. */
export { IngestService } from './service.js';
export type { IngestEvent, IngestOptions } from './types.js';
export { StreamReader } from './stream-reader.js';
export { PodCache } from './pod-cache.js';
export { readSocket } from './socket-reader.js';
export { RemovedKeySet } from './removed-keys.js';
