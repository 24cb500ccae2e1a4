import { sameForWire, type TableChanges } from '../agent/stream/socket-table.js';
import { LineShape, Proto, type PodRef, type ProcessRef, type Socket, type TcpExtras, type Timer } from '../gen/kubenetstat/v1/socket.js';

/**
 * Synthetic socket tables for the streaming bench: what one node's agent would hold, in the
 * wire form agent/stream/wire.ts toWireSocket produces (keys as agent/stream/socket-key.ts
 * makes them). A node has host daemons (kubelet, kube-proxy, sshd, node-exporter, containerd's
 * unix sockets) and pods spread over a cluster's namespaces, each pod with listeners, inbound
 * and outbound connections, TIME_WAIT leftovers, a few CLOSE_WAIT and other states, and UDP
 * DNS sockets. Churn opens, closes and changes connections the way a busy node does.
 * Deterministic for a seed; nothing here touches the network.
 */

/** The cluster's namespaces; pods pick one uniformly, so each holds ~1/30 of the sockets. */
export const NAMESPACES = [
  'shop', 'payments', 'checkout', 'search', 'catalog', 'auth', 'ads', 'recommendations', 'shipping', 'inventory',
  'monitoring', 'logging', 'ingress-nginx', 'cert-manager', 'kube-system', 'default', 'data', 'kafka', 'redis', 'postgres',
  'ml-serving', 'batch', 'ci', 'argocd', 'istio-system', 'team-a', 'team-b', 'team-c', 'team-d', 'team-e',
] as const;

const WORKLOADS = ['api', 'web', 'worker', 'cart', 'db-proxy', 'cache', 'frontend', 'gateway'] as const;
const PROGRAMS = ['java', 'node', 'python3', 'envoy', 'nginx', 'server', 'ruby', 'dotnet'] as const;
/** Service VIP ports outbound connections go to. */
const SERVICE_PORTS = [5432, 6379, 443, 9092, 8080, 3306, 27017, 9200] as const;
/** The host network namespace's inode (init_net on most kernels). */
const HOST_NETNS = 4026531840n;
/** Where the kubelet listens on every node: a socket each node holds for its whole life. */
export const KUBELET_PORT = 10250;
/** Burst markers listen on NodePorts (30000–32767), which no other synthetic socket uses. */
const MARKER_PORT_BASE = 30000;

const ZERO = 0n;
/** When the timers were read: an epoch millisecond as wide on the wire as the agent's. */
const READ_MS = 1_796_000_000_000n;
const TIMERS = {
  off: { code: 0, kind: 'off', ticks: ZERO, retransmits: 0, probes: 0, readUnixMs: READ_MS },
  keepalive: { code: 2, kind: 'keepalive', ticks: 719_000n, retransmits: 0, probes: 0, readUnixMs: READ_MS },
  on: { code: 1, kind: 'on', ticks: 20n, retransmits: 1, probes: 0, readUnixMs: READ_MS },
  timewait: { code: 3, kind: 'timewait', ticks: 4_500n, retransmits: 0, probes: 0, readUnixMs: READ_MS },
} as const satisfies Record<string, Timer>;
const TCP_EXTRAS: TcpExtras = { rtoTicks: 20, atoTicks: 4, quickAckPingpong: 10, sndCwnd: 10, ssthresh: -1 };
const LISTEN_EXTRAS: TcpExtras = { rtoTicks: 100, atoTicks: 0, quickAckPingpong: 0, sndCwnd: 10, ssthresh: 0 };

/** Kernel state code → [netstat name, ss name]. */
const STATES: Readonly<Record<number, readonly [string, string]>> = {
  1: ['ESTABLISHED', 'ESTAB'],
  2: ['SYN_SENT', 'SYN-SENT'],
  5: ['FIN_WAIT2', 'FIN-WAIT-2'],
  6: ['TIME_WAIT', 'TIME-WAIT'],
  7: ['', 'UNCONN'],
  8: ['CLOSE_WAIT', 'CLOSE-WAIT'],
  9: ['LAST_ACK', 'LAST-ACK'],
  10: ['LISTEN', 'LISTEN'],
};

/** Small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pod {
  readonly ref: PodRef;
  readonly netns: bigint;
  readonly ip: string;
  readonly program: string;
  readonly pid: number;
  nextFd: number;
}

/** Connection kinds a pod's churn draws from, with their weights (per mille). */
const KINDS: readonly (readonly [Kind, number])[] = [
  ['inbound', 300],
  ['outbound', 380],
  ['time-wait', 170],
  ['close-wait', 20],
  ['fin-wait2', 10],
  ['syn-sent', 5],
  ['last-ack', 5],
  ['udp-dns', 60],
  ['tcp6-inbound', 50],
];
type Kind = 'inbound' | 'outbound' | 'time-wait' | 'close-wait' | 'fin-wait2' | 'syn-sent' | 'last-ack' | 'udp-dns' | 'tcp6-inbound';

