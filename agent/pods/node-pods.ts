import { setTimeout as sleep } from 'node:timers/promises';
import type { PodResolver } from '../../model/pod.js';
import { loadKubeConfig, type KubeConfigSource } from '../../kube/kubeconfig.js';
import { PodStore } from './pod-store.js';
import { AGENT_DEFAULTS } from '../../config/agent-settings.js';

/** How long a one-shot listing waits for the API before printing pod UIDs instead of names. */
const API_TIMEOUT_MS = 10_000;

/** The pods of one node for `kube-netstat local`: what attribution names them by. */
export interface NodePods {
  /** The agent's PodStore once the API answered; nothing known otherwise (pods are shown by UID). */
  readonly resolver: PodResolver;
  /** Stops the informer (kept running for -c). */
  stop(): Promise<void>;
  /** True when the API answered: names, labels and workloads are known. */
  readonly apiAvailable: boolean;
  /** Why names are missing, to print once on stderr; undefined when they are not. */
  readonly warning?: string;
  /**
   * The API was given (a kubeconfig, in-cluster credentials) and failed: the warning is said
   * whatever the listing shows. Without any access, it is said only when a pod shows by UID.
   */
  readonly apiFailed?: boolean;
  readonly node: string;
}

const NO_API: PodResolver = { byUid: () => undefined };

/**
 * Follows a node's pods with the agent's informer and store (a paged list, then a watch, until
 * stop()), once the first list came. Without a kubeconfig or in-cluster credentials, or when
 * the API does not answer in time, attribution still works from cgroups alone and shows pod
 * UIDs. A kubeconfig that cannot be used as asked throws KubeConfigError.
 */
export async function followNodePods(node: string, kube: Pick<KubeConfigSource, 'kubeconfig' | 'context'>, signal?: AbortSignal): Promise<NodePods> {
  const kubeConfig = await loadKubeConfig(kube);
  const done = async (): Promise<void> => undefined;
  if (!kubeConfig) return { resolver: NO_API, stop: done, apiAvailable: false, node, warning: 'no kubeconfig and not in a cluster: pods are shown by UID' };

  const { PodInformer } = await import('./pod-informer.js');
  // With -c, a pod deleted meanwhile keeps its name as long as the agent keeps it.
  const store = new PodStore(AGENT_DEFAULTS.deletedPodGraceSeconds * 1000);
  let lastError: Error | undefined;
  const timeout = new AbortController();
  const informer = new PodInformer({
    kubeConfig,
    nodeName: node,
    store,
    onEvent: (event) => {
      // Like kubectl, a one-shot listing does not retry before the first answer: it says why
      // and shows UIDs. Once synced, the informer's own backoff keeps -c listings current.
      if (event.kind === 'failed') {
        lastError = event.error;
        timeout.abort();
      }
    },
  });
  informer.start();
  const stopWaiting = () => timeout.abort();
  signal?.addEventListener('abort', stopWaiting, { once: true });
  const synced = await Promise.race([
    informer.synced().then(() => true),
    sleep(API_TIMEOUT_MS, false, { signal: timeout.signal }).catch(() => false),
  ]);
  timeout.abort();
  signal?.removeEventListener('abort', stopWaiting);
  if (!synced) {
    await informer.stop();
    const reason = lastError ? lastError.message.split('\n')[0] : `no answer within ${API_TIMEOUT_MS / 1000} s`;
    return { resolver: NO_API, stop: done, apiAvailable: false, apiFailed: true, node, warning: `could not list pods of node ${node} from ${kubeConfig.getCurrentCluster()?.server ?? 'the API'} (${reason}): pods are shown by UID` };
  }
  return { resolver: store, stop: () => informer.stop(), apiAvailable: true, node };
}
