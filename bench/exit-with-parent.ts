/**
 * Preloaded (node --import dist/bench/exit-with-parent.js) into the kube-netstat agent the
 * streaming bench starts: should the bench die without its cleanup (SIGKILL), the agent notices
 * that it was re-parented and exits, so it never outlives the run. Costs one getppid(2) every
 * 500 ms.
 */
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
}, 500).unref();
