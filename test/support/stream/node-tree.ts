import { renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoProcesses, demoProcRoot, sampleText } from '../samples.js';

/**
 * One row of /proc/<pid>/net/tcp, kept as the kernel's tokens so a rewritten table is byte for
 * byte what get_tcp4_sock / get_timewait4_sock / get_openreq4 print (tcp_ipv4.c).
 */
export interface TcpRow {
  /** `%08X:%04X` */
  local: string;
  remote: string;
  /** `%02X` */
  state: string;
  /** `%08X` each */
  txQueue: string;
  rxQueue: string;
  /** `%02X:%08lX` */
  timer: string;
  retransmits: string;
  uid: string;
  timeout: string;
  inode: string;
  /** refcount, pointer and, on full lines, rto ato qack cwnd ssthresh. */
  rest: string[];
}

const TCP_HEADER_WIDTH = 149;
/** The first pid of the demo capture: new sockets get their fd links here. */
export const OWNER_PID = 30775;

const hex = (value: number, width: number): string => value.toString(16).toUpperCase().padStart(width, '0');

/** Parses one data line of the capture into tokens. */
export function parseTcpRow(line: string): TcpRow {
  const tokens = line.trim().split(/\s+/);
  const [, local, remote, state, queues, timer, retransmits, uid, timeout, inode, ...rest] = tokens;
  const [txQueue, rxQueue] = (queues ?? '').split(':');
  if (!local || !remote || !state || !txQueue || !rxQueue || !timer || !retransmits || !uid || !timeout || !inode) throw new Error(`not a tcp line: ${line}`);
  return { local, remote, state, txQueue, rxQueue, timer, retransmits, uid, timeout, inode, rest };
}

/** The kernel's line for a row at slot `sl`, padded to 149 columns like seq_setwidth does. */
export function formatTcpRow(row: TcpRow, sl: number): string {
  const text = `${String(sl).padStart(4)}: ${row.local} ${row.remote} ${row.state} ${row.txQueue}:${row.rxQueue} ${row.timer} ${row.retransmits} ${row.uid.padStart(5)} ${row.timeout.padStart(8)} ${row.inode} ${row.rest.join(' ')}`;
  return text.padEnd(TCP_HEADER_WIDTH);
}

/** A fresh ESTABLISHED-shaped full line on 127.0.0.1 with the given ports and inode. */
export function newTcpRow(localPort: number, remotePort: number, inode: number, state = 0x01): TcpRow {
  return {
    local: `0100007F:${hex(localPort, 4)}`,
    remote: `0100007F:${hex(remotePort, 4)}`,
    state: hex(state, 2),
    txQueue: hex(0, 8),
    rxQueue: hex(0, 8),
    timer: '00:00000000',
    retransmits: hex(0, 8),
    uid: '1000',
    timeout: '0',
    inode: String(inode),
    rest: ['1', `0000000000${hex(inode, 6).toLowerCase()}`, '20', '4', '30', '10', '-1'],
  };
}

export interface NodeTreeOptions {
  /** The nsfs inode every process of this node reports in ns/net. */
  readonly netnsInode: string;
  /** Pod UID (dashed) and 64-hex container ID written into each process's cgroup. */
  readonly podUid: string;
  readonly containerId: string;
  /** First inode (and the base of ports) handed to sockets this tree adds. */
  readonly inodeBase: number;
}

/**
 * A simulated node: the demo capture's proc tree (three processes in one namespace) with its
 * own namespace inode and kubelet-style cgroups, whose tcp table tests rewrite to make churn.
 * Every rewrite replaces net/tcp of every process atomically (write + rename), as the kernel
 * never shows a half-written table either.
 */
export class NodeTree {
  readonly root: string;
  rows: TcpRow[];
  private readonly removeRoot: () => void;
  private nextInode: number;
  private nextFd = 1000;
  /** inode → fd number of the link this tree made for it. */
  private readonly fds = new Map<string, number>();

  constructor(private readonly options: NodeTreeOptions) {
    const tree = demoProcRoot();
    this.root = tree.root;
    this.removeRoot = tree.remove;
    this.nextInode = options.inodeBase;
    const cgroup = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${options.podUid.replaceAll('-', '_')}.slice/cri-containerd-${options.containerId}.scope\n`;
    for (const { pid } of demoProcesses()) {
      unlinkSync(join(this.root, String(pid), 'ns', 'net'));
      symlinkSync(`net:[${options.netnsInode}]`, join(this.root, String(pid), 'ns', 'net'));
      writeFileSync(join(this.root, String(pid), 'cgroup'), cgroup);
    }
    this.rows = sampleText('demo.proc-net-tcp.txt').split('\n').slice(1).filter(Boolean).map(parseTcpRow);
  }

  /** The table as the kernel prints it. */
  tcpText(): string {
    const header = sampleText('demo.proc-net-tcp.txt').split('\n')[0]!;
    return [header, ...this.rows.map((row, sl) => formatTcpRow(row, sl))].join('\n') + '\n';
  }

  /** Publishes `rows` to every process's net/tcp. */
  write(): void {
    const text = this.tcpText();
    for (const { pid } of demoProcesses()) {
      const target = join(this.root, String(pid), 'net', 'tcp');
      writeFileSync(`${target}.tmp`, text);
      renameSync(`${target}.tmp`, target);
    }
  }

  /** A new socket row (not yet written), held by OWNER_PID through a fresh fd link when `owned`. */
  add(options: { state?: number; owned?: boolean } = {}): TcpRow {
    const inode = this.nextInode++;
    const port = 10_000 + (inode % 50_000);
    const row = newTcpRow(port, 8080, inode, options.state);
    if (options.owned ?? true) {
      const fd = this.nextFd++;
      symlinkSync(`socket:[${inode}]`, join(this.root, String(OWNER_PID), 'fd', String(fd)));
      this.fds.set(String(inode), fd);
    }
    this.rows.push(row);
    return row;
  }

  /** Removes rows (not yet written) and the fd links this tree made for them. */
  remove(predicate: (row: TcpRow) => boolean): void {
    const kept: TcpRow[] = [];
    for (const row of this.rows) {
      if (!predicate(row)) {
        kept.push(row);
        continue;
      }
      const fd = this.fds.get(row.inode);
      if (fd !== undefined) {
        unlinkSync(join(this.root, String(OWNER_PID), 'fd', String(fd)));
        this.fds.delete(row.inode);
      }
    }
    this.rows = kept;
  }

  /**
   * One deterministic round of churn, written: two sockets appear, the oldest socket this tree
   * added disappears, one socket changes state (ESTABLISHED → CLOSE_WAIT) and one changes its
   * queues.
   */
  churn(round: number): void {
    const added = this.rows.filter((row) => Number(row.inode) >= this.options.inodeBase);
    const oldest = added[0];
    if (oldest && added.length > 4) this.remove((row) => row === oldest);
    this.add();
    this.add({ owned: round % 2 === 0 });
    const established = this.rows.find((row) => row.state === '01' && Number(row.inode) >= this.options.inodeBase);
    if (established) established.state = '08';
    const queued = this.rows[round % this.rows.length]!;
    queued.rxQueue = hex((round * 7 + 1) % 4096, 8);
    queued.txQueue = hex((round * 13 + 3) % 4096, 8);
    this.write();
  }

  dispose(): void {
    this.removeRoot();
  }
}
