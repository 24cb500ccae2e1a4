import type { Peer } from '../../gen/kubenetstat/v1/socket.js';

/**
 * Contracts of peer names: what the aggregator keeps of the cluster's pods, services, nodes and
 * endpointslices to name the far end of a socket, and the resolver queries ask.
 */

/** Peer.kind: what an address belongs to. */
export type PeerKind = 'pod' | 'service' | 'node' | 'local' | 'external';

/**
 * What the index keeps of one API object: the addresses it claims (canonical IP text, see
 * ip.ts) and the few fields a name needs. Every kind has `ips`, so one sink indexes them all.
 */
export type AddressOwner = PodAddresses | ServiceAddresses | NodeAddresses | ServiceEndpoints;

export interface PodAddresses {
  readonly kind: 'pod';
  readonly namespace: string;
  readonly name: string;
  /** status.podIPs; none once the pod has finished (its IP may already be another pod's). */
  readonly ips: readonly string[];
  /** A hostNetwork pod's IPs are its node's. */
  readonly hostNetwork: boolean;
  readonly nodeName: string;
  /** hostNetwork pods only: declared containerPorts (any protocol), which name the pod on its node's IP. */
  readonly ports: readonly number[];
}

export interface ServiceAddresses {
  readonly kind: 'service';
  readonly namespace: string;
  readonly name: string;
  /** spec.clusterIPs; none for headless (`None`) and ExternalName services. */
  readonly ips: readonly string[];
}

export interface NodeAddresses {
  readonly kind: 'node';
  readonly name: string;
  /** status.addresses of type InternalIP and ExternalIP. */
  readonly ips: readonly string[];
  /** What the API says of the node itself, for nodes without a live agent (ClusterNode). */
  readonly condition: ClusterNode;
}

/** A Node as the API lists it: what makes it not ready or unschedulable. */
export interface ClusterNode {
  /** Its Ready condition is True. */
  readonly ready: boolean;
  /** spec.unschedulable (kubectl cordon). */
  readonly cordoned: boolean;
}

/** One EndpointSlice: the addresses behind a service. */
export interface ServiceEndpoints {
  readonly kind: 'endpoints';
  /** `namespace/name` of the service (label kubernetes.io/service-name). */
  readonly service: string;
  /** Every endpoint's addresses, ready or not: the pods the service selects. */
  readonly ips: readonly string[];
}

/** A peer as answers carry it: shared by every socket with the same peer, never mutated. */
export interface ResolvedPeer {
  readonly message: Peer;
  /** The Peer message encoded (without its tag), for answers assembled from stored bytes. */
  readonly bytes: Uint8Array;
}

/** Names the far end of sockets; never throws. */
export interface PeerResolver {
  /**
   * The peer behind a foreign endpoint, given as the socket store holds it (inet_ntop text;
   * IPv4-mapped IPv6 matches the IPv4 address) and its port (0 for none). undefined when there
   * is nothing to name — an empty or unspecified address (unix, listening, unconnected) — or
   * when the cluster is not known (yet): answers then carry no peer rather than a wrong one.
   */
  peerOf(address: string, port: number): ResolvedPeer | undefined;
  /** Every Node the API lists, by name; undefined until listed once, or without cluster access. */
  clusterNodes?(): ReadonlyMap<string, ClusterNode> | undefined;
}
