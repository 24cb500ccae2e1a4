import type { InetProto } from '../../model/socket.js';

/**
 * Per-namespace socket counts from /proc/<pid>/net/sockstat and sockstat6 (sockstat_seq_show
 * in net/ipv4/proc.c, sockstat6_seq_show in net/ipv6/proc.c). `inuse` is
 * sock_prot_inuse_get(net, prot): incremented when a socket is hashed (listen, connect,
 * accept, bind for UDP/raw) and decremented when it is unhashed — exactly the full sockets a
 * table prints. TIME_WAIT entries are counted apart in `TCP: ... tw` (both families). Request
 * sockets only exist under a hashed listener. Reading these two files costs the same whatever the
 * host holds, while reading a table walks the host-wide hash (reference §3.5).
 */
export interface SocketCounts {
  readonly inuse: Readonly<Partial<Record<InetProto, number>>>;
  /** TIME_WAIT entries of both TCP families in this namespace. */
  readonly tcpTimeWait: number;
}

const LABELS: Readonly<Record<string, InetProto>> = { TCP: 'tcp', TCP6: 'tcp6', UDP: 'udp', UDP6: 'udp6', RAW: 'raw', RAW6: 'raw6' };

/** Parses sockstat and sockstat6 text (either may be empty); unknown lines are ignored. */
export function parseSockstat(sockstat: string, sockstat6 = ''): SocketCounts {
  const inuse: Partial<Record<InetProto, number>> = {};
  let tcpTimeWait = 0;
  for (const line of `${sockstat}\n${sockstat6}`.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const proto = LABELS[line.slice(0, colon)];
    if (!proto) continue;
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const value = Number(fields[i + 1]);
      if (!Number.isInteger(value)) continue;
      if (fields[i] === 'inuse') inuse[proto] = value;
      if (fields[i] === 'tw' && proto === 'tcp') tcpTimeWait = value;
    }
  }
  return { inuse, tcpTimeWait };
}

/**
 * True when the counts prove the table has no line, so reading it can be skipped. Unknown
 * counts (an older kernel without the line) never prove emptiness.
 */
export function tableIsEmpty(counts: SocketCounts, proto: InetProto): boolean {
  const inuse = counts.inuse[proto];
  if (inuse === undefined || inuse > 0) return false;
  if (proto === 'tcp' || proto === 'tcp6') return counts.tcpTimeWait === 0;
  return true;
}
