import { tokenExpiryMs, tokenKey } from './bearer.js';
import { TtlCache } from './ttl-cache.js';
import { AuthError, type AccessReviewer, type TokenReviewer, type UserInfo } from './types.js';

export interface QueryAuthOptions {
  readonly reviewer: TokenReviewer;
  readonly access: AccessReviewer;
  /** How long a caller's authentication and each of their access answers are reused (ms). */
  readonly cacheMs: number;
  readonly now?: () => number;
}

/**
 * What one caller may see. `allNamespaces`: may list pods in every namespace; else
 * `namespaceAllowed` answers per namespace. `hostSockets`: sockets outside any pod (namespace
 * null), for callers who may list nodes cluster-wide — they describe the node, not a namespace.
 */
export interface QueryScope {
  readonly user: string;
  readonly allNamespaces: boolean;
  readonly hostSockets: boolean;
  namespaceAllowed(namespace: string): Promise<boolean>;
}

/** SubjectAccessReviews asked at once for one caller, at most (a first query over many namespaces). */
const PARALLEL_REVIEWS = 16;

/**
 * Query authorisation: the caller's bearer token is authenticated with a TokenReview (the API
 * server's own audience: the user's kubectl token), then each namespace with a
 * SubjectAccessReview — may this user `list pods` there — the question `kubectl get pods -n NS`
 * asks. Authentications and answers are cached per caller (by token hash, per user and
 * namespace) for `cacheMs`, so a query is never reviewed per row, nor a busy caller per query.
 */
export class QueryAuthorizer {
  private readonly users: TtlCache<UserInfo>;
  private readonly answers: TtlCache<boolean>;
  private readonly now: () => number;

  constructor(private readonly options: QueryAuthOptions) {
    this.now = options.now ?? Date.now;
    this.users = new TtlCache(10_000, this.now);
    this.answers = new TtlCache(100_000, this.now);
  }

  /** Throws AuthError: unauthenticated (no or bad token) or unavailable (the API server cannot be asked). */
  async scope(token: string | undefined): Promise<QueryScope> {
    if (!token) throw new AuthError('unauthenticated', 'a bearer token is required (Authorization: Bearer <token>); through the API server, use the service proxy');
    const key = tokenKey(token);
    let user = this.users.get(key);
    if (!user) {
      const review = await this.options.reviewer.review(token, []);
      if (!review.authenticated) throw new AuthError('unauthenticated', `token rejected by TokenReview: ${review.error}`);
      user = review.user;
      const expiry = tokenExpiryMs(token);
      this.users.set(key, user, Math.min(this.options.cacheMs, expiry === undefined ? Infinity : expiry - this.now()));
    }
    const who = user;
    const [allNamespaces, hostSockets] = await Promise.all([this.allowed(who, 'list', 'pods', ''), this.allowed(who, 'list', 'nodes', '')]);
    return { user: who.username, allNamespaces, hostSockets, namespaceAllowed: (namespace) => (allNamespaces ? Promise.resolve(true) : this.allowed(who, 'list', 'pods', namespace)) };
  }

  private async allowed(user: UserInfo, verb: string, resource: string, namespace: string): Promise<boolean> {
    const key = `${tokenKey(JSON.stringify([user.username, user.uid, user.groups, user.extra]))} ${verb} ${resource} ${namespace}`;
    const cached = this.answers.get(key);
    if (cached !== undefined) return cached;
    const allowed = await this.options.access.allowed(user, { verb, resource, namespace });
    this.answers.set(key, allowed, this.options.cacheMs);
    return allowed;
  }
}

/** The namespaces of `candidates` the scope allows and those it does not, asking at most PARALLEL_REVIEWS at once. */
export async function partitionNamespaces(scope: QueryScope, candidates: readonly string[]): Promise<{ allowed: string[]; forbidden: string[] }> {
  const allowed: string[] = [];
  const forbidden: string[] = [];
  for (let start = 0; start < candidates.length; start += PARALLEL_REVIEWS) {
    const slice = candidates.slice(start, start + PARALLEL_REVIEWS);
    const answers = await Promise.all(slice.map((namespace) => scope.namespaceAllowed(namespace)));
    slice.forEach((namespace, i) => (answers[i] ? allowed : forbidden).push(namespace));
  }
  return { allowed, forbidden };
}
