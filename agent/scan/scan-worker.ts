import { parentPort } from 'node:worker_threads';
import { emptyProblems } from '../../model/scan-problems.js';
import { LocalHostFs } from '../procfs/hostfs.js';
import { socketFdsOf, type SocketFd } from './owners.js';
import { readNamespaceFiles } from './tables.js';
import type { ScanJob, WalkColumns, WorkerMessage } from './worker-protocol.js';

/**
 * The scan's second thread (second-thread.ts): walks the fds of the processes it is given,
 * then helps read namespace tables, claiming them from the same atomic counter as the main
 * thread. It only reads; parsing stays on the main thread so records are never cloned between
 * threads.
 */
function run(job: ScanJob, post: (message: WorkerMessage) => void): void {
  const hostFs = new LocalHostFs(job.procRoot);
  if (job.walk.length > 0) {
    const problems = emptyProblems();
    const walks = job.walk.map((pid) => socketFdsOf(hostFs, pid, problems));
    post({ kind: 'walked', walks: flatten(job.walk, walks), fdDenied: problems.fdDenied, vanished: problems.vanished, refusals: problems.refusals });
  }
  const claim = new Int32Array(job.claim);
  for (;;) {
    const index = Atomics.add(claim, 0, 1);
    const read = job.reads[index];
    if (!read) break;
    post({ kind: 'files', index, files: readNamespaceFiles(hostFs, read.pids, new Set(read.protos)) });
  }
  post({ kind: 'done' });
}

function flatten(pids: readonly number[], walks: ReadonlyArray<readonly SocketFd[] | undefined>): WalkColumns {
  let count = 0;
  for (const fds of walks) count += fds?.length ?? 0;
  const counts = new Int32Array(pids.length);
  const fds = new Int32Array(count);
  const inodes = new Array<string>(count);
  let at = 0;
  walks.forEach((walk, i) => {
    counts[i] = walk ? walk.length : -1;
    for (const entry of walk ?? []) {
      fds[at] = entry.fd;
      inodes[at] = entry.inode;
      at++;
    }
  });
  return { pids: Int32Array.from(pids), counts, fds, inodes };
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
