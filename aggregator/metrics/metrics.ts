import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestEvent } from '../ingest/index.js';
import type { NodeStore, UnavailableCause } from '../store/index.js';
import { isWatch, QueryError } from '../query/index.js';
import { registerSocketMetrics } from './socket-metrics.js';
import type { LogFn } from '../../common/log.js';

/**
 * Adds series to the aggregator's /metrics without touching this module: it registers its
 * prom-client metrics on the registry it is given (`registers: [registry]`), a gauge computed
 * at scrape time filling itself in its `collect()`. Hand it to AggregatorMetrics.add (or
 * AggregatorOptions.metricsCollectors); a name registered twice throws there, at start-up.
 */
export type MetricsCollector = (registry: Registry) => void;

export interface AggregatorMetricsOptions {
  /** Pods with series of their own in kubenetstat_sockets; the others are folded (socket-metrics.ts). */
  readonly maxPods: number;
  /** Watches open now. */
  readonly openWatches: () => number;
  /** Node.js process metrics (process_*, nodejs_*) on this registry too; default true. */
  readonly processMetrics?: boolean;
  readonly log: LogFn;
}

/** A node's state as kubenetstat_nodes counts it. */
const NODE_STATUSES = ['live', 'syncing', 'stale', 'disconnected'] as const;
const STATUS_OF: Readonly<Record<UnavailableCause, (typeof NODE_STATUSES)[number]>> = {
  'first-snapshot': 'syncing',
  resyncing: 'syncing',
  stale: 'stale',
  disconnected: 'disconnected',
};

/** Query latency buckets (s): a filtered query over 1M sockets should answer in under 50 ms. */
const QUERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * HTTP routes timed under their own name (a path below one counts as it: `/api/v1/history/x`
 * is `/api/v1/history`); any other path is `other`, so clients cannot make new series.
 */
const HTTP_ROUTES = ['/api/v1/sockets', '/api/v1/summary', '/api/v1/top', '/api/v1/findings', '/api/v1/history', '/metrics', '/healthz', '/readyz'] as const;

function httpRoute(pathname: string): string {
  return HTTP_ROUTES.find((route) => pathname === route || pathname.startsWith(`${route}/`)) ?? 'other';
}

/** A watch streams until its client leaves: its duration is not a latency. A bad `watch` value is answered at once, like any query. */
function opensWatch(params: URLSearchParams): boolean {
  try {
    return isWatch(params);
  } catch (error) {
    if (error instanceof QueryError) return false;
    throw error;
  }
}

/**
 * The aggregator's Prometheus metrics, on a registry of its own: socket counts by state per
 * namespace, workload and pod (socket-metrics.ts, computed at scrape time), and its own health —
 * nodes by status, sockets held, ingest, query latency, watches. Ingest and the query
 * transports report through the hooks below; other modules add series with add().
 */
export class AggregatorMetrics {
  readonly registry = new Registry();
  private readonly changes: Counter;
  private readonly messages: Counter<'kind'>;
  private readonly rejected: Counter<'reason'>;
  private readonly snapshots: Counter;
  private readonly resyncs: Counter;
  private readonly queries: Histogram<'transport' | 'route'>;

  constructor(
    store: NodeStore,
    private readonly options: AggregatorMetricsOptions,
  ) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    registerSocketMetrics(this.registry, store, options.maxPods);
    new Gauge({
      name: 'kubenetstat_nodes',
      help: 'Nodes by status: live (vouched for), syncing (first snapshot or a resync in progress), stale (silent longer than --stale-after), disconnected (until evicted).',
      labelNames: ['status'],
      registers,
      collect() {
        const counts = Object.fromEntries(NODE_STATUSES.map((status) => [status, 0])) as Record<(typeof NODE_STATUSES)[number], number>;
        for (const node of store.all()) {
          const cause = store.unavailableCause(node);
          counts[cause === undefined ? 'live' : STATUS_OF[cause]]++;
        }
        for (const status of NODE_STATUSES) this.set({ status }, counts[status]);
      },
    });
    new Gauge({
      name: 'kubenetstat_stored_sockets',
      help: 'Sockets the aggregator holds, every node together.',
      registers,
      collect() {
        this.set(store.socketCount);
      },
    });
    new Gauge({
      name: 'kubenetstat_watches_open',
      help: 'Watches open now (gRPC and HTTP; at most --max-watches).',
      registers,
      collect() {
        this.set(options.openWatches());
      },
    });
    this.changes = new Counter({ name: 'kubenetstat_ingest_changes_total', help: 'Socket changes applied from agents: sockets of complete snapshots, upserts and removals of deltas.', registers });
    this.messages = new Counter({ name: 'kubenetstat_ingest_messages_total', help: 'Messages read from agent streams, by kind (hello, snapshot chunk, delta, heartbeat, goodbye).', labelNames: ['kind'], registers });
    this.rejected = new Counter({ name: 'kubenetstat_ingest_errors_total', help: 'Agent streams ended for bad input or a lost claim, by the gRPC status sent (invalid_argument, resource_exhausted, failed_precondition, aborted, internal).', labelNames: ['reason'], registers });
    this.snapshots = new Counter({ name: 'kubenetstat_ingest_snapshots_total', help: 'Complete snapshots applied (each replaces a node\'s sockets).', registers });
    this.resyncs = new Counter({ name: 'kubenetstat_ingest_resyncs_total', help: 'Resyncs asked of agents (a sequence gap, a snapshot out of order, a count mismatch).', registers });
    this.queries = new Histogram({
      name: 'kubenetstat_query_duration_seconds',
      help: 'Time to answer a query, by transport (grpc, http) and route (the RPC: List, Summary, Top; or the HTTP path). Watches are not timed: kubenetstat_watches_open counts them.',
      labelNames: ['transport', 'route'],
      buckets: QUERY_BUCKETS,
      registers,
    });
  }

  /** IngestOptions.onApplied. */
  readonly onApplied = (changes: number): void => this.changes.inc(changes);

  /** IngestOptions.onEvent. */
  readonly onIngestEvent = (event: IngestEvent): void => {
    switch (event.kind) {
      case 'message':
        return this.messages.inc({ kind: event.message });
      case 'snapshot':
        return this.snapshots.inc();
      case 'resync':
        return this.resyncs.inc();
      case 'rejected':
        return this.rejected.inc({ reason: event.code.toLowerCase() });
    }
  };

  /** A gRPC query's answer, timed as `route` (its RPC name), failures included. */
  timed<Request, Response>(route: string, answer: (request: Request) => Response): (request: Request) => Response {
    return (request) => {
      const end = this.queries.startTimer({ transport: 'grpc', route });
      try {
        return answer(request);
      } finally {
        end();
      }
    };
  }

  /** Times an HTTP request until its answer is sent (watches excepted). */
  observeHttp(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://aggregator');
    if (opensWatch(url.searchParams)) return;
    const end = this.queries.startTimer({ transport: 'http', route: httpRoute(url.pathname) });
    response.once('finish', () => end());
  }

  /** Answers GET /metrics in Prometheus' text format. */
  serve(response: ServerResponse): void {
    this.registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': this.registry.contentType, 'content-length': Buffer.byteLength(text) });
        response.end(text);
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.options.log('metrics failed', { error: message }, 'error');
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`metrics failed: ${message}\n`);
      },
    );
  }

  /** Adds another module's series (see MetricsCollector). */
  add(collector: MetricsCollector): void {
    collector(this.registry);
  }
}
