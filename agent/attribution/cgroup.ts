/**
 * What a process's cgroup path says about it: pod UID, QoS class, cgroup driver, container ID
 * and runtime. Pure functions over /proc/<pid>/cgroup text (reference §6). Patterns anchor on
 * the pod and container components, never on the path start: nested clusters (kind, k3s in a
 * container) add prefixes, and cgroup namespaces print `..`-relative paths (§6.5–6.6).
 */

export type CgroupDriver = 'cgroupfs' | 'systemd';
export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';
/** The runtime a container-ID component names; `undefined` for a bare 64-hex leaf (containerd or Docker under cgroupfs). */
export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';

export interface CgroupIdentity {
  /** The path the identity was read from (v2 unless the v2 path is just `/`). */
  readonly path: string;
  /** Pod UID as the API spells it: dashed UUID, or the 32-hex config hash of a static pod. */
  readonly podUid?: string;
  readonly qos?: QosClass;
  readonly driver?: CgroupDriver;
  /** 64 lower-case hex. For a runtime helper (conmon), the container it monitors. */
  readonly containerId?: string;
  readonly runtime?: ContainerRuntime;
  /** A container monitor (CRI-O's conmon, Podman's) rather than a container: host namespaces. */
  readonly runtimeHelper?: boolean;
}

export interface ProcCgroup {
  /** The `0::<path>` line (cgroup v2 or the unified hierarchy of a hybrid host). */
  readonly unified?: string;
  /** v1 hierarchies by controller name (`memory`, `cpu`, `name=systemd`, ...). */
  readonly v1: ReadonlyMap<string, string>;
}

/** Parses `/proc/<pid>/cgroup`: `<id>:<controllers>:<path>` lines (proc_cgroup_show). */
export function parseProcCgroup(text: string): ProcCgroup {
  let unified: string | undefined;
  const v1 = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') unified = path;
    else for (const controller of controllers.split(',')) if (controller) v1.set(controller, path);
  }
  return unified === undefined ? { v1 } : { unified, v1 };
}

/** Preference among v1 hierarchies when the unified path says nothing (reference §6.9). */
const V1_PREFERENCE = ['memory', 'cpu', 'name=systemd', 'pids', 'cpuacct'];

/** The path to read identity from: v2 unless it is `/` (older runtimes on hybrid hosts), then v1. */
export function selectCgroupPath(cgroup: ProcCgroup): string | undefined {
  if (cgroup.unified !== undefined && cgroup.unified !== '/') return cgroup.unified;
  for (const controller of V1_PREFERENCE) {
    const path = cgroup.v1.get(controller);
    if (path !== undefined) return path;
  }
  return cgroup.unified ?? cgroup.v1.values().next().value;
}

const UUID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}';
const CONFIG_HASH = '[0-9a-f]{32}';
/** `pod<uid>` (cgroupfs) or `…-pod<uid_with_underscores>.slice` (systemd). */
const POD_COMPONENT = new RegExp(`^(?:pod(${UUID}|${CONFIG_HASH})|(?:.*-)?pod(${UUID}|${CONFIG_HASH})\\.slice)$`);
const ID = '([0-9a-f]{64})';
const CONTAINER_COMPONENTS: ReadonlyArray<{ pattern: RegExp; runtime?: ContainerRuntime; helper?: boolean }> = [
  { pattern: new RegExp(`^crio-conmon-${ID}(?:\\.scope)?$`), runtime: 'cri-o', helper: true },
  { pattern: new RegExp(`^libpod-conmon-${ID}(?:\\.scope)?$`), runtime: 'podman', helper: true },
  { pattern: new RegExp(`^cri-containerd-${ID}\\.scope$`), runtime: 'containerd' },
  { pattern: new RegExp(`^crio-${ID}(?:\\.scope)?$`), runtime: 'cri-o' },
  { pattern: new RegExp(`^docker-${ID}\\.scope$`), runtime: 'docker' },
  { pattern: new RegExp(`^libpod-${ID}\\.scope$`), runtime: 'podman' },
  { pattern: new RegExp(`^${ID}$`) },
];

/** Reads pod, QoS, driver and container from a cgroup path; fields stay absent when not found. */
export function identifyCgroupPath(path: string): CgroupIdentity {
  const components = path.split('/');
  let podIndex = -1;
  let podUid: string | undefined;
  for (let i = components.length - 1; i >= 0; i--) {
    const match = POD_COMPONENT.exec(components[i]!);
    if (match) {
      podIndex = i;
      podUid = (match[1] ?? match[2])!.replaceAll('_', '-');
      break;
    }
  }
  if (podUid === undefined) return { path };

  const podComponent = components[podIndex]!;
  const driver: CgroupDriver = podComponent.endsWith('.slice') ? 'systemd' : 'cgroupfs';
  let qos: QosClass = 'Guaranteed';
  for (const component of components.slice(0, podIndex + 1)) {
    if (component === 'burstable' || component.endsWith('-burstable.slice')) qos = 'Burstable';
    if (component === 'besteffort' || component.endsWith('-besteffort.slice')) qos = 'BestEffort';
  }
  // Sub-cgroups below a container (crun's `container`, systemd-in-container's init.scope) mean
  // the nearest matching ancestor below the pod wins, not the leaf.
  for (let i = components.length - 1; i > podIndex; i--) {
    for (const { pattern, runtime, helper } of CONTAINER_COMPONENTS) {
      const match = pattern.exec(components[i]!);
      if (!match) continue;
      return {
        path,
        podUid,
        qos,
        driver,
        containerId: match[1]!,
        ...(runtime && { runtime }),
        ...(helper && { runtimeHelper: true }),
      };
    }
  }
  return { path, podUid, qos, driver };
}

/**
 * Identity of a process from the text of its /proc/<pid>/cgroup: the selected path first; when
 * that names no pod, any v1 hierarchy that does (a runtime that manages v1 only, on a hybrid
 * host whose unified path points elsewhere).
 */
export function identifyProcCgroup(text: string): CgroupIdentity | undefined {
  const cgroup = parseProcCgroup(text);
  const path = selectCgroupPath(cgroup);
  if (path === undefined) return undefined;
  const identity = identifyCgroupPath(path);
  if (identity.podUid !== undefined) return identity;
  for (const controller of V1_PREFERENCE) {
    const v1 = cgroup.v1.get(controller);
    if (v1 === undefined || v1 === path) continue;
    const fallback = identifyCgroupPath(v1);
    if (fallback.podUid !== undefined) return fallback;
  }
  return identity;
}
