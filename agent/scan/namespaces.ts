import { AccessDeniedError } from '../procfs/errors.js';
import type { HostFs } from '../procfs/hostfs.js';
import type { ScanProblems } from './types.js';

/** Numeric entries of the proc root: every thread-group leader, ascending. */
export function listPids(hostFs: HostFs): number[] {
  const names = hostFs.readdir('.') ?? [];
  const pids: number[] = [];
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

const NETNS_LINK = /^net:\[(\d+)\]$/;

/**
 * The netns inode of a process from `readlink /proc/<pid>/ns/net` (needs ptrace read access:
 * reference §3.3). undefined when the process is gone or is a zombie.
 */
export function netnsOf(hostFs: HostFs, pid: number | 'self'): string | undefined {
  const link = hostFs.readlink(`${pid}/ns/net`);
  if (link === undefined) return undefined;
  return NETNS_LINK.exec(link)?.[1];
}

/**
 * netnsOf for a scan: a refusal is counted in problems.namespaceDenied, a process gone (or a
 * zombie) in problems.vanished; both give undefined.
 */
export function netnsOfCounted(hostFs: HostFs, pid: number, problems: ScanProblems): string | undefined {
  let inode: string | undefined;
  try {
    inode = netnsOf(hostFs, pid);
  } catch (error) {
    if (!(error instanceof AccessDeniedError)) throw error;
    problems.namespaceDenied++;
    return undefined;
  }
  if (inode === undefined) problems.vanished++;
  return inode;
}

/**
 * Groups processes by network namespace. Processes whose namespace cannot be read are counted
 * in problems.namespaceDenied and left out: their tables would be anonymous.
 */
export function groupByNamespace(hostFs: HostFs, pids: readonly number[], problems: ScanProblems): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const pid of pids) {
    const inode = netnsOfCounted(hostFs, pid, problems);
    if (inode === undefined) continue;
    const group = groups.get(inode);
    if (group) group.push(pid);
    else groups.set(inode, [pid]);
  }
  return groups;
}

/**
 * The host's namespace: whatever pid 1 is in (never a hard-coded number). When pid 1 cannot
 * be read (a sandboxed or non-dumpable init), kthreadd (pid 2): kernel threads always live in
 * the initial namespace (reference §3.4).
 */
export function hostNetns(hostFs: HostFs): string | undefined {
  for (const pid of [1, 2]) {
    try {
      const inode = netnsOf(hostFs, pid);
      if (inode !== undefined) return inode;
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
    }
  }
  return undefined;
}
