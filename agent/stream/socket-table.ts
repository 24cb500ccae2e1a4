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
 * The agent's current view of its node, keyed by socket key: each scan is diffed against it,
 * so the wire carries churn, not table size. First-seen times survive rescans (the earliest
 * observation wins).
 */
export class SocketTable {
  private current = new Map<string, Socket>();

  get size(): number {
    return this.current.size;
  }

  /** Everything, for a full snapshot. */
  snapshot(): Socket[] {
    return [...this.current.values()];
  }

  /** Replaces the view with a fresh scan and returns what changed. */
  update(scanned: readonly Socket[]): TableChanges {
    const next = new Map<string, Socket>();
    const upserted: Socket[] = [];
    for (const socket of scanned) {
      if (next.has(socket.key)) continue;
      const previous = this.current.get(socket.key);
      if (previous) {
        socket.firstSeenUnixMs = previous.firstSeenUnixMs < socket.firstSeenUnixMs ? previous.firstSeenUnixMs : socket.firstSeenUnixMs;
        if (!sameForWire(previous, socket)) upserted.push(socket);
        // The previous object is what the aggregator has: keep it unless it changed, so the
        // countdown of an unchanged timer never accumulates into a change.
        next.set(socket.key, sameForWire(previous, socket) ? previous : socket);
      } else {
        upserted.push(socket);
        next.set(socket.key, socket);
      }
    }
    const removed: string[] = [];
    for (const key of this.current.keys()) if (!next.has(key)) removed.push(key);
    this.current = next;
    return { upserted, removed };
  }
}
