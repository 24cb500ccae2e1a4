import { Worker } from 'node:worker_threads';
import type { Refusal } from '../../model/scan-problems.js';
import { AccessDeniedError, HostFsError } from '../procfs/errors.js';
import type { HostFs } from '../procfs/hostfs.js';
import type { NamespaceTarget } from './namespaces.js';
import type { SocketFd } from './owners.js';
import type { NamespaceFiles } from './tables.js';
import type { ScanJob, TableRead, WalkColumns, WorkerMessage } from './worker-protocol.js';

/**
 * How many threads a scan may use. 2: a scan that walks every process (the first, and every
 * one with fullReadEvery 1) walks the fds on a second thread while the main thread reads and
 * parses tables, then both share the tables left. 'auto': 2 on a host holding at least
 * PARALLEL_SCAN_MIN_SOCKETS sockets, else 1.
 */
export type ScanThreads = 1 | 2 | 'auto';

/**
 * Below this many sockets a second thread costs more (its start-up) than it saves: the fd walk
 * is one readlink per open file and a table read walks the host-wide socket hash (reference
 * §3.5, §4.2), both in proportion to the sockets there are.
 */
export const PARALLEL_SCAN_MIN_SOCKETS = 10_000;

/**
 * For 'auto': whether the namespaces hold enough sockets, by the sum of their `sockets: used`
 * in sockstat, per network namespace since Linux 4.16 (sock_inuse_get(net)); one small read
 * each, stopping once the sum is reached.
 */
export function busyEnough(hostFs: HostFs, targets: readonly NamespaceTarget[]): boolean {
  let sockets = 0;
  for (const target of targets) {
    sockets += socketsUsed(hostFs, target.pids[0]);
    if (sockets >= PARALLEL_SCAN_MIN_SOCKETS) return true;
  }
  return false;
}

/** `sockets: used` of the namespace pid lives in; 0 when it cannot be read. */
function socketsUsed(hostFs: HostFs, pid: number | undefined): number {
  if (pid === undefined) return 0;
  let sockstat: Buffer | undefined;
  try {
    sockstat = hostFs.readFile(`${pid}/net/sockstat`);
  } catch (error) {
    if (error instanceof AccessDeniedError) return 0;
    throw error;
  }
  return Number(/^sockets: used (\d+)/m.exec(sockstat?.toString('latin1') ?? '')?.[1] ?? 0);
}

/** What the second thread did: its fd walks in the order asked, and the tables it read by index. */
export interface SecondThreadWork {
  readonly walks: ReadonlyArray<{ readonly pid: number; readonly fds: readonly SocketFd[] | undefined }>;
  readonly files: ReadonlyMap<number, NamespaceFiles>;
  readonly fdDenied: number;
  readonly vanished: number;
  readonly refusals: readonly Refusal[];
}

/**
 * The worker of one scan, reading through a LocalHostFs on the same proc root. Started as soon
 * as the scan knows it wants one, so that its start-up overlaps the main thread's work; given
 * its job once the main thread knows which tables to read.
 */
export class SecondThread {
  private readonly worker = startScanWorker();
  private readonly claim = new SharedArrayBuffer(4);
  private readonly counter = new Int32Array(this.claim);
  private reads = 0;
  private readonly work: Promise<SecondThreadWork>;

  constructor(private readonly procRoot: string) {
    this.work = new Promise((resolve, reject) => {
      let walked: Pick<SecondThreadWork, 'walks' | 'fdDenied' | 'vanished' | 'refusals'> = { walks: [], fdDenied: 0, vanished: 0, refusals: [] };
      const files = new Map<number, NamespaceFiles>();
      this.worker.on('message', (message: WorkerMessage) => {
        switch (message.kind) {
          case 'walked':
            walked = { walks: unflatten(message.walks), fdDenied: message.fdDenied, vanished: message.vanished, refusals: message.refusals };
            break;
          case 'files':
            files.set(message.index, message.files);
            break;
          case 'done':
            resolve({ ...walked, files });
            break;
          case 'failed':
            reject(new HostFsError(message.error.path ?? procRoot, message.error.code ?? message.error.name, { cause: message.error.message }));
            break;
        }
      });
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`scan worker exited with code ${code} before finishing`)));
    });
    // A failure is reported by finish(); until the scan awaits it, Node must not take it for an
    // unhandled rejection (and end the process).
    this.work.catch(() => undefined);
  }

  /** Walks `walk` first, then takes tables from `reads` as the main thread does (next()). */
  start(walk: readonly number[], reads: readonly TableRead[]): void {
    this.reads = reads.length;
    const job: ScanJob = { procRoot: this.procRoot, walk, reads, claim: this.claim };
    this.worker.postMessage(job);
  }

  /** The next index of `reads` for the main thread; undefined once every one is taken. */
  next(): number | undefined {
    const index = Atomics.add(this.counter, 0, 1);
    return index < this.reads ? index : undefined;
  }

  /** Waits for the worker's share, then ends it. */
  async finish(): Promise<SecondThreadWork> {
    try {
      return await this.work;
    } finally {
      await this.worker.terminate();
    }
  }

  /** Ends the worker without its results (the main thread failed). */
  async abandon(): Promise<void> {
    await this.worker.terminate();
  }
}

function unflatten(columns: WalkColumns): SecondThreadWork['walks'] {
  const walks: Array<{ pid: number; fds: SocketFd[] | undefined }> = [];
  let at = 0;
  columns.pids.forEach((pid, i) => {
    const count = columns.counts[i]!;
    if (count < 0) {
      walks.push({ pid, fds: undefined });
      return;
    }
    const fds: SocketFd[] = [];
    for (const end = at + count; at < end; at++) fds.push({ fd: columns.fds[at]!, inode: columns.inodes[at]! });
    walks.push({ pid, fds });
  });
  return walks;
}

/**
 * The compiled worker next to this module, with none of the parent's Node flags: it only reads
 * files, and some flags are refused in a worker (--input-type). Run from TypeScript sources
 * (`node --import tsx`: the tests, the bench's sources), the same URL names scan-worker.ts once
 * tsx resolves it, but a worker thread gets none of the main thread's module hooks and on
 * Node 20 `--import tsx` registers them on the main thread only: the worker registers them
 * itself first.
 */
function startScanWorker(): Worker {
  const entry = new URL('./scan-worker.js', import.meta.url);
  const fromSources = import.meta.url.endsWith('.ts');
  return new Worker(entry, { execArgv: fromSources ? ['--import', new URL('./tsx-in-worker.mjs', import.meta.url).href] : [] });
}
