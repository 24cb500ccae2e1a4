import * as fs from 'node:fs';
import * as path from 'node:path';
import { AccessDeniedError, HostFsError } from './errors.js';

/**
 * The one seam through which the agent reads the host: /proc (or /host/proc in a pod, or a
 * fixture tree in tests). Paths are relative to the proc root.
 *
 * Every method returns `undefined` when the object is gone — a process that exited between
 * listing and reading, an fd closed meanwhile, a table that does not exist (IPv6 disabled).
 * That is normal churn. EACCES/EPERM throw AccessDeniedError; anything else HostFsError.
 */
export interface HostFs {
  readonly procRoot: string;
  readFile(relPath: string): Buffer | undefined;
  readdir(relPath: string): string[] | undefined;
  readlink(relPath: string): string | undefined;
  /**
   * Opens a file to read it again and again: a /proc/<pid>/net file keeps showing the namespace
   * it was opened in, even after that process exits (reference §3.4). Optional: without it,
   * callers read by path every time.
   */
  open?(relPath: string): OpenFile | undefined;
}

/** A file kept open (HostFs.open). Holding one keeps its network namespace alive: close it when the namespace is gone. */
export interface OpenFile {
  /** The whole file, read again from its start; undefined when it can no longer be read. */
  reread(): Buffer | undefined;
  close(): void;
}

/** errno codes that mean "that process, fd or file no longer exists" under /proc. */
const GONE = new Set(['ENOENT', 'ESRCH', 'ENOTDIR']);
const DENIED = new Set(['EACCES', 'EPERM']);

function errnoCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'EUNKNOWN';
}

/** Maps a failed fs call to the seam's contract: undefined when gone, typed errors otherwise. */
function gone(error: unknown, fullPath: string): undefined {
  const code = errnoCode(error);
  if (GONE.has(code)) return undefined;
  if (DENIED.has(code)) throw new AccessDeniedError(fullPath, code);
  throw new HostFsError(fullPath, code, { cause: error });
}

/** `call(fullPath)` under the seam's contract (gone()). */
function unlessGone<T>(fullPath: string, call: (fullPath: string) => T): T | undefined {
  try {
    return call(fullPath);
  } catch (error) {
    return gone(error, fullPath);
  }
}

// Module-level callees: a scan calls these for every process and table, and a closure per call is garbage.
const openForReading = (fullPath: string): number => fs.openSync(fullPath, 'r');
const listDirectory = (fullPath: string): string[] => fs.readdirSync(fullPath);
const readLink = (fullPath: string): string => fs.readlinkSync(fullPath);

/** Grown as needed for one read; kept between reads up to this size (a table of ~7k TCP lines). */
const SCRATCH_KEPT_BYTES = 1 << 20;
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Reads fd to its end into the scratch buffer (from `position`, or where it stands when null); the exact bytes, copied. */
function readAll(fd: number, position: number | null): Buffer {
  let buffer = scratch;
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, length);
      buffer = bigger;
    }
    const read = fs.readSync(fd, buffer, length, buffer.length - length, position === null ? null : position + length);
    if (read === 0) break;
    length += read;
  }
  if (buffer.length <= SCRATCH_KEPT_BYTES) scratch = buffer;
  return Buffer.from(buffer.subarray(0, length));
}

export class LocalHostFs implements HostFs {
  readonly procRoot: string;

  constructor(procRoot = '/proc') {
    this.procRoot = path.resolve(procRoot);
  }

  /**
   * /proc files report size 0, for which readFileSync allocates a 64 KiB buffer per read(2) —
   * and seq_file returns at most a page per read (reference §1.1). Reading into one scratch
   * buffer per thread and copying out the exact bytes keeps a scan's garbage to what it keeps.
   */
  readFile(relPath: string): Buffer | undefined {
    const full = `${this.procRoot}/${relPath}`;
    const fd = unlessGone(full, openForReading);
    if (fd === undefined) return undefined;
    try {
      return readAll(fd, null);
    } catch (error) {
      return gone(error, full);
    } finally {
      fs.closeSync(fd);
    }
  }

  open(relPath: string): OpenFile | undefined {
    const full = `${this.procRoot}/${relPath}`;
    const fd = unlessGone(full, openForReading);
    if (fd === undefined) return undefined;
    let closed = false;
    return {
      reread: () => {
        if (closed) return undefined;
        try {
          return readAll(fd, 0);
        } catch (error) {
          return gone(error, full);
        }
      },
      close: () => {
        if (closed) return;
        closed = true;
        fs.closeSync(fd);
      },
    };
  }

  readdir(relPath: string): string[] | undefined {
    return unlessGone(`${this.procRoot}/${relPath}`, listDirectory);
  }

  readlink(relPath: string): string | undefined {
    return unlessGone(`${this.procRoot}/${relPath}`, readLink);
  }
}
