import { tokenExpiryMs, tokenKey } from './bearer.js';
import { TtlCache } from './ttl-cache.js';
import { AuthError, NODE_NAME_EXTRA, POD_NAME_EXTRA, POD_UID_EXTRA, type PodLookup, type TokenReviewer } from './types.js';

export interface AgentAuthOptions {
  readonly reviewer: TokenReviewer;
  readonly pods: PodLookup;
  /** The audience agents' projected tokens are issued for (--agent-audience). */
  readonly audience: string;
  /** `namespace/name` of the agents' service account; undefined accepts any service account whose pod runs on the node. */
  readonly serviceAccount?: string;
  /** Longest a successful review is reused (ms); never beyond the token's own expiry. */
  readonly cacheMs: number;
  readonly now?: () => number;
}

/** Who an agent connection is: its service account and the node its pod runs on. */
export interface AgentIdentity {
  readonly username: string;
  readonly pod: string;
  readonly node: string;
  /** When the token expires (its `exp`, ms since the epoch); the stream it opened ends then. Undefined: no `exp`. */
  readonly expiresAtMs?: number;
}

const SERVICE_ACCOUNT_USER = /^system:serviceaccount:([^:]+):([^:]+)$/;

/**
 * Authenticates an agent's stream: its projected service-account token must pass a TokenReview
 * for our audience, belong to the agents' service account, and be bound to a pod (bound tokens
 * carry the pod's name and uid in the user's extra); the node that pod runs on is the only node
 * the stream may write. The node comes from the token's node-name extra (API servers ≥ 1.30
 * with ServiceAccountTokenPodNodeInfo), else from the pod itself, whose uid must match — a pod
 * re-created under the same name is another pod. Successful reviews are cached by the token's
 * hash until the token expires, at most `cacheMs`.
 */
export class AgentAuthenticator {
  private readonly cache: TtlCache<AgentIdentity>;
  private readonly now: () => number;

  constructor(private readonly options: AgentAuthOptions) {
    this.now = options.now ?? Date.now;
    this.cache = new TtlCache(10_000, this.now);
  }

  /** Throws AuthError: unauthenticated, forbidden (not the agents' account, not bound to a pod) or unavailable. */
  async authenticate(token: string | undefined): Promise<AgentIdentity> {
    if (!token) throw new AuthError('unauthenticated', 'no bearer token: the agent must send its projected service-account token (--token-file)');
    const key = tokenKey(token);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const review = await this.options.reviewer.review(token, [this.options.audience]);
    if (!review.authenticated) throw new AuthError('unauthenticated', `token rejected by TokenReview: ${review.error}`);
    if (!review.audiences.includes(this.options.audience)) throw new AuthError('unauthenticated', `token is not valid for audience ${this.options.audience}`);
    const { user } = review;
    const account = SERVICE_ACCOUNT_USER.exec(user.username);
    if (!account) throw new AuthError('forbidden', `${user.username} is not a service account`);
    const namespace = account[1]!;
    const name = account[2]!;
    if (this.options.serviceAccount !== undefined && `${namespace}/${name}` !== this.options.serviceAccount) {
      throw new AuthError('forbidden', `service account ${namespace}/${name} is not the agents' (${this.options.serviceAccount})`);
    }
    const podName = user.extra[POD_NAME_EXTRA]?.[0];
    const podUid = user.extra[POD_UID_EXTRA]?.[0];
    if (!podName || !podUid) throw new AuthError('forbidden', `the token of ${user.username} is not bound to a pod: mount a projected service-account token`);
    const node = user.extra[NODE_NAME_EXTRA]?.[0] ?? (await this.nodeOfPod(namespace, podName, podUid));
    const expiry = tokenExpiryMs(token);
    const identity: AgentIdentity = { username: user.username, pod: `${namespace}/${podName}`, node, ...(expiry !== undefined && { expiresAtMs: expiry }) };
    this.cache.set(key, identity, Math.min(this.options.cacheMs, expiry === undefined ? Infinity : expiry - this.now()));
    return identity;
  }

  private async nodeOfPod(namespace: string, name: string, uid: string): Promise<string> {
    const pod = await this.options.pods.podPlacement(namespace, name);
    if (!pod || pod.uid !== uid) throw new AuthError('forbidden', `the token's pod ${namespace}/${name} (uid ${uid}) no longer exists`);
    if (!pod.nodeName) throw new AuthError('forbidden', `the token's pod ${namespace}/${name} is not scheduled on a node`);
    return pod.nodeName;
  }
}
