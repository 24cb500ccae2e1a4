import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** GNU time, when installed: gives user/sys CPU and max RSS of each sample for free. */
const GNU_TIME = '/usr/bin/time';
const TIME_MARK = 'KNSBENCH-TIME';
export const haveGnuTime = existsSync(GNU_TIME);

export interface Sample {
  /** Wall time from spawn to exit, as seen by the bench. */
  readonly ms: number;
  /** CPU of the process and its reaped children, from GNU time (undefined without it). */
  readonly userMs?: number;
  readonly sysMs?: number;
  /** Largest max RSS among the process and its reaped children (KiB). */
  readonly maxRssKb?: number;
  /** Lines written to stdout, when asked to count them (the sample is then piped, not /dev/null). */
  readonly stdoutLines?: number;
  /** Whatever the command printed on stdout, when it was captured (small outputs only). */
  readonly stdout?: string;
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** Pipe stdout and count its lines (sanity pass) instead of sending it to /dev/null. */
  readonly countLines?: boolean;
  /** Keep stdout text (for the scan child's JSON report). */
  readonly captureStdout?: boolean;
  /** The command's environment; the bench's own when absent. */
  readonly env?: NodeJS.ProcessEnv;
}

export class CommandError extends Error {}

/** Process groups of samples still running, so that a signal trap can end them. */
const running = new Set<number>();

/** SIGKILLs the process group of every sample still running (cleanup on exit or signal). */
export function killRunningSamples(): void {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/**
 * Runs argv once and times it. stdout goes to /dev/null unless counted or captured; stderr is
 * kept for error reports and carries GNU time's one marked line at its end.
 */
export function runTimed(argv: readonly string[], options: RunOptions): Promise<Sample> {
  const wrapped = haveGnuTime ? [GNU_TIME, '-f', `${TIME_MARK} %U %S %M`, ...argv] : [...argv];
  const pipeOut = options.countLines === true || options.captureStdout === true;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // Own process group: a timeout or a signal ends the command and everything it started.
    const child = spawn(wrapped[0]!, wrapped.slice(1), {
      stdio: ['ignore', pipeOut ? 'pipe' : 'ignore', 'pipe'],
      detached: true,
      ...(options.env && { env: options.env }),
    });
    const pgid = child.pid;
    if (pgid !== undefined) running.add(pgid);
    let stderr = '';
    let stdout = '';
    let lines = 0;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      if (options.captureStdout) stdout += chunk.toString('utf8');
    });
    const timer = setTimeout(() => {
      if (pgid !== undefined) process.kill(-pgid, 'SIGKILL');
    }, options.timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      if (pgid !== undefined) running.delete(pgid);
    };
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.on('close', (code, signal) => {
      done();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const markAt = stderr.lastIndexOf(TIME_MARK);
      const ownErr = (markAt >= 0 ? stderr.slice(0, markAt) : stderr).trim();
      if (code !== 0 || signal !== null) {
        const why = signal !== null ? `killed by ${signal}${ms >= options.timeoutMs ? ' (timeout)' : ''}` : `exit ${code}`;
        reject(new CommandError(`${argv.join(' ')}: ${why}${ownErr ? `\n${ownErr.slice(-2000)}` : ''}`));
        return;
      }
      const sample: { -readonly [K in keyof Sample]: Sample[K] } = { ms };
      if (markAt >= 0) {
        const [user, sys, rss] = stderr.slice(markAt + TIME_MARK.length).trim().split(/\s+/).map(Number);
        sample.userMs = (user ?? NaN) * 1000;
        sample.sysMs = (sys ?? NaN) * 1000;
        sample.maxRssKb = rss ?? NaN;
      }
      if (options.countLines) sample.stdoutLines = lines;
      if (options.captureStdout) sample.stdout = stdout;
      resolve(sample);
    });
  });
}

export interface Stats {
  readonly n: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

export function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { n, min: NaN, median: NaN, max: NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n, min: sorted[0]!, median, max: sorted[n - 1]! };
}
