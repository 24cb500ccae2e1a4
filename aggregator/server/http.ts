import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { unavailableItems } from '../../model/json/socket-list.js';
import { findingsAnswer, historyAnswer, NotFoundError, type Answer, type FindingsApi } from '../findings/index.js';
import { sendSocketList } from './http-list.js';
import { checkKnownParams, FILTER_PARAMS, isWatch, limitParam, limitWarning, LIST_PARAMS, listSocketsEncoded, QueryError, querySpec, rankingOf, summarize, topPods, WatchLimitError, type Grouping, type WatchHub } from '../query/index.js';
import type { NodeStore } from '../store/index.js';
import { serveWatch } from './watch-http.js';
import { anonymousClient, type QueryGuard } from '../auth/guard.js';
import { admitHttp, queryCaller } from '../auth/http-gate.js';
import { RateLimitError, type FilterLimits } from '../auth/limits.js';
import { AuthError } from '../auth/types.js';
import type { LogFn } from '../../common/log.js';

/** What the HTTP face needs of the metrics (aggregator/metrics/): timing requests, serving /metrics. */
export interface HttpMetrics {
  observeHttp(request: IncomingMessage, response: ServerResponse): void;
  serve(response: ServerResponse): void;
}

/**
 * The query's HTTP/JSON face, reachable through the API server's service proxy; watches through `watches`, Prometheus' /metrics
 * through `metrics`, leak findings and pod histories through `findings`.
 */
export function createHttpServer(store: NodeStore, isReady: () => boolean, log: LogFn, watches?: WatchHub, metrics?: HttpMetrics, findings?: FindingsApi, gate?: HttpGate): Server {
  // Room above the gate's 16 KiB URL limit (auth/http-gate.ts), so that a long URL is answered with its 400 Status, not Node's bare 431.
  return createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (request, response) => {
    metrics?.observeHttp(request, response);
    const fail = (error: unknown): void => {
      const [code, reason] =
        error instanceof QueryError ? [400, 'BadRequest'] : error instanceof WatchLimitError || error instanceof RateLimitError ? [429, 'TooManyRequests'] : error instanceof NotFoundError ? [404, 'NotFound'] : error instanceof AuthError ? AUTH_STATUS[error.kind] : [500, 'InternalError'];
      if (code === 401) response.setHeader('www-authenticate', 'Bearer');
      send(response, code, status(code, reason, error instanceof Error ? error.message : String(error)));
    };
    const byAddress = anonymousClient(queryCaller(request));
    const answer = (client: string | undefined): void => {
      try {
        route(store, isReady, log, request, response, watches, metrics, findings, client ?? byAddress);
      } catch (error) {
        fail(error);
      }
    };
    if (!gate) return answer(byAddress);
    admitHttp(gate.guard, gate.limits, querySpec, request, response).then(answer, fail);
  });
}

/** Who may ask what, and how much (aggregator/auth): checked before every /api/ route. */
export interface HttpGate {
  readonly guard: QueryGuard;
  readonly limits: FilterLimits;
}

const AUTH_STATUS: Readonly<Record<AuthError['kind'], [number, string]>> = { unauthenticated: [401, 'Unauthorized'], forbidden: [403, 'Forbidden'], unavailable: [503, 'ServiceUnavailable'] };

