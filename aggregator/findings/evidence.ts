import { TcpState } from '../../model/socket.js';
import { SANDBOX_CONTAINER } from '../../model/pod.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import type { NodeState } from '../store/index.js';
import type { PeerResolver } from '../peers/types.js';
import { decodeStored } from '../query/index.js';
import type { PodTally } from './pass.js';
import type { Evidence, FindingPeer, FindingProcess, SocketMatch } from './types.js';

/** Processes and peers a finding lists at most (the most involved). */
export const EVIDENCE_TOP = 10;

/**
 * The evidence of a finding: the containers, processes and peers of the pod's sockets that
 * `match`. Only the pod's namespace bucket is walked; at most `decodeLimit` sockets are decoded
 * (for process names), the rest are counted by their first holder's pid. A socket is inbound
 * when its local port is one the pod listens on; its peer is then named by address alone.
 */
export function collectEvidence(pod: PodTally, match: SocketMatch, options: { readonly decodeLimit: number; readonly nowMs: number; readonly peers?: PeerResolver | undefined }): Evidence {
  const containers = new Set<string>();
  const processes = new Map<number, { name: string; comm: string; sockets: number }>();
  const peers = new Map<string, { address: string; port: number; direction: FindingPeer['direction']; sockets: number }>();
  let matched = 0;
  let decoded = 0;
  for (const [node, slots] of podSlots(pod)) {
    const sockets = node.sockets;
    const listening = new Set<number>();
    for (const slot of slots) {
      if (sockets.stateCode(slot) === TcpState.LISTEN && sockets.proto(slot) !== Proto.PROTO_UNIX) listening.add(sockets.localPort(slot));
    }
    for (const slot of slots) {
      if (!match(sockets, slot)) continue;
      matched++;
      // No container holds a TIME_WAIT socket (the pod's namespace, its sandbox, has it): it names none.
      const container = sockets.pod(slot)!.container;
      if (container && container !== SANDBOX_CONTAINER) containers.add(container);
      const pid = sockets.pid(slot);
      if (pid > 0) {
        let process = processes.get(pid);
        if (!process) processes.set(pid, (process = { name: '', comm: '', sockets: 0 }));
        process.sockets++;
        if (!process.name && decoded < options.decodeLimit) {
          decoded++;
          const holder = decodeStored(sockets, slot, node.name)?.processes.find((candidate) => candidate.pid === pid);
          if (holder) {
            process.name = holder.name;
            process.comm = holder.comm;
          }
        }
      }
      const address = sockets.foreignAddress(slot);
      const port = sockets.foreignPort(slot);
      if (!address || port === 0) continue;
      const inbound = listening.has(sockets.localPort(slot));
      const key = inbound ? address : `${address}:${port}`;
      const peer = peers.get(key);
      if (peer) peer.sockets++;
      else peers.set(key, { address, port, direction: inbound ? 'inbound' : 'outbound', sockets: 1 });
    }
  }
  return {
    containers: [...containers].sort(),
    processes: [...processes].map(([pid, process]): FindingProcess => ({ pid, name: process.name, comm: process.comm, sockets: process.sockets })).sort(mostFirst).slice(0, EVIDENCE_TOP),
    peers: [...peers.values()].sort(mostFirst).slice(0, EVIDENCE_TOP).map((peer): FindingPeer => {
      const named = options.peers?.peerOf(peer.address, peer.port)?.message;
      return {
        address: peer.address,
        port: peer.direction === 'inbound' ? null : peer.port,
        direction: peer.direction,
        peer: named ? { kind: named.kind, namespace: named.namespace, name: named.name, services: named.services } : null,
        sockets: peer.sockets,
      };
    }),
    sockets: matched,
    decoded,
    collectedMs: options.nowMs,
  };
}

/** The pod's sockets, node by node (those of the pass's nodes holding the pod): its namespace bucket, filtered by pod name. */
export function podSlots(pod: PodTally): Array<[NodeState, number[]]> {
  const found: Array<[NodeState, number[]]> = [];
  for (const node of [pod.nodeState, ...(pod.moreNodes ?? [])]) {
    const sockets = node.sockets;
    const slots: number[] = [];
    for (const slot of sockets.bucketView(pod.namespace)) if (sockets.pod(slot)?.key === pod.key) slots.push(slot);
    found.push([node, slots]);
  }
  return found;
}

function mostFirst<T extends { readonly sockets: number }>(a: T, b: T): number {
  return b.sockets - a.sockets;
}
