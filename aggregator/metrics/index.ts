/** The aggregator's Prometheus metrics: ingest, queries, HTTP, and the sockets it holds per pod. */
export { AggregatorMetrics, type MetricsCollector } from './metrics.js';
export { OTHER, socketSeries, type SocketSeries } from './socket-metrics.js';
