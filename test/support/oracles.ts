/**
 * Parsers for the output of the two reference tools, iproute2 `ss` and net-tools `netstat`, so
 * the end-to-end tests can compare kube-netstat with what they report for the same namespace.
 * They read what the tools print (shapes from test/fixtures/captures/demo.ss-*.txt and
 * demo.netstat-*.txt); anything they do not recognise throws, naming the line.
 */

export type OracleProto = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'raw' | 'raw6' | 'unix';
export type UnixType = 'STREAM' | 'DGRAM' | 'RAW' | 'RDM' | 'SEQPACKET' | 'UNKNOWN';

export interface SocketUser {
  /** ss: comm from /proc/<pid>/stat; netstat: basename of argv[0], cut to fit "pid/name" in 19. */
  readonly name: string;
  readonly pid: number;
  /** ss only; netstat does not print the fd. */
  readonly fd: number | null;
}

export interface OracleTimer {
  /** As the tool names it: ss `on|keepalive|timewait|persist`, netstat `off|on|keepalive|timewait|probe`. */
  readonly kind: string;
  readonly seconds: number;
  /** netstat's R; ss's count for `on` timers. */
  readonly retransmits: number | null;
  /** netstat's P; ss's count for the other timers. */
  readonly probes: number | null;
}

export interface UnixDetails {
  readonly type: UnixType;
  /** The bound name as printed (ss: in full; netstat: cut at the first whitespace); null if unnamed. */
  readonly path: string | null;
  /** ss only: the peer's inode ("0" for none). */
  readonly peerInode: string | null;
  /** netstat only. */
  readonly refCnt: number | null;
  /** netstat only: the words inside `[ ]`, e.g. ['ACC']. */
  readonly flags: readonly string[] | null;
}

export interface OracleRecord {
  readonly tool: 'ss' | 'netstat';
  /** tcp/udp/raw vs tcp6/udp6/raw6 by the socket's family (ss: the address text; netstat: its Proto column). */
  readonly proto: OracleProto;
  /** Exactly as printed: ss `ESTAB`, `UNCONN`…; netstat `ESTABLISHED`, `` (UDP), `7` (raw), `LISTENING`… */
  readonly state: string;
  /** null where the tool has no such column (netstat's unix table). */
  readonly recvQ: number | null;
  readonly sendQ: number | null;
  /** Inet only: address text without ss's brackets (`::ffff:127.0.0.1`, `*`, `::`); null for unix. */
  readonly localAddress: string | null;
  /** null for `*`, and for unix sockets. */
  readonly localPort: number | null;
  readonly foreignAddress: string | null;
  readonly foreignPort: number | null;
  /** null when not printed (ss omits uid 0 and has no uid for unix/raw; netstat without -e). */
  readonly uid: number | null;
  /** Decimal text; null when not printed (ss for raw sockets, netstat without -e). */
  readonly inode: string | null;
  /** Every holder for ss; at most the first one found for netstat. */
  readonly users: readonly SocketUser[];
  readonly timer: OracleTimer | null;
  readonly unix: UnixDetails | null;
  /** The record as printed, continuation lines joined with `\n`. */
  readonly line: string;
}

