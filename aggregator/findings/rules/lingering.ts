import { TcpState } from '../../../model/socket.js';
import type { Aged, PodTally } from '../pass.js';
import type { Candidate, Evidence, FindingText, Rule, RuleName } from '../types.js';
import { duration, heldBy, peersText, plural, podName } from '../words.js';

/**
 * FIN_WAIT2 and LAST_ACK lingering: sockets in these states longer than lingering.*Seconds.
 * An orphaned FIN_WAIT2 (the application closed) is ended by the kernel after tcp_fin_timeout
 * (60 s), so the default threshold (5 min) only sees sockets whose application shut down its
 * side and still holds them, waiting for a peer that never closes. LAST_ACK waits for the
 * ACK of our FIN, which a vanished peer never sends; the kernel retransmits for minutes.
 */
export const finWait2Lingering: Rule = (part, { settings, nowMs }) =>
  lingering(part.pods, 'fin-wait2-lingering', TcpState.FIN_WAIT2, (pod) => pod.finWait2, settings.lingering.finWait2Seconds, nowMs, (pod, count, threshold, oldest, evidence) => ({
    summary: `${plural(count, 'socket')} in ${podName(pod)}${heldBy(evidence)} ${count === 1 ? 'has' : 'have'} waited in FIN_WAIT2 for over ${duration(threshold)} (the oldest ${duration(oldest)})${peersText(evidence)}`,
    explanation: 'This side closed (or shut down writing) and the peer acknowledged, but the peer never closed its side. The peer application is probably leaking connections in CLOSE_WAIT.',
    nextStep: `Look for a CLOSE_WAIT leak at the peers listed (\`kubectl netstat -A --state close-wait --address <peer address>\`); if this side only called shutdown(), make it close() the socket too.`,
  }));

export const lastAckLingering: Rule = (part, { settings, nowMs }) =>
  lingering(part.pods, 'last-ack-lingering', TcpState.LAST_ACK, (pod) => pod.lastAck, settings.lingering.lastAckSeconds, nowMs, (pod, count, threshold, oldest, evidence) => ({
    summary: `${plural(count, 'socket')} in ${podName(pod)}${heldBy(evidence)} ${count === 1 ? 'has' : 'have'} waited in LAST_ACK for over ${duration(threshold)} (the oldest ${duration(oldest)})${peersText(evidence)}`,
    explanation: 'The peer closed, this side closed too, and the peer never acknowledged our FIN: it is gone or unreachable. The kernel retransmits the FIN until tcp_orphan_retries or tcp_retries2 give up.',
    nextStep: 'Check the path to the peers listed: packet loss, a firewall or conntrack entry that expired, a NAT that dropped the flow, a peer pod that was killed.',
  }));

function lingering(
  pods: Iterable<PodTally>,
  rule: RuleName,
  state: number,
  tallyOf: (pod: PodTally) => Aged,
  thresholdSeconds: number,
  nowMs: number,
  text: (pod: PodTally, count: number, thresholdSeconds: number, oldestSeconds: number, evidence: Evidence) => FindingText,
): Candidate[] {
  const before = nowMs - thresholdSeconds * 1000;
  const candidates: Candidate[] = [];
  for (const pod of pods) {
    // Read now: the tally is the pass's, and the text may be written after the next pass.
    const { sockets: count, oldestMs } = tallyOf(pod);
    if (count === 0) continue;
    const oldestSeconds = (nowMs - oldestMs) / 1000;
    candidates.push({
      rule,
      subject: pod.key,
      severity: 'info',
      pod,
      sockets: count,
      trend: null,
      details: { oldestSeconds: Math.round(oldestSeconds) },
      match: (sockets, slot) => sockets.stateCode(slot) === state && sockets.stateSinceMs(slot) <= before,
      holdMs: 0,
      describe: (evidence) => text(pod, count, thresholdSeconds, oldestSeconds, evidence),
    });
  }
  return candidates;
}
