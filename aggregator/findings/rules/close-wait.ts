import { TcpState } from '../../../model/socket.js';
import { SERIES_NAMES } from '../../history/types.js';
import type { Candidate, Rule } from '../types.js';
import { duration, heldBy, listCommand, peersText, plural, podName } from '../words.js';

const CLOSE_WAIT = SERIES_NAMES.indexOf('CLOSE-WAIT');

/**
 * CLOSE_WAIT leak: the peer closed, the application never called close(). A pod leaks when
 * its CLOSE_WAIT count's floor rose by closeWait.minGrowth over the window (trend.ts), or when
 * one of them has waited longer than closeWait.maxAgeSeconds (a healthy application closes
 * within milliseconds of reading EOF; the kernel never times CLOSE_WAIT out).
 */
export const closeWaitLeak: Rule = (part, { settings, nowMs, trends }) => {
  const { windowSeconds, minGrowth, maxAgeSeconds, criticalCount } = settings.closeWait;
  const candidates: Candidate[] = [];
  for (const pod of part.pods) {
    const count = pod.counts[CLOSE_WAIT]!;
    if (count === 0) continue;
    trends.closeWait.observe(pod.key, nowMs, count);
    const rise = trends.closeWait.rise(pod.key, nowMs);
    const growing = rise !== undefined && rise.to - rise.from >= minGrowth;
    const oldestSeconds = Math.max(0, (nowMs - pod.closeWaitOldestMs) / 1000);
    if (!growing && oldestSeconds < maxAgeSeconds) continue;
    const trend = rise ? { windowSeconds, from: rise.from, to: rise.to } : null;
    candidates.push({
      rule: 'close-wait-leak',
      subject: pod.key,
      severity: count >= criticalCount ? 'critical' : 'warning',
      pod,
      sockets: count,
      trend,
      details: { oldestSeconds: Math.round(oldestSeconds) },
      match: (sockets, slot) => sockets.stateCode(slot) === TcpState.CLOSE_WAIT,
      holdMs: 0,
      describe: (evidence) => ({
        summary:
          `${plural(count, 'CLOSE_WAIT socket')} in ${podName(pod)}${heldBy(evidence)}` +
          (growing ? `, up from ${rise.from} ${duration(windowSeconds)} ago` : '') +
          `; the oldest has waited ${duration(oldestSeconds)}${peersText(evidence)}`,
        explanation:
          'The peer closed these connections: its FIN arrived and the kernel moved them to CLOSE_WAIT. ' +
          'The application never called close() on them. They do not time out: each holds a file descriptor and kernel memory until the process closes it or exits' +
          (growing ? ', and their number keeps growing.' : '.'),
        nextStep:
          `Find where the code handles connections to the peers listed and make sure every path closes the socket (a missing close()/finally/defer on an error path, or a connection pool that never evicts connections the server closed). ` +
          `List them with \`${listCommand(pod, '-tanp --state close-wait')}\`. Restarting the pod releases them, but the leak comes back.`,
      }),
    });
  }
  return candidates;
};