/** `client`: who the caller counts as for per-client limits (aggregator/auth/guard.ts Admission.client). */
function route(store: NodeStore, isReady: () => boolean, log: LogFn, request: IncomingMessage, response: ServerResponse, watches: WatchHub | undefined, metrics: HttpMetrics | undefined, findings: FindingsApi | undefined, client: string): void {
  const url = new URL(request.url ?? '/', 'http://aggregator');
  if (request.method !== 'GET') return send(response, 405, status(405, 'MethodNotAllowed', `${request.method} is not supported`));
  const known = ROUTE_PARAMS[url.pathname];
  if (known) checkKnownParams(url.searchParams, known);
  switch (url.pathname) {
    case '/healthz':
      return sendText(response, 200, 'ok\n');
    case '/readyz':
      return isReady() ? sendText(response, 200, 'ok\n') : sendText(response, 503, 'not ready\n');
    case '/metrics':
      if (!metrics) return send(response, 404, status(404, 'NotFound', 'this server does not serve metrics'));
      return metrics.serve(response);
    case '/api/v1/sockets': {
      if (isWatch(url.searchParams)) {
        if (!watches) return send(response, 404, status(404, 'NotFound', 'this server does not serve watches'));
        return serveWatch(watches, querySpec(url.searchParams), acceptsProtobuf(request), response, client);
      }
      const warning = limitWarning(url.searchParams);
      // As the Kubernetes API warns (RFC 7234's 299, which kubectl prints): the answer is still a good one.
      if (warning) response.setHeader('warning', `299 - ${JSON.stringify(warning)}`);
      if (acceptsProtobuf(request)) {
        // The plugin's format: the gRPC ListResponse, assembled from the stored bytes.
        const result = listSocketsEncoded(store, querySpec(url.searchParams));
        if (result.undecodable > 0) log('sockets left out of an answer: their bytes do not decode', { count: result.undecodable }, 'error');
        response.writeHead(200, { 'content-type': PROTOBUF, 'content-length': result.bytes.length });
        return void response.end(result.bytes);
      }
      return sendSocketList(store, querySpec(url.searchParams), response, log);
    }
    case '/api/v1/summary': {
      const by = (url.searchParams.get('by') ?? 'namespace') as Grouping;
      const result = summarize(store, querySpec(url.searchParams), by);
      return send(response, 200, { apiVersion: API_VERSION, kind: 'SocketSummary', groupBy: by, items: result.rows, unavailableNodes: unavailableItems(result.unavailable) });
    }
    case '/api/v1/top': {
      const by = url.searchParams.get('by') ?? 'close-wait';
      const result = topPods(store, querySpec(url.searchParams), rankingOf(by), limitParam(url.searchParams, 10));
      return send(response, 200, { apiVersion: API_VERSION, kind: 'PodRanking', rankedBy: by, items: result.rows, unavailableNodes: unavailableItems(result.unavailable) });
    }
    case '/api/v1/findings':
    case '/api/v1/history': {
      if (!findings) return send(response, 404, status(404, 'NotFound', 'this server does not evaluate leak rules'));
      const answer: Answer = url.pathname === '/api/v1/findings' ? findingsAnswer(findings, url.searchParams) : historyAnswer(findings, url.searchParams);
      if (!acceptsProtobuf(request)) return send(response, 200, answer.json);
      response.writeHead(200, { 'content-type': PROTOBUF, 'content-length': answer.protobuf.length });
      return void response.end(answer.protobuf);
    }
    default:
      return send(response, 404, status(404, 'NotFound', `no route ${url.pathname}; try /api/v1/sockets, /api/v1/summary, /api/v1/top, /api/v1/findings or /api/v1/history`));
  }
}

const API_VERSION = 'kubenetstat.io/v1';
/** The parameters each route takes; any other is refused (400) rather than ignored. */
const ROUTE_PARAMS: Readonly<Record<string, readonly string[]>> = {
  '/api/v1/sockets': LIST_PARAMS,
  '/api/v1/summary': [...FILTER_PARAMS, 'by'],
  '/api/v1/top': [...FILTER_PARAMS, 'by', 'limit'],
  '/api/v1/findings': ['namespace', 'pod', 'rule', 'severity', 'state', 'limit'],
  '/api/v1/history': ['namespace', 'pod'],
};
/** A request's line and headers together; beyond, Node answers 431 itself. */
const MAX_HEADER_BYTES = 64 * 1024;
const PROTOBUF = 'application/x-protobuf';

/** Content negotiation as the API server does it: protobuf when the client lists it in Accept. */
function acceptsProtobuf(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '').split(',').some((type) => type.split(';')[0]!.trim() === PROTOBUF);
}

function status(code: number, reason: string, message: string): object {
  return { apiVersion: 'v1', kind: 'Status', status: 'Failure', code, reason, message };
}

function send(response: ServerResponse, code: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendText(response: ServerResponse, code: number, text: string): void {
  response.writeHead(code, { 'content-type': 'text/plain' });
  response.end(text);
}
