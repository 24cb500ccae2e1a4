/**
 * Builders for the objects tests seed the store with, shaped like what a real cluster returns
 * (the fields kubectl prints and the agent reads), with every optional part explicit.
 */
import { isIP } from 'node:net';
import type { KubeObject } from './types.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodFixture {
  readonly name: string;
  readonly namespace: string;
  /** Unscheduled when absent. */
  readonly nodeName?: string;
  readonly labels?: Record<string, string>;
  /** Default Running. */
  readonly phase?: PodPhase;
  readonly uid?: string;
  readonly hostNetwork?: boolean;
  /** status.podIP, and status.podIPs when `podIPs` is absent. */
  readonly podIP?: string;
  /** status.podIPs of a dual-stack pod (the first is status.podIP). */
  readonly podIPs?: readonly string[];
  /** Default one container named "main"; containerID as the kubelet reports it ("containerd://<64 hex>"). */
  readonly containers?: readonly { name: string; containerID?: string; ports?: readonly ContainerPortFixture[] }[];
}

export interface ContainerPortFixture {
  readonly containerPort: number;
  /** Default TCP. */
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
  readonly name?: string;
}

export function pod(fixture: PodFixture): KubeObject {
  const containers = fixture.containers ?? [{ name: 'main' }];
  const phase = fixture.phase ?? 'Running';
  const podIPs = fixture.podIPs ?? (fixture.podIP !== undefined ? [fixture.podIP] : []);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: fixture.name, namespace: fixture.namespace, ...(fixture.uid !== undefined && { uid: fixture.uid }), ...(fixture.labels && { labels: fixture.labels }) },
    spec: {
      ...(fixture.nodeName !== undefined && { nodeName: fixture.nodeName }),
      ...(fixture.hostNetwork && { hostNetwork: true }),
      containers: containers.map(({ name, ports }) => ({
        name,
        image: `registry.example/${name}:1`,
        ...(ports && { ports: ports.map((port) => ({ ...(port.name !== undefined && { name: port.name }), containerPort: port.containerPort, protocol: port.protocol ?? 'TCP' })) }),
      })),
    },
    status: {
      phase,
      ...(podIPs.length > 0 && { podIP: podIPs[0], podIPs: podIPs.map((ip) => ({ ip })) }),
      containerStatuses: containers.map(({ name, containerID }) => ({
        name,
        image: `registry.example/${name}:1`,
        ready: phase === 'Running',
        restartCount: 0,
        ...(containerID !== undefined && { containerID }),
      })),
    },
  };
}

/** A node's status.addresses beyond its Hostname, as the kubelet (or cloud provider) reports them. */
export interface NodeAddressFixture {
  readonly internalIPs?: readonly string[];
  readonly externalIPs?: readonly string[];
}

export function node(name: string, labels: Record<string, string> = {}, addresses?: NodeAddressFixture): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: {},
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      nodeInfo: { kubeletVersion: 'v1.32.0' },
      ...(addresses && {
        addresses: [
          ...(addresses.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })),
          ...(addresses.externalIPs ?? []).map((address) => ({ type: 'ExternalIP', address })),
          { type: 'Hostname', address: name },
        ],
      }),
    },
  };
}

export interface ServicePortFixture {
  readonly port: number;
  /** Default the port. */
  readonly targetPort?: number;
  readonly name?: string;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface ServiceFixture {
  readonly name: string;
  readonly namespace: string;
  /** spec.clusterIPs (one per IP family); a headless service ("None") when absent or empty. */
  readonly clusterIPs?: readonly string[];
  readonly selector?: Record<string, string>;
  /** Default one port, 80. */
  readonly ports?: readonly ServicePortFixture[];
}

export function service(fixture: ServiceFixture): KubeObject {
  const clusterIPs = fixture.clusterIPs?.length ? fixture.clusterIPs : ['None'];
  const families = fixture.clusterIPs?.length ? fixture.clusterIPs.map((ip) => (isIP(ip) === 6 ? 'IPv6' : 'IPv4')) : ['IPv4'];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: fixture.name, namespace: fixture.namespace },
    spec: {
      type: 'ClusterIP',
      clusterIP: clusterIPs[0],
      clusterIPs: [...clusterIPs],
      ipFamilies: families,
      ipFamilyPolicy: families.length > 1 ? 'PreferDualStack' : 'SingleStack',
      ...(fixture.selector && { selector: fixture.selector }),
      ports: (fixture.ports ?? [{ port: 80 }]).map((port) => ({
        ...(port.name !== undefined && { name: port.name }),
        protocol: port.protocol ?? 'TCP',
        port: port.port,
        targetPort: port.targetPort ?? port.port,
      })),
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

export interface EndpointFixture {
  readonly addresses: readonly string[];
  /** Default true. */
  readonly ready?: boolean;
  readonly nodeName?: string;
  /** The pod behind the address (targetRef), in the slice's namespace. */
  readonly pod?: string;
}

export interface EndpointSliceFixture {
  readonly namespace: string;
  /** The service it belongs to (label kubernetes.io/service-name, owner reference). */
  readonly service: string;
  /** Default `<service>-<suffix>`, as the controller's generateName makes it. */
  readonly name?: string;
  readonly suffix?: string;
  /** The owning service's metadata.uid, for its owner reference; none when absent. */
  readonly serviceUid?: string;
  /** Default IPv4. */
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly EndpointFixture[];
  /** Default one port, 80/TCP. */
  readonly ports?: readonly { name?: string; port: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
}

/** An EndpointSlice as the EndpointSlice controller writes it for a service with a selector. */
export function endpointSlice(fixture: EndpointSliceFixture): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: fixture.name ?? `${fixture.service}-${fixture.suffix ?? 'x7k2p'}`,
      namespace: fixture.namespace,
      generateName: `${fixture.service}-`,
      labels: { 'kubernetes.io/service-name': fixture.service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ...(fixture.serviceUid !== undefined && {
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: fixture.service, uid: fixture.serviceUid, controller: true, blockOwnerDeletion: true }],
      }),
    },
    addressType: fixture.addressType ?? 'IPv4',
    endpoints: fixture.endpoints.map((endpoint) => ({
      addresses: [...endpoint.addresses],
      conditions: { ready: endpoint.ready ?? true, serving: endpoint.ready ?? true, terminating: false },
      ...(endpoint.nodeName !== undefined && { nodeName: endpoint.nodeName }),
      ...(endpoint.pod !== undefined && { targetRef: { kind: 'Pod', namespace: fixture.namespace, name: endpoint.pod } }),
    })),
    ports: (fixture.ports ?? [{ port: 80 }]).map((port) => ({ ...(port.name !== undefined && { name: port.name }), port: port.port, protocol: port.protocol ?? 'TCP' })),
  };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, spec: {}, status: { phase: 'Active' } };
}
