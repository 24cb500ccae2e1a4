/**
 * Preloaded into every test process (package.json `test`): makes stdout blocking when it is a
 * pipe. Each test file runs in a child process that reports to the runner over its stdout, a
 * pipe, and --test-force-exit ends the child with process.exit() as soon as its tests are done:
 * on Linux pipe writes are asynchronous, so the last verdicts still queued were lost and the
 * summary counted fewer tests than ran, still exiting 0 (nodejs/node#64833; seen here as files
 * whose last subtests never reported). Blocking writes finish before exit; the runner reads
 * the pipe all along, so a write waits only while the pipe is full.
 */
const handle = (process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
if (!process.stdout.isTTY) handle?.setBlocking?.(true);
