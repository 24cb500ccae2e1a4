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
 * Turns an error answer into what the user should do next, naming who refused. Through the
 * service proxy the API server answers for itself (credentials, RBAC on services/proxy, a
 * missing Service, no endpoints) before the aggregator is reached; with --server every answer
 * is the aggregator's own (its --query-auth reviews the token sent). The aggregator's errors
 * are Status objects too (400 for a query it cannot run).
 */
export function explainFailure(endpoint: AggregatorEndpoint, code: number, body: Buffer): Error {
  const status = parseStatus(body);
  const message = status?.message ?? (body.toString('utf8').trim().slice(0, 300) || `HTTP ${code}`);
  const where = endpoint.description;
  const { route } = endpoint;
  switch (code) {
    case 400:
      return new UsageError(message);
    case 401:
      if (route.kind === 'server') {
        return new QueryFailure(`the aggregator at ${where} refused the token (401 Unauthorized: ${message}): it reviews it with the Kubernetes API; send a valid one with --token, or the kubeconfig user's (kubectl auth whoami shows who that is)`);
      }
      return new QueryFailure(`the API server refused your credentials (401 Unauthorized): log in again or refresh the kubeconfig's token; \`kubectl get pods\` must work first`);
    case 403:
      if (route.kind === 'server') {
        return new QueryFailure(`the aggregator at ${where} refused this query (403 Forbidden: ${message}): it answers what your Kubernetes user may list (pods in a namespace; pods and nodes cluster-wide for the nodes' own sockets); ask with -n NAMESPACE, or ask a cluster admin for the role`);
      }
      return new QueryFailure(
        `forbidden by RBAC (403): ${message}. Reaching the aggregator needs \`get\` on services/proxy in its namespace; check with \`kubectl auth can-i get services/proxy -n ${route.namespace}\` and ask a cluster admin for the role`,
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
      if (route.kind === 'server') return new QueryFailure(`the aggregator at ${where} cannot answer (${message}): is it starting up, or overloaded?`);
      return new QueryFailure(`the aggregator is unreachable (${message}; ${where}): check that its pod runs and is ready (kubectl get pods -n ${route.namespace})`);
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
 * What an answer's headers say the user should know, one `Warning:` line each ('' when
 * nothing): what an aggregator that authorises queries left out (its x-kube-netstat-* headers,
 * aggregator/auth/guard.ts), and the Kubernetes-style `Warning` headers, printed as kubectl
 * prints them.
 */
export function answerWarnings(response: IncomingMessage): string {
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
  let text = parts.length === 0 ? '' : `Warning: your credentials do not cover everything: left out are ${parts.join('; ')}.\n`;
  for (const warning of warningTexts(response.headers.warning)) text += `Warning: ${warning}\n`;
  return text;
}

/** The texts of RFC 7234 warn-values (`299 - "text"`), as the Kubernetes API sends them. */
function warningTexts(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!.replace(/\\(.)/g, '$1'));
}

export interface SocketPage {
  readonly sockets: Socket[];
  readonly unavailable: UnavailableNode[];
  /** What the answers' headers warn of (answerWarnings), each once; '' when nothing. */
  readonly warnings: string;
}

/**
 * Every matching socket, fetched `chunkSize` at a time (0: as many as the aggregator gives in
 * one answer) following continue tokens; with `limit`, at most that many (in more than one
 * answer when the aggregator cuts a large one short).
 */
export async function listAll(endpoint: AggregatorEndpoint, params: URLSearchParams, chunkSize: number, signal?: AbortSignal, limit?: number): Promise<SocketPage> {
  const sockets: Socket[] = [];
  const warnings = new Set<string>();
  let unavailable: UnavailableNode[];
  let token = '';
  do {
    const page = new URLSearchParams(params);
    const size = limit !== undefined ? limit - sockets.length : chunkSize;
    if (size > 0) page.set('limit', String(size));
    if (token) page.set('continue', token);
    const response = await fetchOk(endpoint, '/api/v1/sockets', page, PROTOBUF, signal);
    warnings.add(answerWarnings(response));
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
    token = limit !== undefined && sockets.length >= limit ? '' : answer.continueToken;
  } while (token);
  return { sockets, unavailable, warnings: [...warnings].join('') };
}

/** A JSON answer (summary, top, findings, history), and what its headers warn of (answerWarnings). */
export interface JsonAnswer<T> {
  readonly value: T;
  readonly warnings: string;
}

export async function getJson<T>(endpoint: AggregatorEndpoint, path: string, params: URLSearchParams, signal?: AbortSignal): Promise<JsonAnswer<T>> {
  const response = await fetchOk(endpoint, path, params, JSON_TYPE, signal);
  const body = await readBody(response);
  try {
    return { value: JSON.parse(body.toString('utf8')) as T, warnings: answerWarnings(response) };
  } catch {
    throw new QueryFailure(`the answer from ${endpoint.description} is not JSON: is --server or --aggregator-service pointing at the aggregator's HTTP port?`);
  }
}
