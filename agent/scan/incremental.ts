import { createHash } from 'node:crypto';
import { emptyProblems, noteRefusal, type ScanProblems } from '../../model/scan-problems.js';
import type { SocketProto, SocketRecord } from '../../model/socket.js';
import { TABLE_GROUP, type NamespaceCounters, type TableGroup } from '../procfs/counters.js';
import type { ParseError } from '../procfs/errors.js';
import type { HostFs } from '../procfs/hostfs.js';
import { CounterReader } from './fingerprint.js';
import { listPids, namespaceTargets, netnsOfCounted, type NamespaceTarget } from './namespaces.js';
import { OwnerIndex } from './owner-index.js';
import { sameRecords } from './same-records.js';
import { busyEnough, SecondThread, type ScanThreads } from './second-thread.js';
import { parseNamespaceFiles, readNamespaceFiles, type NamespaceFiles, type TableBytes } from './tables.js';
import type { HostSockets, NamespaceScan, ProcessInfo, SocketHolder } from './types.js';

export interface IncrementalScanOptions {
  readonly protos: ReadonlySet<SocketProto>;
  /**
   * Scans between two full reads of a namespace or fd walks of a process (≥ 1). 1 reads
   * everything every scan: a scanner used once, or that must never miss a change.
   */
  readonly fullReadEvery: number;
  /** Keep only these namespaces (by inode); all when undefined. */
  readonly netnsInodes?: ReadonlySet<string>;
  /** Walk /proc/<pid>/fd to find who holds each socket (netstat -p, attribution); default true. */
  readonly owners?: boolean;
  /** Default 1 (second-thread.ts). The second thread reads through a LocalHostFs on hostFs.procRoot. */
  readonly threads?: ScanThreads;
}

export interface IncrementalStats {
  /** Namespaces whose tables were read; of those, whose bytes had changed and were parsed. */
  readonly read: number;
  readonly parsed: number;
  /** Namespaces whose previous result was kept without reading a table. */
  readonly reused: number;
  /** Processes whose fds were walked. */
  readonly walked: number;
}

export interface IncrementalScan extends HostSockets {
  /** Every namespace, host first; unchanged ones are the previous objects. */
  readonly namespaces: readonly NamespaceScan[];
  /** Namespaces whose records, members or holders (or holders' names) differ from the previous scan; new ones too. */
  readonly changed: ReadonlySet<string>;
  /** Socket inodes whose holders, or their holders' names, changed in this scan. */
  readonly holderChanges: ReadonlySet<string>;
  /** Namespaces that had their safety-net turn in this scan. */
  readonly due: ReadonlySet<string>;
  readonly holders: ReadonlyMap<string, readonly SocketHolder[]>;
  /** Names of the processes that hold sockets. */
  readonly processes: ReadonlyMap<number, ProcessInfo>;
  /** Processes walked in this scan: new ones, those whose turn it was, members of a namespace with an unknown inode. */
  readonly walked: ReadonlySet<number>;
  /** Processes gone since the previous scan. */
  readonly exited: readonly number[];
  readonly problems: ScanProblems;
  readonly stats: IncrementalStats;
  /** Threads this scan ran on. */
  readonly threads: 1 | 2;
}

/** What was last read of one group of a namespace's tables. */
interface GroupRead {
  /** Of the tables' bytes: a read that changed nothing is not parsed again. */
  readonly digest: string;
  readonly sockets: readonly SocketRecord[];
  readonly parseErrors: readonly ParseError[];
}

interface NamespaceState {
  scan: NamespaceScan;
  counters: NamespaceCounters | undefined;
  readonly groups: Map<TableGroup, GroupRead>;
  readonly slot: number;
  /** Inodes of its sockets that no process was found holding after the last walk. */
  unowned: ReadonlySet<string>;
  /** The member whose walk last found a holder for a new inode. */
  lastHolder?: number;
}

/** What a scan does with one namespace, decided from its counters before any table is read. */
interface Plan {
  readonly target: NamespaceTarget;
  readonly state: NamespaceState | undefined;
  readonly counters: NamespaceCounters | undefined;
  readonly membersChanged: boolean;
  /** The tables to read again; none: the namespace is kept as it was. */
  readonly protos: ReadonlySet<SocketProto>;
}

