import { isDeepStrictEqual } from 'node:util';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { SocketAttribution, VersionedPodResolver } from '../../model/pod.js';
import { ALL_PROTOS, type SocketRecord } from '../../model/socket.js';
import { attributeScan } from '../attribution/attribute.js';
import type { CgroupIdentity } from '../attribution/cgroup.js';
import { readIdentities, scannedPids } from '../attribution/identities.js';
import type { HostFs } from '../procfs/hostfs.js';
import { IncrementalScanner, type IncrementalScan } from '../scan/incremental.js';
import { sameRecord } from '../scan/same-records.js';
import type { NamespaceScan, SocketHolder } from '../scan/types.js';
import { socketKey } from '../stream/socket-key.js';
import { toWireSocket, wireContext } from '../stream/wire.js';

export interface NodeScannerOptions {
  readonly hostFs: HostFs;
  readonly node: string;
  readonly resolver: VersionedPodResolver;
  /** Scans between two full reads of each namespace and fd walks of each process (the safety net). */
  readonly fullReadEvery: number;
  /** Keep only these namespaces (by inode); all when undefined. */
  readonly netnsInodes?: ReadonlySet<string>;
}

export interface NodeRescan {
  /** The wire sockets of each namespace rebuilt in this scan; every other present namespace is as before. */
  readonly rebuilt: ReadonlyMap<string, Socket[]>;
  /** Every namespace there is now (the SocketTable drops the others). */
  readonly present: ReadonlySet<string>;
  readonly scan: IncrementalScan;
}

/** What one wire socket was made from. */
interface Built {
  readonly record: SocketRecord;
  readonly attribution: SocketAttribution;
  readonly socket: Socket;
}

/**
 * The agent's node, scan after scan, as wire sockets: each scan is attributed to pods and turned
 * into wire sockets as takeHostSnapshot (host-snapshot.ts) does once, but a namespace is read,
 * attributed and turned into wire sockets again only when something it depends on changed —
 * its tables, members or holders (IncrementalScanner), the cgroup of one of those processes
 * (read again whenever the process is walked), or the pod resolver (every namespace when its
 * version moves). Within a namespace rebuilt, a socket whose line, attribution and holders are
 * as before keeps its wire object. Feed the result to SocketTable.updateNamespaces.
 */
export class NodeScanner {
  private readonly scanner: IncrementalScanner;
  private readonly identities = new Map<number, CgroupIdentity>();
  /** Processes whose cgroup was read (found or not). */
  private readonly identityRead = new Set<number>();
  private resolverVersion: number | undefined;
  /** Namespace inode → socket key → what its wire socket was made from. */
  private readonly built = new Map<string, Map<string, Built>>();

  constructor(private readonly options: NodeScannerOptions) {
    this.scanner = new IncrementalScanner(options.hostFs, {
      protos: new Set(ALL_PROTOS),
      fullReadEvery: options.fullReadEvery,
      ...(options.netnsInodes && { netnsInodes: options.netnsInodes }),
    });
  }

  async scan(nowMs = Date.now()): Promise<NodeRescan> {
    const scan = await this.scanner.scan();
    for (const pid of scan.exited) {
      this.identities.delete(pid);
      this.identityRead.delete(pid);
    }
    const dirty = new Set(scan.changed);
    // A process walked again (its safety-net turn) may have moved to another cgroup.
    for (const pid of scan.walked) {
      if (!this.identityRead.has(pid)) continue;
      const before = this.identities.get(pid);
      this.identityRead.delete(pid);
      if (!isDeepStrictEqual(before, this.identityOf(pid))) for (const netns of this.scanner.namespacesOf(pid)) dirty.add(netns);
    }
    const version = this.options.resolver.version;
    const everything = version !== this.resolverVersion;
    this.resolverVersion = version;
    const namespaces = everything ? scan.namespaces : scan.namespaces.filter((namespace) => dirty.has(namespace.netnsInode));
    for (const pid of scannedPids({ namespaces, holders: holdersOf(namespaces, scan.holders) })) this.identityOf(pid);

    const present = new Set(scan.namespaces.map((namespace) => namespace.netnsInode));
    for (const netns of this.built.keys()) if (!present.has(netns)) this.built.delete(netns);
    return { rebuilt: this.rebuild(namespaces, scan, nowMs), present, scan };
  }

  private rebuild(namespaces: readonly NamespaceScan[], scan: IncrementalScan, nowMs: number): Map<string, Socket[]> {
    const rebuilt = new Map<string, Socket[]>();
    for (const { namespace, sockets: attributions } of attributeScan({ namespaces, holders: scan.holders }, this.identities, this.options.resolver)) {
      const before = this.built.get(namespace.netnsInode);
      const next = new Map<string, Built>();
      const context = wireContext(this.options.node, namespace, scan, nowMs);
      const sockets = namespace.sockets.map((record, i) => {
        const attribution = attributions[i]!;
        const key = socketKey(namespace.netnsInode, record);
        const previous = before?.get(key);
        const socket = previous && unchanged(previous, record, attribution, scan.holderChanges) ? previous.socket : toWireSocket(record, attribution, context);
        if (!next.has(key)) next.set(key, { record, attribution, socket });
        return socket;
      });
      this.built.set(namespace.netnsInode, next);
      rebuilt.set(namespace.netnsInode, sockets);
    }
    return rebuilt;
  }

  /** Releases what the scanner keeps open between scans (IncrementalScanner.close). */
  close(): void {
    this.scanner.close();
  }

  /** The cached cgroup identity of pid, read the first time it is asked for. */
  private identityOf(pid: number): CgroupIdentity | undefined {
    if (!this.identityRead.has(pid)) {
      this.identityRead.add(pid);
      const identity = readIdentities(this.options.hostFs, [pid]).get(pid);
      if (identity) this.identities.set(pid, identity);
      else this.identities.delete(pid);
    }
    return this.identities.get(pid);
  }
}

/** Whether a socket's wire form made last time is still what toWireSocket would make (but the timer countdown). */
function unchanged(previous: Built, record: SocketRecord, attribution: SocketAttribution, holderChanges: ReadonlySet<string>): boolean {
  if (record.inode !== '0' && holderChanges.has(record.inode)) return false;
  const a = previous.attribution;
  return (
    (previous.record === record || sameRecord(previous.record, record)) &&
    a.podUid === attribution.podUid &&
    a.pod === attribution.pod &&
    a.containerId === attribution.containerId &&
    a.containerName === attribution.containerName &&
    a.runtime === attribution.runtime &&
    a.hostNetwork === attribution.hostNetwork &&
    a.source === attribution.source
  );
}

/** The holders of the namespaces' sockets only. */
function holdersOf(namespaces: readonly NamespaceScan[], holders: ReadonlyMap<string, readonly SocketHolder[]>): Map<string, readonly SocketHolder[]> {
  const subset = new Map<string, readonly SocketHolder[]>();
  for (const namespace of namespaces) {
    for (const record of namespace.sockets) {
      const list = record.inode === '0' ? undefined : holders.get(record.inode);
      if (list) subset.set(record.inode, list);
    }
  }
  return subset;
}
