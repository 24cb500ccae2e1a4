/**
 * The plugin's start-up as a user pays it: `kubectl netstat --help` as a whole process (the real
 * kubectl finding `kubectl-netstat` on PATH and exec'ing the built plugin), against
 * `kubectl version --client`, and against the same plugin bundled by esbuild as the krew archive
 * ships it (scripts/krew.ts: every dependency inlined, lazily loaded parts as chunks) — the
 * measurement that decides whether the npm package should ship a bundle too. Alternating
 * rounds, whole-process wall and CPU.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundlePlugin } from '../scripts/krew.js';
import { fmtInt, table } from './report.js';
import { runTimed, stats, type Sample, type Stats } from './timing.js';

export interface StartupRow {
  readonly label: string;
  readonly wallMs: Stats;
  readonly cpuMs: Stats;
  readonly maxRssKb: Stats;
}

export interface StartupCaseResult {
  readonly rows: readonly StartupRow[];
  /** Plugin median wall / kubectl version --client median wall. */
  readonly pluginVsKubectl: number;
  /** Bundled plugin median wall / plugin as shipped median wall. */
  readonly bundledVsShipped: number;
  readonly bundleBytes: number;
}

/** A PATH directory whose kubectl-netstat runs `target` (an ES module) with this node. */
function pluginDir(target: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kns-bench-startup-'));
  const launcher = join(dir, 'kubectl-netstat');
  writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`);
  chmodSync(launcher, 0o755);
  return dir;
}

export async function runStartupCase(options: { repo: string; rounds: number; progress: (line: string) => void }): Promise<StartupCaseResult> {
  const shipped = pluginDir(join(options.repo, 'bin', 'kubectl-netstat.js'));
  const bundleOut = mkdtempSync(join(tmpdir(), 'kns-bench-bundle-'));
  try {
    const bundleBytes = await bundlePlugin(bundleOut);
    const bundled = pluginDir(join(bundleOut, 'kubectl-netstat.js'));
    try {
      const env = (dir?: string): NodeJS.ProcessEnv => {
        const next: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir ? `${dir}:` : ''}${process.env.PATH ?? ''}` };
        delete next.NODE_OPTIONS;
        return next;
      };
      const cases = [
        { label: 'kubectl version --client', argv: ['kubectl', 'version', '--client'], env: env() },
        { label: 'kubectl netstat --help (as shipped)', argv: ['kubectl', 'netstat', '--help'], env: env(shipped) },
        { label: `kubectl netstat --help (krew's esbuild bundle, ${fmtInt(Math.round(bundleBytes / 1024))} KiB)`, argv: ['kubectl', 'netstat', '--help'], env: env(bundled) },
      ];
      const samples = cases.map((): Sample[] => []);
      for (const c of cases) await runTimed(c.argv, { timeoutMs: 30_000, env: c.env });
      for (let round = 0; round < options.rounds; round++) {
        if (round % 5 === 0) options.progress(`start-up: round ${round + 1}/${options.rounds}`);
        for (const [i, c] of cases.entries()) samples[i]!.push(await runTimed(c.argv, { timeoutMs: 30_000, env: c.env }));
      }
      const rows = cases.map((c, i): StartupRow => ({
        label: c.label,
        wallMs: stats(samples[i]!.map((s) => s.ms)),
        cpuMs: stats(samples[i]!.map((s) => (s.userMs ?? NaN) + (s.sysMs ?? NaN))),
        maxRssKb: stats(samples[i]!.map((s) => s.maxRssKb ?? NaN)),
      }));
      return {
        rows,
        pluginVsKubectl: rows[1]!.wallMs.median / rows[0]!.wallMs.median,
        bundledVsShipped: rows[2]!.wallMs.median / rows[1]!.wallMs.median,
        bundleBytes,
      };
    } finally {
      rmSync(bundled, { recursive: true, force: true });
    }
  } finally {
    rmSync(shipped, { recursive: true, force: true });
    rmSync(bundleOut, { recursive: true, force: true });
  }
}

export function startupLines(result: StartupCaseResult): string[] {
  const ms = (value: number): string => (Number.isNaN(value) ? '-' : value.toFixed(0));
  return [
    table(
      ['command', 'wall ms min', 'median', 'max', 'CPU ms median', 'max RSS MiB'],
      result.rows.map((row) => [row.label, ms(row.wallMs.min), ms(row.wallMs.median), ms(row.wallMs.max), ms(row.cpuMs.median), (row.maxRssKb.median / 1024).toFixed(0)]),
    ),
    `kubectl netstat --help / kubectl version --client: ${result.pluginVsKubectl.toFixed(2)}× wall (median)`,
    `bundled / as shipped: ${result.bundledVsShipped.toFixed(2)}× wall (median); the package ships a bundle only when this is clearly below 1`,
  ];
}
