/**
 * Preloaded (node --import) into every kube-netstat process the stream tests start: if the test
 * process dies without running its cleanup (SIGKILL, a crash), the child notices that it was
 * re-parented and exits, so no agent or aggregator outlives the test run.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
