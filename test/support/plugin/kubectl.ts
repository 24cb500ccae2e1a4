/**
 * The real `kubectl` running the plugin: a PATH directory holding `kubectl-netstat` and
 * `kubectl_complete-netstat` launchers of this checkout's sources, an aggregator exposed through
 * the test API server's service proxy, and a bounded runner for kubectl commands.
 */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missingTools } from '../requirements.js';
import type { ObjectStore } from '../k8s/index.js';
import { REPO } from '../checkout.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Why kubectl-driven tests cannot run here, or undefined. */
export function kubectlSkipReason(): string | undefined {
  return missingTools(['kubectl']);
}

/** Writes the launchers into `dir` (to be put first on PATH). */
export function installPlugin(dir: string): void {
  for (const name of ['kubectl-netstat', 'kubectl_complete-netstat']) {
    const launcher = join(dir, name);
    // exec keeps one process: kubectl waits for, and signals, the plugin itself.
    writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(HERE, `${name}.ts`)}" "$@"\n`);
    chmodSync(launcher, 0o755);
  }
}

export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlOptions {
  readonly pluginDir: string;
  readonly kubeconfig: string;
  readonly timeoutMs?: number;
}

/** A kubectl still running (a watch): its output so far, and a way to interrupt it as a user would. */
export interface RunningKubectl {
  readonly stdout: () => string;
  /** SIGINT, as Ctrl-C. */
  readonly interrupt: () => void;
  readonly done: Promise<KubectlResult>;
}

/** Starts `kubectl ARGS` with the plugin on PATH and KUBECONFIG set; killed after the timeout. */
export function startKubectl(args: readonly string[], options: KubectlOptions): RunningKubectl {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${options.pluginDir}:${process.env.PATH ?? ''}`, KUBECONFIG: options.kubeconfig };
  for (const key of ['NODE_TEST_CONTEXT', 'NODE_OPTIONS', 'KUBERNETES_SERVICE_HOST']) delete env[key];
  const child = spawn('kubectl', [...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (stdout += text));
  child.stderr.on('data', (text: string) => (stderr += text));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<KubectlResult>((resolveRun) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
  return { stdout: () => stdout, interrupt: () => child.kill('SIGINT'), done };
}

/** `kubectl ARGS` to the end. */
export function kubectl(args: readonly string[], options: KubectlOptions): Promise<KubectlResult> {
  return startKubectl(args, options).done;
}

/**
 * The aggregator's Service and EndpointSlice as the chart and the endpoint controller make
 * them, with one ready endpoint at 127.0.0.1:`httpPort` (the service proxy's target).
 */
export function exposeAggregator(store: ObjectStore, httpPort: number, where: { namespace: string; name: string } = { namespace: 'kube-netstat', name: 'kube-netstat' }): void {
  const { namespace, name } = where;
  store.upsert({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'kube-netstat' } },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.42', clusterIPs: ['10.96.0.42'], ports: [{ name: 'grpc', port: 9100, targetPort: 'grpc' }, { name: 'http', port: 9101, targetPort: 'http' }] },
  });
  store.upsert({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-abcde`, namespace, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'http', port: httpPort, protocol: 'TCP' }],
  });
}
