import { attributeScan } from './attribution/attribute.js';
import { readIdentities } from './attribution/identities.js';
import type { PodResolver } from '../model/pod.js';
import { ALL_PROTOS } from '../model/socket.js';
import { LocalHostFs } from './procfs/hostfs.js';
import { scanProcRoot, type HostScan } from './scan/index.js';
import { toWireSocket } from './stream/wire.js';
import type { Socket } from '../gen/kubenetstat/v1/socket.js';

export interface NodeScanResult {
  readonly sockets: Socket[];
  readonly scan: HostScan;
}

/** Every process whose cgroup attribution may need: the namespaces' members and the holders. */
export function scannedPids(scan: Pick<HostScan, 'namespaces' | 'holders'>): Set<number> {
  const pids = new Set<number>();
  for (const namespace of scan.namespaces) for (const pid of namespace.pids) pids.add(pid);
  for (const holders of scan.holders.values()) for (const holder of holders) pids.add(holder.pid);
  return pids;
}

/**
 * One pass of the agent: every table of every namespace, owners, pod attribution, and the wire
 * form of each socket. firstSeen is the scan time; the agent's SocketTable keeps the earliest.
 * The agent itself rescans with NodeScanner (node-rescan.ts), which gives the same sockets.
 */
export async function scanNode(procRoot: string, node: string, resolver: PodResolver, nowMs = Date.now()): Promise<NodeScanResult> {
  const scan = await scanProcRoot(procRoot, { protos: new Set(ALL_PROTOS), resolveOwners: true });
  const identities = readIdentities(new LocalHostFs(procRoot), scannedPids(scan));
  const sockets: Socket[] = [];
  for (const { namespace, sockets: attributions } of attributeScan(scan, identities, resolver)) {
    namespace.sockets.forEach((record, i) => {
      sockets.push(toWireSocket(record, { node, namespace, attribution: attributions[i]!, holders: scan.holders, processes: scan.processes, firstSeenMs: nowMs }));
    });
  }
  return { sockets, scan };
}
