import type { Candidate, Rule } from '../types.js';
import { duration, peersText, podName } from '../words.js';

/**
 * Socket-count growth per process: the file-descriptor leak that ends in EMFILE ("too many open
 * files"). A process is judged by its first-holder socket count (no decoding: the store keeps
 * each socket's lowest holder pid) once it holds socketGrowth.minSockets, by how much the
 * count's floor rose over the window (trend.ts), so connection churn does not count.
 */
export const socketGrowth: Rule = (part, { settings, nowMs, trends }) => {
  const { windowSeconds, minGrowth, minSockets } = settings.socketGrowth;
  const candidates: Candidate[] = [];
  for (const process of part.processes) {
    const { subject } = process;
    trends.processSockets.observe(subject, nowMs, process.sockets);
    if (process.sockets < minSockets) continue;
    const rise = trends.processSockets.rise(subject, nowMs);
    if (!rise || rise.to - rise.from < minGrowth) continue;
    const { pod, pid, sockets } = process;
    candidates.push({
      rule: 'socket-growth',
      subject: `${pod.key}/${subject}`,
      severity: 'warning',
      pod,
      sockets,
      trend: { windowSeconds, from: rise.from, to: rise.to },
      details: { pid },
      match: (stored, slot) => stored.pid(slot) === pid,
      holdMs: 0,
      describe: (evidence) => {
        const name = evidence.processes.find((candidate) => candidate.pid === pid)?.name;
        return {
          summary: `Process ${name ? `${name} (pid ${pid})` : `pid ${pid}`} in ${podName(pod)}${evidence.containers.length ? ` (container ${evidence.containers.join(', ')})` : ''} holds ${sockets} sockets, up from ${rise.from} ${duration(windowSeconds)} ago${peersText(evidence)}`,
          explanation:
            'Its socket count keeps rising and never falls back: sockets are opened and not closed. Every socket is a file descriptor; ' +
            'when the process reaches its limit (ulimit -n), accept() and connect() fail with EMFILE ("too many open files").',
          nextStep: `See which connections pile up (states and peers: \`kubectl netstat -n ${pod.namespace} --pod ${pod.name} -tuanp\`), and compare with the limit: \`cat /proc/${pid}/limits\` on the node, or \`ulimit -n\` in the container.`,
        };
      },
    });
  }
  return candidates;
};
