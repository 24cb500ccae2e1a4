/** Peer names: what is behind a socket's foreign address, from the cluster's API objects. */
export { ClusterPeers, type ClusterPeersOptions } from './cluster-peers.js';
export { PeerIndex } from './peer-index.js';
export { canonicalIp } from './ip.js';
export { nodeAddressesOf, podAddressesOf, serviceAddressesOf, serviceEndpointsOf } from './api-objects.js';
export type { AddressOwner, ClusterNode, NodeAddresses, PeerKind, PeerResolver, PodAddresses, ResolvedPeer, ServiceAddresses, ServiceEndpoints } from './types.js';
