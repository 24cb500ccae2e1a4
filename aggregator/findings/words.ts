import type { PodTally } from './pass.js';
import type { Evidence, FindingPeer } from './types.js';

/** How findings put figures into words, shared by every rule's text. */

/** A duration as people say it: `45 s`, `14 min`, `2 h 5 min`, `3 d 4 h`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function podName(pod: PodTally): string {
  return `${pod.namespace}/${pod.name}`;
}

/** `container cart, process python3 (pid 4242)`; what the evidence names of who holds the sockets. */
export function holders(evidence: Evidence): string {
  const parts: string[] = [];
  if (evidence.containers.length > 0) parts.push(`${evidence.containers.length === 1 ? 'container' : 'containers'} ${evidence.containers.join(', ')}`);
  const named = evidence.processes.slice(0, 3).map((process) => `${process.name || 'pid'} ${process.name ? `(pid ${process.pid})` : process.pid}`);
  if (named.length > 0) parts.push(`${evidence.processes.length === 1 ? 'process' : 'processes'} ${named.join(', ')}${evidence.processes.length > 3 ? ', ...' : ''}`);
  return parts.join(', ');
}

/** ` (container cart, process python3 (pid 4242))`, or nothing when the evidence names nobody. */
export function heldBy(evidence: Evidence): string {
  const text = holders(evidence);
  return text ? ` (${text})` : '';
}

/** One peer: `10.0.3.7:5432 (pod db/postgres-0)`, `10.244.1.9 (service shop/cart)`. */
export function peerText(peer: FindingPeer): string {
  const at = peer.port === null ? peer.address : peer.address.includes(':') ? `[${peer.address}]:${peer.port}` : `${peer.address}:${peer.port}`;
  const name = peer.peer && (peer.peer.name ? `${peer.peer.kind} ${peer.peer.namespace ? `${peer.peer.namespace}/` : ''}${peer.peer.name}` : peer.peer.kind);
  return name ? `${at} (${name})` : at;
}

/** `; peers: 10.0.0.2:5432 (12), 10.0.0.3 (3)`, or nothing. */
export function peersText(evidence: Evidence): string {
  if (evidence.peers.length === 0) return '';
  const shown = evidence.peers.slice(0, 3).map((peer) => `${peerText(peer)} ×${peer.sockets}`);
  return `; peers ${shown.join(', ')}${evidence.peers.length > 3 ? ', ...' : ''}`;
}

/** What `kubectl netstat` lists these sockets with. */
export function listCommand(pod: PodTally, flags: string): string {
  return `kubectl netstat -n ${pod.namespace} --pod ${pod.name} ${flags}`;
}
