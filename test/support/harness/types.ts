/**
 * Contracts of the simulated-pod harness: what a test asks for (PodSpec) and what the harness
 * then knows to be true (PodTruth), independent of how it builds it (simulated-node.ts).
 */

export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';
export type CgroupDriver = 'cgroupfs' | 'systemd';
export type Runtime = 'containerd' | 'crio' | 'docker';

/**
 * The sockets a container's process opens, in order, after it was moved into its cgroups.
 * `address` defaults to 0.0.0.0 for listeners and UDP, 127.0.0.1 for clients; an address with
 * a `:` makes an IPv6 socket. A port of 0 lets the kernel choose (read it from the truth).
 */
export type SocketSpec =
  | {
      readonly kind: 'listen';
      readonly port: number;
      readonly address?: string;
      /** A name `connect`/`time-wait` specs of this pod can use instead of a port. */
      readonly label?: string;
      /** What an accepted socket does when its peer closes: close too (default) or leak in CLOSE_WAIT. */
      readonly onPeerClose?: 'close' | 'keep';
      /** false: accepted sockets are held but never read (what peers send stays in their Recv-Q; a FIN is never noticed). Default true. */
      readonly reads?: boolean;
    }
  | {
      readonly kind: 'connect';
      readonly port: number | { readonly label: string };
      readonly address?: string;
      readonly count?: number;
      /** Bytes each connection sends once connected (default none). */
      readonly send?: number;
    }
  /**
   * Short connections in the background, one every `everyMs` for the process's life (or `count`
   * of them): connect, then close first. Each leaves a TIME_WAIT entry here once the peer closes
   * too, or, at a peer that never closes (onPeerClose 'keep'), a CLOSE_WAIT there and an orphaned
   * FIN_WAIT2 here (for tcp_fin_timeout). Not in the process's reports: they come and go.
   */
  | { readonly kind: 'churn'; readonly port: number | { readonly label: string }; readonly address?: string; readonly everyMs: number; readonly count?: number }
  | {
      /**
       * This side closes first, the peer then closes: each leaves a client-side TIME_WAIT entry
       * (no inode, no process). Without `port` the peer is a private listener, closed afterwards;
       * with it, a listener of this pod whose onPeerClose is 'close'.
       */
      readonly kind: 'time-wait';
      readonly port?: number | { readonly label: string };
      readonly address?: string;
      readonly count?: number;
    }
  /**
   * Held client sockets whose peer (a private listener's accepted socket) closed first. Each
   * peer lingers as an orphaned FIN_WAIT2 (inode 0) for tcp_fin_timeout (60 s).
   */
  | { readonly kind: 'close-wait'; readonly address?: string; readonly count?: number }
  | { readonly kind: 'udp'; readonly port: number; readonly address?: string };

export interface ContainerSpec {
  readonly name: string;
  /** Default `docker.io/library/<name>:1.0`. */
  readonly image?: string;
  /** The process's comm (ss/netstat program name); default the container name, cut to 15 bytes. */
  readonly comm?: string;
  readonly sockets?: readonly SocketSpec[];
}

export type OwnerKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

export interface OwnerSpec {
  readonly kind: OwnerKind;
  readonly name: string;
}

