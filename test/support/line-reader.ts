import type { Readable } from 'node:stream';

/**
 * Lines from a child's stdout, one per call, in order: for tests that drive a helper process
 * step by step (send a command, wait for its answer line). A line not answered within
 * `timeoutMs` rejects, naming `who`.
 */
export function lineReader(stream: Readable, who: string, timeoutMs = 10_000): () => Promise<string> {
  const waiters: Array<(line: string) => void> = [];
  const lines: string[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      const waiter = waiters.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const queued = lines.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => reject(new Error(`${who} did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
      waiters.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
}
