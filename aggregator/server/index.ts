/** The aggregator's faces: its gRPC services and HTTP API over one store, and the process it runs in. */
export { startAggregator, type AggregatorOptions, type RunningAggregator } from './server.js';
export { createHttpServer } from './http.js';
export { SESSION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from './http2-windows.js';
export { tuneAggregatorHeap } from './heap.js';
