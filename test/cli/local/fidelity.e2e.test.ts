/**
 * End-to-end fidelity: a holder process (fixtures/holder.py) keeps real sockets in every state
 * the kernel can show inside a namespace of our own; `ss` and `netstat`, run in that namespace,
 * are the oracles; `kube-netstat local --netns <pid>` must agree with them.
 *
 * Needs root, `ip`, `nft`, `nsenter`, `ss`, `netstat` and python3. All traffic stays on the
 * namespace's loopback; the namespace, its nft table, the processes and the scratch directory
 * are removed in after(), and the holder exits by itself after HOLDER_LIFETIME_S regardless.
 */
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { displayBytes } from '../../../model/json/socket-list.js';
import { TestNetns, netnsInodeOf, netnsSkipReason, run, runInNetnsOf } from '../../support/netns.js';
import {
  netstatAddressOf,
  netstatStateOf,
  netstatTimerKindOf,
  parseNetstat,
  parseSs,
} from '../../support/oracles.js';
import type { OracleProto, OracleRecord } from '../../support/oracles.js';
import { requirement } from '../../support/requirements.js';
import { REPO } from '../../support/checkout.js';

const HOLDER = join(REPO, 'test/fixtures/holder.py');
/** SYN-ACKs from this port are dropped inside the namespace: SYN_SENT + SYN_RECV stay put. */
const DROP_PORT = 8082;
/** The holder exits by itself after this, so a crashed run leaks nothing for long. */
const HOLDER_LIFETIME_S = 180;
const READY_TIMEOUT_MS = 30_000;
/** Bound on waiting for the close sequences and retransmissions to settle. */
const SETTLE_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 250;
const CLI_TIMEOUT_MS = 60_000;
/** Reruns of an oracle/CLI/oracle comparison whose oracle runs disagree with each other. */
const COMPARE_ATTEMPTS = 3;

const SS_ARGS = ['ss', '-tuwxanpeo'];
const NETSTAT_ARGS = ['netstat', '-tuwxanpoe'];

/**
 * Drops the SYN-ACKs on *input*, after they left the listener's side successfully. Dropped on
 * output instead (as for the demo capture), the kernel's own SYN-ACK retransmit fails with
 * EPERM and reqsk_timer_handler() drops the request socket the first time its timer fires
 * before a client retransmission: with tcp_syn_linear_timeouts that is ~6 s in, after which
 * SYN_RECV comes and goes. Dropped on input, it stays for the whole test.
 */
const NFT_DROP_SYN_ACK = `
table inet kns_test {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp sport ${DROP_PORT} tcp flags & (syn | ack) == (syn | ack) drop
  }
}
`;

/** What holder.py prints after READY. */
interface HolderReady {
  readonly pid: number;
  readonly uidChildPid: number;
  readonly sharedChildPid: number;
  readonly dropPort: number;
  readonly ports: Readonly<Record<string, number>>;
  readonly clientPorts: Readonly<Record<string, number>>;
  readonly unix: Readonly<Record<string, string>>;
  readonly inodes: Readonly<Record<string, string>>;
  readonly sleeperArgv0: string;
}

// ---------------------------------------------------------------------------------------------
// What ss must show

/** One socket as ss must print it. Identified by proto+state+endpoints, or by inode for unix. */
interface SsExpectation {
  readonly proto: OracleProto;
  /** ss's state name. */
  readonly state: string;
  /** `addr:port` exactly as ss prints it (brackets, `*`). */
  readonly local?: string;
  readonly foreign?: string;
  readonly inode?: string;
  readonly recvQ?: number | 'non-zero';
  readonly sendQ?: number | 'non-zero';
  readonly uid?: number;
  /** Every holder; [] for sockets no process holds. */
  readonly pids?: readonly number[];
  /** ss's timer name, or null for none. */
  readonly timer?: string | null;
  readonly path?: string | null;
  readonly unixType?: string;
  readonly peerInode?: string;
}

interface SocketCase {
  readonly name: string;
  readonly expect: (ready: HolderReady) => SsExpectation;
}

const L = '127.0.0.1';

function clientPort(ready: HolderReady, scenario: string): number {
  const port = ready.clientPorts[scenario];
  if (port === undefined) throw new Error(`holder reported no client port for ${scenario}`);
  return port;
}

function inodeOf(ready: HolderReady, name: string): string {
  const inode = ready.inodes[name];
  if (inode === undefined) throw new Error(`holder reported no inode for ${name}`);
  return inode;
}

