import { AuthenticationV1Api, AuthorizationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { statusOf } from '../../kube/informer.js';
import { AuthError, type AccessQuestion, type AccessReviewer, type PodLookup, type TokenReviewer, type TokenReviewResult, type UserInfo } from './types.js';

/** What the API server could not answer: the caller gets UNAVAILABLE / 503, never a guess. */
function unavailable(what: string, error: unknown): AuthError {
  const code = statusOf(error);
  return new AuthError('unavailable', `${what} failed${code === undefined ? '' : ` (HTTP ${code})`}: ${error instanceof Error ? error.message : String(error)}`);
}

/** TokenReview (authentication.k8s.io/v1) with the aggregator's own credentials (RBAC: create tokenreviews). */
export class KubeTokenReviewer implements TokenReviewer {
  private readonly api: AuthenticationV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(AuthenticationV1Api);
  }

  async review(token: string, audiences: readonly string[]): Promise<TokenReviewResult> {
    let answer;
    try {
      answer = await this.api.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences.length > 0 && { audiences: [...audiences] }) } } });
    } catch (error) {
      throw unavailable('TokenReview', error);
    }
    const status = answer.status;
    if (!status?.authenticated || !status.user?.username) return { authenticated: false, error: status?.error || 'the token is not valid' };
    const user = status.user;
    return {
      authenticated: true,
      user: { username: user.username ?? '', uid: user.uid ?? '', groups: user.groups ?? [], extra: user.extra ?? {} },
      audiences: status.audiences ?? [],
    };
  }
}

/** SubjectAccessReview (authorization.k8s.io/v1) for a user, with their groups, extra and uid (RBAC: create subjectaccessreviews). */
export class KubeAccessReviewer implements AccessReviewer {
  private readonly api: AuthorizationV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(AuthorizationV1Api);
  }

  async allowed(user: UserInfo, question: AccessQuestion): Promise<boolean> {
    try {
      const answer = await this.api.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: [...user.groups],
            extra: Object.fromEntries(Object.entries(user.extra).map(([key, values]) => [key, [...values]])),
            resourceAttributes: { verb: question.verb, resource: question.resource, group: '', ...(question.namespace && { namespace: question.namespace }) },
          },
        },
      });
      return answer.status?.allowed === true && answer.status.denied !== true;
    } catch (error) {
      throw unavailable('SubjectAccessReview', error);
    }
  }
}

/** A pod's node by GET (RBAC: get pods). */
export class KubePodLookup implements PodLookup {
  private readonly api: CoreV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
  }

  async podPlacement(namespace: string, name: string): Promise<{ uid: string; nodeName: string } | undefined> {
    try {
      const pod = await this.api.readNamespacedPod({ namespace, name });
      return { uid: pod.metadata?.uid ?? '', nodeName: pod.spec?.nodeName ?? '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw unavailable(`reading pod ${namespace}/${name}`, error);
    }
  }
}
