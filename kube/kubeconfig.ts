import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface KubeConfigSource {
  /** --kubeconfig: wins over everything else. */
  readonly kubeconfig?: string;
  /** --context: a context of the loaded kubeconfig. */
  readonly context?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** A kubeconfig that could not be used as asked: a usage problem for the CLI. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Finds API credentials the way kubectl does: --kubeconfig, then $KUBECONFIG (a path list),
 * then ~/.kube/config; inside a pod, the in-cluster service account. undefined when there is
 * none — the caller then works from the host alone (pod UIDs instead of names). The client
 * library (large, slow to load) is only imported when there are credentials to use.
 */
export async function loadKubeConfig(source: KubeConfigSource = {}): Promise<KubeConfig | undefined> {
  const env = source.env ?? process.env;
  const candidates = source.kubeconfig ? [source.kubeconfig] : (env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [join(homedir(), '.kube', 'config')]);
  const files = candidates.filter((file) => existsSync(file));
  if (source.kubeconfig && files.length === 0) throw new KubeConfigError(`kubeconfig ${source.kubeconfig} does not exist`);
  const inCluster = files.length === 0 && env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN);
  if (files.length === 0 && !inCluster) {
    if (source.context) throw new KubeConfigError(`--context ${source.context}: no kubeconfig found (looked at ${candidates.join(', ')})`);
    return undefined;
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  if (files.length === 1) {
    kubeConfig.loadFromFile(files[0]!);
  } else if (files.length > 1) {
    // client-node merges a $KUBECONFIG path list the way kubectl does.
    kubeConfig.loadFromDefault();
  } else {
    kubeConfig.loadFromCluster();
  }
  if (source.context) {
    if (!kubeConfig.getContextObject(source.context)) throw new KubeConfigError(`context "${source.context}" does not exist in the kubeconfig`);
    kubeConfig.setCurrentContext(source.context);
  }
  return kubeConfig;
}
