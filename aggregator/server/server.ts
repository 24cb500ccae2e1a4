import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AddressInfo } from 'node:net';
import { AgentServiceService } from '../../gen/kubenetstat/v1/agent.js';
import { ListRequest, QueryServiceService, type WatchRequest, type FindingsRequest, type FindingsResponse, type HistoryRequest, type HistoryResponse, type SummaryRequest, type SummaryResponse, type SummaryRow as WireSummaryRow, type TopRequest, type TopResponse } from '../../gen/kubenetstat/v1/query.js';
import { AGGREGATOR_DEFAULTS } from '../../config/aggregator-settings.js';
import { WIRE_TO_PROTO } from '../../model/wire.js';
import { splitHostPort } from '../../config/listen.js';
import type { SocketProto } from '../../model/socket.js';
import { findingsQueryOfRequest, findingsResponse, historyResponse, NotFoundError, type FindingsApi, type FindingsSettings, type PortRangeOf } from '../findings/index.js';
import { findingsCollector } from '../findings/metrics.js';
import { widenReceiveWindows } from './http2-windows.js';
import { createFindings } from '../findings/start.js';
import type { HistorySettings } from '../history/index.js';
import { createHttpServer } from './http.js';
import { IngestService } from '../ingest/index.js';
import { AggregatorMetrics, type MetricsCollector } from '../metrics/index.js';
import { NodeStore, portRangeOf } from '../store/index.js';
import type { ClusterPeers } from '../peers/index.js';
import { listSocketsEncoded, QueryError, rankingOf, summarize, topPods, WatchHub, type Grouping, type QuerySpec, type SummaryRow } from '../query/index.js';
import { watchHandler } from './watch-grpc.js';
import type { AgentAuthenticator } from '../auth/agent-auth.js';
import { QueryGuard } from '../auth/guard.js';
import { gatedStream, gatedUnary, type GrpcGate, type NamespaceAccess } from '../auth/grpc-gate.js';
import type { FilterLimits } from '../auth/limits.js';
import type { QueryAuthorizer } from '../auth/query-auth.js';
import type { LogFn } from '../../common/log.js';

export interface AggregatorOptions {
  /** host:port for agents and gRPC queries; port 0 picks one. */
  readonly grpcListen: string;
  /** host:port for HTTP/JSON queries and health; port 0 picks one. */
  readonly httpListen: string;
  readonly staleAfterMs: number;
  readonly evictAfterMs: number;
  readonly maxMessageBytes: number;
  readonly maxSocketsPerMessage: number;
  readonly maxSocketsPerNode: number;
  /** Between two looks for changes by every open watch (ms); default AGGREGATOR_DEFAULTS.watchPollSeconds. */
  readonly watchPollMs?: number;
  /** Watches open at once; default AGGREGATOR_DEFAULTS.maxWatches. */
  readonly maxWatches?: number;
  /** Watches one client (authenticated user, else remote address) may hold open; default AGGREGATOR_DEFAULTS.maxWatchesPerClient. */
  readonly maxWatchesPerClient?: number;
  /** Watches open through the API server's service proxy, all users together; default AGGREGATOR_DEFAULTS.maxProxiedWatches. */
  readonly maxProxiedWatches?: number;
  /** Cluster access for peer names (aggregator/peers); answers name no peers without it. */
  readonly kubeConfig?: KubeConfig;
  /** Pods with socket series of their own on /metrics; default AGGREGATOR_DEFAULTS.metricsMaxPods. */
  readonly metricsMaxPods?: number;
  /** More series for /metrics (metrics.ts MetricsCollector). */
  readonly metricsCollectors?: readonly MetricsCollector[];
  /** Leak rules and how often they run; default AGGREGATOR_DEFAULTS.findings. */
  readonly findings?: FindingsSettings & { readonly evaluateEverySeconds: number };
  /** Per-pod history; default AGGREGATOR_DEFAULTS.history. */
  readonly history?: HistorySettings;
  /** Cluster access to post a Kubernetes Event on a pod when a finding opens; none without it. */
  readonly eventsKubeConfig?: KubeConfig;
  /** Each namespace's ephemeral port range; default: as the node's agent reported it (store/node-store.ts). */
  readonly portRangeOf?: PortRangeOf;
  /** Agents must authenticate (aggregator/auth/agent-auth.ts); undefined: any agent may write any node. */
  readonly agentAuth?: AgentAuthenticator;
  /** Queries must authenticate and see only their namespaces (aggregator/auth/query-auth.ts); undefined: no authentication. */
  readonly queryAuth?: QueryAuthorizer;
  /** Queries per second and burst per client; default AGGREGATOR_DEFAULTS.queryRate. */
  readonly queryRate?: { readonly perSecond: number; readonly burst: number };
  /** Values per filter and text length; default AGGREGATOR_DEFAULTS.filterLimits. */
  readonly filterLimits?: FilterLimits;
  /** TLS for the gRPC listener (PEM); with clientCa, clients must present a certificate it issued. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer; readonly clientCa?: Buffer };
  readonly log: LogFn;
}

export interface RunningAggregator {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly store: NodeStore;
  /** The informers naming peers, when the aggregator has cluster access. */
  readonly peers: ClusterPeers | undefined;
  /** What GET /metrics serves; add() takes more series. */
  readonly metrics: AggregatorMetrics;
  /** Leak findings and per-pod history (aggregator/findings, aggregator/history). */
  readonly findings: FindingsApi;
  /** Stops accepting, ends agent streams (they reconnect elsewhere), closes listeners. */
  stop(): Promise<void>;
}

