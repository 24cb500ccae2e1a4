import type { ParseError } from '../procfs/errors.js';
import type { SocketRecord } from '../../model/socket.js';

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

/** What attribution and the wire form need of a scan: each namespace's sockets, and who holds them. */
export interface HostSockets {
  /** The host's namespace first, then the others in order of their lowest pid. */
  readonly namespaces: readonly NamespaceScan[];
  /** Socket inode → every process fd holding it, ascending by pid. */
  readonly holders: ReadonlyMap<string, readonly SocketHolder[]>;
}
