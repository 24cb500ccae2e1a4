import type { SocketProto } from '../../model/socket.js';
import type { NamespaceTarget } from './scan.js';
import type { NamespaceFiles } from './tables.js';

/** What the main thread asks of the scan worker (structured-cloned). */
export interface ScanJob {
  readonly procRoot: string;
  readonly targets: readonly NamespaceTarget[];
  readonly protos: readonly SocketProto[];
  /** Processes whose fds to walk; empty when owners are not wanted. */
  readonly ownerPids: readonly number[];
  /** Int32Array over this: the next namespace index to read, claimed by both threads with Atomics.add. */
  readonly claim: SharedArrayBuffer;
}

/** Holders flattened into parallel arrays: one entry per (inode, pid, fd). */
export interface HolderColumns {
  readonly inodes: string[];
  readonly pids: Int32Array;
  readonly fds: Int32Array;
}

export type WorkerMessage =
  | { readonly kind: 'holders'; readonly holders: HolderColumns; readonly fdDenied: number; readonly vanished: number }
  | { readonly kind: 'files'; readonly index: number; readonly files: NamespaceFiles }
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly error: { readonly name: string; readonly message: string; readonly path?: string; readonly code?: string } };