/** A ListRequest (or its absence) as the query functions take it. */
function querySpecOf(request: ListRequest | undefined): QuerySpec {
  if (!request) return {};
  return {
    namespaces: request.namespaces,
    protos: request.protos.map((proto) => WIRE_TO_PROTO.get(proto)).filter((proto): proto is SocketProto => proto !== undefined),
    states: request.states,
    ports: request.ports,
    addresses: request.addresses,
    localPorts: request.localPorts,
    foreignPorts: request.foreignPorts,
    localAddresses: request.localAddresses,
    foreignAddresses: request.foreignAddresses,
    nodes: request.nodes,
    containers: request.containers,
    workloads: request.workloads,
    limit: request.limit,
    ...(request.labelSelector && { labelSelector: request.labelSelector }),
    ...(request.pod && { pod: request.pod }),
    ...(request.continueToken && { continueToken: request.continueToken }),
    ...(request.sortBy && { sortBy: request.sortBy }),
    ...(request.minRecvQ > 0n && { minRecvQ: Number(request.minRecvQ) }),
    ...(request.minSendQ > 0n && { minSendQ: Number(request.minSendQ) }),
    ...(request.minAgeSeconds > 0 && { minAgeSeconds: request.minAgeSeconds }),
    ...(request.listening !== undefined && { listening: request.listening }),
  };
}

function summaryRow(row: SummaryRow, value: number): WireSummaryRow {
  return {
    node: row.node ?? '',
    namespace: row.namespace ?? '',
    pod: row.pod ?? '',
    workload: row.workload ?? undefined,
    total: BigInt(row.total),
    states: Object.fromEntries(Object.entries(row.states).map(([state, count]) => [state, BigInt(count)])),
    recvQ: BigInt(row.recvQ),
    sendQ: BigInt(row.sendQ),
    value: BigInt(value),
  };
}

/** Where each QueryService request names its namespaces (aggregator/auth/grpc-gate.ts). */
const LIST_NAMESPACES: NamespaceAccess<ListRequest> = { requested: (request) => request.namespaces, narrowed: (request, namespaces) => ({ ...request, namespaces }), spec: querySpecOf };
function filterNamespaces<Request extends { filter?: ListRequest | undefined }>(): NamespaceAccess<Request> {
  return {
    requested: (request) => request.filter?.namespaces ?? [],
    narrowed: (request, namespaces) => ({ ...request, filter: { ...(request.filter ?? ListRequest.fromPartial({})), namespaces } }),
    spec: (request) => querySpecOf(request.filter),
  };
}
const FINDINGS_NAMESPACES: NamespaceAccess<FindingsRequest> = { requested: (request) => request.namespaces, narrowed: (request, namespaces) => ({ ...request, namespaces }), mustName: true };
const HISTORY_NAMESPACE: NamespaceAccess<HistoryRequest> = { requested: (request) => (request.namespace ? [request.namespace] : []), narrowed: (request) => request, mustName: true };

