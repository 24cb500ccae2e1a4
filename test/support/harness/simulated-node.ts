/**
 * A simulated Kubernetes node: pods made of a network namespace, kubelet-style cgroup
 * directories in every hierarchy (v1 and v2), a pause process, one process per container
 * holding real sockets, and — for CRI-O — conmon processes in the host namespace. What the
 * harness built is its truth (`SimulatedPod.truth()`), and `toApiObject()` is the v1 Pod the API
 * server would serve for it.
 *
 * Everything is named `kns-test-<our pid>-<hex>` (netns, cgroup prefix); cleanup() removes it,
 * an exit hook does so at exit or on SIGINT/SIGTERM, and the next run sweeps what a SIGKILLed
 * run left. Needs root, python3, `ip` and `nsenter`.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { TestNetns, cleanupAtExit, netnsInodeOf } from '../netns.js';
import { buildPodObject, ownerIdentity } from './api-object.js';
import type { ApiPod, OwnerIdentity } from './api-object.js';
import { conmonCgroupPath, containerCgroupPath, podCgroupPath, statusContainerId } from './cgroup-paths.js';
import type { CgroupLayout } from './cgroup-paths.js';
import { attachToCgroup, cgroupSkipReason, makeCgroup, removeCgroups, removeCgroupsSync, sweepStaleCgroups } from './cgroups.js';
import { randomContainerId, randomNameSuffix, randomPodUid, stableUid, staticPodConfigHash } from './ids.js';
import { PodProcess } from './pod-process.js';
import type { ProcessSocketSpec, SocketReport } from './pod-process.js';
import type {
  CgroupDriver,
  ContainerSpec,
  ContainerTruth,
  DeleteOptions,
  NodeOptions,
  PodSpec,
  PodTruth,
  QosClass,
  Runtime,
  SocketSpec,
  SocketTruth,
} from './types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CONFIG_HASH = /^[0-9a-f]{32}$/;
/** Where `ip netns add` bind-mounts a namespace. */
const NETNS_DIR = '/run/netns';

export class SimulatedNode {
  private readonly pods = new Set<SimulatedPod>();
  /** Every cgroup directory this node created (same path in every hierarchy). */
  private readonly cgroupDirs = new Set<string>();
  private readonly ordinals = new Map<string, number>();
  private podsCreated = 0;
  private cleaning: Promise<void> | undefined;
  private readonly unregisterExitCleanup: () => void;

  private constructor(
    readonly name: string,
    readonly layout: CgroupLayout,
    readonly internalIP: string,
    private readonly podSubnet: string,
  ) {
    this.unregisterExitCleanup = cleanupAtExit(() => this.cleanupSync());
  }

  /** Sweeps what SIGKILLed runs left, then makes a node with a fresh cgroup prefix. */
  static async create(options: NodeOptions = {}): Promise<SimulatedNode> {
    const skip = cgroupSkipReason();
    if (skip) throw new Error(`simulated pods cannot be made here: ${skip}`);
    await sweepStaleCgroups();
    const hex = randomBytes(4).toString('hex');
    return new SimulatedNode(
      options.name ?? `sim-node-${hex}`,
      { prefix: `kns-test-${process.pid}-${hex}`, kubeletCgroupRoot: options.kubeletCgroupRoot ?? false },
      options.internalIP ?? '10.0.0.10',
      options.podSubnet ?? '10.244.1',
    );
  }

  /** metadata.uid of this node's Node object (a mirror pod's owner). */
  get uid(): string {
    return stableUid(`node/${this.name}`);
  }

  /** Creates the pod and starts its processes, containers in order; on failure removes what it made and throws. */
  async createPod(spec: PodSpec): Promise<SimulatedPod> {
    if (this.cleaning) throw new Error(`node ${this.name} was cleaned up`);
    const pod = new SimulatedPod(this.podHost, this.resolve(spec));
    this.pods.add(pod);
    try {
      await pod.start();
    } catch (error) {
      try {
        await pod.destroy();
      } catch (cleanupError) {
        throw new AggregateError([error, cleanupError], `creating pod ${pod.namespace}/${pod.name} failed, and so did removing it`, { cause: cleanupError });
      }
      throw error;
    }
    return pod;
  }

