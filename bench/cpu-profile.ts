import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * Where a V8 CPU profile (inspector Profiler.stop, or node --cpu-prof) spent its time: self
 * time by function and by area (the project's modules, grpc-js, Node internals, GC, idle).
 */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface ProfileRow {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Samples left out as the bench's own (see SummaryOptions.leaveOut). */
  readonly benchMs: number;
  /** Wall time not spent idle: what the process was busy with. */
  readonly busyMs: number;
  readonly areas: ProfileRow[];
  readonly functions: ProfileRow[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const project = /\/dist\/(.*)$/.exec(url)?.[1];
  if (project) return project;
  const module = /node_modules\/(.*)$/.exec(url)?.[1];
  if (module) return module.replace(/^(@[^/]+\/[^/]+|[^/]+)\/(build\/src\/|dist\/|lib\/)?/, '$1/');
  return url.replace(/^file:\/\//, '');
}

function areaOf(frame: CallFrame): string {
  const { functionName, url } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native ${functionName || '(anonymous)'}`;
  }
  if (url.includes('/dist/aggregator/')) return `aggregator/${/\/aggregator\/([^/]+)$/.exec(url)?.[1] ?? ''}`;
  if (url.includes('/dist/gen/')) return 'gen (ts-proto)';
  if (url.includes('/dist/')) return shortUrl(url).split('/').slice(0, 2).join('/');
  if (url.includes('@grpc/grpc-js')) return '@grpc/grpc-js';
  if (url.includes('@bufbuild/protobuf')) return '@bufbuild/protobuf';
  if (url.includes('node_modules/')) return shortUrl(url).split('/')[0] ?? url;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return shortUrl(url);
}

export interface SummaryOptions {
  readonly top?: number;
  /** Leaves out the samples of the profile's first milliseconds (a process's start-up). */
  readonly skipFirstMs?: number;
  /**
   * Samples left out as the bench's own: 'bench' — any stack through dist/bench/ (the profiler's
   * start, IPC requests and replies: in the aggregator, everything but the aggregator);
   * 'profiler' — only stacks through startProfile/stopProfile (in the simulator, where the
   * bench's code is the workload).
   */
  readonly leaveOut?: 'bench' | 'profiler';
}

const PROFILER_FUNCTIONS = new Set(['startProfile', 'stopProfile']);

export function summarizeProfile(profile: CpuProfile, options: SummaryOptions = {}): ProfileSummary {
  const top = options.top ?? 15;
  const skipUs = (options.skipFirstMs ?? 0) * 1000;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // A node is the bench's own when it or a caller runs code from dist/bench/.
  const benchOwn = new Set<number>();
  const mark = (id: number, inherited: boolean): void => {
    const node = byId.get(id);
    if (!node) return;
    const own = inherited || (options.leaveOut === 'profiler' ? PROFILER_FUNCTIONS.has(node.callFrame.functionName) : node.callFrame.url.includes('/dist/bench/'));
    if (own) benchOwn.add(id);
    for (const child of node.children ?? []) mark(child, own);
  };
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  for (const node of profile.nodes) if (!childIds.has(node.id)) mark(node.id, false);
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attribute each interval to the sample after it.
  let elapsedUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const delta = Math.max(0, deltas[i] ?? 0);
    elapsedUs += delta;
    if (elapsedUs < skipUs) continue;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + delta);
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  let benchUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (benchOwn.has(id)) {
      benchUs += us;
      continue;
    }
    totalUs += us;
    const area = areaOf(frame);
    if (area === 'idle') idleUs += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = frame.url ? `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : frame.functionName;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rows = (map: Map<string, number>, limit: number): ProfileRow[] =>
    [...map]
      .filter(([name]) => name !== '(idle)' && name !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return { totalMs: totalUs / 1000, benchMs: benchUs / 1000, busyMs: busyUs / 1000, areas: rows(areas, 12), functions: rows(functions, top) };
}

let session: Session | undefined;

/** Starts profiling this process (inspector, 0.5 ms sampling). */
export async function startProfile(): Promise<void> {
  if (session) throw new Error('a profile is already running');
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
}

/** Stops it, writes the profile to `file` (for Chrome DevTools) and summarizes it. */
export async function stopProfile(file: string, leaveOut: SummaryOptions['leaveOut'] = 'bench'): Promise<ProfileSummary> {
  if (!session) throw new Error('no profile running');
  const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
  session.disconnect();
  session = undefined;
  writeFileSync(file, JSON.stringify(profile));
  return summarizeProfile(profile, { leaveOut });
}