/** What reading one namespace's tables did: `changed`, its sockets or members differ from the previous scan's; `renewed`, its sockets do. */
interface Outcome {
  readonly parsed: boolean;
  readonly changed: boolean;
  readonly renewed: boolean;
}

/**
 * The scan of a host: every network namespace's tables, and who holds each socket. Made once
 * (`kube-netstat local`: fullReadEvery 1, read and walk everything) or repeated every interval
 * (the agent), reading only what may have changed since the previous scan; the first scan
 * reads everything.
 *
 * The rule. Reading a namespace's table walks the host-wide socket hash (reference §3.5); its
 * counters are small files whatever the host holds. So every scan reads each namespace's counter
 * fingerprints (procfs/counters.ts: sockstat, sockstat6, snmp, snmp6; one per group of tables:
 * tcp, udp, raw, unix) and reads tables again only when
 *  - their group's fingerprint moved since the namespace's last read (a socket came or went, a
 *    segment or datagram was sent or received), or the counters cannot be read;
 *  - its member processes changed (a process started or exited in it: its sockets may have
 *    been replaced one for one, which leaves every count where it was): all its tables;
 *  - it is the namespace's turn in the safety net: each namespace has a slot, and all its
 *    tables are read once every `fullReadEvery` scans, slots spread so that no scan reads them
 *    all.
 * Tables whose bytes did not change are not parsed again. Holders come from an OwnerIndex kept
 * across scans: new processes are walked, exited ones dropped, each process walked again on its
 * turn (pid modulo fullReadEvery), and a namespace's members walked when it shows a socket
 * inode nobody is known to hold. With fullReadEvery 1 every namespace is due on every scan, so
 * no counter is read at all.
 *
 * Blind spots (test/agent/scan/change-detection.e2e.test.ts shows each on the real kernel): changes that
 * move no counter and start or end no process — an application reading part of its Recv-Q (no
 * window update is sent), UDP connect() of a bound socket without traffic, unix listen(),
 * accept() and connect() of datagram sockets, TCP accept() (the child gets its inode), a socket
 * closed and another of the same kind opened within one interval with no traffic, a keepalive
 * timer switched on — and holder changes of live processes (fd passing, closing one of two fds,
 * exec renaming a holder, a pid reused within one interval). Each is seen at the namespace's or
 * the process's next safety-net turn: within `fullReadEvery` scans.
 *
 * Churn — processes exiting, fds closing, namespaces disappearing — is counted in the scan's
 * problems, never thrown.
 */
export class IncrementalScanner {
  private readonly every: number;
  private readonly owned: boolean;
  private scans = 0;
  /** A scan on two threads awaits its worker: the next one must wait for it. */
  private scanning = false;
  /** Every process seen, with its namespace (null when unreadable: refused, zombie). */
  private readonly netnsByPid = new Map<number, string | null>();
  private readonly owners: OwnerIndex;
  private readonly states = new Map<string, NamespaceState>();
  /** Socket inode → the namespace whose table lists it; the namespaces in toIndex are not in it yet. */
  private readonly netnsByInode = new Map<string, string>();
  /**
   * Namespaces read in the last scan, indexed when the index is next asked: it answers for
   * inodes read before (a holder change, namespacesOf), and a scanner used once never is.
   */
  private toIndex: NamespaceScan[] = [];
  /** Namespaces per safety-net slot. */
  private readonly slotLoad: number[];
  /** Each namespace's counter files, kept open between scans. */
  private readonly counterReaders = new Map<string, CounterReader>();

  constructor(
    private readonly hostFs: HostFs,
    private readonly options: IncrementalScanOptions,
  ) {
    if (!Number.isInteger(options.fullReadEvery) || options.fullReadEvery < 1) throw new RangeError(`fullReadEvery must be a positive integer, got ${options.fullReadEvery}`);
    this.every = options.fullReadEvery;
    this.owned = options.owners ?? true;
    this.slotLoad = new Array<number>(this.every).fill(0);
    this.owners = new OwnerIndex(hostFs);
  }

