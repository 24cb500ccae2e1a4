/**
 * Preloaded (node --import) into every kube-netstat process the stream tests and the bench start
 * (the bench preloads its compiled copy, dist/test/support/stream/exit-with-parent.js): if the
 * parent dies without running its cleanup (SIGKILL, a crash), the child notices that it was
 * re-parented and exits, so no agent or aggregator outlives the run. One getppid(2) every 500 ms.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
