/**
 * v1 Pod objects as the API server would serve them for a simulated pod: the JSON wire shape
 * (timestamps as RFC 3339 strings), with what the agent and aggregator read — metadata.uid,
 * labels, ownerReferences, mirror-pod annotations, spec.nodeName/hostNetwork, status.podIP,
 * qosClass and containerStatuses[].containerID. IPs are data only; nothing dials them.
 */
import { imageDigest, stableHash, stableUid } from './ids.js';
import type { OwnerSpec, QosClass, Runtime } from './types.js';

export interface ApiOwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller: boolean;
  readonly blockOwnerDeletion?: boolean;
}

type ResourceList = Readonly<Record<string, string>>;

export interface ApiContainer {
  readonly name: string;
  readonly image: string;
  readonly ports?: readonly { readonly containerPort: number; readonly protocol: 'TCP' | 'UDP' }[];
  readonly resources: { readonly requests?: ResourceList; readonly limits?: ResourceList };
  readonly terminationMessagePath: string;
  readonly terminationMessagePolicy: string;
  readonly imagePullPolicy: string;
}

export type ApiContainerState =
  | { readonly running: { readonly startedAt: string } }
  | {
      readonly terminated: {
        readonly exitCode: number;
        readonly reason: string;
        readonly startedAt: string;
        readonly finishedAt: string;
        readonly containerID: string;
      };
    };

export interface ApiContainerStatus {
  readonly name: string;
  readonly state: ApiContainerState;
  readonly lastState: Record<string, never>;
  readonly ready: boolean;
  readonly restartCount: number;
  readonly image: string;
  readonly imageID: string;
  readonly containerID: string;
  readonly started: boolean;
}

export interface ApiPodCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly lastProbeTime: null;
  readonly lastTransitionTime: string;
}

export interface ApiPod {
  readonly apiVersion: 'v1';
  readonly kind: 'Pod';
  readonly metadata: {
    readonly name: string;
    readonly generateName?: string;
    readonly namespace: string;
    readonly uid: string;
    readonly creationTimestamp: string;
    readonly deletionTimestamp?: string;
    readonly deletionGracePeriodSeconds?: number;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly ApiOwnerReference[];
  };
  readonly spec: {
    readonly nodeName: string;
    readonly hostNetwork?: boolean;
    readonly containers: readonly ApiContainer[];
    readonly restartPolicy: string;
    readonly dnsPolicy: string;
    readonly schedulerName: string;
    readonly serviceAccountName: string;
    readonly terminationGracePeriodSeconds: number;
    readonly priority: number;
    readonly enableServiceLinks: boolean;
    readonly preemptionPolicy: string;
  };
  readonly status: {
    /** Running while a container runs; Failed once all were killed (exit 137). */
    readonly phase: 'Running' | 'Failed';
    readonly conditions: readonly ApiPodCondition[];
    readonly hostIP: string;
    readonly hostIPs: readonly { readonly ip: string }[];
    readonly podIP: string;
    readonly podIPs: readonly { readonly ip: string }[];
    readonly startTime: string;
    readonly qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort';
    readonly containerStatuses: readonly ApiContainerStatus[];
  };
}

/** What a controller gives the pods it creates: their name, labels and owner reference. */
export interface OwnerIdentity {
  readonly name: string;
  readonly generateName?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly ApiOwnerReference[];
}

function controllerRef(apiVersion: string, kind: string, namespace: string, name: string): ApiOwnerReference {
  return { apiVersion, kind, name, uid: stableUid(`${namespace}/${kind}/${name}`), controller: true, blockOwnerDeletion: true };
}

/**
 * The identity a pod created by `owner` gets: a Deployment's pods are owned by its ReplicaSet
 * `<deploy>-<pod-template-hash>` and named `<rs>-<5 chars>`; a StatefulSet's are `<sts>-<ordinal>`;
 * a CronJob's are owned by a Job `<cronjob>-<scheduled minute>`. `suffix` is the random part,
 * `ordinal` the StatefulSet index.
 */
export function ownerIdentity(namespace: string, owner: OwnerSpec, suffix: string, ordinal: number): OwnerIdentity {
  const app = { app: owner.name };
  switch (owner.kind) {
    case 'Deployment': {
      const hash = stableHash(`${namespace}/${owner.name}`);
      const replicaSet = `${owner.name}-${hash}`;
      return {
        name: `${replicaSet}-${suffix}`,
        generateName: `${replicaSet}-`,
        labels: { ...app, 'pod-template-hash': hash },
        ownerReferences: [controllerRef('apps/v1', 'ReplicaSet', namespace, replicaSet)],
      };
    }
    case 'ReplicaSet':
      return {
        name: `${owner.name}-${suffix}`,
        generateName: `${owner.name}-`,
        labels: app,
        ownerReferences: [controllerRef('apps/v1', 'ReplicaSet', namespace, owner.name)],
      };
    case 'StatefulSet': {
      const name = `${owner.name}-${ordinal}`;
      return {
        name,
        generateName: `${owner.name}-`,
        labels: {
          ...app,
          'apps.kubernetes.io/pod-index': String(ordinal),
          'controller-revision-hash': `${owner.name}-${stableHash(`${namespace}/${owner.name}`, 10)}`,
          'statefulset.kubernetes.io/pod-name': name,
        },
        ownerReferences: [controllerRef('apps/v1', 'StatefulSet', namespace, owner.name)],
      };
    }
    case 'DaemonSet':
      return {
        name: `${owner.name}-${suffix}`,
        generateName: `${owner.name}-`,
        labels: { ...app, 'controller-revision-hash': stableHash(`${namespace}/${owner.name}`, 10), 'pod-template-generation': '1' },
        ownerReferences: [controllerRef('apps/v1', 'DaemonSet', namespace, owner.name)],
      };
    case 'Job':
    case 'CronJob': {
      // A CronJob's Job is named after its scheduled time in minutes since the epoch.
      const job = owner.kind === 'Job' ? owner.name : `${owner.name}-${Math.floor(Date.now() / 60_000)}`;
      const ref = controllerRef('batch/v1', 'Job', namespace, job);
      return {
        name: `${job}-${suffix}`,
        generateName: `${job}-`,
        labels: {
          'batch.kubernetes.io/controller-uid': ref.uid,
          'batch.kubernetes.io/job-name': job,
          'controller-uid': ref.uid,
          'job-name': job,
        },
        ownerReferences: [ref],
      };
    }
  }
}