export class OracleParseError extends Error {
  override readonly name = 'OracleParseError';
  constructor(
    readonly tool: 'ss' | 'netstat',
    readonly lineNumber: number,
    readonly text: string,
    readonly reason: string,
  ) {
    super(`${tool} output line ${lineNumber}: ${reason}: ${JSON.stringify(text)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// ss

const SS_NETIDS: Record<string, 'tcp' | 'udp' | 'raw' | UnixType> = {
  tcp: 'tcp',
  udp: 'udp',
  raw: 'raw',
  u_str: 'STREAM',
  u_dgr: 'DGRAM',
  u_seq: 'SEQPACKET',
};

/** sstate_name[] in iproute2 misc/ss.c. */
const SS_STATES = new Set([
  'UNKNOWN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN',
  'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING',
]);

export interface SsParseOptions {
  /** Which table a single-protocol run printed (`ss -t`, `-u`, `-w`): it has no Netid column then. */
  readonly netid?: 'tcp' | 'udp' | 'raw';
}

/**
 * Parses `ss -[tuwx]an[p][e][o]` output, header included (`-H` is not supported: the header
 * tells whether there is a Netid column). A unix name containing a newline continues on the
 * next physical line; such lines are joined back.
 */
export function parseSs(text: string, options: SsParseOptions = {}): OracleRecord[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = lines[0] ?? '';
  const hasNetid = header.startsWith('Netid');
  if (!hasNetid && !header.startsWith('State')) throw new OracleParseError('ss', 1, header, 'no ss header');
  if (!hasNetid && !options.netid) throw new OracleParseError('ss', 1, header, 'no Netid column: say which table this is');

  const startsRecord = (line: string): boolean => {
    const first = line.split(' ', 1)[0]!;
    return hasNetid ? first in SS_NETIDS : SS_STATES.has(first);
  };
  const records: OracleRecord[] = [];
  let pending: { text: string; lineNumber: number } | undefined;
  const flush = (): void => {
    if (pending) records.push(parseSsRecord(pending.text, pending.lineNumber, hasNetid ? undefined : options.netid));
    pending = undefined;
  };
  lines.slice(1).forEach((line, index) => {
    if (startsRecord(line)) {
      flush();
      pending = { text: line, lineNumber: index + 2 };
    } else if (pending) {
      pending.text += `\n${line}`;
    } else {
      throw new OracleParseError('ss', index + 2, line, 'continuation line without a record');
    }
  });
  flush();
  return records;
}

const SS_INET = /^(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+(.*?))?\s*$/;
// The local and peer columns of a unix row are "name inode"; the name may hold spaces and newlines.
const SS_UNIX = /^(\S+)\s+(\d+)\s+(\d+)\s+(.*?) (\d+|\*)\s+(.*?) (\d+|\*)(?:\s+(.*?))?\s*$/s;

function parseSsRecord(record: string, lineNumber: number, netid: 'tcp' | 'udp' | 'raw' | undefined): OracleRecord {
  const fail = (reason: string): never => {
    throw new OracleParseError('ss', lineNumber, record, reason);
  };
  // Without a Netid column the caller said which table this is; otherwise it is the first word.
  const kind = netid ?? SS_NETIDS[record.split(' ', 1)[0]!];
  if (kind === undefined) return fail('unknown Netid');
  const body = netid ? record : record.slice(record.indexOf(' ')).trimStart();
  if (kind !== 'tcp' && kind !== 'udp' && kind !== 'raw') {
    const m = SS_UNIX.exec(body) ?? fail('not a unix row');
    const [, state, recvQ, sendQ, path, inode, , peerInode, rest] = m as unknown as string[];
    if (!SS_STATES.has(state!)) fail('unknown State');
    const process = parseSsProcess(rest ?? '', lineNumber, record, 'unix');
    return {
      tool: 'ss',
      proto: 'unix',
      state: state!,
      recvQ: Number(recvQ),
      sendQ: Number(sendQ),
      localAddress: null,
      localPort: null,
      foreignAddress: null,
      foreignPort: null,
      uid: process.uid,
      inode: inode!,
      users: process.users,
      timer: process.timer,
      unix: { type: kind, path: path === '*' ? null : path!, peerInode: peerInode!, refCnt: null, flags: null },
      line: record,
    };
  }
  const m = SS_INET.exec(body) ?? fail('not an inet row');
  const [, state, recvQ, sendQ, local, peer, rest] = m as unknown as string[];
  if (!SS_STATES.has(state!)) fail('unknown State');
  const localEnd = splitEndpoint(local!) ?? fail('bad local address');
  const peerEnd = splitEndpoint(peer!) ?? fail('bad peer address');
  const process = parseSsProcess(rest ?? '', lineNumber, record, kind);
  // ss prints IPv6 in brackets, and the wildcard of a dual-stack (v6only=0) socket as `*`.
  const v6 = localEnd.address === '*' || localEnd.address.includes(':') || process.v6only !== null;
  return {
    tool: 'ss',
    proto: v6 ? `${kind}6` : kind,
    state: state!,
    recvQ: Number(recvQ),
    sendQ: Number(sendQ),
    localAddress: localEnd.address,
    localPort: localEnd.port,
    foreignAddress: peerEnd.address,
    foreignPort: peerEnd.port,
    uid: process.uid,
    inode: process.inode,
    users: process.users,
    timer: process.timer,
    unix: null,
    line: record,
  };
}

/** `127.0.0.1:8080`, `[::ffff:127.0.0.1]:8443`, `*:*`, `[fe80::1]%eth0:22`. */
function splitEndpoint(text: string): { address: string; port: number | null } | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = text.slice(colon + 1);
  if (port !== '*' && !/^\d+$/.test(port)) return undefined;
  let address = text.slice(0, colon);
  const bracketed = /^\[([^\]]*)\](%\S+)?$/.exec(address);
  if (bracketed) address = bracketed[1]! + (bracketed[2] ?? '');
  return { address, port: port === '*' ? null : Number(port) };
}

interface SsProcessColumn {
  users: SocketUser[];
  timer: OracleTimer | null;
  uid: number | null;
  inode: string | null;
  v6only: boolean | null;
}

/** The free-form "Process" column: `users:((…))`, `timer:(…)`, `uid:`, `ino:`, `sk:`, `cgroup:`, `v6only:`, `<->`. */
function parseSsProcess(text: string, lineNumber: number, record: string, kind: string): SsProcessColumn {
  const users: SocketUser[] = [];
  let rest = text;
  const usersMatch = /users:\(((?:\("(?:[^"\\]|\\.)*",pid=\d+,fd=\d+\),?)*)\)/.exec(rest);
  if (usersMatch) {
    for (const u of usersMatch[1]!.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)/g)) {
      users.push({ name: u[1]!, pid: Number(u[2]), fd: Number(u[3]) });
    }
    rest = rest.replace(usersMatch[0], '');
  } else if (rest.includes('users:')) {
    throw new OracleParseError('ss', lineNumber, record, 'unreadable users:');
  }
  const timerMatch = /timer:\((\w+),([^,]*),(\d+)\)/.exec(rest);
  let timer: OracleTimer | null = null;
  if (timerMatch) {
    const seconds = parseSsDuration(timerMatch[2]!);
    if (seconds === undefined) throw new OracleParseError('ss', lineNumber, record, 'unreadable timer');
    const count = Number(timerMatch[3]);
    timer = timerMatch[1] === 'on'
      ? { kind: 'on', seconds, retransmits: count, probes: null }
      : { kind: timerMatch[1]!, seconds, retransmits: null, probes: count };
  }
  const uid = /(?:^|\s)uid:(\d+)/.exec(rest);
  // For unix rows `ino:` is the inode of the socket *file* (UNIX_DIAG_VFS), not of the socket.
  const inode = kind === 'unix' ? null : /(?:^|\s)ino:(\d+)/.exec(rest);
  const v6only = /(?:^|\s)v6only:([01])/.exec(rest);
  return {
    users,
    timer,
    uid: uid ? Number(uid[1]) : null,
    inode: inode ? inode[1]! : null,
    v6only: v6only ? v6only[1] === '1' : null,
  };
}

/**
 * print_ms_timer in misc/ss.c: `119min`, `57sec`, `828ms`, `1.564ms` meaning 1 s + 564 ms
 * (whole seconds, a dot, then milliseconds with an `ms` suffix), `2min5sec`, and nothing at
 * all for a timer that is due (`timer:(on,,0)`).
 */
export function parseSsDuration(text: string): number | undefined {
  const m = /^(?:(\d+)min)?(?:(\d+)(?:sec|\.(?=\d{3}ms)))?(?:(\d+)ms)?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 1000;
}

// ---------------------------------------------------------------------------------------------
// netstat

/** The printf widths of net-tools netstat.c that a parser needs to find fields with spaces. */
const PROGNAME_WIDTH = 20; // ` %-20s`; "pid/name" itself is at most 19 characters
const UNIX_INODE_WIDTH = 8; // `%-8lu`
const UNIX_STATES = new Set(['FREE', 'LISTENING', 'CONNECTING', 'CONNECTED', 'DISCONNECTING', 'UNKNOWN']);

interface NetstatColumns {
  readonly section: 'inet' | 'unix';
  readonly userInode: boolean;
  readonly program: boolean;
  readonly timer: boolean;
}

/**
 * Parses `netstat -[tuwx]an[p][o][e]` output: the "Active Internet connections" table and/or
 * the "Active UNIX domain sockets" table, each with its column header. Fields are located the
 * way netstat.c prints them, so program names and unix paths with spaces come out whole.
 * Notes such as "(Not all processes could be identified…)" are skipped.
 */
export function parseNetstat(text: string): OracleRecord[] {
  const records: OracleRecord[] = [];
  let columns: NetstatColumns | undefined;
  let section: 'inet' | 'unix' | undefined;
  let inNote = false;
  text.split('\n').forEach((line, index) => {
    const lineNumber = index + 1;
    // Notes in parentheses, possibly over several lines: "(Not all processes could be …)".
    if (inNote || line.startsWith('(')) {
      inNote = !line.endsWith(')');
      return;
    }
    if (line === '') return;
    if (line.startsWith('Active Internet connections')) {
      section = 'inet';
      columns = undefined;
      return;
    }
    if (line.startsWith('Active UNIX domain sockets')) {
      section = 'unix';
      columns = undefined;
      return;
    }
    if (line.startsWith('Proto ')) {
      if (!section) throw new OracleParseError('netstat', lineNumber, line, 'header outside a table');
      columns = {
        section,
        userInode: section === 'inet' && line.includes(' User ') && line.includes(' Inode '),
        program: line.includes('PID/Program name'),
        timer: line.includes(' Timer'),
      };
      return;
    }
    if (!columns) throw new OracleParseError('netstat', lineNumber, line, 'row before a table header');
    records.push(columns.section === 'inet' ? parseNetstatInet(line, lineNumber, columns) : parseNetstatUnix(line, lineNumber, columns));
  });
  return records;
}

const NETSTAT_TIMER = /(\S+) \(([\d.]+)\/(\d+)\/(\d+)\)$/;

/** `printf("%-4s  %6ld %6ld %-*s %-*s %-11s", …)` then ` %-10s %-10lu` (-e), ` %-20s` (-p), ` %s` (-o). */
function parseNetstatInet(line: string, lineNumber: number, columns: NetstatColumns): OracleRecord {
  const fail = (reason: string): never => {
    throw new OracleParseError('netstat', lineNumber, line, reason);
  };
  let rest = line;
  let timer: OracleTimer | null = null;
  if (columns.timer) {
    const m = NETSTAT_TIMER.exec(rest) ?? fail('no timer');
    timer = { kind: m[1]!, seconds: Number(m[2]), retransmits: Number(m[3]), probes: Number(m[4]) };
    rest = rest.slice(0, m.index - 1);
  }
  let users: SocketUser[] = [];
  if (columns.program) {
    if (rest.length < PROGNAME_WIDTH + 1) fail('line too short for the program column');
    users = parseNetstatProgram(rest.slice(-PROGNAME_WIDTH).trimEnd()) ?? fail('bad PID/Program name');
    rest = rest.slice(0, -PROGNAME_WIDTH - 1);
  }
  const tokens = rest.trim().split(/\s+/);
  let uid: number | null = null;
  let inode: string | null = null;
  if (columns.userInode) {
    inode = tokens.pop() ?? fail('no inode');
    const user = tokens.pop() ?? fail('no user');
    if (!/^\d+$/.test(inode)) fail('bad inode');
    uid = /^\d+$/.test(user) ? Number(user) : null;
  }
  if (tokens.length !== 5 && tokens.length !== 6) fail(`expected 5 or 6 leading fields, got ${tokens.length}`);
  const [proto, recvQ, sendQ, local, foreign, state = ''] = tokens as [string, string, string, string, string, string?];
  if (!['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6'].includes(proto)) fail('unknown Proto');
  if (!/^\d+$/.test(recvQ) || !/^\d+$/.test(sendQ)) fail('bad queue');
  const localEnd = splitEndpoint(local) ?? fail('bad local address');
  const foreignEnd = splitEndpoint(foreign) ?? fail('bad foreign address');
  return {
    tool: 'netstat',
    proto: proto as OracleProto,
    state,
    recvQ: Number(recvQ),
    sendQ: Number(sendQ),
    localAddress: localEnd.address,
    localPort: localEnd.port,
    foreignAddress: foreignEnd.address,
    foreignPort: foreignEnd.port,
    uid,
    inode,
    users,
    timer,
    unix: null,
    line,
  };
}

/** `1234/python3` or `-`. */
function parseNetstatProgram(text: string): SocketUser[] | undefined {
  if (text === '-') return [];
  const m = /^(\d+)\/(.*)$/s.exec(text);
  return m ? [{ pid: Number(m[1]), name: m[2]!, fd: null }] : undefined;
}

const NETSTAT_UNIX = /^(\S+) +(\d+) +\[ ((?:\S+ )*)\] +(\S+) +(?:([A-Z]+) +)?(\d+|-)(?= |$)/;

/** `printf("%-5s %-6ld %-11s %-10s %-13s ", …)`, `%-8lu` inode, ` %-20s` program (-p), ` %s` path. */
function parseNetstatUnix(line: string, lineNumber: number, columns: NetstatColumns): OracleRecord {
  const fail = (reason: string): never => {
    throw new OracleParseError('netstat', lineNumber, line, reason);
  };
  const m = NETSTAT_UNIX.exec(line) ?? fail('not a unix row');
  const [, proto, refCnt, flags, type, state = '', inode] = m as unknown as string[];
  if (proto !== 'unix') fail('unknown Proto');
  if (state !== '' && !UNIX_STATES.has(state)) fail('unknown State');
  let at = m[0].length - inode!.length + Math.max(UNIX_INODE_WIDTH, inode!.length);
  let users: SocketUser[] = [];
  if (columns.program) {
    users = parseNetstatProgram(line.slice(at + 1, at + 1 + PROGNAME_WIDTH).trimEnd()) ?? fail('bad PID/Program name');
    at += 1 + PROGNAME_WIDTH;
  }
  if (line[at] !== ' ') fail('no space before the path');
  const path = line.slice(at + 1);
  return {
    tool: 'netstat',
    proto: 'unix',
    state,
    recvQ: null,
    sendQ: null,
    localAddress: null,
    localPort: null,
    foreignAddress: null,
    foreignPort: null,
    uid: null,
    inode: inode === '-' ? null : inode!,
    users,
    timer: null,
    unix: {
      type: type as UnixType,
      path: path === '' ? null : path,
      peerInode: null,
      refCnt: Number(refCnt),
      flags: flags!.split(' ').filter((word) => word !== ''),
    },
    line,
  };
}

// ---------------------------------------------------------------------------------------------
// Translating ss's view into netstat's words, for comparisons

const SS_TO_NETSTAT_TCP: Record<string, string> = {
  ESTAB: 'ESTABLISHED',
  'SYN-SENT': 'SYN_SENT',
  'SYN-RECV': 'SYN_RECV',
  'FIN-WAIT-1': 'FIN_WAIT1',
  'FIN-WAIT-2': 'FIN_WAIT2',
  'TIME-WAIT': 'TIME_WAIT',
  UNCONN: 'CLOSE',
  'CLOSE-WAIT': 'CLOSE_WAIT',
  'LAST-ACK': 'LAST_ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

/**
 * The State column netstat prints for the socket ss shows: TCP names with underscores; UDP
 * `ESTABLISHED` or nothing (udp_do_one); raw the state number; unix from the SS_* state
 * /proc derives (a socket without an inode is an accept-queue embryo, CONNECTING).
 */
export function netstatStateOf(record: OracleRecord): string {
  const { proto, state } = record;
  if (proto === 'tcp' || proto === 'tcp6') return SS_TO_NETSTAT_TCP[state] ?? 'UNKNOWN';
  if (proto === 'udp' || proto === 'udp6') return state === 'ESTAB' ? 'ESTABLISHED' : state === 'UNCONN' ? '' : 'UNKNOWN';
  if (proto === 'raw' || proto === 'raw6') return state === 'ESTAB' ? '1' : state === 'UNCONN' ? '7' : 'UNKNOWN';
  if (state === 'LISTEN') return 'LISTENING';
  if (state === 'ESTAB') return record.inode === '0' ? 'CONNECTING' : 'CONNECTED';
  return state === 'UNCONN' ? '' : 'UNKNOWN';
}

/**
 * An address as `netstat -n` prints it: ss's `*` is the IPv6 (dual-stack) wildcard `::` or
 * IPv4's `0.0.0.0`; v4-mapped `::ffff:a.b.c.d` loses its prefix (fix_v4_address in lib/inet6.c).
 */
export function netstatAddressOf(address: string, proto: OracleProto): string {
  if (address === '*') return proto.endsWith('6') ? '::' : '0.0.0.0';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** netstat's Timer kind for ss's timer name (`persist` is netstat's `probe`); `off` for none. */
export function netstatTimerKindOf(timer: OracleTimer | null): string {
  if (!timer) return 'off';
  return timer.kind === 'persist' ? 'probe' : timer.kind;
}
