/** What bench/scan-child.ts prints (one JSON line), shared with the bench's reporting. */

export interface ScanRun {
  readonly ms: number;
  readonly namespaces: number;
  readonly sockets: number;
  readonly tcp: number;
  readonly tcp6: number;
  readonly holders: number;
  readonly processes: number;
  /** Threads the scan ran on. */
  readonly threads: 1 | 2;
  readonly gcMs: number;
  /** With --attribute: cgroup attribution of this scan, timed right after it in the same process. */
  readonly attribution?: AttributionRun;
}

/** readIdentities over the scanned pids, then attributeScan with the no-API resolver (as `local` without a kubeconfig). */
export interface AttributionRun {
  /** readIdentities + attributeScan. */
  readonly ms: number;
  /** readIdentities: read and parse /proc/<pid>/cgroup of every scanned pid. */
  readonly identitiesMs: number;
  /** attributeScan: every socket to its pod and container. */
  readonly attributeMs: number;
  readonly gcMs: number;
  /** Pids whose cgroup was read (namespace members and holders), and how many had an identity. */
  readonly pids: number;
  readonly identities: number;
  /** Processes in a pod cgroup, and the distinct pod UIDs among them. */
  readonly podProcesses: number;
  readonly pods: number;
  /** Sockets attributed (all TCP of the scan), those placed in a pod, those also in a container. */
  readonly sockets: number;
  readonly inPods: number;
  readonly withContainer: number;
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
  /** With --profile --attribute: the HostFs calls of the attribution (the last run's), by kind. */
  readonly attributionProfile?: Record<string, ProfileRow>;
}

export const PROFILER_OVERHEAD = 'profiler bookkeeping (not part of the scan)';
export const PARSE_RERUN = 'parseInetTable alone (re-run on the same bytes)';
