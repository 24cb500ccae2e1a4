import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError, loadKubeConfig } from '../kube/kubeconfig.js';
import type { AggregatorSettings } from '../config/aggregator-settings.js';
import type { LogFn } from '../common/log.js';
import { UsageError } from '../config/usage-error.js';

/** The aggregator's cluster access, as flags and the environment give it. */
export interface ClusterAccess {
  readonly peerNames: AggregatorSettings['peerNames'];
  /** --kubeconfig or $KUBE_NETSTAT_KUBECONFIG; else found as kubectl finds it, or in-cluster. */
  readonly kubeconfig?: string;
  readonly context?: string;
}

/**
 * The kubeconfig the aggregator names peers with, or undefined for none: `off` never looks;
 * `auto` uses one when there is one; `on` requires one. A kubeconfig asked for by flag that
 * cannot be used is a usage error either way. Whether the API then answers is the informers'
 * business: they log and back off, and the aggregator serves answers without names meanwhile.
 */
export function peerNamesKubeConfig(access: ClusterAccess, log: LogFn): Promise<KubeConfig | undefined> {
  return clusterKubeConfig({ flag: 'peer-names', feature: 'peer names', mode: access.peerNames }, access, log);
}

/**
 * The kubeconfig a feature of the aggregator (peer names, Kubernetes Events) uses, by its
 * auto|on|off flag: `off` never looks, `auto` uses one when found (kubectl's way, or
 * in-cluster), `on` requires one; a kubeconfig given by flag that cannot be used is a usage
 * error. `loaded` is one another feature already loaded from the same flags.
 */
export async function clusterKubeConfig(
  use: { readonly flag: string; readonly feature: string; readonly mode: 'auto' | 'on' | 'off' },
  access: ClusterAccess,
  log: LogFn,
  loaded?: KubeConfig,
): Promise<KubeConfig | undefined> {
  if (use.mode === 'off') return undefined;
  let kubeConfig = loaded;
  try {
    kubeConfig ??= await loadKubeConfig({ ...(access.kubeconfig && { kubeconfig: access.kubeconfig }), ...(access.context && { context: access.context }) });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new UsageError(`--${use.flag} ${use.mode}: ${error.message}`);
    throw error;
  }
  if (kubeConfig) {
    log(`${use.feature} on`, { server: kubeConfig.getCurrentCluster()?.server, context: kubeConfig.getCurrentContext() });
  } else if (use.mode === 'on') {
    throw new UsageError(`--${use.flag} on needs cluster access: give --kubeconfig (or $KUBE_NETSTAT_KUBECONFIG, $KUBECONFIG), or run in a pod with a service account`);
  } else {
    log(`${use.feature} off: no kubeconfig and not in a cluster`, {});
  }
  return kubeConfig;
}
