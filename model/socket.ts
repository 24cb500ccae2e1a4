/**
 * Records as the kernel prints them in /proc/<pid>/net/*. Field meanings and units are in
 * docs/procfs-and-cgroups.md (§1–2); the parsers in procfs/ produce these, nothing
 * else does.
 */

export type InetProto = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'raw' | 'raw6';
export type SocketProto = InetProto | 'unix';

/** The three line shapes of tcp/tcp6 (get_tcp4_sock, get_timewait4_sock, get_openreq4). */
export type LineShape = 'full' | 'timewait' | 'request';

/** include/net/tcp_states.h. UDP and raw sockets use ESTABLISHED (connected) and CLOSE. */
export const TcpState = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSE: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
} as const;

export interface TimerInfo {
  /** `tr`: 0 none, 1 retransmit/probe/SYN-ACK, 2 keepalive, 3 timewait, 4 zero-window probe. */
  readonly code: number;
  /** `tm->when` in clock ticks (USER_HZ = 1/100 s), not jiffies. */
  readonly ticks: number;
  /** `retrnsmt`: consecutive retransmissions of the current segment (hex in /proc). */
  readonly retransmits: number;
  /** `timeout`: unanswered zero-window or keepalive probes. */
  readonly probes: number;
}

/** The unnamed columns after the pointer on full TCP lines (reference §1.3, columns 15–19). */
export interface TcpExtras {
  readonly rtoTicks: number;
  readonly atoTicks: number;
  readonly quickAckPingpong: number;
  readonly sndCwnd: number;
  /** snd_ssthresh, -1 in initial slow start; for LISTEN the TFO queue limit. */
  readonly ssthresh: number;
}

export interface InetSocketRecord {
  readonly proto: InetProto;
  /** 'full' for every udp/raw line. */
  readonly shape: LineShape;
  /** inet_ntop text; IPv4-mapped IPv6 stays `::ffff:a.b.c.d` (netstat strips it when printing). */
  readonly localAddress: string;
  readonly localPort: number;
  readonly foreignAddress: string;
  readonly foreignPort: number;
  /** `st`: a TcpState code. Request sockets print 3 (SYN_RECV). */
  readonly stateCode: number;
  /** Bytes not yet acknowledged (TCP) or write memory (UDP/raw). */
  readonly txQueue: number;
  /** Bytes not yet read (TCP), accept-queue length (LISTEN), or receive memory (UDP/raw). */
  readonly rxQueue: number;
  readonly timer: TimerInfo;
  /** sk_uid in the reader's user namespace; always 0 on timewait lines. */
  readonly uid: number;
  /** sockfs inode as decimal text; "0" when there is no struct socket. */
  readonly inode: string;
  readonly refCount: number;
  /** `%pK` kernel pointer: hashed, raw or zeros depending on kptr_restrict. Never a key. */
  readonly pointer: string;
  readonly tcp?: TcpExtras;
  /** UDP and raw: sk_drops. */
  readonly drops?: number;
}

/** SS_* values that /proc/net/unix derives for its `St` column (unix_seq_show). */
export const UnixSocketState = {
  FREE: 0,
  UNCONNECTED: 1,
  CONNECTING: 2,
  CONNECTED: 3,
  DISCONNECTING: 4,
} as const;

/** __SO_ACCEPTCON: the only flag /proc/net/unix ever sets, on listeners. */
export const UNIX_FLAG_ACCEPTCON = 1 << 16;

export interface UnixSocketRecord {
  readonly proto: 'unix';
  readonly pointer: string;
  readonly refCount: number;
  readonly protocol: number;
  readonly flags: number;
  readonly type: number;
  readonly st: number;
  readonly inode: string;
  /**
   * The bound name byte for byte, as a latin1 string (one char per byte, so non-UTF-8 names
   * survive): a path, `@name` for abstract names (every NUL printed as `@`), or null when
   * unbound. A name containing a newline spans two physical lines; it is rejoined here.
   */
  readonly path: string | null;
}

export type SocketRecord = InetSocketRecord | UnixSocketRecord;

export const INET_PROTOS: readonly InetProto[] = ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6'];
export const ALL_PROTOS: readonly SocketProto[] = [...INET_PROTOS, 'unix'];
