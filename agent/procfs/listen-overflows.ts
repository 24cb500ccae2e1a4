import { TcpState, type SocketRecord } from '../../model/socket.js';
import type { HostFs } from './hostfs.js';

/**
 * The kernel's listen-queue drops of a network namespace: TcpExt ListenOverflows (a handshake
 * completed into a full accept queue, tcp_v4_syn_recv_sock) and ListenDrops (every SYN or ACK a
 * listener dropped, overflows included), from /proc/<pid>/net/netstat — per namespace
 * (net->mib). /proc's tcp table shows a listener's accept queue (rx_queue) but not its limit,
 * so these counters are what proves a queue overflowed. A namespace's counters are read only
 * while one of its listeners has connections waiting to be accepted: that is rare, and the
 * read is one small file.
 */
export interface ListenDrops {
  readonly overflows: number;
  readonly drops: number;
}

/** TcpExt's ListenOverflows and ListenDrops from the text of net/netstat; undefined without them. */
export function parseListenDrops(text: string): ListenDrops | undefined {
  const lines = text.split('\n');
  const header = lines.findIndex((line) => line.startsWith('TcpExt: ') && !/^TcpExt: \d/.test(line));
  if (header < 0) return undefined;
  const names = lines[header]!.split(' ').slice(1);
  const values = lines[header + 1]?.split(' ').slice(1) ?? [];
  if (!lines[header + 1]?.startsWith('TcpExt: ') || values.length !== names.length) return undefined;
  const value = (name: string): number | undefined => {
    const at = names.indexOf(name);
    return at < 0 ? undefined : Number(values[at]);
  };
  const overflows = value('ListenOverflows');
  const drops = value('ListenDrops');
  return overflows === undefined || drops === undefined || !Number.isSafeInteger(overflows) || !Number.isSafeInteger(drops) ? undefined : { overflows, drops };
}

/** Whether a namespace's records include a TCP listener with connections waiting to be accepted. */
export function hasWaitingListener(sockets: readonly SocketRecord[]): boolean {
  for (const socket of sockets) {
    if ((socket.proto === 'tcp' || socket.proto === 'tcp6') && socket.stateCode === TcpState.LISTEN && socket.rxQueue > 0) return true;
  }
  return false;
}

/** A namespace as a scan sees it: its inode, its records, and the process its tables were read through. */
export interface ScannedNamespace {
  readonly netnsInode: string;
  readonly readVia: number | undefined;
  readonly sockets: readonly SocketRecord[];
}

/**
 * The drop counters of the namespaces whose listeners have a backlog now: read on every scan
 * while that lasts, forgotten when it ends. `update` returns whether anything changed (the
 * namespace table then travels again).
 */
export class ListenCounters {
  private readonly counters = new Map<string, ListenDrops>();

  constructor(private readonly hostFs: HostFs) {}

  update(namespaces: readonly ScannedNamespace[]): boolean {
    let changed = false;
    const waiting = new Set<string>();
    for (const namespace of namespaces) {
      if (namespace.readVia === undefined || !hasWaitingListener(namespace.sockets)) continue;
      // undefined when the process exited since the scan: the next scan reads through another.
      const text = this.hostFs.readFile(`${namespace.readVia}/net/netstat`)?.toString('latin1');
      const read = text === undefined ? undefined : parseListenDrops(text);
      if (!read) continue;
      waiting.add(namespace.netnsInode);
      const known = this.counters.get(namespace.netnsInode);
      if (!known || known.overflows !== read.overflows || known.drops !== read.drops) changed = true;
      this.counters.set(namespace.netnsInode, read);
    }
    for (const netns of this.counters.keys()) {
      if (waiting.has(netns)) continue;
      this.counters.delete(netns);
      changed = true;
    }
    return changed;
  }

  get(netns: string): ListenDrops | undefined {
    return this.counters.get(netns);
  }
}
