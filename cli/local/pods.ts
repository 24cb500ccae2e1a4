import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributedNamespace } from '../../agent/attribution/attribute.js';
import type { PodMeta, PodResolver, SocketAttribution } from '../../model/pod.js';
import type { SocketRecord } from '../../model/socket.js';
import { KubeConfigError, loadKubeConfig } from '../../kube/kubeconfig.js';
import { labelsMatch, parseLabelSelector, SelectorError } from '../../kube/label-selector.js';
import { PodStore } from '../../agent/pods/pod-store.js';
import { AGENT_DEFAULTS } from '../../config/agent-settings.js';
import { UsageError } from '../../config/usage-error.js';
import type { KubeFlags } from './flags.js';

/** How long a one-shot listing waits for the API before printing pod UIDs instead of names. */
const API_TIMEOUT_MS = 10_000;

export interface PodSource {
  readonly resolver: PodResolver;
  /** Stops the informer (kept running for -c). */
  stop(): Promise<void>;
  /** True when the API answered: names, labels and workloads are known. */
  readonly apiAvailable: boolean;
  /** Why names are missing, to print once on stderr; undefined when they are not. */
  readonly warning?: string;
  readonly node: string;
}

export function nodeName(flags: Pick<KubeFlags, 'node'>): string {
  return flags.node ?? process.env.NODE_NAME ?? hostname();
}

const NO_API: PodResolver = { byUid: () => undefined };

/**
 * Follows this node's pods with the informer (a paged list, then a watch, until stop()).
 * Without a kubeconfig or in-cluster credentials, or when the API does not answer in time,
 * attribution still works from cgroups alone and shows pod UIDs.
 */
export async function startPods(flags: KubeFlags, signal?: AbortSignal): Promise<PodSource> {
  const node = nodeName(flags);
  let kubeConfig;
  try {
    kubeConfig = await loadKubeConfig({ ...(flags.kubeconfig && { kubeconfig: flags.kubeconfig }), ...(flags.context && { context: flags.context }) });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new UsageError(error.message);
    throw error;
  }
  const done = async (): Promise<void> => undefined;
  if (!kubeConfig) return { resolver: NO_API, stop: done, apiAvailable: false, node, warning: 'no kubeconfig and not in a cluster: pods are shown by UID' };

  const { PodInformer } = await import('../../agent/pods/pod-informer.js');
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
    return { resolver: NO_API, stop: done, apiAvailable: false, node, warning: `could not list pods of node ${node} from ${kubeConfig.getCurrentCluster()?.server ?? 'the API'} (${reason}): pods are shown by UID` };
  }
  return { resolver: store, stop: () => informer.stop(), apiAvailable: true, node };
}

/** -n, -l and --pod as kubectl users expect them; they need names, so the API. */
export function podFilter(flags: KubeFlags, source: PodSource): ((attribution: SocketAttribution) => boolean) | undefined {
  const wanted = flags.namespace !== undefined || flags.selector !== undefined || flags.pod !== undefined;
  if (!wanted) return undefined;
  if (!source.apiAvailable) throw new UsageError(`-n/--namespace, -l/--selector and --pod need pod names from the Kubernetes API (${source.warning ?? 'unavailable'})`);
  let requirements: ReturnType<typeof parseLabelSelector> = [];
  try {
    requirements = parseLabelSelector(flags.selector ?? '');
  } catch (error) {
    if (error instanceof SelectorError) throw new UsageError(`invalid selector '${flags.selector}': ${error.message}`);
    throw error;
  }
  const namespace = flags.allNamespaces ? undefined : flags.namespace;
  return (attribution) => {
    const pod: PodMeta | undefined = attribution.pod;
    if (!pod) return false;
    if (namespace !== undefined && pod.namespace !== namespace) return false;
    if (flags.pod !== undefined && pod.name !== flags.pod) return false;
    return labelsMatch(requirements, pod.labels);
  };
}

/** Keeps the sockets (and their attributions) a predicate accepts, namespace by namespace. */
export function filterAttributed(namespaces: readonly AttributedNamespace[], keep: (record: SocketRecord, attribution: SocketAttribution) => boolean): AttributedNamespace[] {
  return namespaces.map((entry) => {
    const kept = entry.namespace.sockets.flatMap((record, i) => (keep(record, entry.sockets[i]!) ? [i] : []));
    return { ...entry, namespace: { ...entry.namespace, sockets: kept.map((i) => entry.namespace.sockets[i]!) }, sockets: kept.map((i) => entry.sockets[i]!) };
  });
}
