import type { PodDef } from '../../gen/kubenetstat/v1/agent.js';
import type { PodRef, Socket } from '../../gen/kubenetstat/v1/socket.js';

/** Refs are 1–65535 on the wire (agent.proto PodDef); fewer keep the aggregator's table small. */
const MAX_REFS = 4_096;

/** Everything the wire carries about a pod, as one string: equal strings, equal PodRef bytes. */
function podIdentity(pod: PodRef): string {
  const labels = Object.keys(pod.labels)
    .sort()
    .map((key) => `${key}=${pod.labels[key]}`)
    .join('\u0000');
  return [pod.uid, pod.namespace, pod.name, pod.container, pod.containerId, pod.runtime, pod.workloadKind, pod.workloadName, labels].join('\u0001');
}

/**
 * The agent's side of PodDef: each distinct pod (down to container and labels) is sent once
 * per stream session and then referred to by number, so a socket's message carries its own fields
 * only, not its pod's names and labels again. Sockets without a pod pass unchanged. When a long session has
 * seen MAX_REFS pods (pod churn), numbering starts again at 1 and refs are redefined as used.
 */
export class PodDictionary {
  private readonly refs = new Map<string, number>();
  private next = 1;

  /** A new stream session: the aggregator knows no refs. */
  reset(): void {
    this.refs.clear();
    this.next = 1;
  }

  /** The sockets as one message carries them, and the PodDefs that message must carry. */
  encode(sockets: readonly Socket[]): { sockets: Socket[]; pods: PodDef[] } {
    const pods: PodDef[] = [];
    const out = sockets.map((socket) => {
      if (!socket.pod) return socket;
      const identity = podIdentity(socket.pod);
      let ref = this.refs.get(identity);
      if (ref === undefined) {
        if (this.next > MAX_REFS) this.reset();
        ref = this.next++;
        this.refs.set(identity, ref);
        pods.push({ ref, pod: socket.pod });
      }
      return { ...socket, pod: undefined, podRef: ref };
    });
    return { sockets: out, pods };
  }
}
