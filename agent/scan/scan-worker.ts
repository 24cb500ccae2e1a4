import { parentPort } from 'node:worker_threads';
import { LocalHostFs } from '../procfs/hostfs.js';
import { collectHolders } from './owners.js';
import { emptyProblems } from './scan.js';
import { readNamespaceFiles } from './tables.js';
import type { HolderColumns, ScanJob, WorkerMessage } from './worker-protocol.js';

/**
 * The second thread of scanHostParallel: walks every process's fd table, then helps read
 * namespace tables, claiming them from the same atomic counter as the main thread. It only
 * reads; parsing stays on the main thread so records are never cloned between threads.
 */
function run(job: ScanJob, post: (message: WorkerMessage) => void): void {
  const hostFs = new LocalHostFs(job.procRoot);
  if (job.ownerPids.length > 0) {
    const problems = emptyProblems();
    const holders = collectHolders(hostFs, job.ownerPids, problems);
    post({ kind: 'holders', holders: flatten(holders), fdDenied: problems.fdDenied, vanished: problems.vanished });
  }
  const claim = new Int32Array(job.claim);
  const protos = new Set(job.protos);
  for (;;) {
    const index = Atomics.add(claim, 0, 1);
    const target = job.targets[index];
    if (!target) break;
    post({ kind: 'files', index, files: readNamespaceFiles(hostFs, target.pids, protos) });
  }
  post({ kind: 'done' });
}

function flatten(holders: ReadonlyMap<string, ReadonlyArray<{ pid: number; fd: number }>>): HolderColumns {
  let count = 0;
  for (const list of holders.values()) count += list.length;
  const inodes: string[] = new Array<string>(count);
  const pids = new Int32Array(count);
  const fds = new Int32Array(count);
  let i = 0;
  for (const [inode, list] of holders) {
    for (const holder of list) {
      inodes[i] = inode;
      pids[i] = holder.pid;
      fds[i] = holder.fd;
      i++;
    }
  }
  return { inodes, pids, fds };
}

const port = parentPort;
if (port) {
  port.once('message', (job: ScanJob) => {
    const post = (message: WorkerMessage): void => port.postMessage(message);
    try {
      run(job, post);
    } catch (error) {
      const detail = error instanceof Error ? error : new Error(String(error));
      const extra = detail as Error & { path?: unknown; code?: unknown };
      post({
        kind: 'failed',
        error: {
          name: detail.name,
          message: detail.message,
          ...(typeof extra.path === 'string' && { path: extra.path }),
          ...(typeof extra.code === 'string' && { code: extra.code }),
        },
      });
    }
  });
}
