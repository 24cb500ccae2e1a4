import { PARSE_RERUN, PROFILER_OVERHEAD, type ProfileRow, type ScanChildReport, type ScanRun } from './scan-report.js';
import { SERIES, type Figure, type Section, type Step } from './suite.js';
import { stats, type Stats } from './timing.js';

/** Plain-text tables of one size's results, and the figures they were made from (for JSON). */

export interface SeriesSummary {
  readonly id: string;
  readonly label: string;
  readonly section: Section;
  readonly ms: Stats;
  readonly cpuMsMedian?: number;
  readonly maxRssKb?: number;
  readonly warmupLines?: number;
  readonly ratioToSsTan?: number;
  readonly ratioToSsTanp?: number;
}

function median(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : stats(values).median;
}

export function summarize(steps: readonly Step[], figures: Map<string, Figure[]>, lines: Map<string, number>): SeriesSummary[] {
  const rows: SeriesSummary[] = [];
  const medianOf = (id: string): number | undefined => median((figures.get(id) ?? []).map((f) => f.ms));
  for (const step of steps) {
    const base = step.section === 'all' ? { tan: medianOf(SERIES.ssTan), tanp: medianOf(SERIES.ssTanp) } : { tan: medianOf(SERIES.oneSsTan), tanp: medianOf(SERIES.oneSsTanp) };
    for (const { id, label } of step.series) {
      const list = figures.get(id) ?? [];
      const ms = stats(list.map((f) => f.ms));
      const cpu = median(list.flatMap((f) => (f.cpuMs === undefined ? [] : [f.cpuMs])));
      const rss = list.flatMap((f) => (f.maxRssKb === undefined ? [] : [f.maxRssKb]));
      const lineCount = lines.get(id);
      rows.push({
        id,
        label,
        section: step.section,
        ms,
        ...(cpu !== undefined && { cpuMsMedian: cpu }),
        ...(rss.length > 0 && { maxRssKb: Math.max(...rss) }),
        ...(lineCount !== undefined && { warmupLines: lineCount }),
        ...(base.tan !== undefined && { ratioToSsTan: ms.median / base.tan }),
        ...(base.tanp !== undefined && { ratioToSsTanp: ms.median / base.tanp }),
      });
    }
  }
  return rows;
}

const fmtMs = (ms: number | undefined): string => (ms === undefined || Number.isNaN(ms) ? '-' : ms < 100 ? ms.toFixed(1) : Math.round(ms).toLocaleString('en-US'));
const fmtRatio = (ratio: number | undefined): string => (ratio === undefined ? '-' : `${ratio.toFixed(2)}×`);
const fmtMiB = (kb: number | undefined): string => (kb === undefined ? '-' : (kb / 1024).toFixed(0));
export const fmtInt = (n: number): string => n.toLocaleString('en-US');

/** Left-aligns the first column, right-aligns the rest. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function timingTables(
  rows: readonly SeriesSummary[],
  captions: Record<Section, string> = {
    all: 'Every namespace (ratios against the ss loops over the same namespaces):',
    single: 'One namespace, the largest bench namespace (ratios against ss inside it):',
  },
): string {
  const header = ['command', 'min ms', 'median ms', 'max ms', 'cpu ms', 'maxRSS MiB', '/ ss -tan', '/ ss -tanp', 'lines'];
  const render = (section: Section): string =>
    table(
      header,
      rows
        .filter((r) => r.section === section)
        .map((r) => [
          r.label,
          fmtMs(r.ms.min),
          fmtMs(r.ms.median),
          fmtMs(r.ms.max),
          fmtMs(r.cpuMsMedian),
          fmtMiB(r.maxRssKb),
          fmtRatio(r.ratioToSsTan),
          fmtRatio(r.ratioToSsTanp),
          r.warmupLines === undefined ? '' : fmtInt(r.warmupLines),
        ]),
    );
  const sections = (['all', 'single'] as const).filter((section) => rows.some((r) => r.section === section));
  return sections.map((section) => `${captions[section]}\n${render(section)}`).join('\n\n');
}

export interface TargetCheck {
  readonly what: string;
  readonly ms: number;
  readonly against: string;
  readonly againstMs: number;
  readonly ratio: number;
  readonly limit: number;
  readonly pass: boolean;
}

/** design.md: scan+attribute faster than ss -tanp and within 2× of ss -tan. */
export function checkTargets(
  rows: readonly SeriesSummary[],
  ids: readonly string[] = [SERIES.scanOwnersCold, SERIES.scanOwnersWarm, SERIES.localTanp],
): TargetCheck[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const checks: TargetCheck[] = [];
  const tan = byId.get(SERIES.ssTan)?.ms.median;
  const tanp = byId.get(SERIES.ssTanp)?.ms.median;
  for (const id of ids) {
    const row = byId.get(id);
    if (!row || tan === undefined || tanp === undefined) continue;
    const ms = row.ms.median;
    checks.push({ what: row.label, ms, against: 'ss -tanp loop', againstMs: tanp, ratio: ms / tanp, limit: 1, pass: ms < tanp });
    checks.push({ what: row.label, ms, against: 'ss -tan loop', againstMs: tan, ratio: ms / tan, limit: 2, pass: ms <= 2 * tan });
  }
  return checks;
}