export interface ContainerInput {
  readonly name: string;
  readonly image: string;
  readonly runtime: Runtime;
  readonly statusId: string;
  readonly listenPorts: readonly { readonly port: number; readonly protocol: 'TCP' | 'UDP' }[];
  readonly startedAt: Date;
  /** Set once the container was stopped (SIGKILL: exit code 137). */
  readonly finishedAt: Date | null;
}

export interface PodObjectInput {
  readonly namespace: string;
  readonly name: string;
  /** metadata.uid (a static pod's mirror pod has its own). */
  readonly apiUid: string;
  /** A static pod's config hash, else null. */
  readonly configHash: string | null;
  readonly identity: OwnerIdentity | null;
  readonly extraLabels: Readonly<Record<string, string>>;
  readonly nodeName: string;
  readonly nodeUid: string;
  readonly hostIP: string;
  readonly podIP: string;
  readonly hostNetwork: boolean;
  readonly qos: QosClass;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
  readonly containers: readonly ContainerInput[];
}

/** Requests and limits that make kubelet put the pod in `qos` (GetPodQOS). */
const RESOURCES: Record<QosClass, ApiContainer['resources']> = {
  guaranteed: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
  burstable: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
  besteffort: {},
};

const QOS_CLASS = { guaranteed: 'Guaranteed', burstable: 'Burstable', besteffort: 'BestEffort' } as const;

/** RFC 3339 with whole seconds, as metav1.Time marshals. */
function time(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function buildPodObject(input: PodObjectInput): ApiPod {
  const created = time(input.createdAt);
  const ready = input.containers.every((container) => container.finishedAt === null);
  const condition = (type: string, status: boolean): ApiPodCondition => ({
    type,
    status: status ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: created,
  });
  const mirror = input.configHash === null
    ? undefined
    : {
        'kubernetes.io/config.hash': input.configHash,
        'kubernetes.io/config.mirror': input.configHash,
        'kubernetes.io/config.seen': input.createdAt.toISOString().replace('Z', '000000Z'),
        'kubernetes.io/config.source': 'file',
      };
  // A mirror pod is owned by its Node.
  const ownerReferences = input.configHash !== null
    ? [{ apiVersion: 'v1', kind: 'Node', name: input.nodeName, uid: input.nodeUid, controller: true }]
    : input.identity?.ownerReferences;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.name,
      ...(input.identity?.generateName ? { generateName: input.identity.generateName } : {}),
      namespace: input.namespace,
      uid: input.apiUid,
      creationTimestamp: created,
      ...(input.deletedAt ? { deletionTimestamp: time(input.deletedAt), deletionGracePeriodSeconds: 30 } : {}),
      labels: { ...input.identity?.labels, ...input.extraLabels },
      ...(mirror ? { annotations: mirror } : {}),
      ...(ownerReferences ? { ownerReferences } : {}),
    },
    spec: {
      nodeName: input.nodeName,
      ...(input.hostNetwork ? { hostNetwork: true } : {}),
      containers: input.containers.map((container) => ({
        name: container.name,
        image: container.image,
        ...(container.listenPorts.length > 0
          ? { ports: container.listenPorts.map(({ port, protocol }) => ({ containerPort: port, protocol })) }
          : {}),
        resources: RESOURCES[input.qos],
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      })),
      restartPolicy: input.identity?.ownerReferences[0]?.kind === 'Job' ? 'Never' : 'Always',
      dnsPolicy: input.hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: input.containers.some((container) => container.finishedAt === null) ? 'Running' : 'Failed',
      conditions: [
        condition('PodReadyToStartContainers', true),
        condition('Initialized', true),
        condition('Ready', ready),
        condition('ContainersReady', ready),
        condition('PodScheduled', true),
      ],
      hostIP: input.hostIP,
      hostIPs: [{ ip: input.hostIP }],
      podIP: input.podIP,
      podIPs: [{ ip: input.podIP }],
      startTime: created,
      qosClass: QOS_CLASS[input.qos],
      // kubelet sorts statuses by container name (SortedContainerStatuses).
      containerStatuses: [...input.containers].sort((a, b) => a.name.localeCompare(b.name)).map(containerStatus),
    },
  };
}

function containerStatus(container: ContainerInput): ApiContainerStatus {
  const startedAt = time(container.startedAt);
  const repository = container.image.replace(/:[^/:]*$/, '');
  return {
    name: container.name,
    state: container.finishedAt === null
      ? { running: { startedAt } }
      : {
          terminated: {
            exitCode: 137,
            reason: 'Error',
            startedAt,
            finishedAt: time(container.finishedAt),
            containerID: container.statusId,
          },
        },
    lastState: {},
    ready: container.finishedAt === null,
    restartCount: 0,
    image: container.image,
    imageID: `${container.runtime === 'docker' ? 'docker-pullable://' : ''}${repository}@sha256:${imageDigest(container.image)}`,
    containerID: container.statusId,
    started: container.finishedAt === null,
  };
}
