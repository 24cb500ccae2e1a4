import type { SocketRecord } from '../../model/socket.js';

/**
 * Whether two reads of a namespace list the same sockets in the same states, line by line.
 * Left out, as SocketTable's sameForWire leaves them out: what moves on every read without
 * anything happening — a timer's remaining time (tm->when), the reference count, and TCP's
 * rto/ato/cwnd/ssthresh. Order matters: the kernel prints an unchanged table in the same hash
 * order, and a table that was reordered is simply treated as changed.
 */
export function sameRecords(a: readonly SocketRecord[], b: readonly SocketRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameRecord(a[i]!, b[i]!)) return false;
  return true;
}

/** One line of sameRecords. */
export function sameRecord(a: SocketRecord, b: SocketRecord): boolean {
  if (a.proto !== b.proto || a.inode !== b.inode || a.pointer !== b.pointer) return false;
  if (a.proto === 'unix' || b.proto === 'unix') {
    return a.proto === 'unix' && b.proto === 'unix' && a.flags === b.flags && a.type === b.type && a.st === b.st && a.path === b.path;
  }
  return (
    a.shape === b.shape &&
    a.stateCode === b.stateCode &&
    a.localPort === b.localPort &&
    a.foreignPort === b.foreignPort &&
    a.localAddress === b.localAddress &&
    a.foreignAddress === b.foreignAddress &&
    a.rxQueue === b.rxQueue &&
    a.txQueue === b.txQueue &&
    a.uid === b.uid &&
    a.drops === b.drops &&
    a.timer.code === b.timer.code &&
    a.timer.retransmits === b.timer.retransmits &&
    a.timer.probes === b.timer.probes
  );
}
