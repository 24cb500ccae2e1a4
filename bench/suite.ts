import type { Fixture } from './fixture.js';
import type { ScanChildReport } from './scan-report.js';
import { runTimed, type Sample } from './timing.js';

/**
 * What one round runs, in order. A step is one spawned process; it yields one figure per
 * series (the scan child yields two: its first scan and its second scan).
 */

export type Section = 'all' | 'single';

export interface Figure {
  readonly ms: number;
  readonly cpuMs?: number;
  readonly maxRssKb?: number;
}

export interface Step {
  readonly section: Section;
  readonly argv: readonly string[];
  /** Series ids and labels this step produces, in display order. */
  readonly series: readonly { readonly id: string; readonly label: string }[];
  readonly extract: (sample: Sample) => Record<string, Figure>;
  readonly scanChild?: boolean;
  /** The command's environment, when not the bench's own. */
  readonly env?: NodeJS.ProcessEnv;
}

export const SERIES = {
  ssTan: 'ss-tan',
  ssTanp: 'ss-tanp',
  scanOwnersCold: 'scan-owners-cold',
  scanOwnersWarm: 'scan-owners-warm',
  oneSsTan: 'one-ss-tan',
  oneSsTanp: 'one-ss-tanp',
  localTanp: 'local-tanp',
  scanAttributeCold: 'scan-attribute-cold',
  scanAttributeWarm: 'scan-attribute-warm',
  attributionCold: 'attribution-cold',
  attributionWarm: 'attribution-warm',
} as const;

const CLI = 'dist/cmd/bin.js';
/** The in-process measurement, compiled like the CLI (tsx would time its own transpiling too). */
export const SCAN_CHILD = 'dist/bench/scan-child.js';

function processFigure(sample: Sample): Figure {
  const cpu = sample.userMs !== undefined && sample.sysMs !== undefined ? sample.userMs + sample.sysMs : undefined;
  return { ms: sample.ms, ...(cpu !== undefined && { cpuMs: cpu }), ...(sample.maxRssKb !== undefined && { maxRssKb: sample.maxRssKb }) };
}

function single(section: Section, id: string, label: string, argv: readonly string[]): Step {
  return { section, argv, series: [{ id, label }], extract: (sample) => ({ [id]: processFigure(sample) }) };
}

export function parseScanReport(sample: Sample): ScanChildReport {
  const line = (sample.stdout ?? '').trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ScanChildReport;
}

function scanStep(owners: boolean, threads: 'auto' | 1 | 2): Step {
  const id = `${owners ? 'scan-owners' : 'scan-only'}${threads === 'auto' ? '' : `-${threads}thread`}`;
  const what = `IncrementalScanner's first scan, ${threads === 'auto' ? 'threads auto (as the CLI)' : `${threads} thread${threads === 1 ? '' : 's'}`}, tcp+tcp6, ${owners ? 'with owners' : 'no owners'}`;
  return {
    section: 'all',
    argv: [process.execPath, SCAN_CHILD, `--owners=${owners ? 1 : 0}`, '--repeat=2', `--threads=${threads}`],
    series: [
      { id: `${id}-cold`, label: `${what} (in-process, 1st scan)` },
      { id: `${id}-warm`, label: `${what} (in-process, 2nd scan)` },
    ],
    scanChild: true,
    extract: (sample) => {
      const report = parseScanReport(sample);
      const [cold, warm] = report.runs;
      const figures: Record<string, Figure> = {};
      if (cold) figures[`${id}-cold`] = { ms: cold.ms, maxRssKb: report.maxRssKb };
      if (warm) figures[`${id}-warm`] = { ms: warm.ms, maxRssKb: report.maxRssKb };
      return figures;
    },
  };
}

/**
 * The scan followed by what `kube-netstat local` does with it: readIdentities over the scanned
 * pids and attributeScan (no API). Yields the scan+attribution total and the attribution alone.
 */
function attributeStep(): Step {
  const what = "IncrementalScanner's first scan (threads auto) tcp+tcp6 with owners + readIdentities + attributeScan";
  return {
    section: 'all',
    argv: [process.execPath, SCAN_CHILD, '--owners=1', '--repeat=2', '--threads=auto', '--attribute'],
    series: [
      { id: SERIES.scanAttributeCold, label: `${what} (in-process, 1st scan)` },
      { id: SERIES.scanAttributeWarm, label: `${what} (in-process, 2nd scan)` },
      { id: SERIES.attributionCold, label: '  of which readIdentities + attributeScan (1st scan)' },
      { id: SERIES.attributionWarm, label: '  of which readIdentities + attributeScan (2nd scan)' },
    ],
    scanChild: true,
    extract: (sample) => {
      const report = parseScanReport(sample);
      const figures: Record<string, Figure> = {};
      report.runs.slice(0, 2).forEach((run, i) => {
        if (!run.attribution) return;
        const [total, attribution] = i === 0 ? [SERIES.scanAttributeCold, SERIES.attributionCold] : [SERIES.scanAttributeWarm, SERIES.attributionWarm];
        figures[total] = { ms: run.ms + run.attribution.ms, maxRssKb: report.maxRssKb };
        figures[attribution] = { ms: run.attribution.ms };
      });
      return figures;
    },
  };
}

/** `sh -c` running one command in the host namespace, then in each named namespace via nsenter. */
function everyNamespace(command: string, names: readonly string[]): string[] {
  const script = `${command}; for ns do nsenter --net="/run/netns/$ns" ${command}; done`;
  return ['sh', '-c', script, 'sh', ...names];
}

