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
}

export function emptyProblems(): ScanProblems {
  return { namespaceDenied: 0, fdDenied: 0, vanished: 0, tablesDenied: 0, duplicatesDropped: 0 };
}