  async scan(): Promise<IncrementalScan> {
    if (this.scanning) throw new Error('IncrementalScanner.scan: the previous scan has not finished');
    this.scanning = true;
    try {
      return await this.nextScan();
    } finally {
      this.scanning = false;
    }
  }

  private async nextScan(): Promise<IncrementalScan> {
    this.flushIndex();
    const turn = this.scans++ % this.every;
    const problems = emptyProblems();
    const { targets, visited, everyProcess, exited } = this.discover(turn, problems);
    const walked = new Set(this.owned ? visited : []);
    const helper = everyProcess && this.wantsSecondThread(targets) ? new SecondThread(this.hostFs.procRoot) : undefined;
    const changed = new Set<string>();
    const due = new Set<string>();
    /** Namespaces whose sockets changed: their new inodes may need a holder. */
    const renewed: NamespaceState[] = [];
    let read = 0;
    let parsed = 0;
    const tally = (plan: Plan, files: NamespaceFiles): void => {
      const outcome = this.apply(plan, files, problems);
      read++;
      if (outcome.parsed) parsed++;
      if (outcome.changed) changed.add(plan.target.netnsInode);
      if (outcome.renewed) renewed.push(this.states.get(plan.target.netnsInode)!);
    };
    try {
      if (!helper && this.owned) for (const pid of visited) this.owners.walk(pid, problems);
      // Counters first: a change after this read moves them again before the next scan.
      const plans = targets.map((target) => {
        const state = this.states.get(target.netnsInode);
        const isDue = state !== undefined && state.slot === turn;
        if (isDue) due.add(target.netnsInode);
        return this.plan(target, state, isDue);
      });
      const reads = plans.filter((plan) => plan.state === undefined || plan.protos.size > 0);
      if (helper) {
        helper.start(this.owned ? visited : [], reads.map((plan) => ({ pids: plan.target.pids, protos: [...plan.protos] })));
        for (let index = helper.next(); index !== undefined; index = helper.next()) {
          const plan = reads[index]!;
          tally(plan, readNamespaceFiles(this.hostFs, plan.target.pids, plan.protos));
        }
        const theirs = await helper.finish();
        for (const [index, files] of [...theirs.files].sort(([a], [b]) => a - b)) tally(reads[index]!, files);
        problems.fdDenied += theirs.fdDenied;
        problems.vanished += theirs.vanished;
        for (const refusal of theirs.refusals) noteRefusal(problems, refusal);
        for (const { pid, fds } of theirs.walks) this.owners.record(pid, fds);
      } else {
        for (const plan of reads) tally(plan, readNamespaceFiles(this.hostFs, plan.target.pids, plan.protos));
      }
    } catch (error) {
      await helper?.abandon();
      throw error;
    }
    if (this.owned) for (const state of renewed) this.resolveUnknownInodes(state, walked, problems);
    const holderChanges = this.owners.takeChanged();
    // Inodes first listed in this scan are not indexed yet: their namespaces, renewed, are in `changed` already.
    for (const inode of holderChanges) {
      const netns = this.netnsByInode.get(inode);
      if (netns !== undefined) changed.add(netns);
    }
    return {
      namespaces: targets.map((target) => this.states.get(target.netnsInode)!.scan),
      changed,
      holderChanges,
      due,
      holders: this.owners.holders,
      processes: this.owners.processes,
      walked,
      exited,
      problems,
      stats: { read, parsed, reused: targets.length - read, walked: walked.size },
      threads: helper ? 2 : 1,
    };
  }

  /**
   * Lists processes (one readdir), forgets those that exited, finds the namespace of new ones
   * and of those whose turn it is (whose fds are walked too: a process may setns), and groups
   * them. `everyProcess`: every process is visited (the first scan, or fullReadEvery 1).
   */
  private discover(turn: number, problems: ScanProblems): { targets: NamespaceTarget[]; visited: number[]; everyProcess: boolean; exited: number[] } {
    const pids = listPids(this.hostFs);
    const exited = this.forgetExited(pids);
    const visited: number[] = [];
    for (const pid of pids) {
      if (this.netnsByPid.has(pid) && pid % this.every !== turn) continue;
      this.netnsByPid.set(pid, netnsOfCounted(this.hostFs, pid, problems) ?? null);
      visited.push(pid);
    }
    const groups = new Map<string, number[]>();
    for (const pid of pids) {
      const netns = this.netnsByPid.get(pid);
      if (!netns) continue;
      const group = groups.get(netns);
      if (group) group.push(pid);
      else groups.set(netns, [pid]);
    }
    const host = this.netnsByPid.get(1) ?? this.netnsByPid.get(2) ?? undefined;
    const targets = namespaceTargets(groups, host, this.options.netnsInodes);
    this.forgetNamespaces(new Set(targets.map((target) => target.netnsInode)));
    return { targets, visited, everyProcess: visited.length === pids.length, exited };
  }

