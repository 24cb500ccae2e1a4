/**
 * What kubelet would ask of the runtime for a rendered pod template, as `docker run` flags: the
 * chart's DaemonSet and Deployment run here exactly as rendered (security contexts, host PID,
 * host paths, projected tokens, environment, arguments), so that the chart and the runtime test
 * cannot drift apart. A field this translation does not know fails loudly rather than being
 * left out: a new securityContext field in the chart must be taught here first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '../helm.js';

interface SecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly privileged?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  readonly seccompProfile?: { readonly type: string };
  readonly appArmorProfile?: { readonly type: string };
}

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly securityContext?: SecurityContext;
  readonly volumeMounts?: ReadonlyArray<{ readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }>;
}

interface Volume {
  readonly name: string;
  readonly hostPath?: { readonly path: string };
  readonly projected?: { readonly sources: ReadonlyArray<{ readonly serviceAccountToken?: { readonly path: string; readonly audience?: string } }> };
}

export interface PodSpec {
  readonly hostPID?: boolean;
  readonly hostNetwork?: boolean;
  readonly automountServiceAccountToken?: boolean;
  readonly serviceAccountName?: string;
  readonly securityContext?: SecurityContext;
  readonly containers: readonly Container[];
  readonly volumes?: readonly Volume[];
}

/** The pod template of a rendered DaemonSet or Deployment. */
export function podTemplate(manifests: readonly Manifest[], kind: 'DaemonSet' | 'Deployment'): { readonly metadata: Manifest['metadata']; readonly spec: PodSpec } {
  const workload = manifests.find((manifest) => manifest.kind === kind);
  if (!workload) throw new Error(`the chart renders no ${kind}`);
  return (workload as unknown as { spec: { template: { metadata: Manifest['metadata']; spec: PodSpec } } }).spec.template;
}

/** What the runtime supplies that a pod spec only names: the node, tokens, the API server. */
export interface PodContext {
  /** `spec.nodeName` for fieldRef environment variables. */
  readonly nodeName: string;
  /** Where token files for projected and service-account volumes are written. */
  readonly dir: string;
  /** The bearer token each projected serviceAccountToken source gets, by audience. */
  readonly projectedToken: (audience: string) => string;
  /** In-cluster access, as kubelet mounts and exports it when automountServiceAccountToken is on. */
  readonly inCluster: { readonly host: string; readonly port: number; readonly caCert: string; readonly token: string; readonly namespace: string };
  /** The image to run instead of the rendered one (tests tag their own build). */
  readonly image: string;
  /** Changes for the test's own cases (a capability less): applied after the rendered context. */
  readonly override?: (flags: SecurityFlags) => SecurityFlags;
}

export interface SecurityFlags {
  readonly user: string | undefined;
  readonly capDrop: readonly string[];
  readonly capAdd: readonly string[];
  readonly securityOpts: readonly string[];
  readonly readOnly: boolean;
  readonly privileged: boolean;
}