const SOCKET_CASES: readonly SocketCase[] = [
  {
    name: 'TCP LISTEN held by two processes (fd inherited by a child)',
    expect: (r) => ({ proto: 'tcp', state: 'LISTEN', local: `${L}:8080`, foreign: '0.0.0.0:*', sendQ: 16, pids: [r.pid, r.sharedChildPid] }),
  },
  {
    name: 'TCP LISTEN of a child that switched to uid 65534',
    expect: (r) => ({ proto: 'tcp', state: 'LISTEN', local: `${L}:9090`, foreign: '0.0.0.0:*', uid: 65534, pids: [r.uidChildPid] }),
  },
  {
    name: 'TCP LISTEN with backlog 0 and a full accept queue',
    expect: (r) => ({ proto: 'tcp', state: 'LISTEN', local: `${L}:8081`, foreign: '0.0.0.0:*', recvQ: 1, sendQ: 0, pids: [r.pid] }),
  },
  {
    name: 'ESTABLISHED child waiting in the accept queue (inode 0, no holder)',
    expect: (r) => ({ proto: 'tcp', state: 'ESTAB', local: `${L}:8081`, foreign: `${L}:${clientPort(r, 'acceptQueue')}`, inode: '0', pids: [] }),
  },
  {
    name: 'SYN_SENT: the SYN was dropped because the accept queue is full',
    expect: (r) => ({ proto: 'tcp', state: 'SYN-SENT', local: `${L}:${clientPort(r, 'backlogSynSent')}`, foreign: `${L}:8081`, sendQ: 1, timer: 'on', pids: [r.pid] }),
  },
  {
    name: 'SYN_SENT: the SYN-ACKs are dropped by nft',
    expect: (r) => ({ proto: 'tcp', state: 'SYN-SENT', local: `${L}:${clientPort(r, 'dropSynSent')}`, foreign: `${L}:${DROP_PORT}`, sendQ: 1, timer: 'on', pids: [r.pid] }),
  },
  {
    name: 'SYN_RECV request socket (inode 0, no holder)',
    expect: (r) => ({ proto: 'tcp', state: 'SYN-RECV', local: `${L}:${DROP_PORT}`, foreign: `${L}:${clientPort(r, 'dropSynSent')}`, inode: '0', timer: 'on', pids: [] }),
  },
  {
    name: 'ESTABLISHED with data nobody reads (Recv-Q)',
    expect: (r) => ({ proto: 'tcp', state: 'ESTAB', local: `${L}:${clientPort(r, 'recvQ')}`, foreign: `${L}:8080`, recvQ: 3000, sendQ: 0, pids: [r.pid] }),
  },
  {
    name: 'ESTABLISHED sender facing a zero window (Send-Q, persist timer)',
    expect: (r) => ({ proto: 'tcp', state: 'ESTAB', local: `${L}:${clientPort(r, 'zeroWindow')}`, foreign: `${L}:8084`, sendQ: 'non-zero', timer: 'persist', pids: [r.pid] }),
  },
  {
    name: 'ESTABLISHED receiver with a tiny SO_RCVBUF that never reads (Recv-Q)',
    expect: (r) => ({ proto: 'tcp', state: 'ESTAB', local: `${L}:8084`, foreign: `${L}:${clientPort(r, 'zeroWindow')}`, recvQ: 'non-zero', pids: [r.pid] }),
  },
  {
    name: 'FIN_WAIT1 orphan with unsent data (inode 0, no holder)',
    expect: (r) => ({ proto: 'tcp', state: 'FIN-WAIT-1', local: `${L}:${clientPort(r, 'finWait1Orphan')}`, foreign: `${L}:8084`, inode: '0', sendQ: 'non-zero', timer: 'persist', pids: [] }),
  },
  {
    name: 'FIN_WAIT2 kept by its owner after shutdown(SHUT_WR)',
    expect: (r) => ({ proto: 'tcp', state: 'FIN-WAIT-2', local: `${L}:8080`, foreign: `${L}:${clientPort(r, 'finWait2Owned')}`, timer: null, pids: [r.pid] }),
  },
  {
    name: 'CLOSE_WAIT with the peer\'s FIN unread (Recv-Q 1)',
    expect: (r) => ({ proto: 'tcp', state: 'CLOSE-WAIT', local: `${L}:${clientPort(r, 'finWait2Owned')}`, foreign: `${L}:8080`, recvQ: 1, pids: [r.pid] }),
  },
  {
    name: 'FIN_WAIT2 orphan, kept as a timewait entry (inode 0, timewait timer)',
    expect: (r) => ({ proto: 'tcp', state: 'FIN-WAIT-2', local: `${L}:8080`, foreign: `${L}:${clientPort(r, 'finWait2Timewait')}`, inode: '0', timer: 'timewait', pids: [] }),
  },
  {
    name: 'CLOSE_WAIT whose peer close()d',
    expect: (r) => ({ proto: 'tcp', state: 'CLOSE-WAIT', local: `${L}:${clientPort(r, 'finWait2Timewait')}`, foreign: `${L}:8080`, recvQ: 1, pids: [r.pid] }),
  },
  {
    name: 'TIME_WAIT (inode 0, timewait timer)',
    expect: (r) => ({ proto: 'tcp', state: 'TIME-WAIT', local: `${L}:${clientPort(r, 'timeWait')}`, foreign: `${L}:8080`, inode: '0', timer: 'timewait', pids: [] }),
  },
  {
    name: 'LAST_ACK, its FIN stuck behind a zero window',
    expect: (r) => ({ proto: 'tcp', state: 'LAST-ACK', local: `${L}:${clientPort(r, 'lastAck')}`, foreign: `${L}:8085`, sendQ: 'non-zero', timer: 'persist', pids: [r.pid] }),
  },
  {
    name: 'CLOSING after a simultaneous close',
    expect: (r) => ({ proto: 'tcp', state: 'CLOSING', local: `${L}:${clientPort(r, 'closing')}`, foreign: `${L}:8086`, sendQ: 'non-zero', timer: 'persist', pids: [r.pid] }),
  },
  {
    name: 'ESTABLISHED with SO_KEEPALIVE (keepalive timer)',
    expect: (r) => ({ proto: 'tcp', state: 'ESTAB', local: `${L}:${clientPort(r, 'keepalive')}`, foreign: `${L}:8083`, timer: 'keepalive', pids: [r.pid] }),
  },
  {
    name: 'TCP6 dual-stack LISTEN on [::] (v6only 0)',
    expect: (r) => ({ proto: 'tcp6', state: 'LISTEN', local: '*:8443', foreign: '*:*', pids: [r.pid] }),
  },
  {
    name: 'IPv4 client of the dual-stack listener',
    expect: (r) => ({ proto: 'tcp', state: 'ESTAB', local: `${L}:${clientPort(r, 'dualStackV4')}`, foreign: `${L}:8443`, pids: [r.pid] }),
  },
  {
    name: 'its server side, IPv4-mapped IPv6',
    expect: (r) => ({ proto: 'tcp6', state: 'ESTAB', local: `[::ffff:${L}]:8443`, foreign: `[::ffff:${L}]:${clientPort(r, 'dualStackV4')}`, pids: [r.pid] }),
  },
  {
    name: 'TCP6 client over ::1',
    expect: (r) => ({ proto: 'tcp6', state: 'ESTAB', local: `[::1]:${clientPort(r, 'dualStackV6')}`, foreign: '[::1]:8443', pids: [r.pid] }),
  },
  {
    name: 'TCP6 server side over ::1',
    expect: (r) => ({ proto: 'tcp6', state: 'ESTAB', local: '[::1]:8443', foreign: `[::1]:${clientPort(r, 'dualStackV6')}`, pids: [r.pid] }),
  },
  {
    name: 'UDP bound with a small SO_RCVBUF and unread datagrams (Recv-Q)',
    expect: (r) => ({ proto: 'udp', state: 'UNCONN', local: `${L}:5353`, foreign: '0.0.0.0:*', recvQ: 'non-zero', pids: [r.pid] }),
  },
  {
    name: 'UDP connected',
    expect: (r) => ({ proto: 'udp', state: 'ESTAB', local: `${L}:${clientPort(r, 'udpConnected')}`, foreign: `${L}:5353`, pids: [r.pid] }),
  },
  {
    name: 'UDP unconnected on an ephemeral port of 0.0.0.0',
    expect: (r) => ({ proto: 'udp', state: 'UNCONN', local: `0.0.0.0:${clientPort(r, 'udpEphemeral')}`, foreign: '0.0.0.0:*', pids: [r.pid] }),
  },
  {
    name: 'UDP held only by the child with an odd argv[0]',
    expect: (r) => ({ proto: 'udp', state: 'UNCONN', local: `${L}:5355`, foreign: '0.0.0.0:*', pids: [r.sharedChildPid] }),
  },
  {
    name: 'UDP6 dual-stack wildcard',
    expect: (r) => ({ proto: 'udp6', state: 'UNCONN', local: '*:5354', foreign: '*:*', pids: [r.pid] }),
  },
  {
    name: 'UDP6 connected over ::1',
    expect: (r) => ({ proto: 'udp6', state: 'ESTAB', local: `[::1]:${clientPort(r, 'udp6Connected')}`, foreign: '[::1]:5354', pids: [r.pid] }),
  },
  {
    name: 'raw ICMP (the protocol number as the local port)',
    expect: (r) => ({ proto: 'raw', state: 'UNCONN', local: '0.0.0.0:1', foreign: '0.0.0.0:*', pids: [r.pid] }),
  },
  {
    name: 'raw ICMPv6',
    expect: (r) => ({ proto: 'raw6', state: 'UNCONN', local: '*:58', foreign: '*:*', pids: [r.pid] }),
  },
  {
    name: 'unix stream listener bound to a relative path',
    expect: (r) => ({ proto: 'unix', state: 'LISTEN', inode: inodeOf(r, 'unixStreamPath'), path: 'demo.sock', unixType: 'STREAM', pids: [r.pid] }),
  },
  {
    name: 'unix datagram bound to a name with a space, once a client connected (ESTAB)',
    expect: (r) => ({ proto: 'unix', state: 'ESTAB', inode: inodeOf(r, 'unixDgramSpace'), path: 'with space.sock', unixType: 'DGRAM', pids: [r.pid] }),
  },
  {
    name: 'unix datagram bound to a name with a newline',
    expect: (r) => ({ proto: 'unix', state: 'UNCONN', inode: inodeOf(r, 'unixDgramNewline'), path: 'new\nline.sock', unixType: 'DGRAM', pids: [r.pid] }),
  },
  {
    name: 'unix abstract datagram with a NUL inside its name (printed as @)',
    expect: (r) => ({ proto: 'unix', state: 'UNCONN', inode: inodeOf(r, 'unixDgramNul'), path: '@kns@nul', unixType: 'DGRAM', pids: [r.pid] }),
  },
  {
    name: 'unix abstract datagram whose name is not UTF-8 (raw bytes)',
    expect: (r) => ({ proto: 'unix', state: 'UNCONN', inode: inodeOf(r, 'unixDgramBytes'), path: r.unix.dgramBytes ?? '?', unixType: 'DGRAM', pids: [r.pid] }),
  },
  {
    name: 'unix datagram client connected to a bound name',
    expect: (r) => ({ proto: 'unix', state: 'ESTAB', inode: inodeOf(r, 'unixDgramClient'), path: null, unixType: 'DGRAM', peerInode: inodeOf(r, 'unixDgramSpace'), pids: [r.pid] }),
  },
  {
    name: 'unix abstract stream listener',
    expect: (r) => ({ proto: 'unix', state: 'LISTEN', inode: inodeOf(r, 'unixAbstractListener'), path: '@kns-stream', unixType: 'STREAM', pids: [r.pid] }),
  },
  {
    name: 'unix accepted stream, named after its listener',
    expect: (r) => ({ proto: 'unix', state: 'ESTAB', inode: inodeOf(r, 'unixAbstractAccepted'), path: '@kns-stream', peerInode: inodeOf(r, 'unixAbstractClient'), pids: [r.pid] }),
  },
  {
    name: 'unix unnamed client of the abstract listener',
    expect: (r) => ({ proto: 'unix', state: 'ESTAB', inode: inodeOf(r, 'unixAbstractClient'), path: null, peerInode: inodeOf(r, 'unixAbstractAccepted'), pids: [r.pid] }),
  },
  {
    name: 'unix seqpacket listener',
    expect: (r) => ({ proto: 'unix', state: 'LISTEN', inode: inodeOf(r, 'unixSeqpacket'), path: '@kns-seqpacket', unixType: 'SEQPACKET', pids: [r.pid] }),
  },
  {
    name: 'unix listener with a connection it never accepted',
    expect: (r) => ({ proto: 'unix', state: 'LISTEN', inode: inodeOf(r, 'unixEmbryoListener'), path: '@kns-embryo', recvQ: 1, pids: [r.pid] }),
  },
  {
    name: 'unix socketpair, first end',
    expect: (r) => ({ proto: 'unix', state: 'ESTAB', inode: inodeOf(r, 'unixPairA'), path: null, peerInode: inodeOf(r, 'unixPairB'), pids: [r.pid] }),
  },
  {
    name: 'unix socketpair, second end',
    expect: (r) => ({ proto: 'unix', state: 'ESTAB', inode: inodeOf(r, 'unixPairB'), path: null, peerInode: inodeOf(r, 'unixPairA'), pids: [r.pid] }),
  },
];

