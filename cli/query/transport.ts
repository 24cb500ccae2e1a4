import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { KubeConfigError } from '../../kube/kubeconfig.js';
import { loadApiAccess, type ApiAccess } from './api-access.js';
import { formatDuration } from '../../config/duration.js';
import { UsageError } from '../../config/usage-error.js';
import type { QueryFlags } from './flags.js';

/**
 * A failure to get an answer: the message says what went wrong and what to do next. Exit
 * code 1, as kubectl's for errors that are not about how it was called.
 */
export class QueryFailure extends Error {
  override readonly name = 'QueryFailure';
}

/** How the plugin reaches the aggregator's HTTP API, and the namespace kubectl would default to. */
export interface AggregatorEndpoint {
  /** For messages: where requests go. */
  readonly description: string;
  /**
   * How requests reach the aggregator, which decides who answered an error: straight to it
   * (`--server`), or through the API server's service proxy in `namespace`, where the API
   * server answers for credentials, RBAC and the Service before the aggregator is reached.
   */
  readonly route: { readonly kind: 'server' } | { readonly kind: 'proxy'; readonly namespace: string };
  /** The kubeconfig context's namespace, else "default" (kubectl's rule). */
  readonly defaultNamespace: string;
  /** The kubeconfig's API access, when there is one (completion lists contexts, namespaces and pods with it). */
  readonly access: ApiAccess | undefined;
  /** GET `path` (starting with /api/v1/...); resolves when the answer's headers arrive. */
  get(path: string, params: URLSearchParams, accept: string, signal?: AbortSignal): Promise<IncomingMessage>;
  /** GET a path of the Kubernetes API itself (completion); undefined without a kubeconfig. */
  getApi?(path: string, signal?: AbortSignal): Promise<IncomingMessage>;
}

type Requester = (url: URL, options: RequestOptions) => ReturnType<typeof httpRequest>;

/**
 * One GET; resolves with the answer's headers. `timeoutMs` > 0 bounds the whole answer, body
 * included (kubectl's --request-timeout); a watch (`watch` in the query) only until it starts.
 */
function send(url: URL, options: RequestOptions, signal: AbortSignal | undefined, timeoutMs: number, explainNetworkError: (error: NodeJS.ErrnoException) => string): Promise<IncomingMessage> {
  const requester: Requester = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const watch = url.searchParams.has('watch');
  return new Promise((resolve, reject) => {
    const req = requester(url, { ...options, method: 'GET', ...(signal && { signal }) });
    const timedOut = (): QueryFailure => new QueryFailure(`no answer from ${url.origin} within ${formatDuration(timeoutMs / 1000)} (--request-timeout; 0 waits forever)`);
    // Until the answer starts, the request is what a timeout ends; after, its body.
    let pending: { destroy(error: Error): void } = req;
    const timer = timeoutMs > 0 ? setTimeout(() => pending.destroy(timedOut()), timeoutMs) : undefined;
    req.once('response', (response) => {
      if (watch) clearTimeout(timer);
      else {
        pending = response;
        response.once('close', () => clearTimeout(timer));
      }
      resolve(response);
    });
    req.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error instanceof QueryFailure) reject(error);
      else if (signal?.aborted) reject(signal.reason instanceof Error ? signal.reason : error);
      else reject(new QueryFailure(explainNetworkError(error)));
    });
    req.end();
  });
}

/**
 * `--server URL`: straight to the aggregator's HTTP port (port-forward, standalone, in-cluster).
 * An aggregator that authorises queries (--query-auth tokenreview) is sent a bearer token, as
 * kubectl sends its credentials to its --server: `--token`, else the kubeconfig user's.
 */