export function targetTable(checks: readonly TargetCheck[]): string {
  return table(
    ['target', 'median ms', 'vs', 'its median ms', 'ratio', 'goal', 'result'],
    checks.map((c) => [c.what, fmtMs(c.ms), c.against, fmtMs(c.againstMs), fmtRatio(c.ratio), c.limit === 1 ? '< 1×' : `≤ ${c.limit}×`, c.pass ? 'PASS' : 'FAIL']),
  );
}

export function profileTable(profile: Record<string, ProfileRow>, instrumentedMs: number): string {
  const overheadMs = profile[PROFILER_OVERHEAD]?.ms ?? 0;
  const scanMs = instrumentedMs - overheadMs;
  const rows = Object.entries(profile)
    .filter(([key]) => key !== PROFILER_OVERHEAD)
    .sort((a, b) => b[1].ms - a[1].ms);
  const fsMs = rows.filter(([key]) => key !== PARSE_RERUN).reduce((sum, [, row]) => sum + row.ms, 0);
  const pct = (ms: number): string => `${((100 * ms) / scanMs).toFixed(0)}%`;
  const body = rows.map(([key, row]) => [
    key,
    fmtInt(row.calls),
    fmtMs(row.ms),
    pct(row.ms),
    row.calls > 0 ? ((1000 * row.ms) / row.calls).toFixed(1) : '-',
    row.bytes > 0 ? (row.bytes / 1048576).toFixed(1) : '',
  ]);
  body.push(['JS outside the /proc calls (includes that parse)', '', fmtMs(scanMs - fsMs), pct(scanMs - fsMs), '', '']);
  body.push(['scan total (instrumented, minus bookkeeping)', '', fmtMs(scanMs), '100%', '', '']);
  return table(['where the scan (one thread, with owners) spends its time', 'calls/records', 'ms', '% of scan', 'µs each', 'MiB'], body);
}

/** Medians, over the timed rounds, of the scan and its attribution in the same scan child. */
export interface AttributionSummary {
  readonly run: string;
  readonly n: number;
  readonly scanMs: number;
  readonly identitiesMs: number;
  readonly attributeMs: number;
  readonly attributionMs: number;
  readonly totalMs: number;
  /** Median over the rounds of attribution / (scan + attribution). */
  readonly share: number;
  readonly attributionGcMs: number;
  readonly ratioToSsTan?: number;
  readonly ratioToSsTanp?: number;
  readonly attributionToSsTanp?: number;
}