  /** Whether this scan, which visits every process, takes a second thread. */
  private wantsSecondThread(targets: readonly NamespaceTarget[]): boolean {
    const threads = this.options.threads ?? 1;
    if (threads === 1 || targets.length === 0) return false;
    return threads === 2 || busyEnough(this.hostFs, targets);
  }

  /**
   * The groups of a namespace's tables to read: those whose counters moved — all of them when
   * it is new, due, has other members, or its counters cannot be read.
   */
  private plan(target: NamespaceTarget, state: NamespaceState | undefined, isDue: boolean): Plan {
    const counters = this.every === 1 ? undefined : this.counterReaderOf(target.netnsInode).read(target.pids);
    const membersChanged = state === undefined || !samePids(state.scan.pids, target.pids);
    const stale = (group: TableGroup): boolean =>
      state?.counters === undefined || counters === undefined || isDue || membersChanged || counters[group] !== state.counters[group];
    const protos = new Set([...this.options.protos].filter((proto) => stale(TABLE_GROUP[proto])));
    return { target, state, counters, membersChanged, protos };
  }

  private counterReaderOf(netns: string): CounterReader {
    let reader = this.counterReaders.get(netns);
    if (!reader) {
      reader = new CounterReader(this.hostFs);
      this.counterReaders.set(netns, reader);
    }
    return reader;
  }

  /** Parses what was read of a namespace's tables (unless its bytes are as before) and keeps the result. */
  private apply(plan: Plan, files: NamespaceFiles, problems: ScanProblems): Outcome {
    const { target, state, counters, membersChanged, protos } = plan;
    problems.vanished += files.vanishedReads;
    problems.tablesDenied += files.deniedReads;
    const groups = new Map(state?.groups);
    let parsed = false;
    let renewed = state === undefined;
    for (const group of new Set([...protos].map((proto) => TABLE_GROUP[proto]))) {
      const tables = files.tables.filter((table) => TABLE_GROUP[table.proto] === group);
      const digest = tablesDigest(tables);
      const before = groups.get(group);
      if (before?.digest === digest) continue;
      const fresh = parseNamespaceFiles(tables);
      problems.duplicatesDropped += fresh.duplicatesDropped;
      parsed = true;
      // Timers that counted down, and nothing else, leave the group as it was: the fresh
      // records are kept all the same.
      if (!before || !sameRecords(before.sockets, fresh.sockets)) renewed = true;
      groups.set(group, { digest, sockets: fresh.sockets, parseErrors: fresh.parseErrors });
    }
    const scan: NamespaceScan =
      state && !parsed && !membersChanged
        ? state.scan
        : {
            ...target,
            readVia: files.readVia ?? state?.scan.readVia,
            sockets: GROUP_ORDER.flatMap((group) => groups.get(group)?.sockets ?? []),
            parseErrors: GROUP_ORDER.flatMap((group) => groups.get(group)?.parseErrors ?? []),
          };
    if (!state) {
      this.states.set(target.netnsInode, { scan, counters, groups, slot: this.claimSlot(), unowned: new Set() });
      this.toIndex.push(scan);
      return { parsed, changed: true, renewed: true };
    }
    if (renewed) {
      this.unindex(state.scan);
      this.toIndex.push(scan);
    }
    state.scan = scan;
    state.counters = counters;
    for (const [group, groupRead] of groups) state.groups.set(group, groupRead);
    return { parsed, changed: renewed || membersChanged, renewed };
  }

