/**
 * An ordinary kubeconfig file for the test API server: one cluster trusting the server's CA by
 * `certificate-authority-data`, one user with a bearer token, one context, made current. Both
 * kubectl and @kubernetes/client-node's `KubeConfig.loadFromFile` read it.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  /** The context's default namespace; kubectl uses "default" when absent. */
  readonly namespace?: string;
  /** The user's bearer token. */
  readonly token?: string;
}

/** Names of the cluster, user and context entries. */
export const KUBECONFIG_NAME = 'kube-netstat-test';

export function kubeconfigText(server: string, caCert: string, options: KubeconfigOptions): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: KUBECONFIG_NAME, cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } }],
    users: [{ name: KUBECONFIG_NAME, user: { ...(options.token !== undefined && { token: options.token }) } }],
    contexts: [{ name: KUBECONFIG_NAME, context: { cluster: KUBECONFIG_NAME, user: KUBECONFIG_NAME, ...(options.namespace !== undefined && { namespace: options.namespace }) } }],
    'current-context': KUBECONFIG_NAME,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, server: string, caCert: string, options: KubeconfigOptions): void {
  // It holds a credential.
  writeFileSync(path, kubeconfigText(server, caCert, options), { mode: 0o600 });
}
