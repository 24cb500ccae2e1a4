import { namespaceCounters, type CounterTexts, type NamespaceCounters } from '../procfs/counters.js';
import { AccessDeniedError } from '../procfs/errors.js';
import type { HostFs, OpenFile } from '../procfs/hostfs.js';

const FILES = ['sockstat', 'snmp', 'sockstat6', 'snmp6'] as const;
type CounterFile = (typeof FILES)[number];

/**
 * The counter fingerprints of a namespace (procfs/counters.ts), read by path through the first
 * of its processes that is still alive: four small files whose cost does not grow with the host,
 * where one table read walks the host-wide socket hash (reference §3.5). undefined when the
 * counters cannot be read (refused, every process gone, a fixture tree without them): the
 * caller then reads the tables.
 */
export function readNamespaceCounters(hostFs: HostFs, pids: readonly number[]): NamespaceCounters | undefined {
  try {
    for (const pid of pids) {
      const sockstat = hostFs.readFile(`${pid}/net/sockstat`);
      if (sockstat === undefined) continue;
      const snmp = hostFs.readFile(`${pid}/net/snmp`);
      if (snmp === undefined) return undefined;
      return countersOf({ sockstat, snmp, sockstat6: hostFs.readFile(`${pid}/net/sockstat6`), snmp6: hostFs.readFile(`${pid}/net/snmp6`) });
    }
  } catch (error) {
    if (!(error instanceof AccessDeniedError)) throw error;
  }
  return undefined;
}

/**
 * readNamespaceCounters for a namespace read every scan: the four files stay open (opened
 * through the first live member, they keep showing its namespace after that process exits:
 * reference §3.4) and are read again from their start — two syscalls a file instead of a path
 * walk through /proc, an open and a close. An open file keeps its namespace alive: close() when
 * the namespace has no process left. Falls back to reads by path when the HostFs cannot open.
 */
export class CounterReader {
  private files: Map<CounterFile, OpenFile> | undefined;

  constructor(private readonly hostFs: HostFs) {}

  read(pids: readonly number[]): NamespaceCounters | undefined {
    if (!this.hostFs.open) return readNamespaceCounters(this.hostFs, pids);
    try {
      this.files ??= this.openVia(pids);
      const files = this.files;
      if (!files) return undefined;
      const sockstat = files.get('sockstat')?.reread();
      const snmp = files.get('snmp')?.reread();
      if (sockstat === undefined || snmp === undefined) {
        this.close();
        return undefined;
      }
      return countersOf({ sockstat, snmp, sockstat6: files.get('sockstat6')?.reread(), snmp6: files.get('snmp6')?.reread() });
    } catch (error) {
      this.close();
      if (!(error instanceof AccessDeniedError)) throw error;
      return undefined;
    }
  }

  close(): void {
    for (const file of this.files?.values() ?? []) file.close();
    this.files = undefined;
  }

  /** The files of the first member whose sockstat opens; IPv6's are absent when it is disabled. */
  private openVia(pids: readonly number[]): Map<CounterFile, OpenFile> | undefined {
    const open = this.hostFs.open!.bind(this.hostFs);
    for (const pid of pids) {
      const files = new Map<CounterFile, OpenFile>();
      try {
        for (const name of FILES) {
          const file = open(`${pid}/net/${name}`);
          if (file) files.set(name, file);
          else if (name === 'sockstat' || name === 'snmp') break;
        }
      } catch (error) {
        for (const file of files.values()) file.close();
        throw error;
      }
      if (files.has('sockstat') && files.has('snmp')) return files;
      for (const file of files.values()) file.close();
    }
    return undefined;
  }
}

function countersOf(bytes: Record<keyof CounterTexts, Buffer | undefined> & { sockstat: Buffer; snmp: Buffer }): NamespaceCounters | undefined {
  return namespaceCounters({
    sockstat: bytes.sockstat.toString('latin1'),
    snmp: bytes.snmp.toString('latin1'),
    ...(bytes.sockstat6 && { sockstat6: bytes.sockstat6.toString('latin1') }),
    ...(bytes.snmp6 && { snmp6: bytes.snmp6.toString('latin1') }),
  });
}