  /** Tears down every pod and removes every cgroup directory, deepest first. Idempotent. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      const results = await Promise.allSettled([...this.pods].map((pod) => pod.destroy()));
      const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      try {
        await removeCgroups(this.cgroupDirs);
        this.cgroupDirs.clear();
      } catch (error) {
        errors.push(error);
      }
      this.unregisterExitCleanup();
      if (errors.length > 0) throw new AggregateError(errors, `cleaning up node ${this.name} left something behind`);
    })();
    return this.cleaning;
  }

  /** The synchronous last resort at exit: kill, wait briefly, remove. */
  cleanupSync(): void {
    for (const pod of this.pods) pod.cleanupSync();
    this.pods.clear();
    removeCgroupsSync(this.cgroupDirs);
    this.cgroupDirs.clear();
  }

  /** What a pod needs of its node; not part of the node's public face. */
  private readonly podHost: PodHost = {
    node: this,
    makeCgroup: (path) => {
      for (const dir of makeCgroup(path)) this.cgroupDirs.add(dir);
    },
    removeCgroupTree: async (path) => {
      const dirs = [...this.cgroupDirs].filter((dir) => dir === path || dir.startsWith(`${path}/`));
      await removeCgroups(dirs);
      for (const dir of dirs) this.cgroupDirs.delete(dir);
    },
    forget: (pod) => this.pods.delete(pod),
  };

  private resolve(spec: PodSpec): ResolvedPod {
    const namespace = spec.namespace ?? 'default';
    const runtime = spec.runtime ?? 'containerd';
    const isStatic = spec.static ?? false;
    if (isStatic && spec.owner) throw new Error('a static pod has no controller owner (its mirror pod is owned by the Node)');
    if (spec.conmon && runtime !== 'crio') throw new Error('conmon exists only with the crio runtime');
    if (spec.containers.length === 0) throw new Error('a pod needs at least one container');
    const names = spec.containers.map((container) => container.name);
    if (new Set(names).size !== names.length) throw new Error(`duplicate container names: ${names.join(', ')}`);

    const uid = spec.uid ?? (isStatic ? staticPodConfigHash(spec) : randomPodUid());
    if (!(isStatic ? CONFIG_HASH : UUID).test(uid)) {
      throw new Error(`uid ${uid} is not ${isStatic ? 'a 32-hex config hash' : 'a lower-case dashed UUID'}`);
    }
    let identity: OwnerIdentity | null = null;
    if (spec.owner) {
      const key = `${namespace}/${spec.owner.kind}/${spec.owner.name}`;
      const ordinal = this.ordinals.get(key) ?? 0;
      this.ordinals.set(key, ordinal + 1);
      identity = ownerIdentity(namespace, spec.owner, randomNameSuffix(), ordinal);
    }
    const name = spec.name ?? identity?.name;
    if (!name) throw new Error('a pod without an owner needs a name');
    const hostNetwork = spec.hostNetwork ?? false;
    this.podsCreated++;
    return {
      namespace,
      name,
      uid,
      apiUid: isStatic ? randomPodUid() : uid,
      isStatic,
      qos: spec.qos ?? 'burstable',
      cgroupDriver: spec.cgroupDriver ?? 'systemd',
      runtime,
      hostNetwork,
      conmon: spec.conmon ?? false,
      identity,
      extraLabels: spec.labels ?? {},
      sysctls: spec.sysctls ?? {},
      podIP: hostNetwork ? this.internalIP : `${this.podSubnet}.${(this.podsCreated % 253) + 1}`,
      containers: spec.containers,
    };
  }
}

interface PodHost {
  readonly node: SimulatedNode;
  /** Creates `path` (and missing ancestors) in every hierarchy, remembering what it made. */
  makeCgroup(path: string): void;
  /** Removes `path` and everything the node made below it. */
  removeCgroupTree(path: string): Promise<void>;
  forget(pod: SimulatedPod): void;
}

interface ResolvedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly apiUid: string;
  readonly isStatic: boolean;
  readonly qos: QosClass;
  readonly cgroupDriver: CgroupDriver;
  readonly runtime: Runtime;
  readonly hostNetwork: boolean;
  readonly conmon: boolean;
  readonly identity: OwnerIdentity | null;
  readonly extraLabels: Readonly<Record<string, string>>;
  readonly sysctls: Readonly<Record<string, string>>;
  readonly podIP: string;
  readonly containers: readonly ContainerSpec[];
}

