import type { HostFs } from '../procfs/hostfs.js';
import { AccessDeniedError } from '../procfs/errors.js';
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
