import { netstatAddress } from '../../model/address.js';
import { UNIX_FLAG_ACCEPTCON, type InetSocketRecord, type SocketProto, type SocketRecord, type UnixSocketRecord } from '../../model/socket.js';
import { CLOCK_TICKS_PER_SECOND, isRaw, isUdp, netstatStateName, timerKind, unixTypeName } from '../../model/states.js';
import type { NameResolver } from './names.js';

/**
 * net-tools `netstat` output, byte for byte (netstat.c 2.10: tcp_do_one, udp_do_one, raw_do_one,
 * unix_do_one, finish_this_one, addr_do_one). Every width and quirk below is netstat's.
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
}

/**
 * What the PID/Program name column shows for a socket: `pid/name`, or undefined for `-`. By
 * inode within one host; `index` (into the section's sockets) tells sockets of several hosts apart.
 */
export type ProgramLookup = (inode: string, index: number) => string | undefined;

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

/**
 * -a / -l selection exactly as netstat decides it: tcp by the remote *port* (so a connected
 * socket to port 0 counts as listening), udp and raw by the remote *address*, unix by
 * SS_UNCONNECTED + __SO_ACCEPTCON.
 */
export function netstatSelects(record: SocketRecord, options: NetstatOptions): boolean {
  if (options.all) return true;
  let serving: boolean;
  if (record.proto === 'unix') serving = record.st === 1 && (record.flags & UNIX_FLAG_ACCEPTCON) !== 0;
  else if (record.proto === 'tcp' || record.proto === 'tcp6') serving = record.foreignPort === 0;
  else serving = record.foreignAddress === '0.0.0.0' || record.foreignAddress === '::';
  return serving === options.listening;
}

export class NetstatFormatter {
  constructor(
    private readonly options: NetstatOptions,
    private readonly names: NameResolver,
  ) {}

  inetRow(record: InetSocketRecord, program: string | undefined): string {
    const { options } = this;
    const serviceProto = isUdp(record) ? 'udp' : isRaw(record) ? 'raw' : 'tcp';
    const local = this.endpoint(record.localAddress, record.localPort, serviceProto);
    const foreign = this.endpoint(record.foreignAddress, record.foreignPort, serviceProto);
    const rxq = padStart(String(record.rxQueue), 6);
    const txq = padStart(String(record.txQueue), 6);
    const state = padEnd(netstatStateName(record), 11);
    let line: string;
    if (isUdp(record)) {
      line = `${padEnd(record.proto, 5)} ${rxq} ${txq} ${padEnd(local, 23)} ${padEnd(foreign, 23)} ${state}`;
    } else {
      line = `${padEnd(record.proto, 4)}  ${rxq} ${txq} ${padEnd(local, 23)} ${padEnd(foreign, 23)} ${state}`;
    }
    return line + this.finish(record.uid, record.inode, program, options.timers ? this.timer(record) : '');
  }

  unixRow(record: UnixSocketRecord, program: string | undefined): string {
    let flags = '[ ';
    if (record.flags & UNIX_FLAG_ACCEPTCON) flags += 'ACC ';
    if (record.flags & SO_WAITDATA) flags += 'W ';
    if (record.flags & SO_NOSPACE) flags += 'N ';
    flags += ']';
    const proto = record.protocol === 0 ? 'unix' : '??';
    let line = `${padEnd(proto, 5)} ${padEnd(String(record.refCount), 6)} ${padEnd(flags, 11)} ${padEnd(unixTypeName(record.type), 10)} ${padEnd(netstatStateName(record), 13)} `;
    line += padEnd(record.inode, 8);
    if (this.options.programs) line += ` ${padEnd(program ?? '-', PROGNAME_WIDTH)}`;
    // sscanf("%s") stops at the first white space: netstat shows `with` for "with space.sock".
    const path = record.path === null ? '' : (/^[^\s]*/.exec(record.path)?.[0] ?? '');
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
  private finish(uid: number, inode: string, program: string | undefined, timer: string): string {
    const { options } = this;
    let tail = '';
    if (options.extend > 1) {
      const user = options.numericUsers ? undefined : this.names.user(uid);
      tail += ` ${padEnd(user ?? String(uid), 10)} ${padEnd(inode, 10)}`;
    }
    if (options.programs) tail += ` ${padEnd(program ?? '-', PROGNAME_WIDTH)}`;
    if (options.timers) tail += ` ${timer}`;
    return `${tail}\n`;
  }

  private timer(record: InetSocketRecord): string {
    const { timer } = record;
    const kind = timerKind(record);
    // UDP forces retrnsmt to 0 before printing (udp_do_one); raw keeps it.
    const retransmits = isUdp(record) ? 0 : timer.retransmits;
    if (timer.code === 0) return `off (0.00/${retransmits}/${timer.probes})`;
    const seconds = (timer.ticks / CLOCK_TICKS_PER_SECOND).toFixed(2);
    return `${kind} (${seconds}/${retransmits}/${timer.probes})`;
  }
}

/** `pid/name` cut to netstat's 19 characters. */
export function programLabel(pid: number, name: string): string {
  return `${pid}/${name}`.slice(0, PROGNAME_WIDTH - 1);
}

export interface NetstatSection {
  readonly protos: ReadonlySet<SocketProto>;
  readonly sockets: readonly SocketRecord[];
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
 * The whole netstat listing of one namespace: the inet block when any inet protocol was asked
 * for (its header appears even with no rows, as netstat's does), then the unix block.
 */
export function formatNetstat(section: NetstatSection, options: NetstatOptions, names: NameResolver, program: ProgramLookup, columns?: LeadingColumns): string {
  const formatter = new NetstatFormatter(options, names);
  const wantsInet = [...section.protos].some((proto) => proto !== 'unix');
  const headers = section.headers ?? true;
  let out = wantsInet && headers ? withLeading(inetHeader(options), columns) : '';
  const unixRows: string[] = [];
  section.sockets.forEach((record, index) => {
    if (!section.protos.has(record.proto) || !netstatSelects(record, options)) return;
    const label = options.programs && record.inode !== '0' ? program(record.inode, index) : undefined;
    const lead = columns ? columns.cells(index) : '';
    if (record.proto === 'unix') unixRows.push(lead + formatter.unixRow(record, label));
    else out += lead + formatter.inetRow(record, label);
  });
  if (section.protos.has('unix')) out += (headers ? withLeading(unixHeader(options), columns) : '') + unixRows.join('');
  return out;
}
