import { LocalHostFs } from '../../agent/procfs/hostfs.js';
import { takeHostSnapshot } from '../../agent/snapshot/host-snapshot.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';

/** Every wire socket of a proc tree, as one snapshot of the host makes them (`kube-netstat local -o json`), without the API. */
export async function hostSockets(procRoot: string, node: string, nowMs?: number): Promise<Socket[]> {
  const snapshot = await takeHostSnapshot(new LocalHostFs(procRoot), { node, resolver: { byUid: () => undefined }, ...(nowMs !== undefined && { nowMs }) });
  return snapshot.namespaces.flatMap((namespace) => namespace.sockets);
}
