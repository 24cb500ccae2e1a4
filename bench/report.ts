import { PARSE_RERUN, PROFILER_OVERHEAD, type ProfileRow } from './scan-report.js';
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

export function timingTables(rows: readonly SeriesSummary[]): string {
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
  return [
    'Every namespace (ratios against the ss loops over the same namespaces):',
    render('all'),
    '',
    'One namespace, the largest bench namespace (ratios against ss inside it):',
    render('single'),
  ].join('\n');
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
export function checkTargets(rows: readonly SeriesSummary[]): TargetCheck[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const checks: TargetCheck[] = [];
  const tan = byId.get(SERIES.ssTan)?.ms.median;
  const tanp = byId.get(SERIES.ssTanp)?.ms.median;
  for (const id of [SERIES.scanOwnersCold, SERIES.scanOwnersWarm, 'local-tanp']) {
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
  return table(['where scanHost(resolveOwners) spends its time', 'calls/records', 'ms', '% of scan', 'µs each', 'MiB'], body);
}