function ssEndpoint(address: string | null, port: number | null): string {
  const host = address === null ? '' : address.includes(':') ? `[${address}]` : address;
  return `${host}:${port ?? '*'}`;
}

/** The one ss row the expectation names, or a reason why there is not exactly one. */
function findRow(rows: readonly OracleRecord[], want: SsExpectation): OracleRecord | string {
  const found = rows.filter(
    (row) =>
      row.proto === want.proto &&
      row.state === want.state &&
      (want.local === undefined || ssEndpoint(row.localAddress, row.localPort) === want.local) &&
      (want.foreign === undefined || ssEndpoint(row.foreignAddress, row.foreignPort) === want.foreign) &&
      (want.proto !== 'unix' || want.inode === undefined || row.inode === want.inode),
  );
  if (found.length === 1) return found[0]!;
  return `${found.length} ss rows match ${JSON.stringify(want)}`;
}

/** Every way the row differs from the expectation (empty when it matches). */
function mismatches(row: OracleRecord, want: SsExpectation): string[] {
  const problems: string[] = [];
  const check = (what: string, actual: unknown, expected: unknown): void => {
    if (expected === undefined) return;
    const ok = expected === 'non-zero' ? typeof actual === 'number' && actual > 0 : JSON.stringify(actual) === JSON.stringify(expected);
    if (!ok) problems.push(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  };
  check('inode', row.inode, want.inode);
  check('Recv-Q', row.recvQ, want.recvQ);
  check('Send-Q', row.sendQ, want.sendQ);
  check('uid', row.uid, want.uid);
  check('pids', row.users.map((user) => user.pid).sort(), want.pids ? [...want.pids].sort() : undefined);
  check('timer', row.timer?.kind ?? null, want.timer);
  check('path', row.unix?.path, want.path);
  check('type', row.unix?.type, want.unixType);
  check('peer inode', row.unix?.peerInode, want.peerInode);
  return problems;
}

function caseProblems(rows: readonly OracleRecord[], ready: HolderReady, socketCase: SocketCase): string[] {
  const want = socketCase.expect(ready);
  const row = findRow(rows, want);
  return typeof row === 'string' ? [row] : mismatches(row, want);
}

// ---------------------------------------------------------------------------------------------
// Oracles and the CLI, run against the holder's namespace

// Text output is read as latin1, one character per byte: names are bytes, not UTF-8, and
// byte-for-byte comparison must see them as such.

async function ssRows(pid: number): Promise<OracleRecord[]> {
  return parseSs((await runInNetnsOf(pid, SS_ARGS, { encoding: 'latin1' })).stdout);
}

async function netstatText(pid: number): Promise<string> {
  // netstat warns "got bogus unix line" on stderr for the second line of a name with a newline.
  return (await runInNetnsOf(pid, NETSTAT_ARGS, { encoding: 'latin1' })).stdout;
}

/** The CLI's stdout: latin1 for netstat-style text, utf8 for JSON. */
async function runCli(args: readonly string[], encoding: BufferEncoding): Promise<string> {
  const result = await run([process.execPath, '--import', 'tsx', 'cmd/bin.ts', ...args], {
    cwd: REPO,
    timeoutMs: CLI_TIMEOUT_MS,
    allowFailure: true,
    encoding,
  });
  assert.equal(result.code, 0, `kube-netstat ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

/** ss prints no inode for raw sockets (it reads /proc/net/raw): take it from the holder's fd link. */
function withInodeFromFd(row: OracleRecord): OracleRecord {
  if (row.inode !== null || row.users.length === 0) return row;
  const { pid, fd } = row.users[0]!;
  const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
  return socket ? { ...row, inode: socket[1]! } : row;
}

/** One socket across tools: proto + inode, or for sockets without one, state and endpoints in netstat's words. */
function ssKey(row: OracleRecord): string {
  if (row.inode !== null && row.inode !== '0') return `${row.proto} inode ${row.inode}`;
  const local = `${netstatAddressOf(row.localAddress ?? '', row.proto)}:${row.localPort ?? '*'}`;
  const foreign = `${netstatAddressOf(row.foreignAddress ?? '', row.proto)}:${row.foreignPort ?? '*'}`;
  return `${row.proto} ${netstatStateOf(row)} ${local} ${foreign}`;
}

// ---------------------------------------------------------------------------------------------
// Comparing netstat's text with the CLI's

interface NetstatSections {
  readonly headers: string[];
  readonly inet: string[];
  readonly unix: string[];
}

/** Splits netstat text into its header lines and each table's rows, timers masked. */
function netstatSections(text: string): NetstatSections {
  const sections: NetstatSections = { headers: [], inet: [], unix: [] };
  const lines = text.split('\n');
  if (lines.pop() !== '') sections.headers.push('(no newline at the end)');
  let table: 'inet' | 'unix' | undefined;
  for (const line of lines) {
    if (line.startsWith('Active ') || line.startsWith('Proto ')) {
      sections.headers.push(line);
      if (line.startsWith('Active Internet')) table = 'inet';
      if (line.startsWith('Active UNIX')) table = 'unix';
    } else if (table === 'inet') {
      sections.inet.push(maskTimer(line));
    } else if (table === 'unix') {
      sections.unix.push(line);
    } else {
      sections.headers.push(line);
    }
  }
  return sections;
}

/** The kernel moves these on between two reads: seconds left, retransmits and probes in `kind (s/r/p)`. */
function maskTimer(line: string): string {
  return line.replace(/(\S+) \([\d.]+\/\d+\/\d+\)$/, '$1 (…)');
}

function counts(lines: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of lines) map.set(line, (map.get(line) ?? 0) + 1);
  return map;
}

/**
 * The CLI ran between two netstat runs. A row both runs print must be in its output; a row it
 * prints must be in at least one run (sockets may legitimately come and go in between).
 */
function churnTolerantDiff(actual: readonly string[], before: readonly string[], afterRun: readonly string[]): { missing: string[]; unexpected: string[] } {
  const a = counts(actual);
  const b = counts(before);
  const c = counts(afterRun);
  const missing: string[] = [];
  const unexpected: string[] = [];
  for (const [line, n] of b) {
    const stable = Math.min(n, c.get(line) ?? 0);
    for (let i = a.get(line) ?? 0; i < stable; i++) missing.push(line);
  }
  for (const [line, n] of a) {
    const allowed = Math.max(b.get(line) ?? 0, c.get(line) ?? 0);
    for (let i = allowed; i < n; i++) unexpected.push(line);
  }
  return { missing, unexpected };
}

/**
 * Runs a comparison until it comes out clean, at most COMPARE_ATTEMPTS times, and returns the
 * last result: a socket that appears and vanishes between the oracle's runs gets another
 * chance, while a real difference fails every time.
 */
async function untilClean<T>(compare: () => Promise<T>, clean: (result: T) => boolean): Promise<T> {
  let result = await compare();
  for (let attempt = 1; attempt < COMPARE_ATTEMPTS && !clean(result); attempt++) result = await compare();
  return result;
}

// ---------------------------------------------------------------------------------------------
// The JSON contract (design.md, "JSON record")

interface JsonProcess {
  readonly pid: number;
  readonly name: string;
  readonly comm: string;
}

interface JsonItem {
  readonly proto: OracleProto;
  readonly localAddress: string | null;
  readonly localPort: number | null;
  readonly foreignAddress: string | null;
  readonly foreignPort: number | null;
  readonly state: string;
  readonly recvQ: number | null;
  readonly sendQ: number | null;
  readonly uid: number | null;
  readonly inode: string;
  readonly processes: readonly JsonProcess[];
  readonly timer: { kind: string; seconds: number; retransmits: number; probes: number } | null;
  readonly netns: string;
  readonly path?: string | null;
  readonly pathBase64?: string;
  readonly type?: string;
  readonly flags?: number;
  readonly refCnt?: number;
}

interface JsonSocketList {
  readonly apiVersion: string;
  readonly kind: string;
  readonly items: readonly JsonItem[];
  readonly unavailableNodes: readonly unknown[];
}

function jsonKey(item: JsonItem): string {
  if (item.inode !== '0') return `${item.proto} inode ${item.inode}`;
  return `${item.proto} ${item.state} ${item.localAddress}:${item.localPort ?? '*'} ${item.foreignAddress}:${item.foreignPort ?? '*'}`;
}

/** netstat's unix rows that have no inode: accept-queue embryos, which ss does not list. */
function isUnixEmbryo(item: JsonItem): boolean {
  return item.proto === 'unix' && item.inode === '0';
}

// ---------------------------------------------------------------------------------------------

const skip = requirement(netnsSkipReason(['ip', 'nft', 'nsenter', 'ss', 'netstat', 'python3']));
// A skipped describe() counts no test on Node 20; this one shows up as skipped in the summary.
if (skip) test('fidelity: a namespace with sockets in every state', { skip }, () => {});

describe('fidelity: a namespace with sockets in every state', { skip }, () => {
  let netns: TestNetns | undefined;
  let ready: HolderReady;
  /** The ss rows once every expected socket was there (or the last poll, if they never all were). */
  let settled: OracleRecord[] = [];

  before(async () => {
    netns = await TestNetns.create();
    await netns.loadNftRuleset(NFT_DROP_SYN_ACK);
    const holder = await netns.start(['python3', HOLDER, '--drop-port', String(DROP_PORT), String(HOLDER_LIFETIME_S)], {
      cwd: netns.makeTempDir('holder'), // path-bound unix sockets get relative names here
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    ready = holder.ready as HolderReady;
    assert.equal(ready.pid, holder.pid, 'ip netns exec should exec the holder in place');

    // Close sequences finish and SYNs are retransmitted asynchronously: poll, bounded.
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      settled = await ssRows(ready.pid);
      const pending = SOCKET_CASES.filter((socketCase) => caseProblems(settled, ready, socketCase).length > 0);
      if (pending.length === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  });

  after(async () => {
    await netns?.cleanup();
  });

  describe('ss sees every socket the holder made', () => {
    for (const socketCase of SOCKET_CASES) {
      test(socketCase.name, () => {
        assert.deepEqual(caseProblems(settled, ready, socketCase), []);
      });
    }
  });

  describe('netstat quirks the CLI must reproduce', () => {
    test('netstat shows the never-accepted unix embryo (inode 0, CONNECTING, listener\'s name) that ss leaves out', async () => {
      const embryos = parseNetstat(await netstatText(ready.pid)).filter((row) => row.proto === 'unix' && row.inode === '0');
      assert.deepEqual(
        embryos.map((row) => ({ state: row.state, path: row.unix?.path, users: row.users })),
        [{ state: 'CONNECTING', path: ready.unix.embryo, users: [] }],
      );
      assert.equal(settled.filter((row) => row.proto === 'unix' && row.inode === '0').length, 0);
    });

    test('netstat names a shared socket after one holder only, the lowest pid', async () => {
      const shared = parseNetstat(await netstatText(ready.pid)).find((row) => row.inode === inodeOf(ready, 'sharedListener'));
      assert.deepEqual(shared?.users.map((user) => user.pid), [Math.min(ready.pid, ready.sharedChildPid)]);
    });

    test('netstat names a process by argv[0] (whole unless it starts with "/"), "pid/name" cut to 19 characters', async () => {
      const row = parseNetstat(await netstatText(ready.pid)).find((candidate) => candidate.inode === inodeOf(ready, 'childUdp'));
      assert.equal(row && `${row.users[0]?.pid}/${row.users[0]?.name}`, `${ready.sharedChildPid}/${ready.sleeperArgv0}`.slice(0, 19));
    });

    test('netstat cuts unix names at the first whitespace', async () => {
      const rows = parseNetstat(await netstatText(ready.pid));
      const pathOf = (name: string): string | null | undefined => rows.find((row) => row.inode === inodeOf(ready, name))?.unix?.path;
      assert.deepEqual([pathOf('unixDgramSpace'), pathOf('unixDgramNewline')], ['with', 'new']);
    });
  });

  describe('kube-netstat local --netns <pid> -tuwxanpoe prints what netstat prints', () => {
    let compared: Promise<{ cli: NetstatSections; before: NetstatSections; after: NetstatSections }> | undefined;
    const outputs = (): NonNullable<typeof compared> =>
      (compared ??= untilClean(
        async () => {
          const beforeText = await netstatText(ready.pid);
          const cliText = await runCli(['local', '--netns', String(ready.pid), '-tuwxanpoe'], 'latin1');
          const afterText = await netstatText(ready.pid);
          return { cli: netstatSections(cliText), before: netstatSections(beforeText), after: netstatSections(afterText) };
        },
        ({ cli, before: first, after: last }) =>
          [churnTolerantDiff(cli.inet, first.inet, last.inet), churnTolerantDiff(cli.unix, first.unix, last.unix)].every(
            ({ missing, unexpected }) => missing.length === 0 && unexpected.length === 0,
          ),
      ));

    test('the same headers, in the same order', async () => {
      const { cli, before: first } = await outputs();
      assert.deepEqual(cli.headers, first.headers);
    });

    test('the same Internet rows, byte for byte except timer values', async () => {
      const { cli, before: first, after: last } = await outputs();
      assert.deepEqual(churnTolerantDiff(cli.inet, first.inet, last.inet), { missing: [], unexpected: [] });
    });

    test('the same UNIX rows, truncated paths included', async () => {
      const { cli, before: first, after: last } = await outputs();
      assert.deepEqual(churnTolerantDiff(cli.unix, first.unix, last.unix), { missing: [], unexpected: [] });
    });
  });

  describe('kube-netstat local --netns <pid> -o json agrees with ss', () => {
    interface JsonRun {
      readonly list: JsonSocketList;
      /** ss rows present in both runs around the CLI, by key. */
      readonly stable: ReadonlyMap<string, OracleRecord>;
      /** Keys present in either ss run. */
      readonly seen: ReadonlySet<string>;
      readonly items: ReadonlyMap<string, JsonItem>;
      readonly netstat: readonly OracleRecord[];
    }
    let pending: Promise<JsonRun> | undefined;
    const jsonRun = (): Promise<JsonRun> =>
      (pending ??= untilClean(
        async () => {
          const first = (await ssRows(ready.pid)).map(withInodeFromFd);
          const list = JSON.parse(await runCli(['local', '--netns', String(ready.pid), '-tuwxanpe', '-o', 'json'], 'utf8')) as JsonSocketList;
          const last = (await ssRows(ready.pid)).map(withInodeFromFd);
          const netstat = parseNetstat(await netstatText(ready.pid));
          const lastByKey = new Map(last.map((row) => [ssKey(row), row]));
          const stable = new Map(
            first
              .filter((row) => lastByKey.get(ssKey(row))?.state === row.state)
              .map((row) => [ssKey(row), row] as const),
          );
          const seen = new Set([...first, ...last].map(ssKey));
          return { list, stable, seen, items: new Map((list.items ?? []).map((item) => [jsonKey(item), item])), netstat };
        },
        (result) => socketSetDiff(result).missing.length === 0 && socketSetDiff(result).unexpected.length === 0,
      ));

    /** Sockets ss saw in both runs but the CLI did not list, and ones it listed that ss never saw. */
    const socketSetDiff = ({ stable, seen, items }: JsonRun): { missing: string[]; unexpected: string[] } => ({
      missing: [...stable.keys()].filter((key) => !items.has(key)),
      unexpected: [...items].filter(([key, item]) => !seen.has(key) && !isUnixEmbryo(item)).map(([key]) => key),
    });

    /** Pairs of (ss row, JSON item) for every socket ss saw in both runs. */
    const pairs = async (): Promise<Array<[OracleRecord, JsonItem | undefined]>> => {
      const { stable, items } = await jsonRun();
      return [...stable].map(([key, row]) => [row, items.get(key)]);
    };

    test('is a SocketList with no unavailable nodes', async () => {
      const { list } = await jsonRun();
      assert.deepEqual(
        { apiVersion: list.apiVersion, kind: list.kind, items: Array.isArray(list.items), unavailableNodes: list.unavailableNodes },
        { apiVersion: 'kubenetstat.io/v1', kind: 'SocketList', items: true, unavailableNodes: [] },
      );
    });

    test('every item has the contract\'s fields with their types', async () => {
      const { list } = await jsonRun();
      const wrong = list.items.flatMap((item) => {
        const problems: string[] = [];
        const expectType = (field: keyof JsonItem, ok: boolean): void => {
          if (!ok) problems.push(`${jsonKey(item)}: ${field} = ${JSON.stringify(item[field])}`);
        };
        const portOk = (port: unknown): boolean => port === null || Number.isInteger(port);
        expectType('proto', ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix'].includes(item.proto));
        expectType('inode', typeof item.inode === 'string' && /^\d+$/.test(item.inode));
        expectType('netns', typeof item.netns === 'string' && /^\d+$/.test(item.netns));
        expectType('state', typeof item.state === 'string');
        expectType('processes', Array.isArray(item.processes) && item.processes.every((p) => Number.isInteger(p.pid) && typeof p.name === 'string' && typeof p.comm === 'string'));
        expectType('processes', Array.isArray(item.processes) && item.processes.every((p, i, all) => i === 0 || all[i - 1]!.pid < p.pid));
        if (item.proto === 'unix') {
          expectType('path', item.path === null || typeof item.path === 'string');
          expectType('type', ['STREAM', 'DGRAM', 'SEQPACKET'].includes(item.type ?? ''));
          expectType('flags', Number.isInteger(item.flags));
          expectType('refCnt', Number.isInteger(item.refCnt));
        } else {
          expectType('localAddress', typeof item.localAddress === 'string');
          expectType('foreignAddress', typeof item.foreignAddress === 'string');
          expectType('localPort', portOk(item.localPort));
          expectType('foreignPort', portOk(item.foreignPort));
          expectType('recvQ', Number.isInteger(item.recvQ));
          expectType('sendQ', Number.isInteger(item.sendQ));
          expectType('uid', Number.isInteger(item.uid));
          const timer = item.timer;
          expectType('timer', timer !== null && typeof timer === 'object' && typeof timer.kind === 'string' && typeof timer.seconds === 'number' && Number.isInteger(timer.retransmits) && Number.isInteger(timer.probes));
        }
        return problems;
      });
      assert.deepEqual(wrong, []);
    });

    test('the same sockets as ss (plus unix embryos, which only /proc lists)', async () => {
      assert.deepEqual(socketSetDiff(await jsonRun()), { missing: [], unexpected: [] });
    });

    test('the unix embryos are the ones netstat shows', async () => {
      const { list, netstat } = await jsonRun();
      const fromJson = list.items.filter(isUnixEmbryo).map((item) => ({ state: item.state, path: item.path }));
      const fromNetstat = netstat.filter((row) => row.proto === 'unix' && row.inode === '0').map((row) => ({ state: row.state, path: row.unix?.path }));
      assert.deepEqual(fromJson, fromNetstat);
    });

    test('states in netstat\'s words', async () => {
      const wrong = (await pairs()).filter(([row, item]) => item?.state !== netstatStateOf(row)).map(([row, item]) => `${row.line} → ${item?.state}`);
      assert.deepEqual(wrong, []);
    });

    test('addresses as netstat -n prints them, ports as numbers or null', async () => {
      const wrong = (await pairs())
        .filter(([row]) => row.proto !== 'unix')
        .filter(([row, item]) => {
          const expected = [netstatAddressOf(row.localAddress!, row.proto), row.localPort, netstatAddressOf(row.foreignAddress!, row.proto), row.foreignPort];
          return JSON.stringify([item?.localAddress, item?.localPort, item?.foreignAddress, item?.foreignPort]) !== JSON.stringify(expected);
        })
        .map(([row, item]) => `${row.line} → ${item?.localAddress}:${item?.localPort} ${item?.foreignAddress}:${item?.foreignPort}`);
      assert.deepEqual(wrong, []);
    });

    test('Recv-Q and Send-Q as ss shows them (LISTEN Send-Q is the backlog in ss, 0 in /proc)', async () => {
      const wrong = (await pairs())
        .filter(([row]) => row.proto !== 'unix')
        .filter(([row, item]) => {
          const sendQ = row.state === 'LISTEN' ? 0 : row.sendQ;
          return item?.recvQ !== row.recvQ || item?.sendQ !== sendQ;
        })
        .map(([row, item]) => `${row.line} → ${item?.recvQ} ${item?.sendQ}`);
      assert.deepEqual(wrong, []);
    });

    test('uid as ss shows it (ss omits uid 0)', async () => {
      // ss has no uid for raw (read from /proc) and unix rows.
      const wrong = (await pairs())
        .filter(([row]) => ['tcp', 'tcp6', 'udp', 'udp6'].includes(row.proto))
        .filter(([row, item]) => item?.uid !== (row.uid ?? 0))
        .map(([row, item]) => `${row.line} → uid ${item?.uid}`);
      assert.deepEqual(wrong, []);
    });

    test('every holder ss lists, by pid and comm, sorted by pid', async () => {
      const wrong = (await pairs())
        .filter(([row, item]) => {
          const expected = [...row.users].sort((x, y) => x.pid - y.pid).map((user) => [user.pid, user.name]);
          return JSON.stringify(item?.processes.map((p) => [p.pid, p.comm])) !== JSON.stringify(expected);
        })
        .map(([row, item]) => `${row.line} → ${JSON.stringify(item?.processes)}`);
      assert.deepEqual(wrong, []);
    });

    test('the name netstat shows is one of the holders\' names', async () => {
      const { items, netstat } = await jsonRun();
      const byInode = new Map([...items.values()].filter((item) => item.inode !== '0').map((item) => [item.inode, item]));
      const wrong = netstat
        .filter((row) => row.inode !== null && row.inode !== '0' && row.users.length > 0)
        .filter((row) => !byInode.get(row.inode!)?.processes.some((p) => `${p.pid}/${p.name}`.startsWith(`${row.users[0]!.pid}/${row.users[0]!.name}`)))
        .map((row) => row.line);
      assert.deepEqual(wrong, []);
    });

    test('timer kinds in netstat\'s words (ss\'s persist is netstat\'s probe)', async () => {
      const wrong = (await pairs())
        .filter(([row]) => row.proto !== 'unix')
        .filter(([row, item]) => item?.timer?.kind !== netstatTimerKindOf(row.timer))
        .map(([row, item]) => `${row.line} → ${item?.timer?.kind}`);
      assert.deepEqual(wrong, []);
    });

    test('netns is the holder\'s network namespace inode', async () => {
      const { list } = await jsonRun();
      const netnsInode = netnsInodeOf(ready.pid);
      assert.deepEqual([...new Set(list.items.map((item) => item.netns))], [netnsInode]);
    });

    test('unix items carry the full name, type, flags and refcount', async () => {
      const { netstat } = await jsonRun();
      const netstatByInode = new Map(netstat.filter((row) => row.proto === 'unix').map((row) => [row.inode, row]));
      const wrong = (await pairs())
        .filter(([row]) => row.proto === 'unix')
        .filter(([row, item]) => {
          const shown = netstatByInode.get(row.inode);
          const listening = shown?.unix?.flags?.includes('ACC') ?? false;
          return (
            item === undefined ||
            // JSON shows names decoded when they are UTF-8 and \xHH-escaped otherwise, with the
            // exact bytes in pathBase64; ss's output is read as latin1 (one char per byte).
            item.path !== (row.unix?.path == null ? null : displayBytes(row.unix.path)) ||
            (item.pathBase64 !== undefined && Buffer.from(item.pathBase64, 'base64').toString('latin1') !== row.unix?.path) ||
            item.type !== row.unix?.type ||
            ((item.flags ?? 0) & 0x10000) !== (listening ? 0x10000 : 0) ||
            item.refCnt !== shown?.unix?.refCnt
          );
        })
        .map(([row, item]) => `${row.line} → ${JSON.stringify({ path: item?.path, type: item?.type, flags: item?.flags, refCnt: item?.refCnt })}`);
      assert.deepEqual(wrong, []);
    });
  });
});
