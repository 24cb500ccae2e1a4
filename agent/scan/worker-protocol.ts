import type { SocketProto } from '../../model/socket.js';
import type { Refusal } from '../../model/scan-problems.js';
import type { NamespaceFiles } from './tables.js';

/** What the scan asks of its second thread, posted once (structured-cloned). */
export interface ScanJob {
  readonly procRoot: string;
  /** Processes whose fds to walk, first. */
  readonly walk: readonly number[];
  /** Then namespaces whose tables to read, shared with the main thread. */
  readonly reads: readonly TableRead[];
  /** Int32Array over this: the next index of `reads` to take, claimed by both threads with Atomics.add. */
  readonly claim: SharedArrayBuffer;
}

/** The tables of one namespace to read through the first of its processes still alive (readNamespaceFiles). */
export interface TableRead {
  readonly pids: readonly number[];
  readonly protos: readonly SocketProto[];
}

/**
 * The fd walks of many processes flattened into parallel arrays: each walked process's pid and
 * how many socket fds it holds (-1: gone or refused), then those fds and their inodes in order.
 */
export interface WalkColumns {
  readonly pids: Int32Array;
  readonly counts: Int32Array;
  readonly fds: Int32Array;
  readonly inodes: string[];
}

export type WorkerMessage =
  | { readonly kind: 'walked'; readonly walks: WalkColumns; readonly fdDenied: number; readonly vanished: number; readonly refusals: readonly Refusal[] }
  | { readonly kind: 'files'; readonly index: number; readonly files: NamespaceFiles }
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly error: { readonly name: string; readonly message: string; readonly path?: string; readonly code?: string } };
