import type { IncomingMessage, ServerResponse } from 'node:http';
import { QueryError, type QuerySpec } from '../query/index.js';
import { admissionHeaders, type QueryCaller, type QueryGuard } from './guard.js';
import { checkFilterLimits, type FilterLimits } from './limits.js';
import { AuthError } from './types.js';

/** Findings and histories name one namespace at most (?namespace=); every other query path takes a namespace list. */
const ONE_NAMESPACE_PATHS = new Set(['/api/v1/findings', '/api/v1/history']);

/** The caller of an HTTP request as the guard judges it; the API server's service proxy sets X-Forwarded-For. */
export function queryCaller(request: IncomingMessage): QueryCaller {
  return { address: request.socket.remoteAddress ?? 'unknown', authorization: request.headers.authorization, proxied: request.headers['x-forwarded-for'] !== undefined };
}

/**
 * Admits an HTTP query (every /api/ path; health and /metrics are not queries): the filter's
 * limits, the caller's rate, their authentication and namespaces. The request's URL is
 * rewritten to the namespaces the caller may see, so the routes answer as before; what was
 * left out is said in x-kube-netstat-* headers. Resolves with who the caller counts as for
 * per-client limits (Admission.client; undefined for a path that is no query). Throws
 * QueryError, RateLimitError or AuthError.
 */
export async function admitHttp(guard: QueryGuard, limits: FilterLimits, specOf: (params: URLSearchParams) => QuerySpec, request: IncomingMessage, response: ServerResponse): Promise<string | undefined> {
  const url = new URL(request.url ?? '/', 'http://aggregator');
  if (!url.pathname.startsWith('/api/')) return undefined;
  if ((request.url ?? '').length > 16 * 1024) throw new QueryError('the request URL is longer than 16 KiB');
  const oneNamespace = ONE_NAMESPACE_PATHS.has(url.pathname);
  const requested = oneNamespace ? [url.searchParams.get('namespace') ?? ''].filter(Boolean) : specOf(url.searchParams).namespaces ?? [];
  if (!oneNamespace) checkFilterLimits(specOf(url.searchParams), limits);
  const admission = await guard.admit(queryCaller(request), requested);
  for (const [name, value] of Object.entries(admissionHeaders(admission))) response.setHeader(name, value);
  if (admission.namespaces === undefined) return admission.client;
  if (oneNamespace) {
    if (requested.length === 0) throw new AuthError('forbidden', `${admission.user ?? 'you'} may not list pods in every namespace: name one`);
    if (admission.forbiddenNamespaces.length > 0) throw new AuthError('forbidden', `${admission.user ?? 'you'} may not list pods in namespace ${requested[0]}`);
    return admission.client;
  }
  url.searchParams.delete('namespace');
  for (const namespace of admission.namespaces) url.searchParams.append('namespace', namespace);
  request.url = `${url.pathname}?${url.searchParams.toString()}`;
  return admission.client;
}
