import { isUtf8 } from 'node:buffer';
import { netstatAddress } from '../../agent/procfs/address.js';
import type { SocketRecord } from '../../agent/model.js';
import type { AttributionSource, SocketAttribution, WorkloadRef } from '../../agent/attribution/types.js';
import type { NamespaceScan, ProcessInfo, SocketHolder } from '../../agent/scan/index.js';
import { CLOCK_TICKS_PER_SECOND, netstatStateName, ssStateName, timerKind, unixTypeName } from '../../agent/states.js';

/** The `-o json` contract of the design: a Kubernetes-style list object. */
export interface SocketList {
  readonly apiVersion: 'kubenetstat.io/v1';
  readonly kind: 'SocketList';
  readonly items: SocketItem[];
  readonly unavailableNodes: UnavailableNode[];
}

export interface UnavailableNode {
  readonly node: string;
  readonly reason: string;
}

export interface ProcessItem {
  readonly pid: number;
  readonly name: string;
  readonly comm: string;
  readonly fds: number[];
}

export interface SocketItem {
  readonly node: string;
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly podUID: string | null;
  readonly container: string | null;
  readonly containerID: string | null;
  /** The runtime the container ID belongs to (`containerd`, `cri-o`, `docker`), when its cgroup says. */
  readonly runtime: string | null;
  /** The pod's owner: `{kind, name}` (Deployment through its ReplicaSet, CronJob through its Job). */
  readonly workload: WorkloadRef | null;
  /** How the pod was found: the holding process, the pod's namespace, or a listener on the same port. */
  readonly attributedBy: AttributionSource;
  readonly netns: string;
  readonly hostNetwork: boolean;
  readonly proto: SocketRecord['proto'];
  readonly localAddress: string | null;
  readonly localPort: number | null;
  readonly foreignAddress: string | null;
  readonly foreignPort: number | null;
  readonly state: string;
  /** ss's name for the state, the vocabulary of --state. */
  readonly ssState: string;
  /** null for unix sockets: /proc/net/unix carries no queue lengths. */
  readonly recvQ: number | null;
  readonly sendQ: number | null;
  readonly uid: number | null;
  readonly inode: string;
  readonly processes: ProcessItem[];
  readonly timer: { kind: string; seconds: number; retransmits: number; probes: number } | null;
  readonly firstSeen: string;
  readonly path?: string | null;
  /** The name's exact bytes, present only when they are not valid UTF-8. */
  readonly pathBase64?: string;
  readonly type?: string;
  readonly flags?: number;
  readonly refCnt?: number;
}

export interface ItemContext {
  readonly node: string;
  readonly namespace: NamespaceScan;
  readonly attribution: SocketAttribution;
  readonly holders: ReadonlyMap<string, readonly SocketHolder[]>;
  readonly processes: ReadonlyMap<number, ProcessInfo>;
  /** When the scan ran: every socket of a one-shot scan was first seen then. */
  readonly seenAt: Date;
}

function processItems(inode: string, context: ItemContext): ProcessItem[] {
  if (inode === '0') return [];
  const byPid = new Map<number, ProcessItem>();
  for (const holder of context.holders.get(inode) ?? []) {
    let item = byPid.get(holder.pid);
    if (!item) {
      const info = context.processes.get(holder.pid);
      item = { pid: holder.pid, name: displayBytes(info?.name ?? ''), comm: displayBytes(info?.comm ?? ''), fds: [] };
      byPid.set(holder.pid, item);
    }
    item.fds.push(holder.fd);
  }
  return [...byPid.values()].sort((a, b) => a.pid - b.pid);
}

/**
 * Kernel text kept byte for byte (a latin1 string: unix names, argv[0]) as JSON shows it:
 * decoded when it is valid UTF-8 — the normal case — otherwise with every byte outside
 * printable ASCII, and the backslash, written as a `\\xHH` escape so nothing is lost or
 * replaced (the exact bytes of a unix name also travel in `pathBase64`).
 */
export function displayBytes(latin1Text: string): string {
  const bytes = Buffer.from(latin1Text, 'latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  for (const byte of bytes) text += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  return text;
}

function unixPath(path: string | null): Pick<SocketItem, 'path' | 'pathBase64'> {
  if (path === null) return { path: null };
  const bytes = Buffer.from(path, 'latin1');
  return isUtf8(bytes) ? { path: bytes.toString('utf8') } : { path: displayBytes(path), pathBase64: bytes.toString('base64') };
}

export function socketItem(record: SocketRecord, context: ItemContext): SocketItem {
  const { attribution } = context;
  const common = {
    node: context.node,
    namespace: attribution.pod?.namespace ?? null,
    pod: attribution.pod?.name ?? null,
    podUID: attribution.pod?.uid ?? attribution.podUid,
    container: attribution.containerName,
    containerID: attribution.containerId,
    runtime: attribution.runtime,
    workload: attribution.pod?.workload ?? null,
    attributedBy: attribution.source,
    netns: context.namespace.netnsInode,
    hostNetwork: attribution.hostNetwork,
    proto: record.proto,
    state: netstatStateName(record),
    ssState: ssStateName(record),
    inode: record.inode,
    processes: processItems(record.inode, context),
    firstSeen: context.seenAt.toISOString(),
  };
  if (record.proto === 'unix') {
    return {
      ...common,
      localAddress: null,
      localPort: null,
      foreignAddress: null,
      foreignPort: null,
      recvQ: null,
      sendQ: null,
      uid: null,
      timer: null,
      ...unixPath(record.path),
      type: unixTypeName(record.type),
      flags: record.flags,
      refCnt: record.refCount,
    };
  }
  return {
    ...common,
    localAddress: netstatAddress(record.localAddress),
    localPort: record.localPort === 0 ? null : record.localPort,
    foreignAddress: netstatAddress(record.foreignAddress),
    foreignPort: record.foreignPort === 0 ? null : record.foreignPort,
    recvQ: record.rxQueue,
    sendQ: record.txQueue,
    uid: record.uid,
    timer: {
      kind: timerKind(record),
      seconds: record.timer.ticks / CLOCK_TICKS_PER_SECOND,
      retransmits: record.timer.retransmits,
      probes: record.timer.probes,
    },
  };
}

export function socketList(items: SocketItem[], unavailableNodes: UnavailableNode[] = []): SocketList {
  return { apiVersion: 'kubenetstat.io/v1', kind: 'SocketList', items, unavailableNodes };
}
