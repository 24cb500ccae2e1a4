import { TcpState } from '../../../model/socket.js';
import { Proto } from '../../../gen/kubenetstat/v1/socket.js';
import type { PodTally, QueueTally } from '../pass.js';
import type { Candidate, Rule, SocketMatch } from '../types.js';
import { duration, heldBy, listCommand, peersText, plural, podName } from '../words.js';

const tcp = (proto: number): boolean => proto === Proto.PROTO_TCP || proto === Proto.PROTO_TCP6;

/**
 * Stuck queues: a Recv-Q that stays non-empty without shrinking for stuckQueue.afterSeconds
 * (ESTABLISHED TCP, UDP, raw: the application is not reading), a Send-Q likewise (ESTABLISHED
 * or CLOSE_WAIT TCP: the peer or the network is not taking the data). The agent re-reads a
 * table when its counters move and in full every --full-read-every (30 s): reading part of a
 * queue moves no counter, so the default threshold (60 s) stays above that blind spot.
 */
export const stuckRecvQueue: Rule = (part, { settings, nowMs }) => {
  const before = nowMs - settings.stuckQueue.afterSeconds * 1000;
  const minBytes = settings.stuckQueue.minBytes;
  const match: SocketMatch = (sockets, slot) =>
    sockets.recvQ(slot) >= minBytes && sockets.recvQSinceMs(slot) <= before && (!tcp(sockets.proto(slot)) || sockets.stateCode(slot) === TcpState.ESTABLISHED) && sockets.proto(slot) !== Proto.PROTO_UNIX;
  return stuck(part.pods, 'recv', nowMs, match);
};

export const stuckSendQueue: Rule = (part, { settings, nowMs }) => {
  const before = nowMs - settings.stuckQueue.afterSeconds * 1000;
  const minBytes = settings.stuckQueue.minBytes;
  const match: SocketMatch = (sockets, slot) =>
    tcp(sockets.proto(slot)) && (sockets.stateCode(slot) === TcpState.ESTABLISHED || sockets.stateCode(slot) === TcpState.CLOSE_WAIT) && sockets.sendQ(slot) >= minBytes && sockets.sendQSinceMs(slot) <= before;
  return stuck(part.pods, 'send', nowMs, match);
};

function stuck(pods: Iterable<PodTally>, queue: 'recv' | 'send', nowMs: number, match: SocketMatch): Candidate[] {
  const candidates: Candidate[] = [];
  for (const pod of pods) {
    const tally: QueueTally = queue === 'recv' ? pod.stuckRecv : pod.stuckSend;
    if (tally.sockets === 0) continue;
    const oldestSeconds = (nowMs - tally.oldestMs) / 1000;
    const { sockets, bytes } = tally;
    candidates.push({
      rule: queue === 'recv' ? 'stuck-recv-q' : 'stuck-send-q',
      subject: pod.key,
      severity: 'warning',
      pod,
      sockets,
      trend: null,
      details: { oldestSeconds: Math.round(oldestSeconds), queuedBytes: bytes },
      match,
      holdMs: 0,
      describe: (evidence) =>
        queue === 'recv'
          ? {
              summary: `${plural(sockets, 'socket')} in ${podName(pod)}${heldBy(evidence)} ${sockets === 1 ? 'has' : 'have'} ${plural(bytes, 'byte')} waiting to be read, not draining for ${duration(oldestSeconds)}${peersText(evidence)}`,
              explanation:
                'Data has arrived and waits in the kernel\'s receive queue (Recv-Q), but the application has not read from these sockets: it is blocked, overloaded, or no longer servicing these connections. ' +
                'Once the queue fills, the kernel advertises a zero window and the peers stall.',
              nextStep: `Check whether the process is stuck (a thread dump, a deadlock, CPU throttling) or has stopped reading these connections; list them with \`${listCommand(pod, '-tuanpo --min-recv-q 1')}\`.`,
            }
          : {
              summary: `${plural(sockets, 'socket')} in ${podName(pod)}${heldBy(evidence)} ${sockets === 1 ? 'has' : 'have'} ${plural(bytes, 'byte')} unacknowledged by the peer, not draining for ${duration(oldestSeconds)}${peersText(evidence)}`,
              explanation:
                'Data the application wrote waits in the send queue (Send-Q) because the peer does not acknowledge it: the peer is not reading (its receive window is zero) or the network drops the packets. ' +
                'Writers block once the queue is full.',
              nextStep: `Look at the peers listed: do they read (a full Recv-Q there)? Timers tell which: \`${listCommand(pod, '-tanpo --min-send-q 1')}\` shows \`probe\` when the peer's window is zero, \`on\` with retransmits when packets are lost.`,
            },
    });
  }
  return candidates;
}