/** Pods on a simulated node of `size` sockets: ~35 sockets each, 2–250. */
export function podsPerNode(size: number): number {
  return Math.max(2, Math.min(250, Math.round(size / 35)));
}

/**
 * One simulated node's socket table and its churn. `sockets` is what the node's agent would
 * scan right now; the fixed part (host daemons, listeners) comes first and never churns.
 */
export class SyntheticNode {
  readonly name: string;
  readonly sockets: Socket[] = [];
  private readonly random: () => number;
  private readonly pods: Pod[] = [];
  private readonly nodeIp: string;
  private nextInode: number;
  private fixed = 0;
  private marker: Socket | undefined;
  private readonly now: bigint;

  constructor(
    readonly index: number,
    readonly size: number,
    seed: number,
    /** Pods on the node; by default what a node of this size has (podsPerNode). */
    podCount = podsPerNode(size),
  ) {
    this.name = `sim-node-${String(index).padStart(4, '0')}`;
    this.random = prng(seed * 1_000_003 + index);
    this.nodeIp = `192.168.${(index >> 8) & 255}.${index & 255}`;
    this.nextInode = 100_000 + Math.floor(this.random() * 1_000_000);
    this.now = BigInt(Date.now());
    for (let k = 0; k < podCount; k++) this.pods.push(this.makePod(k));
    this.addHostSockets();
    for (const pod of this.pods) {
      this.sockets.push(this.listener(pod, 8080, Proto.PROTO_TCP));
      if (this.sockets.length < size / 4) this.sockets.push(this.listener(pod, 9090, Proto.PROTO_TCP6));
    }
    this.fixed = this.sockets.length;
    while (this.sockets.length < size) this.sockets.push(this.connection(this.pick(this.pods), this.kind()));
    this.sockets.length = Math.max(size, 1);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }

  private hex(length: number): string {
    let text = '';
    while (text.length < length) text += Math.floor(this.random() * 0x100000000).toString(16).padStart(8, '0');
    return text.slice(0, length);
  }

  private alnum(length: number): string {
    const chars = 'bcdfghjklmnpqrstvwxz2456789';
    let text = '';
    for (let i = 0; i < length; i++) text += chars[Math.floor(this.random() * chars.length)];
    return text;
  }

  private makePod(k: number): Pod {
    const namespace = this.pick(NAMESPACES);
    const workload = this.pick(WORKLOADS);
    const hash = this.alnum(10);
    const name = `${workload}-${hash}-${this.alnum(5)}`;
    const ref: PodRef = {
      namespace,
      name,
      uid: `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-a${this.hex(3)}-${this.hex(12)}`,
      container: workload,
      containerId: this.hex(64),
      runtime: 'containerd',
      workloadKind: 'ReplicaSet',
      workloadName: `${workload}-${hash}`,
      labels: { app: workload, 'pod-template-hash': hash },
    };
    return {
      ref,
      netns: 4026532200n + BigInt(k),
      ip: `10.${64 + ((this.index >> 8) & 63)}.${this.index & 255}.${k + 2}`,
      program: this.pick(PROGRAMS),
      pid: 10_000 + k * 37,
      nextFd: 10,
    };
  }

  private inode(): bigint {
    return BigInt(this.nextInode++);
  }

  private ephemeral(): number {
    return 32768 + Math.floor(this.random() * 28232);
  }

  private base(netns: bigint, proto: Proto, stateCode: number, inode: bigint, local: string, lport: number, foreign: string, fport: number): Socket {
    const [state, ssState] = STATES[stateCode]!;
    const table = proto === Proto.PROTO_TCP6 ? 'tcp6' : proto === Proto.PROTO_UDP ? 'udp' : 'tcp';
    return {
      node: this.name,
      netns,
      proto,
      localAddress: local,
      localPort: lport,
      foreignAddress: foreign,
      foreignPort: fport,
      stateCode,
      state,
      recvQ: ZERO,
      sendQ: ZERO,
      uid: 1000,
      inode,
      timer: TIMERS.off,
      processes: [],
      drops: ZERO,
      refCount: inode === ZERO ? 0 : 1,
      shape: LineShape.LINE_SHAPE_FULL,
      firstSeenUnixMs: this.now - BigInt(Math.floor(this.random() * 86_400_000)),
      hostNetwork: netns === HOST_NETNS,
      podRef: 0,
      key: `${netns}/${table}/${inode}/${local}:${lport}>${foreign}:${fport}`,
      attributedBy: netns === HOST_NETNS ? 'none' : 'process',
      ssState,
    };
  }

