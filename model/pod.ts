/** Pods as attribution knows them, and how a socket was tied to one: shared by every program. */

/** The workload that owns a pod, as `kubectl` users name it. */
export interface WorkloadRef {
  readonly kind: string;
  readonly name: string;
}

/** What the Kubernetes API says about one pod, reduced to what attribution needs. */
/**
 * The container name shown for the pod's sandbox (the pause process, which holds the network
 * namespace): what kubelet named its infra container, never a real container's name (those are
 * lower-case DNS labels).
 */
export const SANDBOX_CONTAINER = 'POD';

export interface PodMeta {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly workload?: WorkloadRef;
  readonly hostNetwork: boolean;
  readonly podIPs: readonly string[];
  readonly nodeName?: string;
  /** Container ID (64 hex, no runtime prefix) → container name; current and previous instances. */
  readonly containers: ReadonlyMap<string, string>;
  /**
   * Every container of the spec (init and app) has been given an ID in the status: a process
   * of the pod in none of `containers` is then the pod's sandbox (SANDBOX_CONTAINER).
   */
  readonly allContainersStarted?: boolean;
  /** A static pod's config hash (`kubernetes.io/config.mirror`): its cgroups carry this, not metadata.uid. */
  readonly configHash?: string;
  /** Set when the API deleted the pod; kept for a grace period so lingering sockets keep a name. */
  readonly deletedAt?: Date;
}

/**
 * Looks pods up by the UID found in a cgroup path. Implementations document what they return
 * when nothing is known; none throws.
 */
export interface PodResolver {
  /** By metadata.uid or a static pod's config hash; undefined when unknown or past its grace period. */
  byUid(uid: string): PodMeta | undefined;
}

/**
 * A resolver that says when its answers may have changed: the agent keeps each namespace's
 * attribution across scans while `version` stays put.
 */
export interface VersionedPodResolver extends PodResolver {
  /** Moves whenever some lookup could answer differently than before: a pod added, changed, deleted, or past its grace period. */
  readonly version: number;
}

/** How a socket was tied to its pod: the reason behind the answer, for operators and tests. */
export type AttributionSource =
  /** A process holding the socket, by its cgroup. */
  | 'process'
  /** The pod's own network namespace (sockets no process holds: TIME_WAIT, request sockets, orphans). */
  | 'namespace'
  /** A listener on the same port in the same namespace (host network, no holder). */
  | 'listener'
  | 'none';

export interface SocketAttribution {
  /** The pod UID from cgroups (dashed UUID or static config hash); null on the host. */
  readonly podUid: string | null;
  /** API metadata, when the resolver knows the pod. */
  readonly pod?: PodMeta;
  readonly containerId: string | null;
  readonly containerName: string | null;
  readonly runtime: string | null;
  /** The socket lives in the host's network namespace. */
  readonly hostNetwork: boolean;
  readonly source: AttributionSource;
}
