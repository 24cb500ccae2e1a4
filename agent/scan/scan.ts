import type { HostFs } from '../procfs/hostfs.js';
import { groupByNamespace, hostNetns, listPids } from './namespaces.js';
import { collectHolders, describeProcesses } from './owners.js';
import { readNamespaceTables } from './tables.js';
import type { HostScan, NamespaceScan, ScanOptions, ScanProblems, SocketHolder } from './types.js';

/**
 * One pass over the host: discover every network namespace from /proc/<pid>/ns/net, read each
 * namespace's tables once, and (optionally) map socket inodes to processes via /proc/<pid>/fd.
 * Churn — processes exiting, fds closing, namespaces disappearing — is counted, never thrown.
 */
export function scanHost(hostFs: HostFs, options: ScanOptions): HostScan {
  const problems: ScanProblems = { namespaceDenied: 0, fdDenied: 0, vanished: 0, tablesDenied: 0, duplicatesDropped: 0 };
  const pids = listPids(hostFs);
  const groups = groupByNamespace(hostFs, pids, problems);
  const host = hostNetns(hostFs);

  const namespaces: NamespaceScan[] = [];
  let emptyTablesSkipped = 0;
  for (const [netnsInode, members] of groups) {
    if (options.netnsInodes && !options.netnsInodes.has(netnsInode)) continue;
    const tables = readNamespaceTables(hostFs, members, options.protos);
    problems.duplicatesDropped += tables.duplicatesDropped;
    problems.vanished += tables.vanishedReads;
    emptyTablesSkipped += tables.skippedEmpty;
    problems.tablesDenied += tables.deniedReads;
    namespaces.push({
      netnsInode,
      isHost: netnsInode === host,
      pids: members,
      readVia: tables.readVia,
      sockets: tables.sockets,
      parseErrors: tables.parseErrors,
    });
  }
  // The host first, then namespaces in order of their lowest pid (roughly, creation order).
  namespaces.sort((a, b) => Number(b.isHost) - Number(a.isHost) || (a.pids[0] ?? 0) - (b.pids[0] ?? 0));

  let holders = new Map<string, SocketHolder[]>();
  if (options.resolveOwners) holders = collectHolders(hostFs, pids, problems);
  const holderPids = new Set<number>();
  for (const list of holders.values()) for (const holder of list) holderPids.add(holder.pid);
  const processes = describeProcesses(hostFs, holderPids);
  return { namespaces, holders, processes, problems, emptyTablesSkipped };
}