interface Member {
  readonly id: string;
  readonly cgroupPath: string;
  process: PodProcess | null;
}

interface Container extends Member {
  readonly spec: ContainerSpec;
  readonly comm: string;
  readonly image: string;
  readonly conmon: Member | null;
  timeWait: readonly SocketTruth[];
  listeners: readonly SocketTruth[];
  startedAt: Date;
  finishedAt: Date | null;
}

export class SimulatedPod {
  readonly namespace: string;
  readonly name: string;
  /** The UID in the cgroup path (a static pod's config hash). */
  readonly uid: string;
  /** metadata.uid of the API object. */
  readonly apiUid: string;
  readonly qos: QosClass;
  readonly cgroupDriver: CgroupDriver;
  readonly runtime: Runtime;
  readonly hostNetwork: boolean;
  readonly podCgroupPath: string;
  readonly podIP: string;
  readonly createdAt = new Date();
  /** Null for hostNetwork pods. */
  private netns: TestNetns | null = null;
  private netnsInodeText = '';
  private readonly sandbox: Member;
  private readonly sandboxConmon: Member | null;
  private readonly containers: Container[];
  private deletedAt: Date | null = null;
  private lingerTimer: NodeJS.Timeout | undefined;
  private destroying: Promise<void> | undefined;
  private resolveGone: () => void = () => undefined;
  /** Resolves once the pod is fully torn down (after keepNetnsMs, for a delete that kept it). */
  readonly gone: Promise<void>;

  /** @internal Use SimulatedNode.createPod. */
  constructor(
    private readonly host: PodHost,
    private readonly resolved: ResolvedPod,
  ) {
    this.gone = new Promise((resolve) => {
      this.resolveGone = resolve;
    });
    this.namespace = resolved.namespace;
    this.name = resolved.name;
    this.uid = resolved.uid;
    this.apiUid = resolved.apiUid;
    this.qos = resolved.qos;
    this.cgroupDriver = resolved.cgroupDriver;
    this.runtime = resolved.runtime;
    this.hostNetwork = resolved.hostNetwork;
    this.podIP = resolved.podIP;
    this.podCgroupPath = podCgroupPath(host.node.layout, this.cgroupDriver, this.qos, this.uid);
    const member = (id: string, cgroupPath: string): Member => ({ id, cgroupPath, process: null });
    const conmonFor = (id: string): Member | null =>
      resolved.conmon ? member(id, conmonCgroupPath(this.podCgroupPath, this.cgroupDriver, id)) : null;
    const sandboxId = randomContainerId();
    this.sandbox = member(sandboxId, containerCgroupPath(this.podCgroupPath, this.cgroupDriver, this.runtime, sandboxId));
    this.sandboxConmon = conmonFor(sandboxId);
    this.containers = resolved.containers.map((spec) => {
      const id = randomContainerId();
      return {
        ...member(id, containerCgroupPath(this.podCgroupPath, this.cgroupDriver, this.runtime, id)),
        spec,
        comm: spec.comm ?? spec.name.slice(0, 15),
        image: spec.image ?? `docker.io/library/${spec.name}:1.0`,
        conmon: conmonFor(id),
        timeWait: [],
        listeners: [],
        startedAt: new Date(),
        finishedAt: null,
      };
    });
  }

  /** `/run/netns/<name>`: nsenter --net= it to see the pod's sockets even with no process left. Null for hostNetwork. */
  get netnsPath(): string | null {
    return this.netns ? `${NETNS_DIR}/${this.netns.name}` : null;
  }

  /** Inode of the pod's network namespace (the host's for hostNetwork), decimal. */
  get netnsInode(): string {
    return this.netnsInodeText;
  }