/** Plain TCP, or TLS from mounted PEM files; with a client CA, clients must present a certificate it issued (mutual TLS). */
function grpcCredentials(tls: AggregatorOptions['tls']): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], tls.clientCa !== undefined);
}

/** A unary handler: QueryError is the caller's mistake (INVALID_ARGUMENT), anything else INTERNAL. */
function unary<Request, Response>(log: AggregatorOptions['log'], answer: (request: Request) => Response) {
  return (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>): void => {
    try {
      callback(null, answer(call.request));
    } catch (error) {
      if (error instanceof QueryError) return callback({ code: status.INVALID_ARGUMENT, details: error.message });
      if (error instanceof NotFoundError) return callback({ code: status.NOT_FOUND, details: error.message });
      log('query failed', { error: error instanceof Error ? error.message : String(error) }, 'error');
      callback({ code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** Peer names' informers, not started yet; their module (and the client library) loads only with cluster access. */
async function clusterPeers(kubeConfig: KubeConfig, log: AggregatorOptions['log']): Promise<ClusterPeers> {
  const { ClusterPeers } = await import('../peers/index.js');
  return new ClusterPeers({ kubeConfig, log });
}

export async function startAggregator(options: AggregatorOptions): Promise<RunningAggregator> {
  const peers = options.kubeConfig ? await clusterPeers(options.kubeConfig, options.log) : undefined;
  const store = new NodeStore({ staleAfterMs: options.staleAfterMs, evictAfterMs: options.evictAfterMs, log: options.log, ...(peers && { peers }) });
  const metrics = new AggregatorMetrics(store, { maxPods: options.metricsMaxPods ?? AGGREGATOR_DEFAULTS.metricsMaxPods, openWatches: () => watches.size, log: options.log });
  for (const collector of options.metricsCollectors ?? []) metrics.add(collector);
  const findings = await createFindings(store, {
    settings: options.findings ?? AGGREGATOR_DEFAULTS.findings,
    history: options.history ?? AGGREGATOR_DEFAULTS.history,
    eventsKubeConfig: options.eventsKubeConfig,
    portRangeOf: options.portRangeOf ?? portRangeOf,
    log: options.log,
  });
  metrics.add(findingsCollector(findings.api.engine, findings.api.history));
  const gate: GrpcGate = {
    guard: new QueryGuard({ authorizer: options.queryAuth, rate: options.queryRate ?? AGGREGATOR_DEFAULTS.queryRate, store }),
    limits: options.filterLimits ?? AGGREGATOR_DEFAULTS.filterLimits,
  };
  const ingest = new IngestService(store, { ...(options.agentAuth && { authenticate: options.agentAuth }), maxSocketsPerMessage: options.maxSocketsPerMessage, maxSocketsPerNode: options.maxSocketsPerNode, log: options.log, onApplied: metrics.onApplied, onEvent: metrics.onIngestEvent });
  const watches = new WatchHub(store, {
    pollMs: options.watchPollMs ?? AGGREGATOR_DEFAULTS.watchPollSeconds * 1000,
    maxWatches: options.maxWatches ?? AGGREGATOR_DEFAULTS.maxWatches,
    maxWatchesPerClient: options.maxWatchesPerClient ?? AGGREGATOR_DEFAULTS.maxWatchesPerClient,
    maxProxiedWatches: options.maxProxiedWatches ?? AGGREGATOR_DEFAULTS.maxProxiedWatches,
    log: options.log,
  });
  const grpc = new Server({ 'grpc.max_receive_message_length': options.maxMessageBytes });
  // Requests stay raw bytes: the ingest reads them with its StreamReader instead of decoding every socket.
  const rawAgentService = { stream: { ...AgentServiceService.stream, requestDeserialize: (bytes: Buffer): Buffer => bytes } };
  grpc.addService(rawAgentService, { stream: ingest.stream });
  // List answers are assembled from the stored bytes (query/encoded-list.ts): already encoded.
  const rawQueryService = { ...QueryServiceService, list: { ...QueryServiceService.list, responseSerialize: (bytes: Buffer): Buffer => bytes } };
  grpc.addService(rawQueryService, {
    list: gatedUnary(gate, LIST_NAMESPACES, unary(options.log, metrics.timed('List', (request: ListRequest): Buffer => {
      const result = listSocketsEncoded(store, querySpecOf(request));
      if (result.undecodable > 0) options.log('sockets left out of an answer: their bytes do not decode', { count: result.undecodable }, 'error');
      return result.bytes;
    })), options.log),
    summary: gatedUnary(gate, filterNamespaces<SummaryRequest>(), unary(options.log, metrics.timed('Summary', (request: SummaryRequest): SummaryResponse => {
      const result = summarize(store, querySpecOf(request.filter), (request.by || 'namespace') as Grouping);
      return { rows: result.rows.map((row) => summaryRow(row, 0)), unavailableNodes: result.unavailable };
    })), options.log),
    top: gatedUnary(gate, filterNamespaces<TopRequest>(), unary(options.log, metrics.timed('Top', (request: TopRequest): TopResponse => {
      const result = topPods(store, querySpecOf(request.filter), rankingOf(request.by), request.limit || 10);
      return { rows: result.rows.map((row) => summaryRow(row, row.value)), unavailableNodes: result.unavailable };
    })), options.log),
    watch: gatedStream(gate, filterNamespaces<WatchRequest>(), watchHandler(watches, (request) => querySpecOf(request.filter), options.log), options.log),
    findings: gatedUnary(gate, FINDINGS_NAMESPACES, unary(options.log, metrics.timed('Findings', (request: FindingsRequest): FindingsResponse => findingsResponse(findings.api, findingsQueryOfRequest(request)))), options.log),
    history: gatedUnary(gate, HISTORY_NAMESPACE, unary(options.log, metrics.timed('History', (request: HistoryRequest): HistoryResponse => historyResponse(findings.api, request.namespace, request.pod))), options.log),
  });
  const grpcAddress = splitHostPort(options.grpcListen);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync(`${grpcAddress.host.includes(':') ? `[${grpcAddress.host}]` : grpcAddress.host}:${grpcAddress.port}`, grpcCredentials(options.tls), (error, port) => (error ? reject(error) : resolve(port))),
  );
  widenReceiveWindows(grpc, options.log);

  let ready = false;
  const http = createHttpServer(store, () => ready, options.log, watches, metrics, findings.api, gate);
  const httpAddress = splitHostPort(options.httpListen);
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(httpAddress.port, httpAddress.host, () => resolve());
    });
  } catch (error) {
    // Nothing may keep the process alive after a failed start.
    grpc.forceShutdown();
    watches.close('aggregator failed to start');
    throw error;
  }
  const httpPort = (http.address() as AddressInfo).port;
  const sweeper = setInterval(() => store.sweep(), 1_000);
  sweeper.unref();
  ready = true;
  // Started once nothing can fail: they would keep a process whose start failed alive.
  peers?.start();
  findings.start();
  options.log('aggregator listening', { grpcPort, httpPort });

  return {
    grpcPort,
    httpPort,
    store,
    peers,
    metrics,
    findings: findings.api,
    stop: async () => {
      ready = false;
      clearInterval(sweeper);
      findings.stop();
      await peers?.stop();
      ingest.closeAll('aggregator shutting down');
      // Open watches would keep both servers from closing; their clients watch again elsewhere.
      watches.close('aggregator shutting down');
      await new Promise<void>((resolve) => grpc.tryShutdown(() => resolve()));
      grpc.forceShutdown();
      const closed = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await closed;
    },
  };
}
