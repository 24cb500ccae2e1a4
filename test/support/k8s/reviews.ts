/**
 * TokenReview (authentication.k8s.io/v1) and SubjectAccessReview (authorization.k8s.io/v1), as
 * far as the aggregator needs them. Tests register tokens (token → user, audiences, expiry, the
 * bound pod's extras) and rules (user → namespaces and verbs on resources); anything not
 * registered is unauthenticated or denied. An expired token, or one asked for an audience it was
 * not issued for, is `authenticated: false`, as the API server answers.
 */
import { badRequest } from './status.js';

export interface RegisteredToken {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  /** Audiences the token was issued for; empty: the API server's own. */
  readonly audiences?: readonly string[];
  /** ms since the epoch; absent: never. */
  readonly expiresAtMs?: number;
  readonly podName?: string;
  readonly podUid?: string;
  readonly nodeName?: string;
}

/** `namespace` '' is every namespace (and cluster-scoped resources). */
export interface AccessRule {
  readonly user: string;
  readonly verbs: readonly string[];
  readonly resources: readonly string[];
  readonly namespaces: readonly string[];
}

export const TOKEN_REVIEWS_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';
export const ACCESS_REVIEWS_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
/** What the API server's own audience is called here (a token without audiences has it). */
export const API_AUDIENCE = 'https://kubernetes.default.svc';

export class Reviews {
  private readonly tokens = new Map<string, RegisteredToken>();
  private readonly rules: AccessRule[] = [];
  /** Every review asked, for assertions on caching. */
  readonly asked: { kind: 'TokenReview' | 'SubjectAccessReview'; body: unknown }[] = [];

  registerToken(token: string, entry: RegisteredToken): void {
    this.tokens.set(token, entry);
  }

  /** The token is no longer valid (its pod was deleted, its secret revoked): TokenReview says invalid. */
  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  allow(rule: AccessRule): void {
    this.rules.push(rule);
  }

  tokenReview(text: string): object {
    const body = parse(text);
    this.asked.push({ kind: 'TokenReview', body });
    const spec = (body.spec ?? {}) as { token?: string; audiences?: string[] };
    const entry = spec.token === undefined ? undefined : this.tokens.get(spec.token);
    const asked = spec.audiences?.length ? spec.audiences : [API_AUDIENCE];
    const issued = entry?.audiences?.length ? entry.audiences : [API_AUDIENCE];
    const answer = (status: object): object => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec, status });
    if (!entry) return answer({ authenticated: false, error: 'invalid bearer token' });
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= Date.now()) return answer({ authenticated: false, error: 'token has expired' });
    const audiences = asked.filter((audience) => issued.includes(audience));
    if (audiences.length === 0) return answer({ authenticated: false, error: 'token audiences is invalid for the target audiences' });
    const extra: Record<string, string[]> = {};
    if (entry.podName) extra['authentication.kubernetes.io/pod-name'] = [entry.podName];
    if (entry.podUid) extra['authentication.kubernetes.io/pod-uid'] = [entry.podUid];
    if (entry.nodeName) extra['authentication.kubernetes.io/node-name'] = [entry.nodeName];
    return answer({ authenticated: true, audiences, user: { username: entry.username, uid: entry.uid ?? `uid-${entry.username}`, groups: [...(entry.groups ?? ['system:authenticated'])], extra } });
  }

  accessReview(text: string): object {
    const body = parse(text);
    this.asked.push({ kind: 'SubjectAccessReview', body });
    const spec = (body.spec ?? {}) as { user?: string; resourceAttributes?: { verb?: string; resource?: string; namespace?: string } };
    const attributes = spec.resourceAttributes ?? {};
    const namespace = attributes.namespace ?? '';
    const allowed = this.rules.some(
      (rule) => rule.user === spec.user && rule.verbs.includes(attributes.verb ?? '') && rule.resources.includes(attributes.resource ?? '') && (rule.namespaces.includes('') || rule.namespaces.includes(namespace)),
    );
    return { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec, status: { allowed, ...(!allowed && { reason: 'no rule allows it' }) } };
  }
}

function parse(text: string): { spec?: unknown } {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null) return body as { spec?: unknown };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  throw badRequest('the body is not a JSON object');
}
