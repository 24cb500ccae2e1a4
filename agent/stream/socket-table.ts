import type { Socket } from '../../gen/kubenetstat/v1/socket.js';

export interface TableChanges {
  /** New sockets and sockets whose travelling fields changed, whole. */
  readonly upserted: Socket[];
  readonly removed: string[];
}

/**
 * Whether a socket changed in a way worth sending. Deliberately left out:
 * - the timer's remaining time (tm->when), which counts down on every scan of every socket
 *   with a timer — sending it would make an idle node stream its whole keepalive population;
 *   it travels with the socket's next real change, and the timer kind, retransmits and probes
 *   always travel;
 * - the kernel reference count, which moves with timers and in-flight skbs;
 * - TCP's rto/ato/cwnd/ssthresh, which move with traffic.
 * Queue lengths do travel (exact): a stuck Recv-Q/Send-Q is what leak findings look for, and a
 * queue that does not move costs nothing.
 */
export function sameForWire(a: Socket, b: Socket): boolean {
  if (a.stateCode !== b.stateCode || a.recvQ !== b.recvQ || a.sendQ !== b.sendQ || a.uid !== b.uid || a.drops !== b.drops) return false;
  if (a.hostNetwork !== b.hostNetwork || a.attributedBy !== b.attributedBy) return false;
  const at = a.timer;
  const bt = b.timer;
  if (at?.code !== bt?.code || at?.retransmits !== bt?.retransmits || at?.probes !== bt?.probes) return false;
  if (a.unix?.flags !== b.unix?.flags) return false;
  const ap = a.pod;
  const bp = b.pod;
  if (ap?.uid !== bp?.uid || ap?.name !== bp?.name || ap?.namespace !== bp?.namespace || ap?.container !== bp?.container || ap?.workloadName !== bp?.workloadName) return false;
  if (a.processes.length !== b.processes.length) return false;
  for (let i = 0; i < a.processes.length; i++) {
    const ap2 = a.processes[i]!;
    const bp2 = b.processes[i]!;
    if (ap2.pid !== bp2.pid || ap2.name !== bp2.name || ap2.fds.length !== bp2.fds.length || ap2.fds.some((fd, j) => fd !== bp2.fds[j])) return false;
  }
  return true;
}

/**
 * The agent's current view of its node, keyed by socket key within each network namespace:
 * each scan is diffed against it, so the wire carries churn, not table size. Namespaces the
 * scan did not rebuild are kept as they are, so an idle namespace costs nothing here. First-seen
 * times survive rescans (the earliest observation wins).
 */
export class SocketTable {
  /** Namespace inode (decimal text) → socket key → socket. */
  private readonly byNamespace = new Map<string, Map<string, Socket>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Everything, for a full snapshot. */
  snapshot(): Socket[] {
    const all: Socket[] = [];
    for (const sockets of this.byNamespace.values()) for (const socket of sockets.values()) all.push(socket);
    return all;
  }

  /** Replaces the view with a fresh scan of the whole node and returns what changed. */
  update(scanned: readonly Socket[]): TableChanges {
    const byNamespace = new Map<string, Socket[]>();
    for (const socket of scanned) {
      const netns = String(socket.netns);
      const list = byNamespace.get(netns);
      if (list) list.push(socket);
      else byNamespace.set(netns, [socket]);
    }
    return this.updateNamespaces(byNamespace, new Set(byNamespace.keys()));
  }

  /**
   * Replaces the sockets of each namespace in `rebuilt` (by namespace inode), forgets every
   * namespace not in `present`, keeps the others untouched; returns what changed.
   */
  updateNamespaces(rebuilt: ReadonlyMap<string, readonly Socket[]>, present: ReadonlySet<string>): TableChanges {
    const upserted: Socket[] = [];
    const removed: string[] = [];
    for (const [netns, previous] of this.byNamespace) {
      if (present.has(netns) || rebuilt.has(netns)) continue;
      for (const key of previous.keys()) removed.push(key);
      this.count -= previous.size;
      this.byNamespace.delete(netns);
    }
    for (const [netns, scanned] of rebuilt) {
      const previous = this.byNamespace.get(netns) ?? new Map<string, Socket>();
      const next = new Map<string, Socket>();
      for (const socket of scanned) {
        if (next.has(socket.key)) continue;
        const before = previous.get(socket.key);
        if (before === socket) {
          // The scanner kept the object it built last time: nothing in it changed.
          next.set(socket.key, socket);
          continue;
        }
        if (!before) {
          upserted.push(socket);
          next.set(socket.key, socket);
          continue;
        }
        socket.firstSeenUnixMs = before.firstSeenUnixMs < socket.firstSeenUnixMs ? before.firstSeenUnixMs : socket.firstSeenUnixMs;
        // The previous object is what the aggregator has: keep it unless it changed, so the
        // countdown of an unchanged timer never accumulates into a change.
        if (sameForWire(before, socket)) {
          next.set(socket.key, before);
        } else {
          upserted.push(socket);
          next.set(socket.key, socket);
        }
      }
      for (const key of previous.keys()) if (!next.has(key)) removed.push(key);
      this.count += next.size - previous.size;
      if (next.size > 0) this.byNamespace.set(netns, next);
      else this.byNamespace.delete(netns);
    }
    return { upserted, removed };
  }
}