  /** The namespaces whose results depend on pid: the one it lives in, and those of the sockets it holds. */
  namespacesOf(pid: number): Set<string> {
    this.flushIndex();
    const namespaces = new Set<string>();
    const member = this.netnsByPid.get(pid);
    if (member && this.states.has(member)) namespaces.add(member);
    for (const inode of this.owners.inodesOf(pid)) {
      const netns = this.netnsByInode.get(inode);
      if (netns !== undefined) namespaces.add(netns);
    }
    return namespaces;
  }

  private forgetExited(pids: readonly number[]): number[] {
    const alive = new Set(pids);
    const exited: number[] = [];
    for (const pid of this.netnsByPid.keys()) if (!alive.has(pid)) exited.push(pid);
    for (const pid of exited) {
      this.netnsByPid.delete(pid);
      this.owners.drop(pid);
    }
    return exited;
  }

  /** Closes the counter files kept open (each holds its namespace alive). Scanning again reopens them. */
  close(): void {
    for (const reader of this.counterReaders.values()) reader.close();
    this.counterReaders.clear();
  }

  private forgetNamespaces(present: ReadonlySet<string>): void {
    for (const [netns, reader] of this.counterReaders) {
      if (present.has(netns)) continue;
      reader.close();
      this.counterReaders.delete(netns);
    }
    for (const [netns, state] of this.states) {
      if (present.has(netns)) continue;
      this.unindex(state.scan);
      this.slotLoad[state.slot]!--;
      this.states.delete(netns);
    }
  }

  private flushIndex(): void {
    for (const scan of this.toIndex) for (const record of scan.sockets) if (record.inode !== '0') this.netnsByInode.set(record.inode, scan.netnsInode);
    this.toIndex = [];
  }

  private unindex(scan: NamespaceScan): void {
    for (const record of scan.sockets) if (this.netnsByInode.get(record.inode) === scan.netnsInode) this.netnsByInode.delete(record.inode);
  }

  /** The least used safety-net slot, so that full reads spread evenly over the scans. */
  private claimSlot(): number {
    let best = 0;
    for (let slot = 1; slot < this.every; slot++) if (this.slotLoad[slot]! < this.slotLoad[best]!) best = slot;
    this.slotLoad[best]!++;
    return best;
  }

  /**
   * Socket inodes nobody is known to hold, seen for the first time: walk the namespace's
   * members (a holder most likely lives there), the one that held new sockets last time first,
   * until every such inode has its holder. Kernel sockets (VXLAN, in-kernel clients) never get
   * one; remembering them keeps one walk per inode, not one per scan.
   */
  private resolveUnknownInodes(state: NamespaceState, walked: Set<number>, problems: ScanProblems): void {
    const holders = this.owners.holders;
    const unknown = new Set<string>();
    for (const record of state.scan.sockets) {
      if (record.inode !== '0' && !holders.has(record.inode) && !state.unowned.has(record.inode)) unknown.add(record.inode);
    }
    if (unknown.size > 0) {
      const members = state.scan.pids;
      const first = state.lastHolder !== undefined && members.includes(state.lastHolder) ? [state.lastHolder] : [];
      for (const pid of [...first, ...members]) {
        if (walked.has(pid)) continue;
        this.owners.walk(pid, problems);
        walked.add(pid);
        let found = false;
        for (const inode of unknown) {
          if (!holders.has(inode)) continue;
          unknown.delete(inode);
          found = true;
        }
        if (found) state.lastHolder = pid;
        if (unknown.size === 0) break;
      }
    }
    const unowned = new Set<string>();
    for (const record of state.scan.sockets) if (record.inode !== '0' && !holders.has(record.inode)) unowned.add(record.inode);
    state.unowned = unowned;
  }
}

/** netstat's order of the tables: tcp, tcp6, udp, udp6, raw, raw6, unix. */
const GROUP_ORDER: readonly TableGroup[] = ['tcp', 'udp', 'raw', 'unix'];

function samePids(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((pid, i) => pid === b[i]);
}

/** What the tables said, to tell a re-read that changed nothing from one that did. */
function tablesDigest(tables: readonly TableBytes[]): string {
  const hash = createHash('sha1');
  for (const table of tables) {
    hash.update(table.proto);
    hash.update(table.bytes);
  }
  return hash.digest('base64');
}
