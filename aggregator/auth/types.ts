/**
 * The contract of authentication and authorisation (aggregator/auth): who a bearer token
 * belongs to (TokenReview), what that user may do (SubjectAccessReview), and where a pod runs.
 * Implementations talk to the API server (kube-reviews.ts); tests hand in fakes.
 */

/** A user as the API server authenticated it (TokenReview status.user). */
export interface UserInfo {
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** A TokenReview's answer: the user and the audiences the token is valid for, or why not. */
export type TokenReviewResult =
  | { readonly authenticated: true; readonly user: UserInfo; readonly audiences: readonly string[] }
  | { readonly authenticated: false; readonly error: string };

export interface TokenReviewer {
  /** `audiences` empty: the API server's own audience (a user's token). Rejects only when the API server cannot be asked. */
  review(token: string, audiences: readonly string[]): Promise<TokenReviewResult>;
}

/** What SubjectAccessReview asks: may `user` `verb` `resource` in `namespace` ('' = every namespace / cluster-scoped). */
export interface AccessQuestion {
  readonly verb: string;
  readonly resource: string;
  readonly namespace: string;
}

export interface AccessReviewer {
  allowed(user: UserInfo, question: AccessQuestion): Promise<boolean>;
}

/** A pod's node and uid; undefined when the pod does not exist. */
export interface PodLookup {
  podPlacement(namespace: string, name: string): Promise<{ readonly uid: string; readonly nodeName: string } | undefined>;
}

/** Why a caller is refused: `unauthenticated` (no, bad, expired or wrong-audience token), `forbidden` (known, not allowed), `unavailable` (the API server could not be asked). */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly kind: 'unauthenticated' | 'forbidden' | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

/** auto: tokenreview with cluster credentials, none without. */
export type AuthMode = 'auto' | 'tokenreview' | 'none';

/** Extra keys the API server puts on bound service-account tokens (pkg/serviceaccount/claims.go). */
export const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
export const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';
export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';
