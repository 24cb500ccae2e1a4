/**
 * The plugin's cost over the simulated cluster (bench/stream-cluster.ts), two ways:
 *  - its common queries in-process (`main(['query', '--server', ...])`: flags, request,
 *    protobuf decode, netstat formatting), as latency percentiles;
 *  - `kubectl netstat -A --state close-wait` as a whole process — the real kubectl running the
 *    built plugin (bin/kubectl-netstat.js), reaching the aggregator through the test API
 *    server's service proxy — against `kubectl get pods -A` on the same API server, which
 *    holds the simulated cluster's pods, in alternating rounds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cmd/kube-netstat.js';
import { pod, TestApiServer } from '../test/support/k8s/index.js';
import { exposeAggregator } from '../test/support/plugin/kubectl.js';
import { latencyStats, timeQueries, type LatencyStats } from './stream-procs.js';
import { NAMESPACES } from './synthetic.js';

export interface PluginQueryCase {
  readonly label: string;
  readonly stats: LatencyStats;
}

export interface ProcessTiming {
  readonly label: string;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Bytes on stdout (the last run). */
  readonly bytes: number;
}

export interface PluginCaseResult {
  readonly queries: PluginQueryCase[];
  readonly plugin: ProcessTiming;
  readonly getPods: ProcessTiming;
  readonly podsInApi: number;
  /** plugin median / get pods median. */
  readonly ratio: number;
}

/** What operators type most, as `kubectl netstat` arguments. */
export const PLUGIN_QUERIES: readonly (readonly string[])[] = [
  ['-A', '--state', 'close-wait'],
  ['-n', 'shop', '-tanp'],
  ['-A', '--state', 'close-wait', '-o', 'json'],
  ['-A', '--min-recv-q', '1', '--sort-by=-recvQ', '--limit', '20'],
  ['summary', '-A'],
  ['top', '-A', '--by', 'close-wait'],
];

function timing(label: string, runs: { ms: number; bytes: number }[]): ProcessTiming {
  const sorted = runs.map((run) => run.ms).sort((a, b) => a - b);
  return { label, runsMs: runs.map((run) => run.ms), medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN, minMs: sorted[0] ?? NaN, maxMs: sorted.at(-1) ?? NaN, bytes: runs.at(-1)?.bytes ?? 0 };
}

/** A whole process, timed; asynchronous, because the test API server answers it from this process. */
function timeProcess(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  return new Promise((resolve, reject) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (code === 0) resolve({ ms, bytes });
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}): ${stderr.slice(0, 500)}`));
    });
  });
}

export async function runPluginCase(options: { httpPort: number; pods: number; samples: number; rounds: number; repo: string; progress: (line: string) => void }): Promise<PluginCaseResult> {
  const server = `http://127.0.0.1:${options.httpPort}`;
  const queries: PluginQueryCase[] = [];
  // No kubeconfig is read: --server goes straight to the aggregator.
  const savedKubeconfig = process.env.KUBECONFIG;
  process.env.KUBECONFIG = '/nonexistent';
  try {
    for (const args of PLUGIN_QUERIES) {
      const label = `kubectl netstat ${args.join(' ')}`;
      const n = args.includes('shop') || args.includes('--limit') || args[0] === 'summary' || args[0] === 'top' ? options.samples : Math.max(10, Math.round(options.samples / 5));
      options.progress(`plugin query ${label} × ${n}`);
      const samples = await timeQueries(async () => {
        let bytes = 0;
        const started = performance.now();
        const code = await main(['query', '--server', server, ...args], { stdout: (text) => (bytes += text.length), stderr: () => undefined });
        if (code !== 0) throw new Error(`${label}: exit ${code}`);
        return { ms: performance.now() - started, items: 0, bytes };
      }, n, { warmup: 2 });
      queries.push({ label, stats: latencyStats(samples) });
    }
  } finally {
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
  }

  const api = await TestApiServer.start({ token: 'bench' });
  const dir = mkdtempSync(join(tmpdir(), 'kns-bench-plugin-'));
  try {
    options.progress(`test API server: ${options.pods.toLocaleString('en-US')} pods, the aggregator's Service`);
    for (let i = 0; i < options.pods; i++) {
      api.store.upsert(pod({ name: `pod-${i}`, namespace: NAMESPACES[i % NAMESPACES.length]!, nodeName: `sim-node-${String(i % 1000).padStart(4, '0')}`, podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }));
    }
    exposeAggregator(api.store, options.httpPort);
    const kubeconfig = join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfig);
    symlinkSync(join(options.repo, 'bin', 'kubectl-netstat.js'), join(dir, 'kubectl-netstat'));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, KUBECONFIG: kubeconfig };
    delete env.NODE_OPTIONS;
    const plugin = ['netstat', '-A', '--state', 'close-wait'];
    const getPods = ['get', 'pods', '-A'];
    const pluginRuns: { ms: number; bytes: number }[] = [];
    const getRuns: { ms: number; bytes: number }[] = [];
    await timeProcess('kubectl', plugin, env);
    await timeProcess('kubectl', getPods, env);
    for (let round = 0; round < options.rounds; round++) {
      options.progress(`kubectl netstat -A --state close-wait vs kubectl get pods -A, round ${round + 1}/${options.rounds}`);
      pluginRuns.push(await timeProcess('kubectl', plugin, env));
      getRuns.push(await timeProcess('kubectl', getPods, env));
    }
    const pluginTiming = timing(`kubectl ${plugin.join(' ')}`, pluginRuns);
    const getTiming = timing(`kubectl ${getPods.join(' ')}`, getRuns);
    return { queries, plugin: pluginTiming, getPods: getTiming, podsInApi: options.pods, ratio: pluginTiming.medianMs / getTiming.medianMs };
  } finally {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
