import type { HostFs } from '../procfs/hostfs.js';
import { groupByNamespace, hostNetns, listPids } from './namespaces.js';
import { collectHolders, describeProcesses } from './owners.js';
import { parseNamespaceFiles, readNamespaceFiles, type NamespaceFiles } from './tables.js';
import type { HostScan, NamespaceScan, ScanOptions, ScanProblems, SocketHolder } from './types.js';

/** A namespace to read: its inode and every process living in it, ascending. */
export interface NamespaceTarget {
  readonly netnsInode: string;
  readonly isHost: boolean;
  readonly pids: readonly number[];
}

export interface Discovery {
  /** Every process on the host, ascending: the fd walk covers all of them, as netstat's does. */
  readonly pids: readonly number[];
  readonly targets: readonly NamespaceTarget[];
  readonly problems: ScanProblems;
}

export function emptyProblems(): ScanProblems {
  return { namespaceDenied: 0, fdDenied: 0, vanished: 0, tablesDenied: 0, duplicatesDropped: 0 };
}

/** Lists processes and groups them by network namespace (cheap: one readlink per process). */
export function discoverNamespaces(hostFs: HostFs, options: ScanOptions): Discovery {
  const problems = emptyProblems();
  const pids = listPids(hostFs);
  const groups = groupByNamespace(hostFs, pids, problems);
  return { pids, targets: namespaceTargets(groups, hostNetns(hostFs), options.netnsInodes), problems };
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

/** Parses what was read for one namespace and folds its counters into problems. */
export function namespaceScan(target: NamespaceTarget, files: NamespaceFiles, problems: ScanProblems): NamespaceScan {
  const parsed = parseNamespaceFiles(files.tables);
  problems.vanished += files.vanishedReads;
  problems.tablesDenied += files.deniedReads;
  problems.duplicatesDropped += parsed.duplicatesDropped;
  return { ...target, readVia: files.readVia, sockets: parsed.sockets, parseErrors: parsed.parseErrors };
}

/** Names the processes that hold sockets, and each namespace's first process, and assembles the result. */
export function finishScan(
  hostFs: HostFs,
  namespaces: NamespaceScan[],
  holders: Map<string, SocketHolder[]>,
  problems: ScanProblems,
  emptyTablesSkipped: number,
): HostScan {
  const named = new Set<number>();
  for (const namespace of namespaces) if (namespace.pids[0] !== undefined) named.add(namespace.pids[0]);
  for (const list of holders.values()) for (const holder of list) named.add(holder.pid);
  return { namespaces, holders, processes: describeProcesses(hostFs, named), problems, emptyTablesSkipped };
}

/**
 * One pass over the host: discover every network namespace from /proc/<pid>/ns/net, read each
 * namespace's tables once, and (optionally) map socket inodes to processes via /proc/<pid>/fd.
 * Churn — processes exiting, fds closing, namespaces disappearing — is counted, never thrown.
 * Single-threaded; scanHostParallel spreads the same work over two threads.
 */
export function scanHost(hostFs: HostFs, options: ScanOptions, discovery?: Discovery): HostScan {
  const { pids, targets, problems } = discovery ?? discoverNamespaces(hostFs, options);
  let emptyTablesSkipped = 0;
  const namespaces = targets.map((target) => {
    const files = readNamespaceFiles(hostFs, target.pids, options.protos);
    emptyTablesSkipped += files.skippedEmpty;
    return namespaceScan(target, files, problems);
  });
  const holders = options.resolveOwners ? collectHolders(hostFs, pids, problems) : new Map<string, SocketHolder[]>();
  return finishScan(hostFs, namespaces, holders, problems, emptyTablesSkipped);
}
