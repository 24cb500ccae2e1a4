import type { Peer } from '../../gen/kubenetstat/v1/socket.js';
import type { PeerItem } from './socket-list.js';

/** Short kind names, as kubectl abbreviates them. */
const KIND_TEXT: Readonly<Record<string, string>> = { pod: 'pod', service: 'svc', node: 'node' };

/**
 * A peer as one column of wide output, one word as kubectl's columns are (so `awk` still
 * splits rows): `pod/shop/cart-1`, `svc/shop/cart`, `node/node-b`, `local`, `external`; `-`
 * when there is no peer. The Services a pod backs are in `-o json` (peer.services).
 */
export function peerText(peer: Pick<PeerItem, 'kind' | 'namespace' | 'name'> | null): string {
  if (!peer) return '-';
  const kind = KIND_TEXT[peer.kind] ?? peer.kind;
  if (peer.name === null || peer.name === '') return kind;
  return `${kind}/${peer.namespace ? `${peer.namespace}/` : ''}${peer.name}`;
}

/** The JSON form of an answer's Peer. */
export function peerItem(peer: Peer | undefined): PeerItem | null {
  return peer ? { kind: peer.kind, namespace: peer.namespace || null, name: peer.name || null, services: [...peer.services] } : null;
}
