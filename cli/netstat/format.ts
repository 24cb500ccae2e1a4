import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import { netstatAddress } from '../../model/address.js';
import { servesAsNetstatSays } from '../../model/filter.js';
import { UNIX_FLAG_ACCEPTCON, type InetProto, type SocketProto } from '../../model/socket.js';
import { inetStateName, timerSecondsLeft, isRaw, isUdp, timerKind, unixStateName, unixTypeName } from '../../model/states.js';
import { WIRE_TO_PROTO } from '../../model/wire.js';
import type { NameResolver } from './names.js';

/**
 * net-tools `netstat` output, byte for byte (netstat.c 2.10: tcp_do_one, udp_do_one, raw_do_one,
 * unix_do_one, finish_this_one, addr_do_one), of wire sockets: every width and quirk below is
 * netstat's. A socket whose proto this build does not know (WIRE_TO_PROTO) is no row: netstat
 * has no block and no line format for it; callers that can receive one say so on stderr.
 */
export interface NetstatOptions {
  readonly all: boolean;
  readonly listening: boolean;
  readonly numericHosts: boolean;
  readonly numericPorts: boolean;
  readonly numericUsers: boolean;
  /** netstat's flag_exp: 1 by default, 2 with -e (User, Inode), 3 with -ee. */
  readonly extend: number;
  readonly programs: boolean;
  readonly timers: boolean;
  /** -W: do not truncate addresses to 23 columns. */
  readonly wide: boolean;
  /** The instant (Unix ms) timers are counted down to (timerSecondsLeft); absent: as read. */
  readonly timersAsOfMs?: number;
}

/** netstat's PROGNAME_WIDTH: the "pid/name" buffer holds 19 characters and a NUL. */
export const PROGNAME_WIDTH = 20;

const SO_WAITDATA = 1 << 17;
const SO_NOSPACE = 1 << 18;

const padEnd = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padStart = (text: string, width: number): string => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

export function sectionTitle(options: NetstatOptions): string {
  if (options.all) return '(servers and established)';
  return options.listening ? '(only servers)' : '(w/o servers)';
}

export function inetHeader(options: NetstatOptions): string {
  let header = `Active Internet connections ${sectionTitle(options)}\n`;
  header += 'Proto Recv-Q Send-Q Local Address           Foreign Address         State      ';
  if (options.extend > 1) header += ' User       Inode     ';
  if (options.programs) header += ` ${padEnd('PID/Program name', PROGNAME_WIDTH)}`;
  if (options.timers) header += ' Timer';
  return `${header}\n`;
}

export function unixHeader(options: NetstatOptions): string {
  let header = `Active UNIX domain sockets ${sectionTitle(options)}\n`;
  header += 'Proto RefCnt Flags       Type       State         I-Node  ';
  if (options.programs) header += ` ${padEnd('PID/Program name', PROGNAME_WIDTH)}`;
  return `${header} Path\n`;
}

/** -a / -l selection exactly as netstat decides it (model/filter.ts isServer); never a proto this build does not know. */
export function netstatSelects(socket: Socket, options: NetstatOptions): boolean {
  if (!WIRE_TO_PROTO.has(socket.proto)) return false;
  return options.all || servesAsNetstatSays(socket.proto, socket.ssState === 'LISTEN', socket.foreignAddress, socket.foreignPort) === options.listening;
}

export class NetstatFormatter {
  constructor(
    private readonly options: NetstatOptions,
    private readonly names: NameResolver,
  ) {}

  /** One line of an inet table; `proto` is the socket's, by WIRE_TO_PROTO. */
  inetRow(socket: Socket, proto: InetProto): string {
    const { options } = this;
    const serviceProto = isUdp(proto) ? 'udp' : isRaw(proto) ? 'raw' : 'tcp';
    const local = this.endpoint(socket.localAddress, socket.localPort, serviceProto);
    const foreign = this.endpoint(socket.foreignAddress, socket.foreignPort, serviceProto);
    const rxq = padStart(String(socket.recvQ), 6);
    const txq = padStart(String(socket.sendQ), 6);
    const state = padEnd(inetStateName(proto, socket.stateCode), 11);
    let line: string;
    if (isUdp(proto)) {
      line = `${padEnd(proto, 5)} ${rxq} ${txq} ${padEnd(local, 23)} ${padEnd(foreign, 23)} ${state}`;
    } else {
      line = `${padEnd(proto, 4)}  ${rxq} ${txq} ${padEnd(local, 23)} ${padEnd(foreign, 23)} ${state}`;
    }
    return line + this.finish(socket, options.timers ? this.timer(socket, proto) : '');
  }

  unixRow(socket: Socket): string {
    const unix = socket.unix;
    const socketFlags = unix?.flags ?? 0;
    let flags = '[ ';
    if (socketFlags & UNIX_FLAG_ACCEPTCON) flags += 'ACC ';
    if (socketFlags & SO_WAITDATA) flags += 'W ';
    if (socketFlags & SO_NOSPACE) flags += 'N ';
    flags += ']';
    // netstat prints `??` for a non-zero Protocol column; unix_seq_show always prints 0.
    let line = `unix  ${padEnd(String(socket.refCount), 6)} ${padEnd(flags, 11)} ${padEnd(unixTypeName(unix?.type ?? 0), 10)} ${padEnd(unixStateName(socket.stateCode, socketFlags), 13)} `;
    line += padEnd(socket.inode.toString(), 8);
    if (this.options.programs) line += ` ${padEnd(programOf(socket) ?? '-', PROGNAME_WIDTH)}`;
    // The name's bytes as latin1, one char per byte; sscanf("%s") stops at the first white
    // space: netstat shows `with` for "with space.sock".
    const name = unix?.path.length ? Buffer.from(unix.path.buffer, unix.path.byteOffset, unix.path.length).toString('latin1') : '';
    const path = /^[^\s]*/.exec(name)?.[0] ?? '';
    return `${line} ${path}\n`;
  }

