import type { V1EndpointSlice, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';
import { canonicalIp } from './ip.js';
import type { NodeAddresses, PodAddresses, ServiceAddresses, ServiceEndpoints } from './types.js';

/**
 * What the peer index keeps of each API object (the informers' `keep`): addresses and names,
 * never the objects. Type-only imports: the client library is loaded only with cluster access.
 */

function canonicalIps(texts: readonly (string | undefined)[]): string[] {
  const ips = new Set<string>();
  for (const text of texts) {
    const ip = text ? canonicalIp(text) : undefined;
    if (ip !== undefined) ips.add(ip);
  }
  return [...ips];
}

/** A finished pod's IP goes back to the node's pool (kubelet), so it claims none. */
const FINISHED_PHASES = new Set(['Succeeded', 'Failed']);

export function podAddressesOf(pod: V1Pod): PodAddresses {
  const finished = FINISHED_PHASES.has(pod.status?.phase ?? '');
  const hostNetwork = pod.spec?.hostNetwork === true;
  const listed = (pod.status?.podIPs ?? []).map((entry) => entry.ip);
  return {
    kind: 'pod',
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    ips: finished ? [] : canonicalIps(listed.length > 0 ? listed : [pod.status?.podIP]),
    hostNetwork,
    nodeName: pod.spec?.nodeName ?? '',
    ports: hostNetwork ? [...new Set((pod.spec?.containers ?? []).flatMap((container) => (container.ports ?? []).map((port) => port.containerPort)))] : [],
  };
}

export function serviceAddressesOf(service: V1Service): ServiceAddresses {
  const clusterIPs = service.spec?.clusterIPs ?? [];
  return {
    kind: 'service',
    namespace: service.metadata?.namespace ?? '',
    name: service.metadata?.name ?? '',
    // "None" (headless) is no IP; canonicalIp drops it.
    ips: canonicalIps(clusterIPs.length > 0 ? clusterIPs : [service.spec?.clusterIP]),
  };
}

/** Addresses that are the node's own on the network; Hostname and InternalDNS are names. */
const NODE_IP_TYPES = new Set(['InternalIP', 'ExternalIP']);

export function nodeAddressesOf(node: V1Node): NodeAddresses {
  return {
    kind: 'node',
    name: node.metadata?.name ?? '',
    ips: canonicalIps((node.status?.addresses ?? []).filter((address) => NODE_IP_TYPES.has(address.type)).map((address) => address.address)),
    condition: {
      ready: (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True'),
      cordoned: node.spec?.unschedulable === true,
    },
  };
}

/** The EndpointSlice controller labels each slice with its service's name. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** undefined for a slice that names no service (nothing to say about its addresses) or holds FQDNs. */
export function serviceEndpointsOf(slice: V1EndpointSlice): ServiceEndpoints | undefined {
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  if (!service || slice.addressType === 'FQDN') return undefined;
  return {
    kind: 'endpoints',
    service: `${slice.metadata?.namespace ?? ''}/${service}`,
    ips: canonicalIps((slice.endpoints ?? []).flatMap((endpoint) => endpoint.addresses)),
  };
}
