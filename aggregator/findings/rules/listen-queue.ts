import { TcpState } from '../../../model/socket.js';
import { Proto } from '../../../gen/kubenetstat/v1/socket.js';
import type { Candidate, Rule } from '../types.js';
import { duration, heldBy, listCommand, peersText, plural, podName } from '../words.js';

const tcp = (proto: number): boolean => proto === Proto.PROTO_TCP || proto === Proto.PROTO_TCP6;

/**
 * Listen-queue overflow. A LISTEN socket's Recv-Q is its accept queue (connections the
 * handshake completed and accept() has not taken); its limit, the backlog, is not in /proc
 * (tx_queue is 0 for listeners: reference §1.7; only sock_diag shows it, as ss's Send-Q). So a
 * listener is judged by its queue not draining for listenQueue.afterSeconds — the application
 * is not accepting. It is critical when the queue overflowed: the namespace's TcpExt
 * ListenOverflows rose during this backlog (the agent reads them while a listener has a
 * backlog), or, where the agent reports a backlog (Send-Q > 0), the queue reached it.
 */
export const listenOverflow: Rule = (part, { nowMs }) => {
  const candidates: Candidate[] = [];
  for (const pod of part.pods) {
    for (const listener of pod.stuckListeners ?? []) {
      const { port, queue, backlog } = listener;
      const dropped = pod.listenOverflows ?? 0;
      const full = (backlog > 0 && queue >= backlog) || dropped > 0;
      const stuckSeconds = (nowMs - listener.sinceMs) / 1000;
      candidates.push({
        rule: 'listen-overflow',
        subject: `${pod.key}:${port}`,
        severity: full ? 'critical' : 'warning',
        pod,
        sockets: queue,
        trend: null,
        details: { localPort: port, acceptQueue: queue, ...(backlog > 0 && { backlog }), ...(pod.listenOverflows !== undefined && { listenOverflows: pod.listenOverflows }), oldestSeconds: Math.round(stuckSeconds) },
        match: (sockets, slot) => tcp(sockets.proto(slot)) && sockets.localPort(slot) === port && (sockets.stateCode(slot) === TcpState.LISTEN || (sockets.stateCode(slot) === TcpState.ESTABLISHED && sockets.pid(slot) === 0)),
        holdMs: 0,
        describe: (evidence) => ({
          summary:
            `The listener on port ${port} in ${podName(pod)}${heldBy(evidence)} has ${plural(queue, 'connection')} waiting to be accepted` +
            (backlog > 0 && queue >= backlog ? `, at its backlog of ${backlog}` : '') +
            (dropped > 0 ? `; the kernel dropped ${plural(dropped, 'connection attempt')} into the full queue meanwhile (ListenOverflows)` : '') +
            `; the queue has not drained for ${duration(stuckSeconds)}${peersText(evidence)}`,
          explanation:
            'Clients completed the TCP handshake but the application has not called accept() on them. ' +
            (full
              ? 'The accept queue is full: the kernel now drops new connection attempts (ListenOverflows in `nstat`), and clients wait in SYN_SENT or time out.'
              : 'When the queue reaches its backlog (ss -lnt shows it as Send-Q; /proc does not), the kernel drops new connection attempts and clients wait in SYN_SENT or time out.'),
          nextStep: `Check that the accept loop runs (a blocked event loop, too few worker threads, a thread stuck before accept()); if bursts are expected, raise the listen backlog and net.core.somaxconn. \`${listCommand(pod, `-tlnp --port ${port}`)}\` shows the queue.`,
        }),
      });
    }
  }
  return candidates;
};

/** SYN flood: at least synRecv.minCount half-open connections on one port, for synRecv.forSeconds. */
export const synFlood: Rule = (part, { settings }) => {
  const { minCount, forSeconds } = settings.synRecv;
  const candidates: Candidate[] = [];
  for (const pod of part.pods) {
    for (const [port, count] of pod.synRecv ?? []) {
      if (count < minCount) continue;
      candidates.push({
        rule: 'syn-flood',
        subject: `${pod.key}:${port}`,
        severity: 'warning',
        pod,
        sockets: count,
        trend: null,
        details: { localPort: port },
        match: (sockets, slot) => sockets.stateCode(slot) === TcpState.SYN_RECV && sockets.localPort(slot) === port && tcp(sockets.proto(slot)),
        holdMs: forSeconds * 1000,
        describe: (evidence) => ({
          summary: `${plural(count, 'half-open connection')} (SYN_RECV) on port ${port} of ${podName(pod)}, for at least ${duration(forSeconds)}${peersText(evidence)}`,
          explanation:
            'Clients sent a SYN and the kernel answered, but the handshake never completed. Many at once means a SYN flood, clients that cannot receive the SYN-ACK (a firewall or asymmetric route dropping return traffic), ' +
            'or a listener whose accept queue is full. Each waits up to ~63 s (tcp_synack_retries).',
          nextStep: 'Look at where they come from (the peers listed): one source is an attack or a broken client, many point at the return path. Check that net.ipv4.tcp_syncookies is on and whether the listener also has a full accept queue.',
        }),
      });
    }
  }
  return candidates;
};
