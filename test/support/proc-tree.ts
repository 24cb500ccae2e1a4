import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalHostFs, type HostFs } from '../../agent/procfs/hostfs.js';

/**
 * A writable fixture proc tree for scanning across intervals: processes (ns/net, fd links,
 * comm, cmdline, cgroup) grouped in network namespaces whose tables and counter files
 * (sockstat, sockstat6, snmp, snmp6) the test rewrites between scans, as the kernel would
 * change them. Every member of a namespace shows the same net/ files, as on a real host.
 */
export interface FakeSocket {
  readonly inode: number;
  readonly localPort: number;
  /** `st` code; 0x0A LISTEN, 0x01 ESTABLISHED, 0x08 CLOSE_WAIT... */
  readonly state: number;
  readonly remotePort?: number;
  readonly rxQueue?: number;
  /** `tm->when` of a keepalive timer (tr 2), in clock ticks; no timer when undefined. */
  readonly keepaliveTicks?: number;
}

interface FakeNamespace {
  readonly pids: Set<number>;
  tcp: FakeSocket[];
  /** Whether sockstat/snmp exist (a tree without them has no fingerprint). */
  counters: boolean;
  /** Tcp InSegs: moving it moves the fingerprint. */
  segments: number;
  /** Sockets in use as the counters last said (frozen while changes move no counter). */
  inuse: number;
  /** Other sockets of the namespace (unix, netlink) in `sockets: used`. */
  otherSockets: number;
}

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const UNIX_HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path';
const hex = (value: number, width: number): string => value.toString(16).toUpperCase().padStart(width, '0');

/** One full tcp line as get_tcp4_sock prints it, on 127.0.0.1. */
export function tcpLine(socket: FakeSocket, sl: number): string {
  const timer = socket.keepaliveTicks === undefined ? '00:00000000' : `02:${hex(socket.keepaliveTicks, 8)}`;
  const remote = socket.remotePort === undefined ? '00000000:0000' : `0100007F:${hex(socket.remotePort, 4)}`;
  return `${String(sl).padStart(4)}: 0100007F:${hex(socket.localPort, 4)} ${remote} ${hex(socket.state, 2)} 00000000:${hex(socket.rxQueue ?? 0, 8)} ${timer} 00000000  1000        0 ${socket.inode} 1 0000000000${hex(socket.inode, 6).toLowerCase()} 20 4 30 10 -1`;
}

export class ProcTree {
  readonly root = mkdtempSync(join(tmpdir(), 'kns-proc-tree-'));
  private readonly namespaces = new Map<string, FakeNamespace>();
  private readonly netnsOfPid = new Map<number, string>();

  /** A new namespace (no sockets, counters present unless told otherwise). */
  addNamespace(netnsInode: string, options: { counters?: boolean } = {}): void {
    this.namespaces.set(netnsInode, { pids: new Set(), tcp: [], counters: options.counters ?? true, segments: 0, inuse: 0, otherSockets: 0 });
  }

