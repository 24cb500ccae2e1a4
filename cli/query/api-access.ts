import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { KubeConfigError, loadKubeConfig } from '../../kube/kubeconfig.js';

/**
 * What the plugin needs of a kubeconfig: the API server, how to authenticate to it, and the
 * context's namespace. Plain kubeconfigs (token, token file, client certificates, basic
 * auth, exec credential plugins — what kind, kubeadm, k3s, EKS, GKE and AKS write) are read
 * here directly: @kubernetes/client-node is slow to load, which would be most of a
 * `kubectl netstat`'s run (README, Performance). Anything else (auth-provider, proxy-url, in-cluster credentials)
 * goes to client-node, which test/cli/query/api-access.test.ts also holds this reader's answers against.
 */
export interface ApiAccess {
  readonly server: string;
  readonly contextName: string;
  /** The current context's namespace, if it sets one. */
  readonly namespace: string | undefined;
  /** Every context of the kubeconfig (completion of --context). */
  readonly contextNames: readonly string[];
  /** TLS settings and credentials for one request (exec plugins run again each time they are asked). */
  requestOptions(): Promise<RequestOptions>;
}

interface NamedEntry<T> {
  readonly name?: string;
  readonly [key: string]: T | string | undefined;
}

interface ClusterEntry {
  readonly server?: string;
  readonly 'certificate-authority'?: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'tls-server-name'?: string;
  readonly 'proxy-url'?: string;
}

interface ExecConfig {
  readonly command?: string;
  readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value: string }[] | null;
  readonly apiVersion?: string;
}

interface UserEntry {
  readonly token?: string;
  readonly tokenFile?: string;
  readonly 'client-certificate'?: string;
  readonly 'client-certificate-data'?: string;
  readonly 'client-key'?: string;
  readonly 'client-key-data'?: string;
  readonly username?: string;
  readonly password?: string;
  readonly exec?: ExecConfig;
  readonly 'auth-provider'?: unknown;
}

interface ContextEntry {
  readonly cluster?: string;
  readonly user?: string;
  readonly namespace?: string;
}

/** One kubeconfig file's entries, each kept with the directory its relative paths are relative to. */
interface Located<T> {
  readonly value: T;
  readonly dir: string;
}

interface Merged {
  readonly clusters: Map<string, Located<ClusterEntry>>;
  readonly users: Map<string, Located<UserEntry>>;
  readonly contexts: Map<string, ContextEntry>;
  currentContext: string | undefined;
}

