import type { HostSnapshot, NamespaceSnapshot } from '../../model/host-snapshot.js';
import type { PodResolver } from '../../model/pod.js';
import { ALL_PROTOS, type SocketProto } from '../../model/socket.js';
import { attributeScan } from '../attribution/attribute.js';
import { readIdentities, scannedPids } from '../attribution/identities.js';
import type { HostFs } from '../procfs/hostfs.js';
import { IncrementalScanner } from '../scan/incremental.js';
import { describeProcesses } from '../scan/owners.js';
import type { ScanThreads } from '../scan/second-thread.js';
import { toWireSocket, wireContext } from '../stream/wire.js';

export interface HostSnapshotOptions {
  /** The node the sockets are on, as their wire form names it. */
  readonly node: string;
  readonly resolver: PodResolver;
  /** Tables to read; all when undefined. */
  readonly protos?: ReadonlySet<SocketProto>;
  /** Walk the fds to find each socket's holders (netstat -p, attribution by process); default true. */
  readonly owners?: boolean;
  /** Keep only these namespaces (by inode); all when undefined. */
  readonly netnsInodes?: ReadonlySet<string>;
  readonly threads?: ScanThreads;
  /** The sockets' firstSeen; now when undefined. */
  readonly nowMs?: number;
}

/**
 * This host once, as the agent sees it: one scan that reads everything (the agent's scanner),
 * each socket attributed to its pod and container and turned into its wire form, per network
 * namespace with what names the namespace.
 */
export async function takeHostSnapshot(hostFs: HostFs, options: HostSnapshotOptions): Promise<HostSnapshot> {
  const scanner = new IncrementalScanner(hostFs, {
    protos: options.protos ?? new Set(ALL_PROTOS),
    fullReadEvery: 1,
    ...(options.owners !== undefined && { owners: options.owners }),
    ...(options.netnsInodes && { netnsInodes: options.netnsInodes }),
    ...(options.threads !== undefined && { threads: options.threads }),
  });
  const scan = await scanner.scan().finally(() => scanner.close());
  const { resolver, node } = options;
  const firstSeenMs = options.nowMs ?? Date.now();
  const identities = readIdentities(hostFs, scannedPids(scan));
  const namespaces = attributeScan(scan, identities, resolver).map(({ namespace, podUid, sockets: attributions }): NamespaceSnapshot => {
    const pod = podUid === undefined ? undefined : resolver.byUid(podUid);
    const context = wireContext(node, namespace, scan, firstSeenMs);
    return {
      netns: namespace.netnsInode,
      isHost: namespace.isHost,
      pids: namespace.pids,
      firstComm: firstComm(hostFs, namespace.pids[0], scan.processes),
      ...(podUid !== undefined && { podUid }),
      ...(pod && { pod }),
      sockets: namespace.sockets.map((record, i) => toWireSocket(record, attributions[i]!, context)),
      parseErrors: namespace.parseErrors.map((error) => error.message),
    };
  });
  return { namespaces, problems: scan.problems };
}

/** comm of a namespace's first process: known when it holds sockets, else read. */
function firstComm(hostFs: HostFs, pid: number | undefined, known: ReadonlyMap<number, { readonly comm: string }>): string {
  if (pid === undefined) return '';
  return (known.get(pid) ?? describeProcesses(hostFs, [pid]).get(pid))?.comm ?? '';
}
