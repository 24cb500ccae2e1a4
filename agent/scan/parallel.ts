import { Worker } from 'node:worker_threads';
import { AccessDeniedError, HostFsError } from '../procfs/errors.js';
import { LocalHostFs, type HostFs } from '../procfs/hostfs.js';
import { discoverNamespaces, finishScan, namespaceScan, scanHost, type Discovery } from './scan.js';
import type { NamespaceFiles } from './tables.js';
import { readNamespaceFiles } from './tables.js';
import type { HostScan, NamespaceScan, ScanOptions, SocketHolder } from './types.js';
import type { HolderColumns, ScanJob, WorkerMessage } from './worker-protocol.js';

/**
 * scanHost over two threads. The cost of a scan is kernel time: reading a namespace's table
 * walks the host-wide socket hash, and the fd walk is one readlink per open file (reference
 * §3.5, §4.2). The worker walks the fds while the main thread reads and parses tables; both
 * then claim the remaining namespaces from one atomic counter. Results equal scanHost's.
 */
export async function scanHostParallel(procRoot: string, options: ScanOptions, discovery?: Discovery): Promise<HostScan> {
  const hostFs = new LocalHostFs(procRoot);
  const { pids, targets, problems } = discovery ?? discoverNamespaces(hostFs, options);
  const claim = new SharedArrayBuffer(4);
  const job: ScanJob = {
    procRoot: hostFs.procRoot,
    targets,
    protos: [...options.protos],
    ownerPids: options.resolveOwners ? pids : [],
    claim,
  };

  const worker = startScanWorker();
  const fromWorker = new Map<number, NamespaceFiles>();
  let holderColumns: HolderColumns | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      switch (message.kind) {
        case 'holders':
          holderColumns = message.holders;
          problems.fdDenied += message.fdDenied;
          problems.vanished += message.vanished;
          break;
        case 'files':
          fromWorker.set(message.index, message.files);
          break;
        case 'done':
          resolve();
          break;
        case 'failed':
          reject(new HostFsError(message.error.path ?? procRoot, message.error.code ?? message.error.name, { cause: message.error.message }));
          break;
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`scan worker exited with code ${code} before finishing`)));
  });
  worker.postMessage(job);

  const namespaces: Array<NamespaceScan | undefined> = new Array(targets.length);
  let emptyTablesSkipped = 0;
  const counter = new Int32Array(claim);
  try {
    for (;;) {
      const index = Atomics.add(counter, 0, 1);
      const target = targets[index];
      if (!target) break;
      const files = readNamespaceFiles(hostFs, target.pids, options.protos);
      emptyTablesSkipped += files.skippedEmpty;
      namespaces[index] = namespaceScan(target, files, problems);
    }
    await finished;
  } finally {
    await worker.terminate();
  }
  for (const [index, files] of fromWorker) {
    emptyTablesSkipped += files.skippedEmpty;
    namespaces[index] = namespaceScan(targets[index]!, files, problems);
  }
  return finishScan(hostFs, namespaces.filter((ns) => ns !== undefined), unflatten(holderColumns), problems, emptyTablesSkipped);
}

function unflatten(columns: HolderColumns | undefined): Map<string, SocketHolder[]> {
  const holders = new Map<string, SocketHolder[]>();
  if (!columns) return holders;
  for (let i = 0; i < columns.inodes.length; i++) {
    const inode = columns.inodes[i]!;
    const holder: SocketHolder = { pid: columns.pids[i]!, fd: columns.fds[i]! };
    const list = holders.get(inode);
    if (list) list.push(holder);
    else holders.set(inode, [holder]);
  }
  return holders;
}

/**
 * The compiled worker next to this file; when running from TypeScript sources (tests, bench
 * under tsx), an eval'd bootstrap registers tsx in the worker first, since workers do not
 * inherit the main thread's loader hooks.
 */
function startScanWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./scan-worker.js', here));
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./scan-worker.ts', here).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
}

/**
 * Below this many sockets a second thread costs more (its start-up, ~35 ms) than it saves
 * (the fd walk is ~3 µs and a table line ~5 µs per socket).
 */
export const PARALLEL_SCAN_MIN_SOCKETS = 10_000;

/**
 * Scans the proc tree at procRoot, on two threads when the host holds enough sockets to pay
 * for it. The count is the sum of each namespace's `sockets: used` line in sockstat, which
 * is per network namespace since Linux 4.16 (sock_inuse_get(net)); one small read each.
 */
export async function scanProcRoot(procRoot: string, options: ScanOptions): Promise<HostScan> {
  const hostFs = new LocalHostFs(procRoot);
  const discovery = discoverNamespaces(hostFs, options);
  let sockets = 0;
  for (const target of discovery.targets) {
    sockets += socketsUsed(hostFs, target.pids[0]);
    if (sockets >= PARALLEL_SCAN_MIN_SOCKETS) return scanHostParallel(procRoot, options, discovery);
  }
  return scanHost(hostFs, options, discovery);
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