/** kubectl's merge of a KUBECONFIG list: the first file to define a name wins, and the first current-context. */
function merge(files: readonly string[]): Merged {
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined };
  for (const file of files) {
    let document: Record<string, unknown> | null;
    try {
      document = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
    } catch (error) {
      throw new KubeConfigError(`cannot read kubeconfig ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!document) continue;
    const dir = dirname(file);
    const entries = <T>(key: string, field: string): [string, T][] =>
      ((document[key] as NamedEntry<T>[] | undefined) ?? []).flatMap((entry) => (entry?.name && entry[field] !== undefined ? [[entry.name, entry[field] as T]] : []));
    for (const [name, cluster] of entries<ClusterEntry>('clusters', 'cluster')) if (!merged.clusters.has(name)) merged.clusters.set(name, { value: cluster, dir });
    for (const [name, user] of entries<UserEntry>('users', 'user')) if (!merged.users.has(name)) merged.users.set(name, { value: user ?? {}, dir });
    for (const [name, context] of entries<ContextEntry>('contexts', 'context')) if (!merged.contexts.has(name)) merged.contexts.set(name, context);
    const current = document['current-context'];
    if (merged.currentContext === undefined && typeof current === 'string' && current !== '') merged.currentContext = current;
  }
  return merged;
}

const inDir = (dir: string, file: string): string => (isAbsolute(file) ? file : join(dir, file));

/** `-data` (base64) wins over the file, as client-go decides. */
function fileOrData(dir: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  return file ? readFileSync(inDir(dir, file)) : undefined;
}

const run = promisify(execFile);

/** Runs an exec credential plugin (client.authentication.k8s.io) and returns what it issued. */
async function execCredential(exec: ExecConfig, dir: string): Promise<{ token?: string; cert?: Buffer; key?: Buffer }> {
  if (!exec.command) throw new KubeConfigError('the kubeconfig user has an exec section without a command');
  // A command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
  const command = exec.command.includes('/') ? inDir(dir, exec.command) : exec.command;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const entry of exec.env ?? []) env[entry.name] = entry.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: exec.apiVersion ?? 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } });
  let stdout: string;
  try {
    ({ stdout } = await run(command, [...(exec.args ?? [])], { env, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 20 }));
  } catch (error) {
    throw new KubeConfigError(`the kubeconfig's credential plugin ${exec.command} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  let status: { token?: string; clientCertificateData?: string; clientKeyData?: string } | undefined;
  try {
    status = (JSON.parse(stdout) as { status?: typeof status }).status;
  } catch {
    throw new KubeConfigError(`the kubeconfig's credential plugin ${exec.command} did not print an ExecCredential`);
  }
  return {
    ...(status?.token && { token: status.token }),
    ...(status?.clientCertificateData && { cert: Buffer.from(status.clientCertificateData) }),
    ...(status?.clientKeyData && { key: Buffer.from(status.clientKeyData) }),
  };
}

/** The kubeconfig files kubectl would read: --kubeconfig, else $KUBECONFIG's list, else ~/.kube/config. */
function kubeconfigFiles(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): { files: string[]; candidates: string[] } {
  const candidates = kubeconfig ? [kubeconfig] : (env.KUBECONFIG?.split(delimiter).filter(Boolean) ?? [join(homedir(), '.kube', 'config')]);
  return { files: candidates.filter((file) => existsSync(file)), candidates };
}

/**
 * Reads the kubeconfig directly; undefined when it needs client-node (or there is none, which
 * client-node then decides: in-cluster or nothing).
 */
export function readPlainKubeconfig(source: { kubeconfig?: string; context?: string; env?: NodeJS.ProcessEnv }): ApiAccess | undefined {
  const env = source.env ?? process.env;
  const { files } = kubeconfigFiles(source.kubeconfig, env);
  if (files.length === 0) return undefined;
  const merged = merge(files);
  const contextName = source.context ?? merged.currentContext;
  if (contextName === undefined) return undefined;
  const context = merged.contexts.get(contextName);
  if (!context) {
    if (source.context) throw new KubeConfigError(`context "${source.context}" does not exist in the kubeconfig`);
    return undefined;
  }
  const cluster = context.cluster === undefined ? undefined : merged.clusters.get(context.cluster);
  const user = context.user === undefined ? undefined : merged.users.get(context.user);
  if (!cluster?.value.server || cluster.value['proxy-url'] || user?.value['auth-provider']) return undefined;
  const { value: c, dir: clusterDir } = cluster;
  const u = user?.value ?? {};
  const userDir = user?.dir ?? clusterDir;
  return {
    server: c.server!,
    contextName,
    namespace: context.namespace || undefined,
    contextNames: [...merged.contexts.keys()],
    async requestOptions() {
      const options: RequestOptions = { headers: {} };
      if (c['insecure-skip-tls-verify']) options.rejectUnauthorized = false;
      if (c['tls-server-name']) options.servername = c['tls-server-name'];
      const ca = fileOrData(clusterDir, c['certificate-authority'], c['certificate-authority-data']);
      if (ca) options.ca = ca;
      const cert = fileOrData(userDir, u['client-certificate'], u['client-certificate-data']);
      if (cert) options.cert = cert;
      const key = fileOrData(userDir, u['client-key'], u['client-key-data']);
      if (key) options.key = key;
      let token = u.token ?? (u.tokenFile ? readFileSync(inDir(userDir, u.tokenFile), 'utf8').trim() : undefined);
      if (u.exec) {
        const issued = await execCredential(u.exec, userDir);
        token = issued.token ?? token;
        if (issued.cert) options.cert = issued.cert;
        if (issued.key) options.key = issued.key;
      }
      if (u.username) options.auth = `${u.username}:${u.password ?? ''}`;
      if (token) options.headers = { Authorization: `Bearer ${token}` };
      return options;
    },
  };
}

/** The kubeconfig as kubectl finds it, read directly when plain, else by client-node; undefined when there is none. */
export async function loadApiAccess(source: { kubeconfig?: string; context?: string; env?: NodeJS.ProcessEnv }): Promise<ApiAccess | undefined> {
  const plain = readPlainKubeconfig(source);
  if (plain) return plain;
  const kubeConfig = await loadKubeConfig(source);
  if (!kubeConfig) return undefined;
  const cluster = kubeConfig.getCurrentCluster();
  const contextName = kubeConfig.getCurrentContext();
  return {
    server: cluster?.server ?? '',
    contextName,
    namespace: kubeConfig.getContextObject(contextName)?.namespace || undefined,
    contextNames: kubeConfig.getContexts().map((context) => context.name),
    async requestOptions() {
      const options: RequestOptions = {};
      await kubeConfig.applyToHTTPSOptions(options);
      return options;
    },
  };
}
