import type { HostFs } from '../procfs/hostfs.js';
import { AccessDeniedError } from '../procfs/errors.js';
import type { HostSockets } from '../scan/types.js';
import { identifyProcCgroup, type CgroupIdentity } from './cgroup.js';

/**
 * Reads /proc/<pid>/cgroup of each pid (no privilege needed: reference §6.6). Gone or
 * unreadable processes are simply absent from the index.
 */
export function readIdentities(hostFs: HostFs, pids: Iterable<number>): Map<number, CgroupIdentity> {
  const identities = new Map<number, CgroupIdentity>();
  for (const pid of pids) {
    let text: Buffer | undefined;
    try {
      text = hostFs.readFile(`${pid}/cgroup`);
    } catch (error) {
      if (error instanceof AccessDeniedError) continue;
      throw error;
    }
    if (text === undefined) continue;
    const identity = identifyProcCgroup(text.toString('latin1'));
    if (identity) identities.set(pid, identity);
  }
  return identities;
}

/** Every process whose cgroup attribution may need: the namespaces' members and the holders. */
export function scannedPids(scan: HostSockets): Set<number> {
  const pids = new Set<number>();
  for (const namespace of scan.namespaces) for (const pid of namespace.pids) pids.add(pid);
  for (const holders of scan.holders.values()) for (const holder of holders) pids.add(holder.pid);
  return pids;
}
