import type { Timer } from '../gen/kubenetstat/v1/socket.js';
import { TcpState, UNIX_FLAG_ACCEPTCON, UnixSocketState, type InetProto, type SocketProto, type SocketRecord } from './socket.js';

/** net-tools `tcp_state[]`, indexed by the kernel's state code. */
const NETSTAT_TCP_STATES = [
  '',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
] as const;

/** iproute2 `sstate_name[]`, the spellings `ss` prints and accepts in filters. */
const SS_TCP_STATES = [
  'UNKNOWN',
  'ESTAB',
  'SYN-SENT',
  'SYN-RECV',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'TIME-WAIT',
  'UNCONN',
  'CLOSE-WAIT',
  'LAST-ACK',
  'LISTEN',
  'CLOSING',
] as const;

export function isUdp(proto: SocketProto): boolean {
  return proto === 'udp' || proto === 'udp6';
}

export function isRaw(proto: SocketProto): boolean {
  return proto === 'raw' || proto === 'raw6';
}

/** The State column as netstat prints it; see inetStateName and unixStateName. */
export function netstatStateName(record: SocketRecord): string {
  return record.proto === 'unix' ? unixStateName(record.st, record.flags) : inetStateName(record.proto, record.stateCode);
}

/**
 * The State column of an inet line: tcp names; UDP `ESTABLISHED`, empty for CLOSE, `UNKNOWN`
 * otherwise (udp_do_one); raw the bare number (raw_do_one).
 */
export function inetStateName(proto: InetProto, stateCode: number): string {
  if (isRaw(proto)) return String(stateCode);
  if (isUdp(proto)) {
    if (stateCode === TcpState.ESTABLISHED) return 'ESTABLISHED';
    return stateCode === TcpState.CLOSE ? '' : 'UNKNOWN';
  }
  return NETSTAT_TCP_STATES[stateCode] ?? 'UNKNOWN';
}

/** unix_do_one, from the line's `St` and `Flags`: SS_UNCONNECTED is LISTENING with __SO_ACCEPTCON, else blank. */
export function unixStateName(st: number, flags: number): string {
  switch (st) {
    case UnixSocketState.FREE:
      return 'FREE';
    case UnixSocketState.UNCONNECTED:
      return flags & UNIX_FLAG_ACCEPTCON ? 'LISTENING' : '';
    case UnixSocketState.CONNECTING:
      return 'CONNECTING';
    case UnixSocketState.CONNECTED:
      return 'CONNECTED';
    case UnixSocketState.DISCONNECTING:
      return 'DISCONNECTING';
    default:
      return 'UNKNOWN';
  }
}

const UNIX_TYPES: Readonly<Record<number, string>> = { 1: 'STREAM', 2: 'DGRAM', 3: 'RAW', 4: 'RDM', 5: 'SEQPACKET' };

export function unixTypeName(type: number): string {
  return UNIX_TYPES[type] ?? 'UNKNOWN';
}

/**
 * The state in ss's vocabulary, which `--state` filters use. Unix sockets map like ss's
 * unix_diag view: listeners LISTEN, connected ESTAB, embryos (no struct socket yet) SYN-RECV,
 * everything else UNCONN.
 */
export function ssStateName(record: SocketRecord): string {
  if (record.proto === 'unix') {
    if (record.flags & UNIX_FLAG_ACCEPTCON) return 'LISTEN';
    if (record.st === UnixSocketState.CONNECTED) return 'ESTAB';
    if (record.st === UnixSocketState.CONNECTING) return 'SYN-RECV';
    return 'UNCONN';
  }
  return SS_TCP_STATES[record.stateCode] ?? 'UNKNOWN';
}

/** ss's name for a state code as the aggregator stores it (for unix sockets, ss's code too). */
export function ssNameOfCode(code: number): string {
  return SS_TCP_STATES[code] ?? 'UNKNOWN';
}

/** netstat's timer names for a line's `tr` code (tcp_do_one); udp/raw timers print `on<n>`. */
export function timerKind(proto: InetProto, code: number): string {
  if (proto === 'tcp' || proto === 'tcp6') {
    const names = ['off', 'on', 'keepalive', 'timewait', 'probe'];
    return names[code] ?? `unkn-${code}`;
  }
  if (code === 0) return 'off';
  return code === 1 || code === 2 ? `on${code}` : `unkn-${code}`;
}

/** USER_HZ: the unit of tm->when, rto and ato (reference §1.6). 100 on every Kubernetes arch. */
export const CLOCK_TICKS_PER_SECOND = 100;

/**
 * A timer's seconds left as of `asOfMs` (Unix ms): what was read, less the time since its
 * reading (an agent does not send a socket again for its countdown alone), never below 0. As
 * read when no instant is asked (a listing of the read itself) or the reading's time is unknown.
 */
export function timerSecondsLeft(timer: Pick<Timer, 'ticks' | 'readUnixMs'>, asOfMs: number | undefined): number {
  const ticks = Number(timer.ticks);
  if (asOfMs === undefined || timer.readUnixMs === 0n) return ticks / CLOCK_TICKS_PER_SECOND;
  // In whole ticks, as the kernel counts: the seconds keep netstat's two decimals.
  const elapsed = Math.floor((Math.max(0, asOfMs - Number(timer.readUnixMs)) * CLOCK_TICKS_PER_SECOND) / 1000);
  return Math.max(0, ticks - elapsed) / CLOCK_TICKS_PER_SECOND;
}
