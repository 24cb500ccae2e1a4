import type { PeerItem } from './socket-list.js';

/** Short kind names, as kubectl abbreviates them. */
const KIND_TEXT: Readonly<Record<string, string>> = { pod: 'pod', service: 'svc', node: 'node' };

/**
 * A peer as one column of wide output: `pod shop/cart-1 (svc shop/cart)`, `svc shop/cart`,
 * `node node-b`, `local`, `external` (with the services whose EndpointSlices list it, if any);
 * `-` when there is no peer, as other empty columns.
 */
export function peerText(peer: PeerItem | null): string {
  if (!peer) return '-';
  const name = peer.name === null ? '' : ` ${peer.namespace === null ? '' : `${peer.namespace}/`}${peer.name}`;
  const services = peer.services.length > 0 ? ` (svc ${peer.services.join(', ')})` : '';
  return `${KIND_TEXT[peer.kind] ?? peer.kind}${name}${services}`;
}
