import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ReplayResult } from './replay.js';
import type { ClusterOptions } from './stream-cluster.js';
import { track } from './stream-procs.js';

/** Sized and run as the simulated cluster (stream-cluster.ts); each of the `bursts` changes every socket once. */
export interface ReplayOptions extends Pick<ClusterOptions, 'nodes' | 'socketsPerNode' | 'bursts' | 'aggregatorNodeFlags' | 'repo' | 'progress'> {
  readonly timeoutMs: number;
}

/**
 * bench/replay.ts in a process of its own (its prepared messages need a heap far above Node's default): the
 * aggregator taking bursts from pre-encoded messages as fast as it can, on the wall clock.
 * Its progress lines go to `progress`; its result is the JSON line it prints last.
 */
export function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const args = [
    '--expose-gc',
    '--max-old-space-size=8192',
    '--import',
    'tsx',
    join(options.repo, 'bench', 'replay.ts'),
    '--json',
    `--nodes=${options.nodes}`,
    `--sockets=${options.socketsPerNode}`,
    `--bursts=${options.bursts}`,
    `--changes=${options.socketsPerNode}`,
    ...(options.aggregatorNodeFlags.length ? [`--aggregator-node-flags=${options.aggregatorNodeFlags.join(' ')}`] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, args, { cwd: options.repo, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-8192);
      for (const line of text.split('\n')) if (line.trim()) options.progress(line);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').at(-1);
      if (code !== 0 || !last) return reject(new Error(`replay exited ${signal ?? code}:\n${stderr}`));
      resolve(JSON.parse(last) as ReplayResult);
    });
  });
}
