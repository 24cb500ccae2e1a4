/** What a scan of /proc could not read, counted: the agent's metrics and log, `local`'s stderr. */
export interface ScanProblems {
  /** Processes whose ns/net could not be read (EACCES): their namespaces are not listed. */
  namespaceDenied: number;
  /** Processes whose fd directory could not be listed or read: their sockets show no owner. */
  fdDenied: number;
  /** Processes, fds or tables that vanished mid-scan (normal churn). */
  vanished: number;
  /** Table reads refused (EACCES/EPERM): those tables are missing from the listing. */
  tablesDenied: number;
  /** Lines the kernel repeated within one read (the iterator resumes by bucket under churn). */
  duplicatesDropped: number;
  /** The first refusals behind namespaceDenied and fdDenied (at most MAX_REFUSALS of each): what an explanation names. */
  refusals: Refusal[];
}

/** ScanProblems' counts (everything but the examples). */
export type ProblemCount = Exclude<keyof ScanProblems, 'refusals'>;

/** One refused read: whose, which file, which error. */
export interface Refusal {
  readonly kind: 'namespace' | 'fd';
  readonly pid: number;
  readonly path: string;
  /** The errno name (EACCES, EPERM). */
  readonly code: string;
}

/** Refusals kept as examples per scan and kind: enough to say which processes, few enough for one line. */
export const MAX_REFUSALS = 3;

export function emptyProblems(): ScanProblems {
  return { namespaceDenied: 0, fdDenied: 0, vanished: 0, tablesDenied: 0, duplicatesDropped: 0, refusals: [] };
}

/** Keeps `refusal` as an example unless MAX_REFUSALS of its kind are kept already. */
export function noteRefusal(problems: ScanProblems, refusal: Refusal): void {
  let kept = 0;
  for (const other of problems.refusals) if (other.kind === refusal.kind) kept++;
  if (kept < MAX_REFUSALS) problems.refusals.push(refusal);
}