export function summarizeAttribution(reports: readonly ScanChildReport[], rows: readonly SeriesSummary[]): AttributionSummary[] {
  const byId = new Map(rows.map((r) => [r.id, r.ms.median]));
  const tan = byId.get(SERIES.ssTan);
  const tanp = byId.get(SERIES.ssTanp);
  const withAttribution = reports.filter((report) => report.runs.some((run) => run.attribution));
  return (['1st scan (cold)', '2nd scan (warm)'] as const).flatMap((run, index) => {
    const runs = withAttribution.flatMap((report) => {
      const scan = report.runs[index];
      return scan?.attribution ? [scan as ScanRun & { attribution: NonNullable<ScanRun['attribution']> }] : [];
    });
    if (runs.length === 0) return [];
    const med = (pick: (r: (typeof runs)[number]) => number): number => stats(runs.map(pick)).median;
    const totalMs = med((r) => r.ms + r.attribution.ms);
    const attributionMs = med((r) => r.attribution.ms);
    return [
      {
        run,
        n: runs.length,
        scanMs: med((r) => r.ms),
        identitiesMs: med((r) => r.attribution.identitiesMs),
        attributeMs: med((r) => r.attribution.attributeMs),
        attributionMs,
        totalMs,
        share: med((r) => r.attribution.ms / (r.ms + r.attribution.ms)),
        attributionGcMs: med((r) => r.attribution.gcMs),
        ...(tan !== undefined && { ratioToSsTan: totalMs / tan }),
        ...(tanp !== undefined && { ratioToSsTanp: totalMs / tanp, attributionToSsTanp: attributionMs / tanp }),
      },
    ];
  });
}

export function attributionTable(summaries: readonly AttributionSummary[]): string {
  return table(
    ['in-process, same scan child', 'scan ms', 'readIdentities ms', 'attributeScan ms', 'attribution ms', '(GC ms)', 'share', 'scan+attr ms', '/ ss -tan', '/ ss -tanp', 'attr / ss -tanp'],
    summaries.map((s) => [
      s.run,
      fmtMs(s.scanMs),
      fmtMs(s.identitiesMs),
      fmtMs(s.attributeMs),
      fmtMs(s.attributionMs),
      fmtMs(s.attributionGcMs),
      `${(100 * s.share).toFixed(1)}%`,
      fmtMs(s.totalMs),
      fmtRatio(s.ratioToSsTan),
      fmtRatio(s.ratioToSsTanp),
      fmtRatio(s.attributionToSsTanp),
    ]),
  );
}

/** Where the attribution of the profile run went: cgroup reads, their parsing, attributeScan. */
export function attributionProfileTable(profile: Record<string, ProfileRow>, run: ScanRun): string | undefined {
  const attribution = run.attribution;
  if (!attribution) return undefined;
  const overheadMs = profile[PROFILER_OVERHEAD]?.ms ?? 0;
  const reads = Object.entries(profile).filter(([key]) => key !== PROFILER_OVERHEAD);
  const readMs = reads.reduce((sum, [, row]) => sum + row.ms, 0);
  const totalMs = attribution.ms - overheadMs;
  const pct = (ms: number): string => `${((100 * ms) / totalMs).toFixed(0)}%`;
  const body = reads.map(([key, row]) => [
    `readIdentities: ${key}`,
    fmtInt(row.calls),
    fmtMs(row.ms),
    pct(row.ms),
    row.calls > 0 ? ((1000 * row.ms) / row.calls).toFixed(1) : '-',
    row.bytes > 0 ? (row.bytes / 1024).toFixed(0) : '',
  ]);
  const parseMs = attribution.identitiesMs - overheadMs - readMs;
  body.push(['readIdentities: identifyProcCgroup (parse + match)', fmtInt(attribution.pids), fmtMs(parseMs), pct(parseMs), attribution.pids > 0 ? ((1000 * parseMs) / attribution.pids).toFixed(1) : '-', '']);
  body.push(['attributeScan', fmtInt(attribution.sockets), fmtMs(attribution.attributeMs), pct(attribution.attributeMs), attribution.sockets > 0 ? ((1000 * attribution.attributeMs) / attribution.sockets).toFixed(2) : '-', '']);
  body.push([`attribution total (instrumented, minus bookkeeping; GC ${fmtMs(attribution.gcMs)} ms)`, '', fmtMs(totalMs), '100%', '', '']);
  return table(['where the attribution spends its time', 'calls/pids/sockets', 'ms', '% of attribution', 'µs each', 'KiB'], body);
}