const KNOWN_SECURITY = new Set(['runAsUser', 'runAsGroup', 'runAsNonRoot', 'privileged', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities', 'seccompProfile', 'appArmorProfile']);
const KNOWN_POD_FIELDS = new Set(['hostPID', 'hostNetwork', 'automountServiceAccountToken', 'serviceAccountName', 'securityContext', 'containers', 'volumes', 'nodeSelector', 'affinity', 'tolerations', 'priorityClassName', 'imagePullSecrets', 'dnsPolicy']);

function unknownFields(object: object, known: ReadonlySet<string>, where: string): void {
  const unknown = Object.keys(object).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`${where}: ${unknown.join(', ')} — not translated to the runtime; teach test/support/runtime/pod-spec.ts`);
}

/** The pod's and the container's security contexts merged as kubelet does (the container's wins), as runtime flags. */
export function securityFlags(pod: PodSpec, container: Container): SecurityFlags {
  const merged: SecurityContext = { ...pod.securityContext, ...container.securityContext };
  unknownFields(merged, KNOWN_SECURITY, `securityContext of ${container.name}`);
  const securityOpts: string[] = [];
  if (merged.allowPrivilegeEscalation === false) securityOpts.push('no-new-privileges');
  const seccomp = merged.seccompProfile?.type;
  if (seccomp === 'Unconfined') securityOpts.push('seccomp=unconfined');
  else if (seccomp !== undefined && seccomp !== 'RuntimeDefault') throw new Error(`seccompProfile ${seccomp} is not translated`);
  const apparmor = merged.appArmorProfile?.type;
  // No AppArmor on these machines: the runtime has no profile to apply either way.
  if (apparmor !== undefined && apparmor !== 'Unconfined' && apparmor !== 'RuntimeDefault') throw new Error(`appArmorProfile ${apparmor} is not translated`);
  const user = merged.runAsUser === undefined ? undefined : `${merged.runAsUser}:${merged.runAsGroup ?? merged.runAsUser}`;
  if (merged.runAsNonRoot === true && (merged.runAsUser === undefined || merged.runAsUser === 0)) throw new Error(`${container.name}: runAsNonRoot without a non-zero runAsUser (kubelet would refuse to start it)`);
  return {
    user,
    capDrop: merged.capabilities?.drop ?? [],
    capAdd: merged.capabilities?.add ?? [],
    securityOpts,
    readOnly: merged.readOnlyRootFilesystem === true,
    privileged: merged.privileged === true,
  };
}

/**
 * `docker run` arguments (after `run -d --name NAME`, before nothing: the image and its
 * arguments are included) for the pod's first container.
 */
export function dockerRunArgs(pod: PodSpec, context: PodContext): string[] {
  unknownFields(pod, KNOWN_POD_FIELDS, 'pod spec');
  if (pod.containers.length !== 1) throw new Error(`expected one container, the chart renders ${pod.containers.length}`);
  const container = pod.containers[0]!;
  const rendered = securityFlags(pod, container);
  const security = context.override ? context.override(rendered) : rendered;
  const args: string[] = [];
  if (pod.hostPID) args.push('--pid', 'host');
  if (pod.hostNetwork) args.push('--network', 'host');
  if (security.user !== undefined) args.push('--user', security.user);
  if (security.privileged) args.push('--privileged');
  for (const cap of security.capDrop) args.push('--cap-drop', cap);
  for (const cap of security.capAdd) args.push('--cap-add', cap);
  for (const option of security.securityOpts) args.push('--security-opt', option);
  if (security.readOnly) args.push('--read-only');

  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes?.find((candidate) => candidate.name === mount.name);
    if (!volume) throw new Error(`volumeMount ${mount.name} has no volume`);
    const readOnly = mount.readOnly ? ':ro' : '';
    if (volume.hostPath) {
      args.push('--volume', `${volume.hostPath.path}:${mount.mountPath}${readOnly}`);
    } else if (volume.projected) {
      const dir = join(context.dir, `projected-${volume.name}`);
      mkdirSync(dir, { recursive: true });
      for (const source of volume.projected.sources) {
        if (!source.serviceAccountToken) throw new Error(`projected volume ${volume.name}: only serviceAccountToken sources are translated`);
        writeFileSync(join(dir, source.serviceAccountToken.path), context.projectedToken(source.serviceAccountToken.audience ?? ''));
      }
      args.push('--volume', `${dir}:${mount.mountPath}${readOnly}`);
    } else {
      throw new Error(`volume ${volume.name}: only hostPath and projected volumes are translated`);
    }
  }
  if (pod.automountServiceAccountToken !== false) {
    // kubelet's service-account volume and the Service environment of `kubernetes.default`.
    const dir = join(context.dir, 'serviceaccount');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'token'), context.inCluster.token);
    writeFileSync(join(dir, 'ca.crt'), context.inCluster.caCert);
    writeFileSync(join(dir, 'namespace'), context.inCluster.namespace);
    args.push('--volume', `${dir}:/var/run/secrets/kubernetes.io/serviceaccount:ro`);
    args.push('--env', `KUBERNETES_SERVICE_HOST=${context.inCluster.host}`, '--env', `KUBERNETES_SERVICE_PORT=${context.inCluster.port}`);
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) args.push('--env', `${variable.name}=${variable.value}`);
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') args.push('--env', `${variable.name}=${context.nodeName}`);
    else throw new Error(`env ${variable.name}: only values and spec.nodeName are translated`);
  }
  if (container.command) args.push('--entrypoint', container.command[0]!);
  args.push(context.image, ...(container.command?.slice(1) ?? []), ...(container.args ?? []));
  return args;
}
