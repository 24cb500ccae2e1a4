import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import { DEFAULT_PORT_RANGE, type PortRange } from '../../model/port-range.js';

/**
 * net.ipv4.ip_local_port_range of every network namespace: the ephemeral ports connect()
 * picks from, which TIME_WAIT pressure is measured against. /proc/sys/net shows the sysctls of
 * the *reader's* namespace (net_ctl_header_lookup uses current's), not of the process whose
 * /proc is read, so another namespace's value is read from inside it: `nsenter --net` (setns,
 * which needs CAP_SYS_ADMIN) running `cat`. Without that privilege the kernel's default for a
 * new namespace (inet_init_net: 32768-60999) is assumed, and said so.
 */

const SYSCTL = '/proc/sys/net/ipv4/ip_local_port_range';

/** "32768\t60999\n" → {low, high}; undefined for anything else. */
export function parsePortRange(text: string): { low: number; high: number } | undefined {
  const match = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!match) return undefined;
  const low = Number(match[1]);
  const high = Number(match[2]);
  return low >= 1 && low <= high && high <= 65535 ? { low, high } : undefined;
}

const run = promisify(execFile);

/** What a namespace needs for its range to be read: a process in it, and whether it is the reader's own. */
export interface NamespaceRef {
  readonly netnsInode: string;
  readonly pids: readonly number[];
}

export interface PortRangeReader {
  read(namespace: NamespaceRef): Promise<PortRange>;
}

/** Reads through `procRoot` (/proc, or /host/proc in a pod); the reader's own namespace directly. */
export class SysctlPortRangeReader implements PortRangeReader {
  private own: Promise<string | undefined> | undefined;

  constructor(private readonly procRoot = '/proc') {}

  /** The nsfs inode of this process's own network namespace. */
  private ownNetns(): Promise<string | undefined> {
    this.own ??= readlink('/proc/self/ns/net').then(
      (link) => /^net:\[(\d+)\]$/.exec(link)?.[1],
      () => undefined,
    );
    return this.own;
  }

  async read(namespace: NamespaceRef): Promise<PortRange> {
    let text: string | undefined;
    if (namespace.netnsInode === (await this.ownNetns())) {
      text = await readFile(SYSCTL, 'utf8').catch(() => undefined);
    } else {
      // Any member will do; one that exited meanwhile fails and the next is tried.
      for (const pid of namespace.pids.slice(0, 3)) {
        try {
          ({ stdout: text } = await run('nsenter', [`--net=${this.procRoot}/${pid}/ns/net`, '--', 'cat', SYSCTL], { encoding: 'utf8', timeout: 5_000 }));
          break;
        } catch {
          text = undefined;
        }
      }
    }
    const range = text === undefined ? undefined : parsePortRange(text);
    return range ? { ...range, assumed: false } : DEFAULT_PORT_RANGE;
  }
}

/**
 * The port ranges of the node's namespaces, kept current: a namespace is read when it first
 * appears and again every `refreshMs` (at most `perUpdate` reads per update, so a node full
 * of new pods spreads the cost); namespaces that are gone are dropped.
 */
export class PortRanges {
  private readonly ranges = new Map<string, { range: PortRange; readAtMs: number }>();

  constructor(
    private readonly reader: PortRangeReader,
    private readonly options: { readonly refreshMs: number; readonly perUpdate: number; readonly now?: () => number },
  ) {}

  /** Brings the table up to date with the namespaces present; true when it changed. */
  async update(namespaces: readonly NamespaceRef[]): Promise<boolean> {
    const now = this.options.now?.() ?? Date.now();
    let changed = false;
    const present = new Set(namespaces.map((namespace) => namespace.netnsInode));
    for (const netns of this.ranges.keys()) {
      if (present.has(netns)) continue;
      this.ranges.delete(netns);
      changed = true;
    }
    const due = namespaces.filter((namespace) => {
      const known = this.ranges.get(namespace.netnsInode);
      return !known || now - known.readAtMs >= this.options.refreshMs;
    });
    // New namespaces first, then the longest unread.
    due.sort((a, b) => (this.ranges.get(a.netnsInode)?.readAtMs ?? -1) - (this.ranges.get(b.netnsInode)?.readAtMs ?? -1));
    for (const namespace of due.slice(0, this.options.perUpdate)) {
      const range = await this.reader.read(namespace);
      const known = this.ranges.get(namespace.netnsInode);
      if (!known || known.range.low !== range.low || known.range.high !== range.high || known.range.assumed !== range.assumed) changed = true;
      this.ranges.set(namespace.netnsInode, { range, readAtMs: now });
    }
    return changed;
  }

  /** The table as the stream sends it, by namespace inode, with each namespace's listen drops where `drops` knows them. */
  table(drops?: (netns: string) => { overflows: number; drops: number } | undefined): NamespaceInfo[] {
    return [...this.ranges].map(([netns, { range }]) => {
      const listen = drops?.(netns);
      return {
        netns: BigInt(netns),
        portRangeLow: range.low,
        portRangeHigh: range.high,
        portRangeAssumed: range.assumed,
        ...(listen && { listenDrops: { overflows: BigInt(listen.overflows), drops: BigInt(listen.drops) } }),
      };
    });
  }
}
