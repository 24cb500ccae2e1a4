import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** A process's counters from /proc: CPU from stat, memory from status, I/O bytes from io. */

let clockTicks: number | undefined;

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** When it was taken (performance.now() of this process, ms). */
  readonly atMs: number;
  /** utime + stime, ms. */
  readonly cpuMs: number;
  readonly userMs: number;
  readonly sysMs: number;
  readonly rssKb: number;
  /** Peak RSS (VmHWM). */
  readonly hwmKb: number;
  /** Bytes read / written by read(2)/write(2)-family calls, sockets included. */
  readonly rchar: number;
  readonly wchar: number;
  readonly threads: number;
}

function statusField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return match ? Number(match[1]) : NaN;
}

export function sampleProc(pid: number): ProcSample {
  const atMs = performance.now();
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces), from field 3 (state) on.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = ticksPerSecond();
  const userMs = (Number(fields[11]) * 1000) / hz;
  const sysMs = (Number(fields[12]) * 1000) / hz;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  return {
    atMs,
    cpuMs: userMs + sysMs,
    userMs,
    sysMs,
    rssKb: statusField(status, 'VmRSS'),
    hwmKb: statusField(status, 'VmHWM'),
    rchar: statusField(io, 'rchar'),
    wchar: statusField(io, 'wchar'),
    threads: statusField(status, 'Threads'),
  };
}

export interface ProcDelta {
  readonly seconds: number;
  readonly cpuMs: number;
  /** Of cpuMs, in user and in kernel mode. */
  readonly userMs: number;
  readonly sysMs: number;
  /** CPU time over wall time: 1 = one core busy the whole time. */
  readonly cores: number;
  readonly rcharPerSecond: number;
  readonly wcharPerSecond: number;
}

export function procDelta(from: ProcSample, to: ProcSample): ProcDelta {
  const seconds = (to.atMs - from.atMs) / 1000;
  const cpuMs = to.cpuMs - from.cpuMs;
  return {
    seconds,
    cpuMs,
    userMs: to.userMs - from.userMs,
    sysMs: to.sysMs - from.sysMs,
    cores: cpuMs / 1000 / seconds,
    rcharPerSecond: (to.rchar - from.rchar) / seconds,
    wcharPerSecond: (to.wchar - from.wchar) / seconds,
  };
}

/** CPU of each live thread of a process (ms), with its name. */
export function sampleThreads(pid: number): Map<number, { comm: string; cpuMs: number }> {
  const threads = new Map<number, { comm: string; cpuMs: number }>();
  const hz = ticksPerSecond();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(Number(tid), { comm, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / hz });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return threads;
}

/**
 * Where a process's CPU went between two samples, by thread: the main thread, the others by
 * name, and threads that ended within the window (whose time only the process total keeps).
 */
export function threadBreakdown(pid: number, from: { proc: ProcSample; threads: Map<number, { comm: string; cpuMs: number }> }, to: { proc: ProcSample; threads: Map<number, { comm: string; cpuMs: number }> }): Record<string, number> {
  const byName: Record<string, number> = {};
  let live = 0;
  for (const [tid, thread] of to.threads) {
    const delta = thread.cpuMs - (from.threads.get(tid)?.cpuMs ?? 0);
    const name = tid === pid ? 'main thread' : thread.comm;
    byName[name] = (byName[name] ?? 0) + delta;
    live += delta;
  }
  // Threads that ended took their time with them into the process's total.
  byName['threads that ended in the window'] = to.proc.cpuMs - from.proc.cpuMs - live;
  return byName;
}

/**
 * The highest RSS a process reached in each phase of a run, sampled every `intervalMs` (VmHWM
 * only tells the highest of the whole run, not when).
 */
export class RssPeaks {
  private current = 'start';
  readonly peaksKb: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** From now on samples count for `name`. */
  phase(name: string): void {
    this.sample();
    this.current = name;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }

  private sample(): void {
    try {
      const rssKb = statusField(readFileSync(`/proc/${this.pid}/status`, 'utf8'), 'VmRSS');
      this.peaksKb[this.current] = Math.max(this.peaksKb[this.current] ?? 0, rssKb);
    } catch {
      // The process is gone: nothing more to sample.
    }
  }
}
