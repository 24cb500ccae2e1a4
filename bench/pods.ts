import { SimulatedNode, type SimulatedPod } from '../test/support/harness/index.js';
import type { CgroupDriver, PodSpec, QosClass, Runtime } from '../test/support/harness/index.js';

/**
 * The pod case's fixture: simulated pods (test/support/harness/) on one simulated node, each with a
 * network namespace, kubelet-style cgroups, a pause process, a `server` container listening on
 * :8080 and a `client` container holding connections to it — so every socket has a pod and a
 * container to be attributed to. The drivers, runtimes and QoS classes are mixed the way a real
 * node mixes them (CRI-O pods with conmon among them, in the host namespace). The harness
 * removes everything at cleanup(), and from its own exit hook at exit or on SIGINT/SIGTERM.
 */

export interface PodFixtureOptions {
  readonly pods: number;
  /** Sockets to hold in total, near enough: each pod holds 1 listener + 2 × its connections. */
  readonly sockets: number;
  /** Pods being created at once (each starts 3–6 processes; 2 cores). */
  readonly concurrency: number;
  /** Bound on creating every pod. */
  readonly setupTimeoutMs: number;
  readonly progress: (text: string) => void;
}

export interface PodFixture {
  readonly node: SimulatedNode;
  readonly pods: readonly SimulatedPod[];
  /** `ip netns` names of the pods' namespaces (for the nsenter loops). */
  readonly netnsNames: readonly string[];
  readonly connectionsPerPod: number;
  /** Sockets the pod processes hold (listener + accepted + client), as the harness created them. */
  readonly heldSockets: number;
  /** pause + containers + conmons. */
  readonly processes: number;
  /** What the pods are made of, e.g. `containerd 50, crio 25 (13 with conmon), docker 25`. */
  readonly mix: string;
  readonly setupMs: number;
}

const RUNTIMES: readonly Runtime[] = ['containerd', 'containerd', 'crio', 'docker'];
const QOS: readonly QosClass[] = ['burstable', 'besteffort', 'guaranteed'];
const PORT = 8080;

/** Pod i of the case: half containerd, a quarter each CRI-O (half of them with conmon) and Docker; a third cgroupfs; QoS in turn. */
function podSpec(i: number, connections: number): PodSpec {
  const runtime = RUNTIMES[i % RUNTIMES.length]!;
  const cgroupDriver: CgroupDriver = Math.floor(i / RUNTIMES.length) % 3 === 2 ? 'cgroupfs' : 'systemd';
  return {
    namespace: `bench-${i % 4}`,
    owner: { kind: 'Deployment', name: `svc-${i % 25}` },
    qos: QOS[i % QOS.length]!,
    cgroupDriver,
    runtime,
    conmon: runtime === 'crio' && i % 8 === 2,
    containers: [
      { name: 'server', sockets: [{ kind: 'listen', port: PORT, label: 'http' }] },
      { name: 'client', sockets: [{ kind: 'connect', port: { label: 'http' }, count: connections }] },
    ],
  };
}

function describeMix(specs: readonly PodSpec[]): string {
  const count = <T extends string>(pick: (spec: PodSpec) => T): string => {
    const counts = new Map<T, number>();
    for (const spec of specs) counts.set(pick(spec), (counts.get(pick(spec)) ?? 0) + 1);
    return [...counts].map(([key, n]) => `${key} ${n}`).join(', ');
  };
  const conmons = specs.filter((spec) => spec.conmon).length;
  return (
    `${count((spec) => spec.runtime ?? 'containerd')} (${conmons} CRI-O pods with conmon); ` +
    `${count((spec) => spec.cgroupDriver ?? 'systemd')}; ${count((spec) => spec.qos ?? 'burstable')}`
  );
}

/** Creates the node and its pods; on failure or timeout removes what it made and throws. */
export async function createPodFixture(options: PodFixtureOptions): Promise<PodFixture> {
  const started = Date.now();
  const connectionsPerPod = Math.max(1, Math.round((options.sockets / options.pods - 1) / 2));
  const specs = Array.from({ length: options.pods }, (_, i) => podSpec(i, connectionsPerPod));
  const node = await SimulatedNode.create({ name: 'bench-node' });
  const pods: SimulatedPod[] = new Array<SimulatedPod>(specs.length);
  try {
    let next = 0;
    let made = 0;
    let timedOut = false;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < specs.length && !timedOut; i = next++) {
        pods[i] = await node.createPod(specs[i]!);
        if (++made % 20 === 0) options.progress(`${made}/${specs.length} pods`);
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        reject(new Error(`pods not created within ${options.setupTimeoutMs / 1000} s (${made} of ${specs.length} made)`));
      }, options.setupTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(Array.from({ length: options.concurrency }, worker)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    await node.cleanup().catch((cleanupError: unknown) => options.progress(`cleanup after the failed setup: ${String(cleanupError)}`));
    throw error;
  }

  let heldSockets = 0;
  let processes = 0;
  for (const pod of pods) {
    const truth = await pod.truth();
    processes += 1 + truth.containers.length + truth.conmons.length;
    for (const container of truth.containers) heldSockets += container.sockets.length;
  }
  return {
    node,
    pods,
    netnsNames: pods.map((pod) => pod.netnsPath!.slice('/run/netns/'.length)),
    connectionsPerPod,
    heldSockets,
    processes,
    mix: describeMix(specs),
    setupMs: Date.now() - started,
  };
}
