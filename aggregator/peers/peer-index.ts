import type { InformerSink } from '../../kube/informer.js';
import { Peer } from '../../gen/kubenetstat/v1/socket.js';
import { isLoopback, isUnspecified, socketIp } from './ip.js';
import type { AddressOwner, PeerKind, PeerResolver, PodAddresses, ResolvedPeer, ServiceAddresses } from './types.js';

/** A peer and its encoding (made the first time an encoded answer carries it). */
class NamedPeer implements ResolvedPeer {
  private encoded: Uint8Array | undefined;
  readonly message: Peer;

  constructor(kind: PeerKind, namespace: string, name: string, services: readonly string[]) {
    this.message = { kind, namespace, name, services: [...services] };
  }

  get bytes(): Uint8Array {
    return (this.encoded ??= Peer.encode(this.message).finish());
  }
}

const LOCAL = new NamedPeer('local', '', '', []);
const EXTERNAL = new NamedPeer('external', '', '', []);

/**
 * Everything that claims one IP address, and the peer it resolves to (worked out on the first
 * lookup after a change). Usually one owner; several when a pod's IP is reused before the old
 * pod's deletion arrives, when hostNetwork pods share their node's IP, or when EndpointSlices
 * list it. The owner that wins, in order:
 *  1. a Service's ClusterIP;
 *  2. a pod (not hostNetwork); of two, the latest claim;
 *  3. on a node's IP, a hostNetwork pod when the port is one of its containerPorts — the only
 *     way to tell it from the node and the node's other hostNetwork pods;
 *  4. the node (by its status.addresses, else the node a hostNetwork pod on this IP runs on);
 *  5. otherwise `external`, still naming the Services whose EndpointSlices list the address.
 * Pods and nodes carry those Services too.
 */
class AddressEntry {
  readonly owners: AddressOwner[] = [];
  private resolved: NamedPeer | undefined;
  /** hostNetwork pods by containerPort, when rule 3 applies. */
  private byPort: Map<number, NamedPeer> | undefined;

  changed(): void {
    this.resolved = undefined;
    this.byPort = undefined;
  }

  peerAt(port: number): NamedPeer {
    const resolved = (this.resolved ??= this.resolve());
    return (port !== 0 && this.byPort?.get(port)) || resolved;
  }

  /** The peer for any port; fills byPort when rule 3 applies. */
  private resolve(): NamedPeer {
    const services = new Set<string>();
    let service: ServiceAddresses | undefined;
    let pod: PodAddresses | undefined;
    let node: string | undefined;
    const hostPods: PodAddresses[] = [];
    for (const owner of this.owners) {
      if (owner.kind === 'endpoints') services.add(owner.service);
      else if (owner.kind === 'service') service = owner;
      else if (owner.kind === 'node') node = owner.name;
      else if (owner.hostNetwork) hostPods.push(owner);
      else pod = owner;
    }
    if (service) return new NamedPeer('service', service.namespace, service.name, []);
    const backing = [...services].sort();
    if (pod) return new NamedPeer('pod', pod.namespace, pod.name, backing);
    for (const hostPod of hostPods) {
      for (const port of hostPod.ports) (this.byPort ??= new Map()).set(port, new NamedPeer('pod', hostPod.namespace, hostPod.name, backing));
    }
    node ??= hostPods.at(-1)?.nodeName;
    return node ? new NamedPeer('node', '', node, backing) : backing.length > 0 ? new NamedPeer('external', '', '', backing) : EXTERNAL;
  }
}

/**
 * IP address → peer, for the whole cluster: fed incrementally by the informers (it is their
 * sink), looked up once per socket in O(1) (a Map by canonical IP text; the resolved peer is
 * cached per address until something claiming it changes).
 */
export class PeerIndex implements PeerResolver, InformerSink<AddressOwner> {
  private readonly entries = new Map<string, AddressEntry>();

  /** Addresses something in the cluster claims. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Loopback is `local`; an empty or unspecified address has no peer; any other address the
   * cluster does not claim is `external`.
   */
  peerOf(address: string, port: number): ResolvedPeer | undefined {
    const ip = socketIp(address);
    if (isUnspecified(ip)) return undefined;
    if (isLoopback(ip)) return LOCAL;
    return this.entries.get(ip)?.peerAt(port) ?? EXTERNAL;
  }

  upsert(next: AddressOwner, previous: AddressOwner | undefined): void {
    if (previous) this.remove(previous);
    for (const ip of next.ips) {
      let entry = this.entries.get(ip);
      if (!entry) this.entries.set(ip, (entry = new AddressEntry()));
      entry.owners.push(next);
      entry.changed();
    }
  }

  remove(previous: AddressOwner): void {
    for (const ip of previous.ips) {
      const entry = this.entries.get(ip);
      const at = entry ? entry.owners.indexOf(previous) : -1;
      if (!entry || at < 0) continue;
      entry.owners.splice(at, 1);
      entry.changed();
      if (entry.owners.length === 0) this.entries.delete(ip);
    }
  }
}
