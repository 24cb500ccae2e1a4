import { TcpState, type SocketRecord } from '../../model/socket.js';
import type { HostSockets, NamespaceScan, SocketHolder } from '../scan/types.js';
import type { CgroupIdentity } from './cgroup.js';
import type { IdentityIndex } from './types.js';
import { SANDBOX_CONTAINER, type PodMeta, type PodResolver, type SocketAttribution } from '../../model/pod.js';

export interface AttributedNamespace {
  readonly namespace: NamespaceScan;
  /** The pod whose namespace this is (not set for the host's, which many pods share). */
  readonly podUid?: string;
  /** Parallel to namespace.sockets. */
  readonly sockets: readonly SocketAttribution[];
}

const NONE: Omit<SocketAttribution, 'hostNetwork'> = { podUid: null, containerId: null, containerName: null, runtime: null, source: 'none' };

/**
 * Names the pod and container behind every socket of a scan (reference §5.2):
 *  1. a socket a process holds belongs to that process's pod and container (its cgroup);
 *  2. a socket no process holds (TIME_WAIT, request sockets, orphans, accept-queue children)
 *     in a pod's own namespace belongs to that pod — the namespace is the pod's for its life;
 *  3. in the host namespace, shared by every hostNetwork pod and host daemon, such a socket
 *     belongs to the owner of a listener on the same local port (and address or wildcard);
 *  4. otherwise it is the host's.
 * Containers of inodeless sockets in a pod namespace come from the listener rule too.
 */
export function attributeScan(scan: HostSockets, identities: IdentityIndex, resolver: PodResolver): AttributedNamespace[] {
  return scan.namespaces.map((namespace) => attributeNamespace(namespace, scan.holders, identities, resolver));
}

function attributeNamespace(
  namespace: NamespaceScan,
  holders: ReadonlyMap<string, readonly SocketHolder[]>,
  identities: IdentityIndex,
  resolver: PodResolver,
): AttributedNamespace {
  const podUid = namespace.isHost ? undefined : namespacePod(namespace, identities);
  const hostNetwork = namespace.isHost;
  const base = (attribution: Omit<SocketAttribution, 'hostNetwork'>): SocketAttribution => ({ ...attribution, hostNetwork });
  // Sockets with the same answer share one (read-only) attribution: a namespace can hold
  // tens of thousands of sockets and a handful of answers.
  const byIdentity = new Map<CgroupIdentity, SocketAttribution>();
  const viaListener = new Map<SocketAttribution, SocketAttribution>();
  let unnamedProcess: SocketAttribution | undefined;
  let ownNamespace: SocketAttribution | undefined;
  let none: SocketAttribution | undefined;

  const byProcess = (record: SocketRecord): SocketAttribution | undefined => {
    if (record.inode === '0') return undefined;
    const identity = holderIdentity(holders.get(record.inode), identities, podUid);
    if (!identity) return undefined;
    if (identity.podUid === undefined) return podUid === undefined ? (unnamedProcess ??= base({ ...NONE, source: 'process' })) : undefined;
    let attribution = byIdentity.get(identity);
    if (!attribution) {
      attribution = base(fromIdentity(identity, resolver.byUid(identity.podUid), 'process'));
      byIdentity.set(identity, attribution);
    }
    return attribution;
  };

  const sockets: Array<SocketAttribution | undefined> = namespace.sockets.map(byProcess);

  // Listeners by port, to place sockets without a holder (reference §5.2, "listener match").
  const listeners = new Map<number, Array<{ address: string; attribution: SocketAttribution }>>();
  namespace.sockets.forEach((record, i) => {
    const attribution = sockets[i];
    if (record.proto === 'unix' || record.stateCode !== TcpState.LISTEN || !attribution) return;
    const list = listeners.get(record.localPort) ?? [];
    list.push({ address: record.localAddress, attribution });
    listeners.set(record.localPort, list);
  });
  /** The listener's attribution with this source (one source per namespace: 'namespace' in a pod's, else 'listener'). */
  const fromListener = (listener: SocketAttribution, source: 'namespace' | 'listener'): SocketAttribution => {
    let attribution = viaListener.get(listener);
    if (!attribution) {
      attribution = { ...listener, source };
      viaListener.set(listener, attribution);
    }
    return attribution;
  };

  const attributed = namespace.sockets.map((record, i): SocketAttribution => {
    const known = sockets[i];
    if (known) return known;
    const listener = record.proto === 'unix' ? undefined : listenerFor(listeners.get(record.localPort), record.localAddress);
    if (podUid !== undefined) {
      if (listener && listener.podUid === podUid) return fromListener(listener, 'namespace');
      if (!ownNamespace) {
        const pod = resolver.byUid(podUid);
        ownNamespace = base({ ...NONE, podUid, ...(pod && { pod }), source: 'namespace' });
      }
      return ownNamespace;
    }
    if (listener) return fromListener(listener, 'listener');
    return (none ??= base(NONE));
  });
  return { namespace, ...(podUid !== undefined && { podUid }), sockets: attributed };
}

/** The pod most of a namespace's processes belong to; ties go to the lowest pid's. */
function namespacePod(namespace: NamespaceScan, identities: IdentityIndex): string | undefined {
  const votes = new Map<string, number>();
  for (const pid of namespace.pids) {
    const identity = identities.get(pid);
    if (identity?.podUid === undefined || identity.runtimeHelper) continue;
    votes.set(identity.podUid, (votes.get(identity.podUid) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestVotes = 0;
  for (const [uid, count] of votes) {
    if (count > bestVotes) {
      best = uid;
      bestVotes = count;
    }
  }
  return best;
}

/**
 * The identity that names a socket's owner: the first holder (lowest pid) in the namespace's
 * pod with a container, else the first holder with a readable cgroup.
 */
function holderIdentity(list: readonly SocketHolder[] | undefined, identities: IdentityIndex, podUid: string | undefined): CgroupIdentity | undefined {
  if (!list) return undefined;
  let fallback: CgroupIdentity | undefined;
  for (const holder of list) {
    const identity = identities.get(holder.pid);
    if (!identity) continue;
    if (identity.containerId !== undefined && !identity.runtimeHelper && (podUid === undefined || identity.podUid === podUid)) return identity;
    fallback ??= identity;
  }
  return fallback;
}

function fromIdentity(identity: CgroupIdentity, pod: PodMeta | undefined, source: SocketAttribution['source']): Omit<SocketAttribution, 'hostNetwork'> {
  const containerId = identity.containerId ?? null;
  return {
    podUid: identity.podUid ?? null,
    ...(pod && { pod }),
    containerId,
    containerName: containerId === null ? null : (pod?.containers.get(containerId) ?? (pod?.allContainersStarted ? SANDBOX_CONTAINER : null)),
    runtime: identity.runtime ?? null,
    source,
  };
}

function listenerFor(candidates: ReadonlyArray<{ address: string; attribution: SocketAttribution }> | undefined, address: string): SocketAttribution | undefined {
  if (!candidates) return undefined;
  const exact = candidates.find((candidate) => candidate.address === address);
  if (exact) return exact.attribution;
  return candidates.find((candidate) => candidate.address === '0.0.0.0' || candidate.address === '::')?.attribution;
}
