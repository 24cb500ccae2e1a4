import { statSync } from 'node:fs';
import { noteRefusal, type ScanProblems } from '../../model/scan-problems.js';
import { UsageError } from '../../config/usage-error.js';
import { AccessDeniedError } from '../procfs/errors.js';
import type { HostFs } from '../procfs/hostfs.js';

/** Numeric entries of the proc root: every thread-group leader, ascending. */
export function listPids(hostFs: HostFs): number[] {
  return pidsIn(hostFs.readdir('.') ?? []);
}

/** The pids among a proc root's entries, ascending. */
function pidsIn(names: readonly string[]): number[] {
  const pids: number[] = [];
  for (const name of names) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

/** --proc-root names no proc file system: nothing could be scanned there. */
export class ProcRootError extends Error {
  override readonly name = 'ProcRootError';
}

/**
 * Checks that the proc root lists processes, as a proc file system (or a copy of one) does:
 * a path that is missing, unreadable or holds no /proc/<pid> directory would otherwise scan to
 * an empty listing that looks like a host without sockets.
 */
export function checkProcRoot(hostFs: HostFs & { readonly procRoot: string }): void {
  let names: string[] | undefined;
  try {
    names = hostFs.readdir('.');
  } catch (error) {
    if (error instanceof AccessDeniedError) throw new ProcRootError(`cannot read the proc root ${hostFs.procRoot} (${error.code})`);
    throw error;
  }
  if (names === undefined) throw new ProcRootError(`the proc root ${hostFs.procRoot} does not exist (--proc-root names where /proc is mounted)`);
  if (pidsIn(names).length === 0) throw new ProcRootError(`${hostFs.procRoot} is not a proc file system: it holds no process directories (/proc/<pid>)`);
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
    noteRefusal(problems, { kind: 'namespace', pid, path: error.path, code: error.code });
    return undefined;
  }
  if (inode === undefined) problems.vanished++;
  return inode;
}

/** A namespace to read: its inode and every process living in it, ascending. */
export interface NamespaceTarget {
  readonly netnsInode: string;
  readonly isHost: boolean;
  readonly pids: readonly number[];
}

/**
 * Namespaces to read from processes grouped by namespace (members ascending): the host first,
 * then in order of their lowest pid (roughly, creation order); only `netnsInodes` when given.
 */
export function namespaceTargets(groups: ReadonlyMap<string, readonly number[]>, host: string | undefined, netnsInodes?: ReadonlySet<string>): NamespaceTarget[] {
  const targets: NamespaceTarget[] = [];
  for (const [netnsInode, members] of groups) {
    if (netnsInodes && !netnsInodes.has(netnsInode)) continue;
    targets.push({ netnsInode, isHost: netnsInode === host, pids: members });
  }
  targets.sort((a, b) => Number(b.isHost) - Number(a.isHost) || (a.pids[0] ?? 0) - (b.pids[0] ?? 0));
  return targets;
}

/** Highest pid the kernel can hand out (PID_MAX_LIMIT); netns inodes are far above it. */
const PID_MAX_LIMIT = 4_194_304;

/** A namespace as a user names it — a pid in it, its inode, or a path such as /run/netns/NAME — as its inode. */
export function resolveNetns(hostFs: HostFs, spec: string): string {
  if (/^\d+$/.test(spec)) {
    if (Number(spec) > PID_MAX_LIMIT) return spec;
    let inode: string | undefined;
    try {
      inode = netnsOf(hostFs, Number(spec));
    } catch (error) {
      if (error instanceof AccessDeniedError) throw new UsageError(`cannot read the network namespace of pid ${spec}: ${error.code} (run as root or with CAP_SYS_PTRACE)`);
      throw error;
    }
    if (inode === undefined) throw new UsageError(`no process with pid ${spec}`);
    return inode;
  }
  try {
    return statSync(spec, { bigint: true }).ino.toString();
  } catch (error) {
    throw new UsageError(`cannot use '${spec}' as a network namespace: ${error instanceof Error ? error.message : String(error)}`);
  }
}
