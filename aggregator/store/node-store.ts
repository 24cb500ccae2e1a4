import type { NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import type { ClusterNode, PeerResolver } from '../peers/types.js';
import { NodeSockets } from './node-sockets.js';
import { SocketChunks } from './socket-chunks.js';
import type { LogFn } from '../../common/log.js';

export type NodeStatus = 'syncing' | 'live' | 'disconnected';

/** ` (node NotReady, cordoned)`: what the API says of a Node that explains a missing agent; '' for a ready, schedulable one or an unknown one. */
function nodeMarks(condition: ClusterNode | undefined): string {
  if (!condition) return '';
  const marks = [...(condition.ready ? [] : ['NotReady']), ...(condition.cordoned ? ['cordoned'] : [])];
  return marks.length === 0 ? '' : ` (node ${marks.join(', ')})`;
}

/** Why a node cannot be vouched for (NodeStore.unavailableCause). */
export type UnavailableCause = 'disconnected' | 'first-snapshot' | 'stale' | 'resyncing';

/** One node's state as the aggregator holds it. */
export interface NodeState {
  readonly name: string;
  epoch: bigint;
  bootId: string;
  status: NodeStatus;
  /** When anything last arrived from the node's agent (ms since the epoch). */
  lastSeenMs: number;
  /** Since when the node is disconnected or silent; for eviction. */
  downSinceMs: number | undefined;
  /** The node's sockets as of its last complete snapshot plus the deltas after it. */
  sockets: NodeSockets;
  /** True once a complete snapshot arrived: before that the node cannot be vouched for. */
  synced: boolean;
  /** Identifies the connection that owns the node now. */
  session: number;
  /** The boot `sockets` are from: a snapshot of the same boot carries what is known of them over (keys hold inodes). */
  socketsBootId: string;
  /** The node's network namespaces (by inode, decimal text) as its agent last described them. */
  namespaces: ReadonlyMap<string, NamespaceInfo>;
  /**
   * Per namespace, its ListenOverflows when its agent first reported them in the current run of
   * a listener backlog (see applyNamespaceTable).
   */
  listenBaselines: Map<string, bigint>;
}

/** A namespace's ephemeral port range, as its agent read it (or assumed it); undefined when the agent said nothing of it. */
export function portRangeOf(node: NodeState, netns: string): { low: number; high: number; assumed: boolean } | undefined {
  const info = node.namespaces.get(netns);
  return info && { low: info.portRangeLow, high: info.portRangeHigh, assumed: info.portRangeAssumed };
}

/**
 * A node's namespace table from its agent, whole. The agent reports a namespace's listen drop
 * counters only while one of its listeners has connections waiting; the first value of each
 * such run is kept as its baseline, so listenOverflowsOf counts the overflows of this backlog.
 */
export function applyNamespaceTable(node: NodeState, table: readonly NamespaceInfo[]): void {
  const namespaces = new Map(table.map((info) => [info.netns.toString(), info]));
  for (const [netns, info] of namespaces) {
    const overflows = info.listenDrops?.overflows;
    if (overflows === undefined) node.listenBaselines.delete(netns);
    else if (!node.listenBaselines.has(netns)) node.listenBaselines.set(netns, overflows);
  }
  for (const netns of node.listenBaselines.keys()) if (!namespaces.has(netns)) node.listenBaselines.delete(netns);
  node.namespaces = namespaces;
}

/** Connections the kernel dropped into a full accept queue in this namespace during the current backlog; undefined while none waits. */
export function listenOverflowsOf(node: NodeState, netns: string): number | undefined {
  const overflows = node.namespaces.get(netns)?.listenDrops?.overflows;
  const baseline = node.listenBaselines.get(netns);
  return overflows === undefined || baseline === undefined ? undefined : Number(overflows - baseline);
}

export interface NodeStoreOptions {
  /** A live node that sent nothing for this long is stale (ms). */
  readonly staleAfterMs: number;
  /** A stale or disconnected node is forgotten after this long (ms). */
  readonly evictAfterMs: number;
  readonly now?: () => number;
  readonly log?: LogFn;
  /** Names the far end of sockets in answers (aggregator/peers); none without cluster access. */
  readonly peers?: PeerResolver;
}

export type ClaimResult = { readonly accepted: true; readonly superseded?: number } | { readonly accepted: false; readonly reason: string };

/**
 * Per-node socket state. A node is claimed by one agent connection at a time; a second agent
 * claiming the same node is resolved by epoch (a fresh one per agent start): the higher epoch
 * wins, an equal epoch (the same agent reconnecting) replaces its old connection, and a lower
 * one is refused while the newer agent is connected. Every decision is logged.
 */
export class NodeStore {
  private readonly nodes = new Map<string, NodeState>();
  private nextSession = 1;
  /** The clock every time the store records comes from (ms since the epoch). */
  readonly now: () => number;
  /** Where every node's socket bytes live. */
  readonly chunks = new SocketChunks();

  constructor(private readonly options: NodeStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** What answers name peers with; undefined when the aggregator has no cluster access. */
  get peers(): PeerResolver | undefined {
    return this.options.peers;
  }

  /** A node's store with no sockets yet, its bytes in this store's chunks (a snapshot is staged in one). */
  emptySockets(): NodeSockets {
    return new NodeSockets(this.chunks);
  }

  /** A hello: returns whether this connection may write the node, and the session it supersedes. */
  claim(name: string, epoch: bigint, bootId: string): ClaimResult & { session?: number } {
    const existing = this.nodes.get(name);
    const session = this.nextSession++;
    const now = this.now();
    if (!existing) {
      this.nodes.set(name, { name, epoch, bootId, status: 'syncing', lastSeenMs: now, downSinceMs: undefined, sockets: this.emptySockets(), socketsBootId: bootId, synced: false, session, namespaces: new Map(), listenBaselines: new Map() });
      this.options.log?.('node connected', { node: name, epoch: String(epoch), session });
      return { accepted: true, session };
    }
    if (epoch < existing.epoch && existing.status !== 'disconnected') {
      const reason = `node ${name} is held by a newer agent (epoch ${existing.epoch} > ${epoch})`;
      this.options.log?.('agent refused', { node: name, epoch: String(epoch), current: String(existing.epoch) });
      return { accepted: false, reason };
    }
    const superseded = existing.status === 'disconnected' ? undefined : existing.session;
    if (superseded !== undefined) this.options.log?.('agent connection replaced', { node: name, epoch: String(epoch), previousEpoch: String(existing.epoch), previousSession: superseded });
    // A new boot or a new agent: its sockets are kept (flagged) until its snapshot replaces them.
    existing.epoch = epoch;
    existing.bootId = bootId;
    existing.status = 'syncing';
    existing.lastSeenMs = now;
    existing.session = session;
    this.options.log?.('node connected', { node: name, epoch: String(epoch), session });
    return { accepted: true, session, ...(superseded !== undefined && { superseded }) };
  }

  /** The node if this session still owns it. */
  owned(name: string, session: number): NodeState | undefined {
    const node = this.nodes.get(name);
    return node && node.session === session ? node : undefined;
  }

  touch(node: NodeState): void {
    node.lastSeenMs = this.now();
    node.downSinceMs = undefined;
    if (node.synced && node.status !== 'live') node.status = 'live';
  }

  replaceSockets(node: NodeState, sockets: NodeSockets): void {
    node.sockets = sockets;
    node.socketsBootId = node.bootId;
    node.synced = true;
    node.status = 'live';
    this.touch(node);
  }

  disconnected(name: string, session: number, reason: string): void {
    const node = this.owned(name, session);
    if (!node) return;
    node.status = 'disconnected';
    node.downSinceMs = this.now();
    this.options.log?.('node disconnected', { node: name, session, reason });
  }

  /** Marks silent nodes stale and forgets nodes down for longer than the eviction TTL. */
  sweep(): void {
    const now = this.now();
    for (const node of this.nodes.values()) {
      if (node.status !== 'disconnected' && now - node.lastSeenMs > this.options.staleAfterMs) node.downSinceMs ??= node.lastSeenMs;
      if (node.downSinceMs !== undefined && now - node.downSinceMs > this.options.evictAfterMs) {
        this.nodes.delete(node.name);
        this.options.log?.('node evicted', { node: node.name, downForMs: now - node.downSinceMs });
      }
    }
  }

  /**
   * Why a node cannot be vouched for right now, or undefined when it can: a cause that stays
   * the same while the condition lasts (unavailability's text counts the seconds).
   */
  unavailableCause(node: NodeState): UnavailableCause | undefined {
    if (node.status === 'disconnected') return 'disconnected';
    if (!node.synced) return 'first-snapshot';
    if (this.now() - node.lastSeenMs > this.options.staleAfterMs) return 'stale';
    if (node.status === 'syncing') return 'resyncing';
    return undefined;
  }

  /** Why a node cannot be vouched for right now, in words (with what the API says of the Node), or undefined when it can. */
  unavailability(node: NodeState, cause = this.unavailableCause(node)): string | undefined {
    const silentSeconds = Math.round((this.now() - node.lastSeenMs) / 1000);
    const marks = nodeMarks(this.options.peers?.clusterNodes?.()?.get(node.name));
    switch (cause) {
      case 'disconnected':
        return `agent disconnected ${silentSeconds} s ago${marks}; showing its last known sockets`;
      case 'first-snapshot':
        return `agent connected, first snapshot not complete yet${marks}`;
      case 'stale':
        return `stale: nothing from its agent for ${silentSeconds} s${marks}; showing its last known sockets`;
      case 'resyncing':
        return `agent reconnected, snapshot in progress${marks}; showing its previous sockets`;
      case undefined:
        return undefined;
    }
  }

  /**
   * The Nodes the API lists that no agent is connected from or known for (never since this
   * aggregator started, or evicted since), each with why: a node without an agent must not look
   * like a node without sockets. None without cluster access.
   */
  agentless(): Array<{ readonly name: string; readonly reason: string }> {
    const listed = this.options.peers?.clusterNodes?.();
    if (!listed) return [];
    const missing: Array<{ name: string; reason: string }> = [];
    for (const [name, condition] of listed) {
      if (!this.nodes.has(name)) missing.push({ name, reason: `no agent: none has connected from this node${nodeMarks(condition)}` });
    }
    return missing;
  }

  all(): IterableIterator<NodeState> {
    return this.nodes.values();
  }

  get(name: string): NodeState | undefined {
    return this.nodes.get(name);
  }

  get socketCount(): number {
    let count = 0;
    for (const node of this.nodes.values()) count += node.sockets.size;
    return count;
  }
}