  private process(pod: Pod): ProcessRef[] {
    return [{ pid: pod.pid, name: pod.program, comm: pod.program, fds: [pod.nextFd++] }];
  }

  private addHostSockets(): void {
    const host = (name: string, pid: number, port: number, proto = Proto.PROTO_TCP): Socket => {
      const socket = this.base(HOST_NETNS, proto, 10, this.inode(), proto === Proto.PROTO_TCP6 ? '::' : '0.0.0.0', port, proto === Proto.PROTO_TCP6 ? '::' : '0.0.0.0', 0);
      socket.uid = 0;
      socket.tcp = LISTEN_EXTRAS;
      socket.processes = [{ pid, name, comm: name, fds: [3 + (port % 50)] }];
      return socket;
    };
    this.sockets.push(host('kubelet', 812, KUBELET_PORT, Proto.PROTO_TCP6), host('kube-proxy', 1403, 10256, Proto.PROTO_TCP6), host('sshd', 655, 22), host('node_exporter', 1710, 9100, Proto.PROTO_TCP6));
    const apiserver = this.base(HOST_NETNS, Proto.PROTO_TCP, 1, this.inode(), this.nodeIp, this.ephemeral(), '10.0.0.1', 6443);
    apiserver.uid = 0;
    apiserver.timer = TIMERS.keepalive;
    apiserver.tcp = TCP_EXTRAS;
    apiserver.processes = [{ pid: 812, name: 'kubelet', comm: 'kubelet', fds: [21] }];
    this.sockets.push(apiserver);
    for (const path of ['/run/containerd/containerd.sock', '/run/containerd/containerd.sock.ttrpc', '/var/lib/kubelet/device-plugins/kubelet.sock', '/run/dbus/system_bus_socket']) {
      const inode = this.inode();
      const socket = this.base(HOST_NETNS, Proto.PROTO_UNIX, 1, inode, '', 0, '', 0);
      socket.key = `${HOST_NETNS}/unix/${inode}`;
      socket.state = 'LISTENING';
      socket.ssState = 'LISTEN';
      socket.stateCode = 1;
      socket.uid = 0;
      socket.timer = undefined;
      socket.refCount = 2;
      socket.unix = { path: Buffer.from(path), type: 1, flags: 1 << 16 };
      socket.processes = [{ pid: path.includes('kubelet') ? 812 : 402, name: path.includes('kubelet') ? 'kubelet' : 'containerd', comm: 'containerd', fds: [7] }];
      this.sockets.push(socket);
    }
  }

  private listener(pod: Pod, port: number, proto: Proto): Socket {
    const any = proto === Proto.PROTO_TCP6 ? '::' : '0.0.0.0';
    const socket = this.base(pod.netns, proto, 10, this.inode(), any, port, any, 0);
    socket.pod = pod.ref;
    socket.tcp = LISTEN_EXTRAS;
    socket.processes = this.process(pod);
    return socket;
  }

  private kind(): Kind {
    let roll = this.random() * 1000;
    for (const [kind, weight] of KINDS) {
      roll -= weight;
      if (roll < 0) return kind;
    }
    return 'outbound';
  }

  private peerPodIp(): string {
    return `10.${64 + Math.floor(this.random() * 4)}.${Math.floor(this.random() * 256)}.${2 + Math.floor(this.random() * 30)}`;
  }

  private serviceIp(): string {
    return `10.96.${Math.floor(this.random() * 64)}.${1 + Math.floor(this.random() * 254)}`;
  }

  private connection(pod: Pod, kind: Kind): Socket {
    const inbound = kind === 'inbound' || kind === 'tcp6-inbound' || (kind === 'time-wait' && this.random() < 0.5);
    const local = pod.ip;
    const lport = inbound ? 8080 : this.ephemeral();
    const foreign = inbound ? this.peerPodIp() : this.serviceIp();
    const fport = inbound ? this.ephemeral() : this.pick(SERVICE_PORTS);
    switch (kind) {
      case 'time-wait': {
        const socket = this.base(pod.netns, Proto.PROTO_TCP, 6, ZERO, local, lport, foreign, fport);
        socket.uid = 0;
        socket.timer = TIMERS.timewait;
        socket.shape = LineShape.LINE_SHAPE_TIMEWAIT;
        socket.attributedBy = 'namespace';
        socket.pod = pod.ref;
        return socket;
      }
      case 'udp-dns': {
        const socket = this.base(pod.netns, Proto.PROTO_UDP, 1, this.inode(), local, this.ephemeral(), '10.96.0.10', 53);
        socket.pod = pod.ref;
        socket.processes = this.process(pod);
        socket.refCount = 2;
        return socket;
      }
      default: {
        const code = kind === 'close-wait' ? 8 : kind === 'fin-wait2' ? 5 : kind === 'syn-sent' ? 2 : kind === 'last-ack' ? 9 : 1;
        const proto = kind === 'tcp6-inbound' ? Proto.PROTO_TCP6 : Proto.PROTO_TCP;
        const socket = this.base(pod.netns, proto, code, this.inode(), local, lport, foreign, fport);
        socket.pod = pod.ref;
        socket.tcp = TCP_EXTRAS;
        socket.processes = code === 5 ? [] : this.process(pod);
        socket.timer = code === 1 ? (this.random() < 0.6 ? TIMERS.keepalive : TIMERS.off) : code === 2 || code === 9 ? TIMERS.on : TIMERS.off;
        if (code === 8) socket.recvQ = 1n;
        return socket;
      }
    }
  }

