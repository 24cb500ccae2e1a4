import type { IncomingMessage } from 'node:http';
import { ListResponse, type UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import { UsageError } from '../../config/usage-error.js';
import { QueryFailure, type AggregatorEndpoint } from './transport.js';

export const PROTOBUF = 'application/x-protobuf';
const JSON_TYPE = 'application/json';

/** A Kubernetes Status as the API server and the aggregator send errors. */
interface Status {
  readonly kind?: string;
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly kind?: string; readonly name?: string };
}

export async function readBody(response: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseStatus(body: Buffer): Status | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Status) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns an error answer into what the user should do next. The API server answers for itself
 * (credentials, RBAC, a missing Service, no endpoints) before the aggregator is reached; the
 * aggregator's own errors are Status objects too (400 for a query it cannot run).
 */
export function explainFailure(endpoint: AggregatorEndpoint, code: number, body: Buffer): Error {
  const status = parseStatus(body);
  const message = status?.message ?? (body.toString('utf8').trim().slice(0, 300) || `HTTP ${code}`);
  const where = endpoint.description;
  switch (code) {
    case 400:
      return new UsageError(message);
    case 401:
      return new QueryFailure(`the API server refused your credentials (401 Unauthorized): log in again or refresh the kubeconfig's token; \`kubectl get pods\` must work first`);
    case 403:
      return new QueryFailure(
        `forbidden by RBAC (403): ${message}. Reaching the aggregator needs \`get\` on services/proxy in its namespace; check with \`kubectl auth can-i get services/proxy -n <aggregator namespace>\` and ask a cluster admin for the role`,
      );
    case 404:
      if (status?.details?.kind === 'services') {
        return new QueryFailure(
          `the aggregator is not installed: ${message} (${where}). Install the chart (helm install kube-netstat charts/kube-netstat -n kube-netstat --create-namespace), point --aggregator-namespace/--aggregator-service at it, or use --server URL`,
        );
      }
      // The aggregator's own 404s: a route it lacks (an older version), or what was asked for is not there.
      if (message.startsWith('no route')) return new QueryFailure(`the aggregator at ${where} does not serve this request (${message}): is it an older kube-netstat version?`);
      return new QueryFailure(message);
    case 429:
      return new QueryFailure(`the aggregator is busy (${message}): try again shortly`);
    case 502:
    case 503:
    case 504:
      return new QueryFailure(`the aggregator is unreachable (${message}; ${where}): check that its pod runs and is ready (kubectl get pods -n <aggregator namespace>)`);
    default:
      return new QueryFailure(`the aggregator answered ${code} (${where}): ${message}`);
  }
}

/** GETs a path and fails with an explanation unless the answer is 200. */
export async function fetchOk(endpoint: AggregatorEndpoint, path: string, params: URLSearchParams, accept: string, signal?: AbortSignal): Promise<IncomingMessage> {
  const response = await endpoint.get(path, params, accept, signal);
  if (response.statusCode === 200) return response;
  throw explainFailure(endpoint, response.statusCode ?? 0, await readBody(response));
}

/**
 * What an aggregator that authorises queries left out of an answer, as its x-kube-netstat-*
 * headers say (aggregator/auth/guard.ts); '' when nothing was.
 */
export function hiddenWarning(response: IncomingMessage): string {
  const header = (name: string): string | undefined => {
    const value = response.headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const parts: string[] = [];
  const hidden = Number(header('x-kube-netstat-hidden-namespaces') ?? 0);
  if (hidden > 0) parts.push(`${hidden} ${hidden === 1 ? 'namespace' : 'namespaces'} whose pods you may not list`);
  const forbidden = header('x-kube-netstat-forbidden-namespaces');
  if (forbidden) parts.push(`namespaces you asked for but may not list (${forbidden})`);
  if (header('x-kube-netstat-host-sockets') === 'hidden') parts.push('the nodes\' own sockets (they need list on pods and nodes cluster-wide)');
  return parts.length === 0 ? '' : `Warning: your credentials do not cover everything: left out are ${parts.join('; ')}.\n`;
}

export interface SocketPage {
  readonly sockets: Socket[];
  readonly unavailable: UnavailableNode[];
  /** What the aggregator's authorisation left out (hiddenWarning), '' when nothing. */
  readonly hidden: string;
}

/**
 * Every matching socket, fetched `chunkSize` at a time (0: in one answer) following continue
 * tokens; with `firstPageOnly`, just the first `chunkSize` (--limit).
 */
export async function listAll(endpoint: AggregatorEndpoint, params: URLSearchParams, chunkSize: number, signal?: AbortSignal, firstPageOnly = false): Promise<SocketPage> {
  const sockets: Socket[] = [];
  let unavailable: UnavailableNode[];
  let hidden: string;
  let token = '';
  do {
    const page = new URLSearchParams(params);
    if (chunkSize > 0) page.set('limit', String(chunkSize));
    if (token) page.set('continue', token);
    const response = await fetchOk(endpoint, '/api/v1/sockets', page, PROTOBUF, signal);
    hidden = hiddenWarning(response);
    const body = await readBody(response);
    let answer: ListResponse;
    try {
      answer = ListResponse.decode(body);
    } catch (error) {
      throw new QueryFailure(`the answer from ${endpoint.description} is not a kube-netstat socket list (${error instanceof Error ? error.message : String(error)}): is --server or --aggregator-service pointing at the aggregator's HTTP port?`);
    }
    for (const socket of answer.items) sockets.push(socket);
    // The last page's view of the nodes is the freshest.
    unavailable = answer.unavailableNodes;
    token = firstPageOnly ? '' : answer.continueToken;
  } while (token);
  return { sockets, unavailable, hidden };
}

/** A JSON answer (summary, top). */
export async function getJson<T>(endpoint: AggregatorEndpoint, path: string, params: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const body = await readBody(await fetchOk(endpoint, path, params, JSON_TYPE, signal));
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new QueryFailure(`the answer from ${endpoint.description} is not JSON: is --server or --aggregator-service pointing at the aggregator's HTTP port?`);
  }
}
