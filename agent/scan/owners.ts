import { AccessDeniedError } from '../procfs/errors.js';
import type { HostFs } from '../procfs/hostfs.js';
import { noteRefusal, type ScanProblems } from '../../model/scan-problems.js';
import type { ProcessInfo } from './types.js';

/** netstat's PROGNAME_WIDTH buffer: "pid/name" keeps at most 19 characters. */
const CMDLINE_READ_LIMIT = 511;

/**
 * The socket inode an fd link names: `socket:[N]`, or `[0000]:N` on very old kernels
 * (extract_type_1/2_socket_inode in net-tools). undefined for anything else.
 */
export function socketInodeOfLink(link: string): string | undefined {
  if (link.startsWith('socket:[') && link.endsWith(']')) {
    const inode = link.slice(8, -1);
    return /^\d+$/.test(inode) ? inode : undefined;
  }
  if (link.startsWith('[0000]:')) {
    const inode = link.slice(7);
    return /^\d+$/.test(inode) ? inode : undefined;
  }
  return undefined;
}

/** One fd of one process that refers to a socket, with the socket's inode. */
export interface SocketFd {
  readonly fd: number;
  readonly inode: string;
}

/**
 * The socket fds of one process, in readdir order (reference §4). Threads share the fd table,
 * so thread-group leaders suffice. undefined when the process is gone (counted as vanished) or
 * its fd directory is refused (counted as fdDenied); a link refused midway keeps what was read
 * before it.
 */
export function socketFdsOf(hostFs: HostFs, pid: number, problems: ScanProblems): SocketFd[] | undefined {
  let fds: string[] | undefined;
  try {
    fds = hostFs.readdir(`${pid}/fd`);
  } catch (error) {
    if (!(error instanceof AccessDeniedError)) throw error;
    problems.fdDenied++;
    noteRefusal(problems, { kind: 'fd', pid, path: error.path, code: error.code });
    return undefined;
  }
  if (fds === undefined) {
    problems.vanished++;
    return undefined;
  }
  const prefix = `${pid}/fd/`;
  const sockets: SocketFd[] = [];
  for (const fd of fds) {
    let link: string | undefined;
    try {
      link = hostFs.readlink(prefix + fd);
    } catch (error) {
      // Each link is ptrace-checked separately (proc_fd_access_allowed).
      if (!(error instanceof AccessDeniedError)) throw error;
      problems.fdDenied++;
      noteRefusal(problems, { kind: 'fd', pid, path: error.path, code: error.code });
      break;
    }
    if (link === undefined) continue;
    const inode = socketInodeOfLink(link);
    if (inode !== undefined) sockets.push({ fd: Number(fd), inode });
  }
  return sockets;
}

/**
 * netstat's program name: argv[0] as read from cmdline, reduced to its basename when it is an
 * absolute path (prg_cache_load in netstat.c). Arguments after the first NUL are ignored.
 */
export function programName(cmdline: Uint8Array): string {
  const limit = Math.min(cmdline.length, CMDLINE_READ_LIMIT);
  let end = cmdline.indexOf(0);
  if (end < 0 || end > limit) end = limit;
  const argv0 = Buffer.from(cmdline.buffer, cmdline.byteOffset, end).toString('latin1');
  return argv0.startsWith('/') ? argv0.slice(argv0.lastIndexOf('/') + 1) : argv0;
}

/** Reads name and comm of each pid; a process gone meanwhile gets empty names. */
export function describeProcesses(hostFs: HostFs, pids: Iterable<number>): Map<number, ProcessInfo> {
  const processes = new Map<number, ProcessInfo>();
  for (const pid of pids) {
    const cmdline = hostFs.readFile(`${pid}/cmdline`);
    const comm = hostFs.readFile(`${pid}/comm`);
    processes.set(pid, {
      pid,
      name: cmdline ? programName(cmdline) : '',
      comm: comm ? comm.toString('latin1').replace(/\n$/, '') : '',
    });
  }
  return processes;
}