  /** @internal */
  async start(): Promise<void> {
    if (this.hostNetwork) {
      if (Object.keys(this.resolved.sysctls).length > 0) throw new Error('sysctls of a hostNetwork pod would be the host\'s');
      this.netnsInodeText = netnsInodeOf(process.pid);
    } else {
      this.netns = await TestNetns.create();
      this.netnsInodeText = statSync(this.netnsPath!, { bigint: true }).ino.toString();
      for (const [key, value] of Object.entries(this.resolved.sysctls)) await this.netns.exec(['sysctl', '-qw', `${key}=${value}`]);
    }
    // CRI-O starts conmon first; conmon starts runc, which creates the container.
    if (this.sandboxConmon) await this.startMember(this.sandboxConmon, 'conmon', null, []);
    await this.startMember(this.sandbox, 'pause', this.netnsPath, []);
    const labels = new Map<string, number>();
    for (const spec of this.containers.flatMap((container) => container.spec.sockets ?? [])) {
      if (spec.kind === 'listen' && spec.label !== undefined && spec.port !== 0) labels.set(spec.label, spec.port);
    }
    for (const container of this.containers) {
      if (container.conmon) await this.startMember(container.conmon, 'conmon', null, []);
      container.startedAt = new Date();
      const specs = container.spec.sockets ?? [];
      const report = await this.startMember(container, container.comm, this.netnsPath, specs.map((spec) => withPort(spec, labels)));
      container.timeWait = report.timeWait;
      // Listeners are reported in the order their specs came.
      container.listeners = report.sockets.filter((socket) => socket.role === 'listener' || socket.role === 'udp');
      const listenSpecs = specs.filter((spec) => spec.kind === 'listen');
      const tcpListeners = container.listeners.filter((socket) => socket.role === 'listener');
      listenSpecs.forEach((spec, index) => {
        if (spec.label !== undefined) labels.set(spec.label, tcpListeners[index]!.localPort);
      });
    }
  }

  /** Start → move into its cgroups in every hierarchy → only then open sockets. */
  private async startMember(member: Member, comm: string, netnsPath: string | null, specs: readonly ProcessSocketSpec[]): Promise<SocketReport> {
    this.host.makeCgroup(member.cgroupPath);
    member.process = await PodProcess.start(comm, netnsPath);
    attachToCgroup(member.cgroupPath, member.process.pid);
    return member.process.go(specs);
  }

  /** What the harness knows about the pod now; held sockets are asked of each live process. */
  async truth(): Promise<PodTruth> {
    const containers = await Promise.all(this.containers.map(async (container): Promise<ContainerTruth> => {
      const running = container.process?.running ?? false;
      return {
        name: container.spec.name,
        id: container.id,
        statusId: statusContainerId(this.runtime, container.id),
        runtime: this.runtime,
        comm: container.comm,
        image: container.image,
        pid: running ? container.process!.pid : null,
        cgroupPath: container.cgroupPath,
        running,
        sockets: running ? (await container.process!.list()).sockets : [],
        timeWait: container.timeWait,
      };
    }));
    const pidOf = (member: Member): number | null => (member.process?.running ? member.process.pid : null);
    return {
      namespace: this.namespace,
      name: this.name,
      uid: this.uid,
      apiUid: this.apiUid,
      static: this.resolved.isStatic,
      qos: this.qos,
      cgroupDriver: this.cgroupDriver,
      runtime: this.runtime,
      hostNetwork: this.hostNetwork,
      netnsInode: this.netnsInode,
      netnsName: this.netns?.name ?? null,
      podCgroupPath: this.podCgroupPath,
      sandbox: { id: this.sandbox.id, pid: pidOf(this.sandbox), cgroupPath: this.sandbox.cgroupPath },
      conmons: [this.sandboxConmon, ...this.containers.map((container) => container.conmon)]
        .filter((conmon) => conmon !== null)
        .map((conmon) => ({ containerId: conmon.id, pid: pidOf(conmon), cgroupPath: conmon.cgroupPath })),
      containers,
      deleted: this.deletedAt !== null,
    };
  }

  /** The v1 Pod the API server would serve for this pod now (a static pod's mirror pod). */
  toApiObject(): ApiPod {
    return buildPodObject({
      namespace: this.namespace,
      name: this.name,
      apiUid: this.apiUid,
      configHash: this.resolved.isStatic ? this.uid : null,
      identity: this.resolved.identity,
      extraLabels: this.resolved.extraLabels,
      nodeName: this.host.node.name,
      nodeUid: this.host.node.uid,
      hostIP: this.host.node.internalIP,
      podIP: this.podIP,
      hostNetwork: this.hostNetwork,
      qos: this.qos,
      createdAt: this.createdAt,
      deletedAt: this.deletedAt,
      containers: this.containers.map((container) => ({
        name: container.spec.name,
        image: container.image,
        runtime: this.runtime,
        statusId: statusContainerId(this.runtime, container.id),
        listenPorts: container.listeners.map((socket) => ({ port: socket.localPort, protocol: socket.role === 'udp' ? 'UDP' as const : 'TCP' as const })),
        startedAt: container.startedAt,
        finishedAt: container.finishedAt,
      })),
    });
  }