  /**
   * The node's next scan: `count` changes, as a busy node sees them — 40% connections gone,
   * 40% new ones, 20% existing ones changed (queues fill or drain, a peer's FIN leaves one in
   * CLOSE_WAIT, an application closes one in CLOSE_WAIT) — so the table keeps its size and its
   * mix of states (CLOSE_WAIT stays near 2%). With `markerRound`, the previous round marker
   * goes and a new one (a listener on NodePort 30000 + round) comes, last, so that it travels
   * in the last delta message of the round.
   *
   * Returns exactly what SocketTable.update would find between the two scans (every change
   * made here is one sameForWire sees): a socket changed twice counts once, a socket opened and
   * closed within the round not at all. Made directly, because diffing every table in full
   * would make one process playing a thousand agents the bottleneck of the bench.
   */
  scan(count: number, markerRound?: number): { changes: TableChanges; marker: string | undefined } {
    const next = new Map<string, Socket | null>();
    const opened = new Set<string>();
    /** Sockets as they were before the scan, for those changed in it. */
    const before = new Map<string, Socket>();
    const open = (at: number, socket: Socket): void => {
      const old = this.sockets[at]!;
      if (opened.delete(old.key)) next.delete(old.key);
      else next.set(old.key, null);
      this.sockets[at] = socket;
      opened.add(socket.key);
      next.set(socket.key, socket);
    };
    const change = (at: number, socket: Socket): void => {
      const old = this.sockets[at]!;
      if (!opened.has(old.key) && !before.has(old.key)) before.set(old.key, old);
      this.sockets[at] = socket;
      next.set(socket.key, socket);
    };
    const churnable = this.sockets.length - this.fixed - (this.marker ? 1 : 0);
    if (churnable > 0) {
      const replacements = Math.floor(count * 0.4);
      const changes = count - 2 * replacements;
      for (let i = 0; i < changes; i++) {
        const at = this.fixed + Math.floor(this.random() * churnable);
        const old = this.sockets[at]!;
        if (old.inode === ZERO || old.stateCode === 8) {
          // TIME_WAIT has nothing to change; a CLOSE_WAIT socket is closed by its application.
          open(at, this.connection(this.pick(this.pods), this.kind()));
        } else if (old.stateCode === 1 && old.proto !== Proto.PROTO_UDP && this.random() < 0.05) {
          change(at, { ...old, stateCode: 8, state: 'CLOSE_WAIT', ssState: 'CLOSE-WAIT', recvQ: 1n, timer: TIMERS.off });
        } else {
          change(at, { ...old, sendQ: old.sendQ === ZERO ? BigInt(1 + Math.floor(this.random() * 64_000)) : ZERO });
        }
      }
      // A connection closes and another opens in its place: one removal and one addition.
      for (let i = 0; i < replacements; i++) open(this.fixed + Math.floor(this.random() * churnable), this.connection(this.pick(this.pods), this.kind()));
    }
    let marker: string | undefined;
    if (markerRound !== undefined) {
      if (this.marker) {
        next.set(this.marker.key, null);
        this.sockets.pop();
      }
      const port = MARKER_PORT_BASE + (markerRound % 2768);
      const socket = this.base(HOST_NETNS, Proto.PROTO_TCP, 10, this.inode(), '0.0.0.0', port, '0.0.0.0', 0);
      socket.uid = 0;
      socket.tcp = LISTEN_EXTRAS;
      socket.processes = [{ pid: 1403, name: 'kube-proxy', comm: 'kube-proxy', fds: [30 + (markerRound % 100)] }];
      this.marker = socket;
      this.sockets.push(socket);
      next.set(socket.key, socket);
      marker = socket.key;
    }
    const upserted: Socket[] = [];
    const removed: string[] = [];
    for (const [key, socket] of next) {
      if (!socket) removed.push(key);
      // Changed and changed back (a queue that filled and drained): no change to a diff.
      else if (!before.has(key) || !sameForWire(before.get(key)!, socket)) upserted.push(socket);
    }
    return { changes: { upserted, removed }, marker };
  }
}