export function directEndpoint(server: string, access: ApiAccess | undefined, timeoutMs = 0, token?: string): AggregatorEndpoint {
  let authorization: Promise<string | undefined> | undefined;
  const bearer = (): Promise<string | undefined> => {
    authorization ??= token !== undefined ? Promise.resolve(`Bearer ${token}`) : (access?.requestOptions().then((options) => (options.headers as Record<string, string> | undefined)?.Authorization, () => undefined) ?? Promise.resolve(undefined));
    return authorization;
  };
  return {
    description: server,
    route: { kind: 'server' },
    defaultNamespace: access?.namespace ?? 'default',
    access,
    async get(path, params, accept, signal) {
      const url = new URL(`${server}${path}?${params}`);
      const auth = await bearer();
      return send(url, { headers: { accept, ...(auth && { authorization: auth }) } }, signal, timeoutMs, (error) => {
        const hint = error.code === 'ECONNREFUSED' ? ': is the aggregator running and listening there? (`kube-netstat standalone` serves http://127.0.0.1:9101; in a cluster, `kubectl port-forward -n kube-netstat svc/kube-netstat 9101`)' : '';
        return `cannot reach the aggregator at ${server} (${error.code ?? error.message})${hint}`;
      });
    },
  };
}

/**
 * Through the API server's service proxy (/api/v1/namespaces/NS/services/NAME:PORT/proxy/...),
 * with the kubeconfig's credentials: the user's own authentication and RBAC apply, and no port
 * of the aggregator needs to be reachable from the user's machine.
 */
export async function proxyEndpoint(access: ApiAccess, flags: Pick<QueryFlags, 'aggregatorNamespace' | 'aggregatorService' | 'aggregatorPort' | 'requestTimeoutSeconds'>): Promise<AggregatorEndpoint> {
  if (!access.server) throw new QueryFailure(`the kubeconfig's current context "${access.contextName}" names no cluster: pick one with --context (kubectl config get-contexts)`);
  const server = access.server.replace(/\/$/, '');
  const proxy = `/api/v1/namespaces/${encodeURIComponent(flags.aggregatorNamespace)}/services/${encodeURIComponent(flags.aggregatorService)}:${encodeURIComponent(flags.aggregatorPort)}/proxy`;
  let options: RequestOptions;
  try {
    options = await access.requestOptions();
  } catch (error) {
    throw new QueryFailure(`cannot use the credentials of context "${access.contextName}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const explain = (error: NodeJS.ErrnoException): string =>
    `cannot reach the Kubernetes API server at ${server} (${error.code ?? error.message}): is the context "${access.contextName}" right? (kubectl cluster-info); or reach the aggregator directly with --server URL`;
  const api = (path: string, accept: string, signal: AbortSignal | undefined): Promise<IncomingMessage> =>
    send(new URL(`${server}${path}`), { ...options, headers: { ...options.headers, accept } }, signal, flags.requestTimeoutSeconds * 1000, explain);
  return {
    description: `service ${flags.aggregatorNamespace}/${flags.aggregatorService}:${flags.aggregatorPort} through ${server}`,
    route: { kind: 'proxy', namespace: flags.aggregatorNamespace },
    defaultNamespace: access.namespace ?? 'default',
    access,
    get: (path, params, accept, signal) => api(`${proxy}${path}?${params}`, accept, signal),
    getApi: (path, signal) => api(path, 'application/json', signal),
  };
}

/** --server when given, else the service proxy of the kubeconfig's cluster. */
export async function openEndpoint(flags: QueryFlags): Promise<AggregatorEndpoint> {
  let access: ApiAccess | undefined;
  try {
    access = await loadApiAccess({ ...(flags.kube.kubeconfig && { kubeconfig: flags.kube.kubeconfig }), ...(flags.kube.context && { context: flags.kube.context }) });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new UsageError(error.message);
    throw error;
  }
  if (flags.server) return directEndpoint(flags.server, access, flags.requestTimeoutSeconds * 1000, flags.token);
  if (!access) {
    throw new QueryFailure(
      'no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster: pass --kubeconfig FILE or --context NAME, or reach the aggregator directly with --server URL (kube-netstat standalone serves http://127.0.0.1:9101)',
    );
  }
  return proxyEndpoint(access, flags);
}