  /**
   * Kills the container's process (and its conmon) and removes their cgroups, as the runtime
   * does when a container exits. The pause process keeps the namespace, so the container's
   * TIME_WAIT entries stay there, with no process.
   */
  async stopContainer(name: string): Promise<void> {
    const container = this.containers.find((candidate) => candidate.spec.name === name);
    if (!container) throw new Error(`pod ${this.namespace}/${this.name} has no container ${name}`);
    if (!container.process?.running) throw new Error(`container ${name} is not running`);
    await this.stopMembers([container, ...(container.conmon ? [container.conmon] : [])]);
    container.finishedAt = new Date();
  }

  /**
   * Deletes the pod: kills the containers (and conmons), then the sandbox, removes the pod's
   * cgroups and its namespace. With keepNetnsMs the namespace — and its TIME_WAIT entries —
   * outlives the containers that long (see DeleteOptions); `gone` resolves at the very end.
   */
  async delete(options: DeleteOptions = {}): Promise<void> {
    if (this.deletedAt) throw new Error(`pod ${this.namespace}/${this.name} was already deleted`);
    this.deletedAt = new Date();
    const keepMs = this.netns ? options.keepNetnsMs ?? 0 : 0;
    const running = this.containers.filter((container) => container.process?.running);
    await this.stopMembers([...running, ...this.containers.flatMap((container) => (container.conmon ? [container.conmon] : []))]);
    for (const container of running) container.finishedAt = this.deletedAt;
    if (keepMs <= 0) return this.destroy();
    if (!options.keepSandbox) {
      // With the sandbox gone kubelet removes the pod cgroup; only the bind mount holds the netns.
      await this.stopMembers([this.sandbox, ...(this.sandboxConmon ? [this.sandboxConmon] : [])]);
      await this.host.removeCgroupTree(this.podCgroupPath);
    }
    this.lingerTimer = setTimeout(() => {
      this.destroy().catch((error: unknown) => {
        process.stderr.write(`tearing down ${this.namespace}/${this.name} after keepNetnsMs failed: ${String(error)}\n`);
      });
    }, keepMs);
  }

  private async stopMembers(members: readonly Member[]): Promise<void> {
    await Promise.all(members.map((member) => member.process?.kill()));
    for (const member of members) await this.host.removeCgroupTree(member.cgroupPath);
  }

  /** @internal Kills everything, removes the pod's cgroups and namespace. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      clearTimeout(this.lingerTimer);
      // Every step runs even if one before it failed; the failures are reported together.
      const steps = await Promise.allSettled([
        Promise.all(this.members().map((member) => member.process?.kill())).then(() => this.host.removeCgroupTree(this.podCgroupPath)),
        this.netns?.cleanup(),
      ]);
      this.host.forget(this);
      this.resolveGone();
      const errors = steps.flatMap((step) => (step.status === 'rejected' ? [step.reason as unknown] : []));
      if (errors.length > 0) throw new AggregateError(errors, `tearing down pod ${this.namespace}/${this.name} left something behind`);
    })();
    return this.destroying;
  }

  /** @internal For exit hooks: kills every process and deletes the netns; the node removes the cgroups. */
  cleanupSync(): void {
    clearTimeout(this.lingerTimer);
    for (const member of this.members()) member.process?.killSync();
    this.netns?.cleanupSync();
  }

  private members(): Member[] {
    return [this.sandbox, this.sandboxConmon, ...this.containers, ...this.containers.map((container) => container.conmon)].filter(
      (member) => member !== null,
    );
  }
}

/** The spec as the process gets it: a `{ label }` port this pod already knows becomes a number. */
function withPort(spec: SocketSpec, labels: ReadonlyMap<string, number>): ProcessSocketSpec {
  if ((spec.kind === 'connect' || spec.kind === 'time-wait' || spec.kind === 'churn') && typeof spec.port === 'object') {
    const port = labels.get(spec.port.label);
    return port === undefined ? spec : { ...spec, port };
  }
  return spec;
}
