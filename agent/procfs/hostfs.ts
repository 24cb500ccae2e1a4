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

export class LocalHostFs implements HostFs {
  readonly procRoot: string;

  constructor(procRoot = '/proc') {
    this.procRoot = path.resolve(procRoot);
  }

  readFile(relPath: string): Buffer | undefined {
    const full = `${this.procRoot}/${relPath}`;
    try {
      return fs.readFileSync(full);
    } catch (error) {
      return gone(error, full);
    }
  }

  readdir(relPath: string): string[] | undefined {
    const full = `${this.procRoot}/${relPath}`;
    try {
      return fs.readdirSync(full);
    } catch (error) {
      return gone(error, full);
    }
  }

  readlink(relPath: string): string | undefined {
    const full = `${this.procRoot}/${relPath}`;
    try {
      return fs.readlinkSync(full);
    } catch (error) {
      return gone(error, full);
    }
  }
}