  /** A process in a namespace; cgroup text is written as given (none when undefined). */
  addProcess(pid: number, netnsInode: string, options: { comm?: string; cgroup?: string } = {}): void {
    const dir = join(this.root, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    mkdirSync(join(dir, 'ns'));
    mkdirSync(join(dir, 'net'));
    symlinkSync(`net:[${netnsInode}]`, join(dir, 'ns', 'net'));
    const comm = options.comm ?? `proc${pid}`;
    writeFileSync(join(dir, 'comm'), `${comm}\n`);
    writeFileSync(join(dir, 'cmdline'), `/usr/bin/${comm}\0`);
    if (options.cgroup !== undefined) writeFileSync(join(dir, 'cgroup'), options.cgroup);
    this.namespaceOf(netnsInode).pids.add(pid);
    this.netnsOfPid.set(pid, netnsInode);
    this.publish(netnsInode);
  }

  /** The process exits: its directory disappears. */
  removeProcess(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
    const netns = this.netnsOfPid.get(pid);
    if (netns !== undefined) this.namespaceOf(netns).pids.delete(pid);
    this.netnsOfPid.delete(pid);
  }

  setCgroup(pid: number, cgroup: string): void {
    writeFileSync(join(this.root, String(pid), 'cgroup'), cgroup);
  }

  setComm(pid: number, comm: string): void {
    writeFileSync(join(this.root, String(pid), 'comm'), `${comm}\n`);
    writeFileSync(join(this.root, String(pid), 'cmdline'), `/usr/bin/${comm}\0`);
  }

  addFd(pid: number, fd: number, inode: number): void {
    symlinkSync(`socket:[${inode}]`, join(this.root, String(pid), 'fd', String(fd)));
  }

  removeFd(pid: number, fd: number): void {
    unlinkSync(join(this.root, String(pid), 'fd', String(fd)));
  }

  /**
   * Replaces the namespace's tcp table. `moveCounters` (default true) moves its counters as the
   * kernel would (a segment; `inuse` follows the table); false leaves every counter where it
   * was — a change the fingerprint cannot see.
   */
  setTcp(netnsInode: string, sockets: readonly FakeSocket[], options: { moveCounters?: boolean } = {}): void {
    const namespace = this.namespaceOf(netnsInode);
    namespace.tcp = [...sockets];
    if (options.moveCounters ?? true) {
      namespace.segments++;
      namespace.inuse = sockets.length;
    }
    this.publish(netnsInode);
  }

  tcpOf(netnsInode: string): readonly FakeSocket[] {
    return this.namespaceOf(netnsInode).tcp;
  }

  /** A socket that is neither TCP nor UDP came or went (a unix socket): only `sockets: used` moves. */
  moveSocketsUsed(netnsInode: string): void {
    this.namespaceOf(netnsInode).otherSockets++;
    this.publish(netnsInode);
  }

  /** Moves the namespace's counters only (traffic that changed no table line). */
  moveCounters(netnsInode: string): void {
    this.namespaceOf(netnsInode).segments++;
    this.publish(netnsInode);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private namespaceOf(netnsInode: string): FakeNamespace {
    const namespace = this.namespaces.get(netnsInode);
    if (!namespace) throw new Error(`ProcTree: no namespace ${netnsInode}`);
    return namespace;
  }

  /** Writes the namespace's net/ files into every member's directory. */
  private publish(netnsInode: string): void {
    const namespace = this.namespaceOf(netnsInode);
    const inuse = namespace.inuse;
    const files: Record<string, string> = {
      tcp: [TCP_HEADER, ...namespace.tcp.map((socket, sl) => tcpLine(socket, sl))].join('\n') + '\n',
      tcp6: `${TCP_HEADER}\n`,
      udp: `${TCP_HEADER}\n`,
      udp6: `${TCP_HEADER}\n`,
      raw: `${TCP_HEADER}\n`,
      raw6: `${TCP_HEADER}\n`,
      unix: `${UNIX_HEADER}\n`,
    };
    if (namespace.counters) {
      files['sockstat'] = `sockets: used ${inuse + namespace.otherSockets}\nTCP: inuse ${inuse} orphan 0 tw 0 alloc ${inuse} mem 1\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n`;
      files['sockstat6'] = 'TCP6: inuse 0\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n';
      files['snmp'] =
        'Ip: Forwarding DefaultTTL InReceives InDelivers OutRequests\nIp: 1 64 0 0 0\n' +
        'Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n' +
        `Tcp: 1 200 120000 -1 0 0 0 0 ${inuse} ${namespace.segments} ${namespace.segments} 0 0 0 0\n` +
        'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\nUdp: 0 0 0 0 0 0 0 0 0\n';
      files['snmp6'] = 'Ip6InDelivers                   \t0\nIp6OutRequests                  \t0\nUdp6InDatagrams                 \t0\n';
    }
    for (const pid of namespace.pids) {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(this.root, String(pid), 'net', name), text);
    }
  }
}

/** The production HostFs, counting what is read, so tests can say what a scan did not touch. */
export class CountingHostFs implements HostFs {
  private readonly inner: LocalHostFs;
  readonly reads: string[] = [];

  constructor(root: string) {
    this.inner = new LocalHostFs(root);
  }

  get procRoot(): string {
    return this.inner.procRoot;
  }

  readFile(relPath: string): Buffer | undefined {
    this.reads.push(relPath);
    return this.inner.readFile(relPath);
  }

  readdir(relPath: string): string[] | undefined {
    this.reads.push(relPath);
    return this.inner.readdir(relPath);
  }

  readlink(relPath: string): string | undefined {
    this.reads.push(relPath);
    return this.inner.readlink(relPath);
  }

  /** Paths read since the last call that match the pattern; forgets every path read so far. */
  take(pattern: RegExp): string[] {
    const matching = this.reads.filter((path) => pattern.test(path));
    this.reads.length = 0;
    return matching;
  }
}
