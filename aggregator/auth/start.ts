import type { KubeConfig } from '@kubernetes/client-node';
import { AgentAuthenticator } from './agent-auth.js';
import { KubeAccessReviewer, KubePodLookup, KubeTokenReviewer } from './kube-reviews.js';
import { QueryAuthorizer } from './query-auth.js';

export interface AuthSettings {
  readonly agentAudience: string;
  readonly agentServiceAccount: string;
  readonly authCacheSeconds: number;
}

/** Agent authentication against the cluster `kubeConfig` reaches (TokenReview, get pods). */
export function agentAuthenticator(kubeConfig: KubeConfig, settings: AuthSettings): AgentAuthenticator {
  return new AgentAuthenticator({
    reviewer: new KubeTokenReviewer(kubeConfig),
    pods: new KubePodLookup(kubeConfig),
    audience: settings.agentAudience,
    ...(settings.agentServiceAccount && { serviceAccount: settings.agentServiceAccount }),
    // Agents reconnect rarely; a review holds until the token expires, at most 5 minutes.
    cacheMs: 300_000,
  });
}

/** Query authorisation against the cluster `kubeConfig` reaches (TokenReview, SubjectAccessReview). */
export function queryAuthorizer(kubeConfig: KubeConfig, settings: AuthSettings): QueryAuthorizer {
  return new QueryAuthorizer({ reviewer: new KubeTokenReviewer(kubeConfig), access: new KubeAccessReviewer(kubeConfig), cacheMs: settings.authCacheSeconds * 1000 });
}