export function buildSteps(fixture: Fixture): Step[] {
  const names = fixture.namespaces.map((ns) => ns.name);
  const n = names.length + 1;
  const big = fixture.namespaces[0]!;
  const bigPid = String(big.holderPids[0]);
  const nsenter = ['nsenter', `--net=${big.path}`];
  return [
    single('all', 'local-tan', 'kube-netstat local -tan', [process.execPath, CLI, 'local', '-tan']),
    single('all', SERIES.localTanp, 'kube-netstat local -tanp', [process.execPath, CLI, 'local', '-tanp']),
    scanStep(true, 'auto'),
    scanStep(true, 1),
    scanStep(true, 2),
    scanStep(false, 'auto'),
    single('all', SERIES.ssTan, `ss -tan (host + ${n - 1} netns via nsenter)`, everyNamespace('ss -tan', names)),
    single('all', SERIES.ssTanp, `ss -tanp (host + ${n - 1} netns via nsenter)`, everyNamespace('ss -tanp', names)),
    single('all', 'netstat-tan', `netstat -tan (host + ${n - 1} netns)`, everyNamespace('netstat -tan', names)),
    single('all', 'netstat-tanp', `netstat -tanp (host + ${n - 1} netns)`, everyNamespace('netstat -tanp', names)),
    single('all', 'nsenter-true', `loop overhead: nsenter true × ${n - 1}`, everyNamespace('true', names)),
    single('single', 'node-bare', 'node startup floor: node -e 0', [process.execPath, '-e', '0']),
    single('single', 'cli-help', 'CLI startup floor: kube-netstat local --help', [process.execPath, CLI, 'local', '--help']),
    single('single', SERIES.oneSsTan, `nsenter ss -tan (${big.name})`, [...nsenter, 'ss', '-tan']),
    single('single', 'one-local-tan', `kube-netstat local --netns ${bigPid} -tan`, [process.execPath, CLI, 'local', '--netns', bigPid, '-tan']),
    single('single', SERIES.oneSsTanp, `nsenter ss -tanp (${big.name})`, [...nsenter, 'ss', '-tanp']),
    single('single', 'one-local-tanp', `kube-netstat local --netns ${bigPid} -tanp`, [process.execPath, CLI, 'local', '--netns', bigPid, '-tanp']),
  ];
}

/**
 * The pod case: the CLI as a user runs it (attributing every socket, no API to ask), the scan
 * alone, the scan with attribution, and the ss loops over the pods' namespaces.
 */
export function buildPodSteps(netnsNames: readonly string[], noApiKubeconfig: string): Step[] {
  const n = netnsNames.length;
  // No API: a kubeconfig path that does not exist, and no in-cluster service variables.
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: noApiKubeconfig };
  delete env.KUBERNETES_SERVICE_HOST;
  delete env.KUBERNETES_SERVICE_PORT;
  return [
    { ...single('all', SERIES.localTanp, 'kube-netstat local -tanp (attributes every socket; no API)', [process.execPath, CLI, 'local', '-tanp']), env },
    scanStep(true, 'auto'),
    attributeStep(),
    single('all', SERIES.ssTan, `ss -tan (host + ${n} pod netns via nsenter)`, everyNamespace('ss -tan', netnsNames)),
    single('all', SERIES.ssTanp, `ss -tanp (host + ${n} pod netns via nsenter)`, everyNamespace('ss -tanp', netnsNames)),
    single('all', 'nsenter-true', `loop overhead: nsenter true × ${n}`, everyNamespace('true', netnsNames)),
    single('single', 'node-bare', 'node startup floor: node -e 0', [process.execPath, '-e', '0']),
    { ...single('single', 'cli-help', 'CLI startup floor: kube-netstat local --help', [process.execPath, CLI, 'local', '--help']), env },
  ];
}

export interface RoundResult {
  /** Per series id, one figure per recorded round. */
  readonly figures: Map<string, Figure[]>;
  /** Per series id, stdout lines of the warm-up pass (sockets plus headers). */
  readonly lines: Map<string, number>;
  /** The scan child's reports (for socket counts and RSS). */
  readonly scanReports: ScanChildReport[];
  /** The same, of the timed rounds only. */
  readonly timedScanReports: ScanChildReport[];
}

/** Runs `warmup` counted rounds, then `rounds` timed rounds, alternating the steps. */
export async function runRounds(
  steps: readonly Step[],
  options: { rounds: number; warmup: number; timeoutMs: number; progress: (text: string) => void },
): Promise<RoundResult> {
  const result: RoundResult = { figures: new Map(), lines: new Map(), scanReports: [], timedScanReports: [] };
  for (let round = -options.warmup; round < options.rounds; round++) {
    const warm = round < 0;
    options.progress(warm ? `warm-up ${round + options.warmup + 1}/${options.warmup}` : `round ${round + 1}/${options.rounds}`);
    for (const step of steps) {
      const sample = await runTimed(step.argv, {
        timeoutMs: options.timeoutMs,
        captureStdout: step.scanChild === true,
        countLines: warm && step.scanChild !== true,
        ...(step.env && { env: step.env }),
      });
      if (step.scanChild) {
        const report = parseScanReport(sample);
        result.scanReports.push(report);
        if (!warm) result.timedScanReports.push(report);
      }
      for (const [id, figure] of Object.entries(step.extract(sample))) {
        if (warm) {
          if (sample.stdoutLines !== undefined) result.lines.set(id, sample.stdoutLines);
          continue;
        }
        const list = result.figures.get(id) ?? [];
        list.push(figure);
        result.figures.set(id, list);
      }
    }
  }
  return result;
}
