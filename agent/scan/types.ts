import type { ParseError } from '../procfs/errors.js';
import type { SocketProto, SocketRecord } from '../../model/socket.js';

/** A process as netstat and ss name it. */
export interface ProcessInfo {
  readonly pid: number;
  /** netstat's program name: argv[0] from cmdline, basename when absolute (prg_cache_load). Raw bytes as latin1. */
  readonly name: string;
  /** The kernel task name from /proc/<pid>/comm, as ss prints it. Raw bytes as latin1. */
  readonly comm: string;
}

/** One fd of one process that refers to a socket. */
export interface SocketHolder {
  readonly pid: number;
  readonly fd: number;
}

/** The sockets of one network namespace, read once through one process living in it. */
export interface NamespaceScan {
  /** Inode of the namespace file on nsfs (`net:[<inode>]`), as decimal text. */
  readonly netnsInode: string;
  /** True when this is the namespace of pid 1 (the host's, with hostPID). */
  readonly isHost: boolean;
  /** Every process whose ns/net is this namespace, ascending. */
  readonly pids: readonly number[];
  /** The pid whose /proc/<pid>/net/* was read; undefined when every candidate vanished. */
  readonly readVia: number | undefined;
  /** Records in netstat's order: tcp, tcp6, udp, udp6, raw, raw6, unix; file order within each. */
  readonly sockets: readonly SocketRecord[];
  readonly parseErrors: readonly ParseError[];
}

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

export interface HostScan {
  readonly namespaces: readonly NamespaceScan[];
  /** Socket inode → every process fd holding it, ascending by pid. Empty unless owners were resolved. */
  readonly holders: ReadonlyMap<string, readonly SocketHolder[]>;
  /** Every holder, plus the first process of each namespace (to name the namespace). */
  readonly processes: ReadonlyMap<number, ProcessInfo>;
  readonly problems: ScanProblems;
  /** Tables not read because the namespace's sockstat counts proved them empty. */
  readonly emptyTablesSkipped: number;
}

export interface ScanOptions {
  /** Tables to read; others are skipped entirely. */
  readonly protos: ReadonlySet<SocketProto>;
  /** Walk /proc/<pid>/fd to map inodes to processes (netstat -p). */
  readonly resolveOwners: boolean;
  /** Keep only these namespaces (by inode); all when undefined. */
  readonly netnsInodes?: ReadonlySet<string>;
}