export interface PodSpec {
  /** Default `default`. */
  readonly namespace?: string;
  /** Required unless `owner` is given; then generated the way the controller would (`web-5d8f7c9b4-x2k9q`, `db-0`). */
  readonly name?: string;
  /**
   * The UID kubelet knows the pod by, which is the one in its cgroup path: a random UUID by
   * default; for a static pod a 32-hex config hash.
   */
  readonly uid?: string;
  /** A static pod (manifest on the node): 32-hex uid; its API object is the mirror pod. */
  readonly static?: boolean;
  /** Default `burstable`. */
  readonly qos?: QosClass;
  /** Default `systemd`. */
  readonly cgroupDriver?: CgroupDriver;
  /** Default `containerd`. */
  readonly runtime?: Runtime;
  /** Processes stay in the host network namespace; no namespace of its own. */
  readonly hostNetwork?: boolean;
  /**
   * Namespaced sysctls set in the pod's network namespace before any of its processes starts,
   * as kubelet applies securityContext.sysctls (`net.ipv4.ip_local_port_range: '40000 40099'`).
   * Not for hostNetwork pods.
   */
  readonly sysctls?: Readonly<Record<string, string>>;
  /** CRI-O only: one `conmon` per container (sandbox included), in the host netns, in `crio-conmon-<id>`. */
  readonly conmon?: boolean;
  readonly owner?: OwnerSpec;
  /** Added to the labels the owner implies. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly containers: readonly ContainerSpec[];
}

/** One socket as its process reported it (held ones), or as the harness made it (TIME_WAIT). */
export interface SocketTruth {
  readonly proto: 'tcp' | 'tcp6' | 'udp' | 'udp6';
  readonly role: 'listener' | 'client' | 'accepted' | 'udp';
  /** netstat's state name; `UNCONN` for UDP. */
  readonly state: string;
  readonly localAddress: string;
  readonly localPort: number;
  /** null for listeners and unconnected UDP sockets. */
  readonly foreignAddress: string | null;
  readonly foreignPort: number | null;
  /** Decimal string; null for TIME_WAIT entries, which have none. */
  readonly inode: string | null;
  /** The holder's fd; null for TIME_WAIT entries. */
  readonly fd: number | null;
  /** TIME_WAIT entries only: when it was created (ms since the epoch); it lasts 60 s. */
  readonly createdAtMs?: number;
}

export interface ProcessTruth {
  /** null once the process was killed. */
  readonly pid: number | null;
  /** The cgroup path, identical in every hierarchy, as `/proc/<pid>/cgroup` prints it from the root cgroup namespace. */
  readonly cgroupPath: string;
}

export interface ContainerTruth extends ProcessTruth {
  readonly name: string;
  /** 64 lower-case hex. */
  readonly id: string;
  /** As in `status.containerStatuses[].containerID`: `containerd://<id>`, `cri-o://<id>`, `docker://<id>`. */
  readonly statusId: string;
  readonly runtime: Runtime;
  readonly comm: string;
  readonly image: string;
  readonly running: boolean;
  /** The held sockets, as the process reported them just now (empty once stopped). */
  readonly sockets: readonly SocketTruth[];
  /** Client-side TIME_WAIT entries its `time-wait` specs left; they outlive the process. */
  readonly timeWait: readonly SocketTruth[];
}

export interface SandboxTruth extends ProcessTruth {
  /** The sandbox (pause) container id: 64 lower-case hex. It never appears in the pod status. */
  readonly id: string;
}

export interface ConmonTruth extends ProcessTruth {
  /** The id of the container (or sandbox) it monitors, which its cgroup is named after. */
  readonly containerId: string;
}

export interface PodTruth {
  readonly namespace: string;
  readonly name: string;
  /** The UID in the cgroup path: dashed UUID, or the 32-hex config hash of a static pod. */
  readonly uid: string;
  /** metadata.uid of the API object: equal to `uid`, except for a static pod's mirror pod. */
  readonly apiUid: string;
  readonly static: boolean;
  readonly qos: QosClass;
  readonly cgroupDriver: CgroupDriver;
  readonly runtime: Runtime;
  readonly hostNetwork: boolean;
  /** Inode of the pod's network namespace (the host's for hostNetwork), decimal. */
  readonly netnsInode: string;
  /** `ip netns` name (`/run/netns/<name>`); null for hostNetwork. */
  readonly netnsName: string | null;
  readonly podCgroupPath: string;
  readonly sandbox: SandboxTruth;
  readonly conmons: readonly ConmonTruth[];
  readonly containers: readonly ContainerTruth[];
  readonly deleted: boolean;
}

export interface DeleteOptions {
  /**
   * Keep the pod's network namespace, and the TIME_WAIT entries in it, this long after the
   * containers are gone; 0 (default) tears everything down at once. Ignored for hostNetwork.
   */
  readonly keepNetnsMs?: number;
  /**
   * While the namespace is kept, keep the pause process holding it (the window between kubelet
   * killing the containers and StopPodSandbox). Otherwise only the `ip netns` bind mount holds
   * it, and no /proc/<pid> leads to it.
   */
  readonly keepSandbox?: boolean;
}

export interface NodeOptions {
  /** spec.nodeName of the API objects; default `sim-node-<hex>`. */
  readonly name?: string;
  /**
   * false (default): the unique prefix is the cgroup of a nested node (like
   * `/docker/<node-id>` for kind/k3d seen from the host) and kubelet's names start below it:
   * `/<prefix>/kubepods/...`, `/<prefix>/kubepods.slice/...`.
   * true: kubelet runs with `--cgroup-root=/<prefix>`, as kind sets `cgroupRoot: /kubelet`; the
   * systemd driver then folds the root into every slice name:
   * `/<prefix_>.slice/<prefix_>-kubepods.slice/<prefix_>-kubepods-burstable.slice/...`.
   */
  readonly kubeletCgroupRoot?: boolean;
  /** status.hostIP of its pods, and podIP of hostNetwork pods (data only, never dialled). Default 10.0.0.10. */
  readonly internalIP?: string;
  /** First three octets of the pod IPs it hands out (data only). Default 10.244.1. */
  readonly podSubnet?: string;
}
