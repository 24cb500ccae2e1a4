import type { V1ContainerStatus, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import type { PodMeta, WorkloadRef } from '../model/pod.js';

/** `containerd://<id>` → `<id>` (ContainerID.String in kubelet's container/runtime.go). */
export function stripRuntimeScheme(containerID: string | undefined): string | undefined {
  if (!containerID) return undefined;
  const at = containerID.indexOf('://');
  return at < 0 ? containerID : containerID.slice(at + 3);
}

/** Minutes since the epoch of 2014-01-01, before which no CronJob can have run. */
const EARLIEST_CRONJOB_MINUTES = 23_139_360;

/**
 * The workload behind a pod, without extra API calls:
 * - ReplicaSet named `<deployment>-<pod-template-hash>` → that Deployment (the hash label is
 *   how the Deployment controller names its ReplicaSets);
 * - Job named `<cronjob>-<scheduled time in Unix minutes>` → that CronJob (the CronJob
 *   controller's naming), only when the suffix is a plausible schedule time;
 * - StatefulSet, DaemonSet, Job and anything else: the controller owner itself.
 */
export function workloadOf(pod: V1Pod, nowMs = Date.now()): WorkloadRef | undefined {
  const owners: V1OwnerReference[] = pod.metadata?.ownerReferences ?? [];
  const owner = owners.find((ref) => ref.controller) ?? owners[0];
  if (!owner) return undefined;
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: owner.name.slice(0, -hash.length - 1) };
  }
  if (owner.kind === 'Job') {
    const match = /^(.+)-(\d{8,})$/.exec(owner.name);
    const minutes = match ? Number(match[2]) : Number.NaN;
    if (match && minutes >= EARLIEST_CRONJOB_MINUTES && minutes <= nowMs / 60_000 + 525_600) return { kind: 'CronJob', name: match[1]! };
  }
  return { kind: owner.kind, name: owner.name };
}

/**
 * Container ID → name for every container instance the status knows: regular, init and
 * ephemeral containers, and the previous instance of a restarted one (its TIME_WAIT sockets
 * outlive it in the pod's namespace: reference §6.7).
 */
function containerNames(pod: V1Pod): Map<string, string> {
  const names = new Map<string, string>();
  const statuses: V1ContainerStatus[] = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  for (const status of statuses) {
    const previous = stripRuntimeScheme(status.lastState?.terminated?.containerID);
    if (previous) names.set(previous, status.name);
    const current = stripRuntimeScheme(status.containerID);
    if (current) names.set(current, status.name);
  }
  return names;
}

/** Whether every container of the spec (init, app) has a status with an ID: none is still to start. */
function allContainersStarted(pod: V1Pod): boolean {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const declared = (pod.spec?.containers?.length ?? 0) + (pod.spec?.initContainers?.length ?? 0);
  return declared > 0 && statuses.length >= declared && statuses.every((status) => Boolean(stripRuntimeScheme(status.containerID)));
}

/** The attribution view of an API pod; undefined for an object without a UID. */
export function podMetaFromApi(pod: V1Pod, nowMs = Date.now()): PodMeta | undefined {
  const uid = pod.metadata?.uid;
  if (!uid) return undefined;
  const annotations = pod.metadata?.annotations ?? {};
  const configHash = annotations['kubernetes.io/config.mirror'] ?? annotations['kubernetes.io/config.hash'];
  const workload = workloadOf(pod, nowMs);
  const podIPs = (pod.status?.podIPs ?? []).map((entry) => entry.ip).filter((ip): ip is string => Boolean(ip));
  if (podIPs.length === 0 && pod.status?.podIP) podIPs.push(pod.status.podIP);
  return {
    uid,
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    labels: pod.metadata?.labels ?? {},
    ...(workload && { workload }),
    hostNetwork: pod.spec?.hostNetwork === true,
    podIPs,
    ...(pod.spec?.nodeName && { nodeName: pod.spec.nodeName }),
    containers: containerNames(pod),
    allContainersStarted: allContainersStarted(pod),
    ...(configHash && { configHash }),
  };
}
