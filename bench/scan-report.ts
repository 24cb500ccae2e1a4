/** What bench/scan-child.ts prints (one JSON line), shared with the bench's reporting. */

export interface ScanRun {
  readonly ms: number;
  readonly namespaces: number;
  readonly sockets: number;
  readonly tcp: number;
  readonly tcp6: number;
  readonly holders: number;
  readonly processes: number;
  readonly gcMs: number;
}

export interface ProfileRow {
  readonly calls: number;
  readonly ms: number;
  readonly bytes: number;
}

export interface ScanChildReport {
  readonly owners: boolean;
  readonly runs: ScanRun[];
  /** process.resourceUsage().maxRSS after the runs, KiB. */
  readonly maxRssKb: number;
  readonly profile?: Record<string, ProfileRow>;
}

export const PROFILER_OVERHEAD = 'profiler bookkeeping (not part of the scan)';
export const PARSE_RERUN = 'parseInetTable alone (re-run on the same bytes)';
