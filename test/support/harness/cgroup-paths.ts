/**
 * cgroup paths exactly as kubelet and the container runtimes name them (reference §6.2–6.5).
 * Pure functions; the paths are what `/proc/<pid>/cgroup` prints from the root cgroup
 * namespace, identical in every v1 hierarchy and in the v2 one.
 */
import type { CgroupDriver, QosClass, Runtime } from './types.js';

export interface CgroupLayout {
  /** A single path component everything hangs under, e.g. `kns-test-1234-9f3a0c1d`. */
  readonly prefix: string;
  /** kubelet `--cgroup-root=/<prefix>` (true) or a nested node's own cgroup (false); see NodeOptions. */
  readonly kubeletCgroupRoot: boolean;
}

/**
 * The pod's cgroup: kubelet's internal name [root…, kubepods, qos (not for Guaranteed),
 * pod<uid>] (QOSContainersInfo, GetPodContainerName), written by the driver: joined with `/`
 * for cgroupfs, or by CgroupName.ToSystemd for systemd.
 */
export function podCgroupPath(layout: CgroupLayout, driver: CgroupDriver, qos: QosClass, uid: string): string {
  const root = layout.kubeletCgroupRoot ? [layout.prefix] : [];
  const name = [...root, 'kubepods', ...(qos === 'guaranteed' ? [] : [qos]), `pod${uid}`];
  const path = driver === 'cgroupfs' ? `/${name.join('/')}` : toSystemd(name);
  return layout.kubeletCgroupRoot ? path : `/${layout.prefix}${path}`;
}

/**
 * CgroupName.ToSystemd: escape `-` as `_` in each component, join with `-`, add `.slice`, then
 * expand into nested slices (systemd's ExpandSlice): a-b-c.slice → /a.slice/a-b.slice/a-b-c.slice.
 */
function toSystemd(components: readonly string[]): string {
  const escaped = components.map((component) => component.replaceAll('-', '_'));
  return escaped.map((_, index) => `/${escaped.slice(0, index + 1).join('-')}.slice`).join('');
}

/** The container's (or sandbox's) cgroup below the pod cgroup (containerd getCgroupsPath, CRI-O, cri-dockerd). */
export function containerCgroupPath(podPath: string, driver: CgroupDriver, runtime: Runtime, id: string): string {
  if (driver === 'systemd') {
    const unit = { containerd: 'cri-containerd', crio: 'crio', docker: 'docker' }[runtime];
    return `${podPath}/${unit}-${id}.scope`;
  }
  return runtime === 'crio' ? `${podPath}/crio-${id}` : `${podPath}/${id}`;
}

/** CRI-O's monitor for a container, placed in the pod cgroup (MoveConmonToCgroup, conmon_cgroup = pod). */
export function conmonCgroupPath(podPath: string, driver: CgroupDriver, containerId: string): string {
  return driver === 'systemd' ? `${podPath}/crio-conmon-${containerId}.scope` : `${podPath}/crio-conmon-${containerId}`;
}

/** status.containerStatuses[].containerID: ContainerID.String, `<runtime type>://<id>`. */
export function statusContainerId(runtime: Runtime, id: string): string {
  return `${{ containerd: 'containerd', crio: 'cri-o', docker: 'docker' }[runtime]}://${id}`;
}
