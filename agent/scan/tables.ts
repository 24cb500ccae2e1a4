import { parseInetTable } from '../procfs/inet.js';
import type { HostFs } from '../procfs/hostfs.js';
import { parseSockstat, tableIsEmpty, type SocketCounts } from '../procfs/sockstat.js';
import { parseUnixTable } from '../procfs/unix.js';
import { AccessDeniedError, type ParseError } from '../procfs/errors.js';
import { ALL_PROTOS, type InetSocketRecord, type SocketProto, type SocketRecord } from '../model.js';

export interface TablesRead {
  readonly readVia: number | undefined;
  readonly sockets: SocketRecord[];
  readonly parseErrors: ParseError[];
  readonly duplicatesDropped: number;
  readonly vanishedReads: number;
  /** Tables not read because sockstat proved them empty. */
  readonly skippedEmpty: number;
  /** Tables (or sockstat) refused with EACCES/EPERM, e.g. by a security module. */
  readonly deniedReads: number;
}

/**
 * Reads the selected tables of one namespace through the first of its processes that is still
 * alive (reference §3.2). A table missing for a live process (IPv6 disabled) means "no sockets
 * of that kind"; a process that vanished hands over to the next one.
 */
export function readNamespaceTables(hostFs: HostFs, pids: readonly number[], protos: ReadonlySet<SocketProto>): TablesRead {
  const sockets: SocketRecord[] = [];
  const parseErrors: ParseError[] = [];
  let duplicatesDropped = 0;
  let vanishedReads = 0;
  let skippedEmpty = 0;
  let deniedReads = 0;
  /** Reads one file of the namespace; a refusal is counted like a missing file. */
  const read = (path: string): Buffer | undefined => {
    try {
      return hostFs.readFile(path);
    } catch (error) {
      if (!(error instanceof AccessDeniedError)) throw error;
      deniedReads++;
      return undefined;
    }
  };
  let viaIndex = 0;
  let readVia: number | undefined;
  let counts: SocketCounts | undefined;

  for (const proto of ALL_PROTOS) {
    if (!protos.has(proto)) continue;
    if (proto !== 'unix') {
      counts ??= readCounts(read, pids[viaIndex]);
      if (counts && tableIsEmpty(counts, proto)) {
        skippedEmpty++;
        continue;
      }
    }
    let text: Buffer | undefined;
    while (viaIndex < pids.length) {
      const pid = pids[viaIndex]!;
      text = read(`${pid}/net/${proto}`);
      if (text !== undefined) {
        readVia = pid;
        break;
      }
      // Gone, or this table does not exist: tell the two apart by the process itself.
      if (hostFs.readlink(`${pid}/ns/net`) !== undefined) break;
      vanishedReads++;
      viaIndex++;
    }
    if (text === undefined) continue;
    const file = `${hostFs.procRoot}/${readVia}/net/${proto}`;
    const parsed = proto === 'unix' ? parseUnixTable(text, file) : parseInetTable(text, proto, file);
    parseErrors.push(...parsed.errors);
    duplicatesDropped += appendUnique(sockets, parsed.records);
  }
  return { readVia, sockets, parseErrors, duplicatesDropped, vanishedReads, skippedEmpty, deniedReads };
}

/** sockstat + sockstat6 of the namespace, or undefined when they cannot be read. */
function readCounts(read: (path: string) => Buffer | undefined, pid: number | undefined): SocketCounts | undefined {
  if (pid === undefined) return undefined;
  const sockstat = read(`${pid}/net/sockstat`);
  if (sockstat === undefined) return undefined;
  return parseSockstat(sockstat.toString('latin1'), read(`${pid}/net/sockstat6`)?.toString('latin1'));
}

/**
 * The kernel's seq_file iterator resumes by bucket and offset, so a read racing with churn can
 * print a socket twice (reference §8). Keep the first: by inode when it has one, else by the
 * connection's identity.
 */
function appendUnique(into: SocketRecord[], records: readonly SocketRecord[]): number {
  const seen = new Set<string>();
  let dropped = 0;
  for (const record of records) {
    const key = record.inode !== '0' ? record.inode : inodelessKey(record);
    if (seen.has(key)) {
      dropped++;
      continue;
    }
    seen.add(key);
    into.push(record);
  }
  return dropped;
}

function inodelessKey(record: SocketRecord): string {
  if (record.proto === 'unix') return `u ${record.pointer} ${record.st} ${record.path ?? ''}`;
  const inet: InetSocketRecord = record;
  return `${inet.stateCode} ${inet.localAddress} ${inet.localPort} ${inet.foreignAddress} ${inet.foreignPort}`;
}
