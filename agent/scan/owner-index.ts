import type { HostFs } from '../procfs/hostfs.js';
import { describeProcesses, socketFdsOf, type SocketFd } from './owners.js';
import type { ScanProblems } from '../../model/scan-problems.js';
import type { ProcessInfo, SocketHolder } from './types.js';

const NO_FDS: readonly SocketFd[] = [];

/**
 * Socket inode → holders, kept across scans and updated one process at a time: a process is
 * walked (`/proc/<pid>/fd`, one readlink per fd: reference §4.2) when it is new, when the caller
 * decides so (its turn in the safety net, or a namespace showing an inode nobody is known to
 * hold), and forgotten when it exits. Holder lists stay ascending by pid, fds in readdir order,
 * whatever order processes are walked in. Every inode whose holders changed is remembered until
 * takeChanged(). Names (cmdline, comm) are read for processes that hold sockets, on every walk.
 */
export class OwnerIndex {
  private readonly fdsByPid = new Map<number, readonly SocketFd[]>();
  private readonly byInode = new Map<string, SocketHolder[]>();
  private readonly names = new Map<number, ProcessInfo>();
  private changed = new Set<string>();

  constructor(private readonly hostFs: HostFs) {}

  /** Socket inode → every process fd holding it, ascending by pid. */
  get holders(): ReadonlyMap<string, readonly SocketHolder[]> {
    return this.byInode;
  }

  /** Names of the processes that hold sockets. */
  get processes(): ReadonlyMap<number, ProcessInfo> {
    return this.names;
  }

  /** The socket inodes pid held when it was last walked. */
  inodesOf(pid: number): string[] {
    return (this.fdsByPid.get(pid) ?? NO_FDS).map((entry) => entry.inode);
  }

  /** Reads pid's fd table (and, when it holds sockets, its names) and updates the index. */
  walk(pid: number, problems: ScanProblems): void {
    this.record(pid, socketFdsOf(this.hostFs, pid, problems));
  }

  /**
   * Updates the index with pid's socket fds as a walk found them (socketFdsOf, here or on the
   * scan's second thread; undefined: gone or refused), reading its names when it holds sockets.
   */
  record(pid: number, found: readonly SocketFd[] | undefined): void {
    const fds = found ?? NO_FDS;
    const previous = this.fdsByPid.get(pid);
    const named = fds.length > 0 ? describeProcesses(this.hostFs, [pid]).get(pid) : undefined;
    const before = this.names.get(pid);
    if (named) this.names.set(pid, named);
    else this.names.delete(pid);
    const renamed = named !== undefined && before !== undefined && (named.name !== before.name || named.comm !== before.comm);
    if (previous && sameFds(previous, fds)) {
      if (renamed) for (const { inode } of fds) this.changed.add(inode);
      return;
    }
    if (previous) this.unlink(pid, previous);
    this.fdsByPid.set(pid, fds);
    for (const { fd, inode } of fds) {
      this.changed.add(inode);
      const list = this.byInode.get(inode);
      if (!list) {
        this.byInode.set(inode, [{ pid, fd }]);
        continue;
      }
      // After this pid's earlier fds and before any higher pid.
      let at = list.length;
      while (at > 0 && list[at - 1]!.pid > pid) at--;
      list.splice(at, 0, { pid, fd });
    }
  }

  /** Forgets a process that exited. */
  drop(pid: number): void {
    const previous = this.fdsByPid.get(pid);
    this.names.delete(pid);
    if (!previous) return;
    this.fdsByPid.delete(pid);
    this.unlink(pid, previous);
  }

  /** Inodes whose holders (or their names) changed since the last call. */
  takeChanged(): Set<string> {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }

  private unlink(pid: number, fds: readonly SocketFd[]): void {
    for (const { inode } of fds) {
      this.changed.add(inode);
      const list = this.byInode.get(inode);
      if (!list) continue;
      const kept = list.filter((holder) => holder.pid !== pid);
      if (kept.length > 0) this.byInode.set(inode, kept);
      else this.byInode.delete(inode);
    }
  }
}

function sameFds(a: readonly SocketFd[], b: readonly SocketFd[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.fd !== b[i]!.fd || a[i]!.inode !== b[i]!.inode) return false;
  return true;
}
