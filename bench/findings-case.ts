import { spawn } from 'node:child_process';
import { fmtInt, table } from './report.js';

/**
 * The cost of the leak rules and the history at cluster scale (design: 1M sockets, 10k pods):
 * dist/bench/findings-child.js in a process of its own, so that its heap holds only the store
 * and the engine. Bounded by `timeoutMs` (the child is killed then).
 */

const CHILD = 'dist/bench/findings-child.js';

export interface FindingsCaseOptions {
  readonly nodes: number;
  readonly socketsPerNode: number;
  readonly podsPerNode: number;
  readonly evaluations: number;
  /** Changes per node applied between two evaluations. */
  readonly churn: number;
  readonly timeoutMs: number;
}

export interface EvaluationSample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** What findings-child.ts prints. */
export interface FindingsCaseResult {
  readonly nodes: number;
  readonly socketsPerNode: number;
  readonly sockets: number;
  readonly pods: number;
  readonly processes: number;
  readonly evaluations: number;
  readonly steady: { readonly wallMsMedian: number; readonly cpuMsMedian: number; readonly wallMsMax: number; readonly cpuMsMax: number };
  readonly opening: EvaluationSample & { readonly findings: number };
  readonly followUp: EvaluationSample;
  readonly memory: {
    readonly storeHeapBytes: number;
    readonly historyAndRulesHeapBytes: number;
    readonly withFindingsHeapBytes: number;
    readonly historyEstimateBytes: number;
    readonly historyPods: number;
    readonly rssBeforeBytes: number;
    readonly rssAfterBytes: number;
  };
}

export function runFindingsCase(options: FindingsCaseOptions): Promise<FindingsCaseResult> {
  const args = ['--nodes', String(options.nodes), '--sockets', String(options.socketsPerNode), '--pods', String(options.podsPerNode), '--evaluations', String(options.evaluations), '--churn', String(options.churn)];
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-4096)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) return reject(new Error(`${CHILD} ended with ${signal ?? code}${signal === 'SIGKILL' ? ` (over ${options.timeoutMs} ms?)` : ''}:\n${stderr}`));
      resolve(JSON.parse(line) as FindingsCaseResult);
    });
  });
}

const ms = (value: number): string => (value < 100 ? value.toFixed(1) : fmtInt(Math.round(value)));
const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(0);

export function findingsLines(result: FindingsCaseResult): string[] {
  const { memory, steady, opening, followUp } = result;
  const everySeconds = 10;
  return [
    `${fmtInt(result.sockets)} sockets on ${fmtInt(result.nodes)} simulated nodes, ${fmtInt(result.pods)} pods, ${fmtInt(result.processes)} processes (bench/synthetic.ts), churn between evaluations; ` +
      `one evaluation = one pass over every socket + the history sample + every rule (${result.evaluations} evaluations, the clock moved 10 s each)`,
    '',
    table(
      ['evaluation', 'wall ms', 'CPU ms', `CPU share at --evaluate-every ${everySeconds}s`],
      [
        ['steady, median (nothing opens)', ms(steady.wallMsMedian), ms(steady.cpuMsMedian), `${((steady.cpuMsMedian / (everySeconds * 1000)) * 100).toFixed(1)} %`],
        ['steady, slowest (the first: history allocated)', ms(steady.wallMsMax), ms(steady.cpuMsMax), ''],
        [`${fmtInt(opening.findings)} findings opening (evidence gathered)`, ms(opening.wallMs), ms(opening.cpuMs), ''],
        ['the evaluation after', ms(followUp.wallMs), ms(followUp.cpuMs), `${((followUp.cpuMs / (everySeconds * 1000)) * 100).toFixed(1)} %`],
      ],
    ),
    '',
    table(
      ['memory (JS heap + typed arrays, after gc)', 'MiB', 'per pod'],
      [
        ['before the engine: the store and the simulated nodes\' own tables', mib(memory.storeHeapBytes), ''],
        [`history + rules' state, ${fmtInt(memory.historyPods)} pods`, mib(memory.historyAndRulesHeapBytes), `${(memory.historyAndRulesHeapBytes / Math.max(1, result.pods) / 1024).toFixed(1)} KiB`],
        ['  of which the history, as it estimates itself', mib(memory.historyEstimateBytes), `${(memory.historyEstimateBytes / Math.max(1, memory.historyPods) / 1024).toFixed(1)} KiB`],
        [`with ${fmtInt(opening.findings)} findings held`, mib(memory.withFindingsHeapBytes), ''],
        ['RSS before the engine / after', `${mib(memory.rssBeforeBytes)} / ${mib(memory.rssAfterBytes)}`, ''],
      ],
    ),
  ];
}
