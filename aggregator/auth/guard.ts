import type { NodeStore } from '../store/index.js';
import { PROXIED } from '../query/index.js';
import { bearerToken } from './bearer.js';
import { RateLimiter } from './limits.js';
import { partitionNamespaces, type QueryAuthorizer } from './query-auth.js';
import { AuthError } from './types.js';

/**
 * A namespace no socket can be in (names are DNS labels): a query narrowed to it answers
 * nothing, which is what a caller allowed no namespace gets — the query functions read an empty
 * namespace list as "every namespace".
 */
export const NO_NAMESPACE = '-none-';

/** A caller as the transport sees it: their address and their Authorization header. */
export interface QueryCaller {
  readonly address: string;
  readonly authorization: string | undefined;
  /** The request came through the API server's service proxy (X-Forwarded-For): its address is the proxy's, whoever asks. */
  readonly proxied?: boolean;
}

/**
 * What a caller may ask. `namespaces`: the list the query must be narrowed to (replacing what was
 * asked), undefined to leave it as asked. `forbiddenNamespaces`: namespaces asked for by name
 * and refused. `hiddenNamespaces`: how many namespaces holding sockets were left out of a query
 * that named none (their names are not the caller's to learn). `hostSocketsHidden`: sockets
 * outside pods were left out.
 */
export interface Admission {
  readonly user: string | undefined;
  /** Who the caller counts as for per-client limits (rate, watches): `user NAME` when authenticated, else `address IP`. */
  readonly client: string;
  readonly namespaces: string[] | undefined;
  readonly forbiddenNamespaces: readonly string[];
  readonly hiddenNamespaces: number;
  readonly hostSocketsHidden: boolean;
}

export interface QueryGuardOptions {
  /** Query authorisation; undefined when --query-auth is none (the service proxy's RBAC guards the port). */
  readonly authorizer: QueryAuthorizer | undefined;
  readonly rate: { readonly perSecond: number; readonly burst: number };
  readonly store: NodeStore;
  readonly now?: () => number;
}

/**
 * Who a caller without credentials counts as for per-client limits: its address, or PROXIED
 * when the request came through the API server's service proxy, whose address every user has
 * (for watches they are one client, with its own budget).
 */
export function anonymousClient(caller: Pick<QueryCaller, 'address' | 'proxied'>): string {
  return caller.proxied ? PROXIED : `address ${caller.address}`;
}

/**
 * The gate in front of every query (HTTP and gRPC; not the agents' stream): a token bucket per
 * client — per authenticated user when queries are authenticated, else per remote address —
 * then authentication and the caller's namespaces. Throws RateLimitError or AuthError.
 */
export class QueryGuard {
  private readonly limiter: RateLimiter;
  /** Failed authentications per address: garbage tokens must not buy a TokenReview each. */
  private readonly failures: RateLimiter;

  constructor(private readonly options: QueryGuardOptions) {
    this.limiter = new RateLimiter(options.rate.perSecond, options.rate.burst, options.now);
    this.failures = new RateLimiter(options.rate.perSecond, options.rate.burst, options.now);
  }

  get authenticates(): boolean {
    return this.options.authorizer !== undefined;
  }

  /** `requested`: the namespaces the query names (none: every namespace). */
  async admit(caller: QueryCaller, requested: readonly string[]): Promise<Admission> {
    const authorizer = this.options.authorizer;
    if (!authorizer) {
      this.limiter.take(`address ${caller.address}`);
      return { user: undefined, client: anonymousClient(caller), namespaces: undefined, forbiddenNamespaces: [], hiddenNamespaces: 0, hostSocketsHidden: false };
    }
    this.failures.check(`address ${caller.address}`);
    let scope;
    try {
      scope = await authorizer.scope(bearerToken(caller.authorization));
    } catch (error) {
      if (error instanceof AuthError && error.kind === 'unauthenticated') this.failures.spend(`address ${caller.address}`);
      throw error;
    }
    const client = `user ${scope.user}`;
    this.limiter.take(client);
    if (scope.allNamespaces && scope.hostSockets) return { user: scope.user, client, namespaces: undefined, forbiddenNamespaces: [], hiddenNamespaces: 0, hostSocketsHidden: false };
    const candidates = requested.length > 0 ? [...new Set(requested)] : this.presentNamespaces();
    const { allowed, forbidden } = await partitionNamespaces(scope, candidates);
    if (requested.length > 0 && allowed.length === 0) throw new AuthError('forbidden', `${scope.user} may not list pods in namespace ${forbidden.join(', ')}`);
    return {
      user: scope.user,
      client,
      namespaces: allowed.length > 0 ? allowed : [NO_NAMESPACE],
      forbiddenNamespaces: requested.length > 0 ? forbidden : [],
      hiddenNamespaces: requested.length > 0 ? 0 : forbidden.length,
      hostSocketsHidden: requested.length === 0,
    };
  }

  /** Every namespace some node holds sockets of, sorted. */
  private presentNamespaces(): string[] {
    const names = new Set<string>();
    for (const node of this.options.store.all()) for (const name of node.sockets.namespaceNames()) names.add(name);
    return [...names].sort();
  }
}

/** What an admission says to the caller, as HTTP headers / gRPC metadata (the answers' bodies stay as they were). */
export function admissionHeaders(admission: Admission): Record<string, string> {
  return {
    ...(admission.forbiddenNamespaces.length > 0 && { 'x-kube-netstat-forbidden-namespaces': admission.forbiddenNamespaces.join(',') }),
    ...(admission.hiddenNamespaces > 0 && { 'x-kube-netstat-hidden-namespaces': String(admission.hiddenNamespaces) }),
    ...(admission.hostSocketsHidden && { 'x-kube-netstat-host-sockets': 'hidden' }),
  };
}

export { AuthError };
