import { AccessDeniedError, type ParseError } from '../procfs/errors.js';
import type { HostFs } from '../procfs/hostfs.js';
import { parseInetTable } from '../procfs/inet.js';
import { parseSockstat, tableIsEmpty, type SocketCounts } from '../procfs/sockstat.js';
import { parseUnixTable } from '../procfs/unix.js';
import { ALL_PROTOS, type InetSocketRecord, type SocketProto, type SocketRecord } from '../../model/socket.js';

/** One table's raw text, as read; parsing is separate so reads can happen on another thread. */
export interface TableBytes {
  readonly proto: SocketProto;
  /** Full path, for ParseError messages. */
  readonly file: string;
  readonly bytes: Uint8Array;
}

export interface NamespaceFiles {
  /** The pid whose /proc/<pid>/net/* was read; undefined when every candidate vanished. */
  readonly readVia: number | undefined;
  /** In netstat's order: tcp, tcp6, udp, udp6, raw, raw6, unix. */
  readonly tables: TableBytes[];
  readonly vanishedReads: number;
  /** Tables (or sockstat) refused with EACCES/EPERM, e.g. by a security module. */
  readonly deniedReads: number;
}

/**
 * Reads the selected tables of one namespace through the first of its processes that is still
 * alive (reference §3.2). A table missing for a live process (IPv6 disabled) means "no sockets
 * of that kind"; a process that vanished hands over to the next one. Tables the namespace's
 * sockstat proves empty are not read at all (test/agent/procfs/sockstat.e2e.test.ts).
 */
export function readNamespaceFiles(hostFs: HostFs, pids: readonly number[], protos: ReadonlySet<SocketProto>): NamespaceFiles {
  const tables: TableBytes[] = [];
  let vanishedReads = 0;
  let deniedReads = 0;
  /** A refusal is counted and treated like a missing file. */
  const guarded = <T>(read: () => T | undefined): T | undefined => {
    try {
      return read();
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
      counts ??= readCounts(hostFs, pids[viaIndex], guarded);
      if (counts && tableIsEmpty(counts, proto)) continue;
    }
    let bytes: Buffer | undefined;
    while (viaIndex < pids.length) {
      const pid = pids[viaIndex]!;
      bytes = guarded(() => hostFs.readFile(`${pid}/net/${proto}`));
      if (bytes !== undefined) {
        readVia = pid;
        break;
      }
      // Gone, or this table does not exist: tell the two apart by the process itself. A
      // refused readlink means the process is there.
      let alive = true;
      try {
        alive = hostFs.readlink(`${pid}/ns/net`) !== undefined;
      } catch (error) {
        if (!(error instanceof AccessDeniedError)) throw error;
      }
      if (alive) break;
      vanishedReads++;
      viaIndex++;
    }
    if (bytes !== undefined) tables.push({ proto, file: `${hostFs.procRoot}/${readVia}/net/${proto}`, bytes });
  }
  return { readVia, tables, vanishedReads, deniedReads };
}

export interface ParsedTables {
  readonly sockets: SocketRecord[];
  readonly parseErrors: ParseError[];
  readonly duplicatesDropped: number;
}

/** Parses the tables of one namespace, in order, dropping lines the kernel repeated. */
export function parseNamespaceFiles(tables: readonly TableBytes[]): ParsedTables {
  const sockets: SocketRecord[] = [];
  const parseErrors: ParseError[] = [];
  let duplicatesDropped = 0;
  for (const { proto, file, bytes } of tables) {
    const parsed = proto === 'unix' ? parseUnixTable(bytes, file) : parseInetTable(bytes, proto, file);
    parseErrors.push(...parsed.errors);
    duplicatesDropped += appendUnique(sockets, parsed.records);
  }
  return { sockets, parseErrors, duplicatesDropped };
}

/** sockstat + sockstat6 of the namespace, or undefined when they cannot be read. */
function readCounts(hostFs: HostFs, pid: number | undefined, guarded: <T>(read: () => T | undefined) => T | undefined): SocketCounts | undefined {
  if (pid === undefined) return undefined;
  const sockstat = guarded(() => hostFs.readFile(`${pid}/net/sockstat`));
  if (sockstat === undefined) return undefined;
  return parseSockstat(sockstat.toString('latin1'), guarded(() => hostFs.readFile(`${pid}/net/sockstat6`))?.toString('latin1'));
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