  /** addr_do_one: "addr:port", squeezed into 23 columns unless -W. */
  private endpoint(address: string, port: number, serviceProto: 'tcp' | 'udp' | 'raw'): string {
    const { options } = this;
    const shown = netstatAddress(address);
    let host = shown;
    if (!options.numericHosts) host = this.hostName(shown);
    const service = port === 0 ? '*' : ((options.numericPorts ? undefined : this.names.service(port, serviceProto)) ?? String(port));
    const shortLength = 22;
    if (!options.wide && host.length + service.length > shortLength) {
      const portLength = Math.min(service.length, shortLength - 4);
      const hostLength = shortLength - portLength;
      return `${host.slice(0, hostLength)}:${service.slice(0, portLength)}`;
    }
    return `${host}:${service}`;
  }

  /** INET_rresolve / INET6_rresolve without DNS: /etc/hosts, else the numeric form. */
  private hostName(address: string): string {
    if (address === '::') return '[::]';
    if (address === '0.0.0.0') return address;
    return this.names.host(address) ?? address;
  }

  /** finish_this_one: User and Inode with -e, PID/Program name with -p, then the timer. */
  private finish(socket: Socket, timer: string): string {
    const { options } = this;
    let tail = '';
    if (options.extend > 1) {
      const user = options.numericUsers ? undefined : this.names.user(socket.uid);
      tail += ` ${padEnd(user ?? String(socket.uid), 10)} ${padEnd(socket.inode.toString(), 10)}`;
    }
    if (options.programs) tail += ` ${padEnd(programOf(socket) ?? '-', PROGNAME_WIDTH)}`;
    if (options.timers) tail += ` ${timer}`;
    return `${tail}\n`;
  }

  private timer(socket: Socket, proto: InetProto): string {
    const code = socket.timer?.code ?? 0;
    const probes = socket.timer?.probes ?? 0;
    // UDP forces retrnsmt to 0 before printing (udp_do_one); raw keeps it.
    const retransmits = isUdp(proto) ? 0 : (socket.timer?.retransmits ?? 0);
    if (code === 0) return `off (0.00/${retransmits}/${probes})`;
    const seconds = (socket.timer ? timerSecondsLeft(socket.timer, this.options.timersAsOfMs) : 0).toFixed(2);
    return `${timerKind(proto, code)} (${seconds}/${retransmits}/${probes})`;
  }
}

/** `pid/name` cut to netstat's 19 characters. */
export function programLabel(pid: number, name: string): string {
  return `${pid}/${name}`.slice(0, PROGNAME_WIDTH - 1);
}

/** What the PID/Program name column shows: the first holder (lowest pid), or undefined for `-`. */
function programOf(socket: Socket): string | undefined {
  const first = socket.inode === 0n ? undefined : socket.processes[0];
  return first && programLabel(first.pid, first.name);
}

export interface NetstatSection {
  readonly protos: ReadonlySet<SocketProto>;
  readonly sockets: readonly Socket[];
  /** false: rows only, as kubectl's --no-headers prints them. */
  readonly headers?: boolean;
}

/** Columns printed in front of netstat's, like `kubectl get -o wide` adds its own. */
export interface LeadingColumns {
  /** Text in front of the column-header line ("Proto Recv-Q ..."). */
  readonly header: string;
  /** Text in front of the row of section.sockets[index]. */
  cells(index: number): string;
}

/** netstat's two header lines with the leading columns' header in front of the second. */
function withLeading(header: string, columns: LeadingColumns | undefined): string {
  if (!columns) return header;
  const newline = header.indexOf('\n');
  return header.slice(0, newline + 1) + columns.header + header.slice(newline + 1);
}

/**
 * The whole netstat listing of one section: the inet block when any inet protocol was asked
 * for (its header appears even with no rows, as netstat's does), then the unix block.
 */
export function formatNetstat(section: NetstatSection, options: NetstatOptions, names: NameResolver, columns?: LeadingColumns): string {
  const formatter = new NetstatFormatter(options, names);
  const wantsInet = [...section.protos].some((proto) => proto !== 'unix');
  const headers = section.headers ?? true;
  let out = wantsInet && headers ? withLeading(inetHeader(options), columns) : '';
  const unixRows: string[] = [];
  section.sockets.forEach((socket, index) => {
    const proto = WIRE_TO_PROTO.get(socket.proto);
    if (proto === undefined || !section.protos.has(proto) || !netstatSelects(socket, options)) return;
    const lead = columns ? columns.cells(index) : '';
    if (proto === 'unix') unixRows.push(lead + formatter.unixRow(socket));
    else out += lead + formatter.inetRow(socket, proto);
  });
  if (section.protos.has('unix')) out += (headers ? withLeading(unixHeader(options), columns) : '') + unixRows.join('');
  return out;
}

/** How many of these sockets have a proto this build does not know, and so are in no netstat listing. */
export function unknownProtos(sockets: readonly Socket[]): number {
  let count = 0;
  for (const socket of sockets) if (!WIRE_TO_PROTO.has(socket.proto)) count++;
  return count;
}
