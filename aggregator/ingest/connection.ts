import { status } from '@grpc/grpc-js';
import type { NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import { applyNamespaceTable, type NodeSockets, type NodeState, type NodeStore, type PendingSocket } from '../store/index.js';
import type { AgentIdentity } from '../auth/agent-auth.js';
import type { RemovedKeys } from './envelope.js';
import { PodCache } from './pod-cache.js';
import type { RemovedKeySet } from './removed-keys.js';
import type { StreamReader } from './stream-reader.js';
import { StreamRejected } from './errors.js';
import type { Call, IngestOptions } from './types.js';

/** Kubernetes node names are DNS subdomains (RFC 1123), at most 253 characters. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ACK_EVERY_DELTAS = 50;

/**
 * What every connection of one ingest (IngestService) reuses: each receive() reads a message
 * and applies it before it returns, so no two messages are ever read or applied at once.
 */
export interface IngestShared {
  readonly reader: StreamReader;
  readonly removed: RemovedKeySet;
  /** The call of each session, to end one a newer connection supersedes. */
  readonly calls: Map<number, Call>;
}

/** One agent's stream: its node, where it is in the stream's sequence, and its snapshot being staged. */
export class Connection {
  private node: string | undefined;
  private session = 0;
  private expected = 1;
  private deltas = 0;
  /** Set after asking for a resync: everything is ignored until a snapshot's chunk 0 arrives. */
  private awaitingSnapshot = false;
  private staging: { snapshotId: number; nextIndex: number; sockets: NodeSockets; namespaces: NamespaceInfo[] | undefined } | undefined;
  private readonly pods = new PodCache();
  private done = false;
  /** This connection sent a complete snapshot: deltas apply on top of it. */
  private snapshotted = false;
  /** Who the agent authenticated as; its hello must name this node. */
  boundTo: AgentIdentity | undefined;

  constructor(
    private readonly call: Call,
    private readonly store: NodeStore,
    private readonly options: IngestOptions,
    private readonly shared: IngestShared,
  ) {}

  receive(request: Buffer): void {
    if (this.done) return;
    const message = this.shared.reader.read(request, this.pods);
    this.options.onEvent?.({ kind: 'message', message: message.kind });
    if (this.node === undefined) {
      if (message.kind !== 'hello') throw new StreamRejected(status.INVALID_ARGUMENT, `the first message must be hello, got ${message.kind}`);
      return this.hello(message.hello.nodeName, message.hello.epoch, message.hello.bootId);
    }
    if (message.kind === 'hello') throw new StreamRejected(status.INVALID_ARGUMENT, 'hello sent twice');
    const node = this.store.owned(this.node, this.session);
    if (!node) throw new StreamRejected(status.ABORTED, `node ${this.node} is now held by another agent connection`);
    const sequence = message.sequence;
    if (this.awaitingSnapshot && message.kind !== 'goodbye') {
      // Until the requested snapshot starts, everything else is moot (and not re-requested).
      this.store.touch(node);
      if (message.kind !== 'snapshot' || message.index !== 0) return;
      this.expected = sequence;
    }
    if (sequence !== this.expected) return this.resync(node, `sequence ${sequence} where ${this.expected} was expected`);
    this.expected = sequence + 1;
    this.store.touch(node);
    switch (message.kind) {
      case 'snapshot':
        return this.snapshot(node, message.snapshotId, message.index, message.sockets, message.last, message.namespaces);
      case 'delta':
        return this.delta(node, message.upserted, message.removed, message.namespaces);
      case 'heartbeat':
        if (this.snapshotted && !this.staging && message.socketCount !== node.sockets.size) {
          return this.resync(node, `agent holds ${message.socketCount} sockets, aggregator ${node.sockets.size}`);
        }
        return this.ack(sequence);
      case 'goodbye':
        this.store.disconnected(node.name, this.session, `goodbye: ${message.reason}`);
        this.finish();
        if (!this.call.writableEnded) this.call.end();
        return;
    }
  }

  private hello(nodeName: string, epoch: bigint, bootId: string): void {
    if (!NODE_NAME.test(nodeName) || nodeName.length > 253) throw new StreamRejected(status.INVALID_ARGUMENT, `invalid node name ${JSON.stringify(nodeName.slice(0, 300))}`);
    const bound = this.boundTo;
    if (bound && bound.node !== nodeName) throw new StreamRejected(status.PERMISSION_DENIED, `${bound.username} (pod ${bound.pod}) runs on node ${bound.node} and may not write node ${nodeName}`);
    if (epoch <= 0n) throw new StreamRejected(status.INVALID_ARGUMENT, 'epoch must be positive');
    const claim = this.store.claim(nodeName, epoch, bootId);
    if (!claim.accepted) throw new StreamRejected(status.FAILED_PRECONDITION, claim.reason);
    this.node = nodeName;
    this.session = claim.session!;
    this.shared.calls.set(this.session, this.call);
    // The hello is accepted: the agent sends its snapshot only after this (older agents ignore acks).
    this.ack(0);
    if (claim.superseded !== undefined) {
      const previous = this.shared.calls.get(claim.superseded);
      this.shared.calls.delete(claim.superseded);
      previous?.emit('error', { code: status.ABORTED, details: `superseded by a newer connection for node ${nodeName} (epoch ${epoch})` });
    }
  }

  private snapshot(node: NodeState, snapshotId: number, index: number, sockets: PendingSocket[], last: boolean, namespaces: NamespaceInfo[] | undefined): void {
    this.checkSize(sockets.length);
    if (index === 0) {
      this.staging = { snapshotId, nextIndex: 0, sockets: this.store.emptySockets(), namespaces: undefined };
      this.awaitingSnapshot = false;
    }
    const staging = this.staging;
    if (!staging || staging.snapshotId !== snapshotId || staging.nextIndex !== index) {
      this.staging = undefined;
      return this.resync(node, `snapshot chunk ${index} of snapshot ${snapshotId} out of order`);
    }
    // What is known of the node's sockets (first seen, since when in a state) outlives the
    // agent's restart or resync; a new boot's inodes are other sockets.
    const previous = node.socketsBootId === node.bootId ? node.sockets : undefined;
    const now = this.store.now();
    for (const socket of sockets) this.accept(node, staging.sockets, socket, now, previous);
    if (namespaces) staging.namespaces = namespaces;
    staging.nextIndex++;
    if (last) {
      this.store.replaceSockets(node, staging.sockets);
      // An agent that sends no table (an older one) leaves the aggregator knowing none.
      applyNamespaceTable(node, staging.namespaces ?? []);
      this.snapshotted = true;
      this.options.onApplied?.(staging.sockets.size);
      this.options.onEvent?.({ kind: 'snapshot' });
      this.staging = undefined;
      this.ack(this.expected - 1);
    }
  }

  private delta(node: NodeState, upserted: PendingSocket[], removed: RemovedKeys, namespaces: NamespaceInfo[] | undefined): void {
    const removals = removed.bounds.length / 2;
    this.checkSize(upserted.length + removals);
    if (!this.snapshotted || this.staging) return this.resync(node, 'delta before a complete snapshot');
    if (namespaces) applyNamespaceTable(node, namespaces);
    const now = this.store.now();
    // Removals first: the node's table never holds a message's new sockets next to those they
    // replace (its slots would outgrow a table that is merely full). An upsert of a key the
    // delta also removes is left out, as applying upserts first and removals after would.
    const { sourceView, bounds } = removed;
    const removedKeys = this.shared.removed;
    if (removals > 0) {
      removedKeys.reset(removed);
      for (let i = 0; i < removals; i++) node.sockets.delete(sourceView, bounds[2 * i]!, bounds[2 * i + 1]!, removedKeys.hashOf(i));
    }
    for (const socket of upserted) {
      if (removals > 0 && removedKeys.has(socket.source, socket.keyStart, socket.keyEnd, socket.keyHash)) continue;
      this.accept(node, node.sockets, socket, now);
    }
    this.options.onApplied?.(upserted.length + removals);
    if (++this.deltas % ACK_EVERY_DELTAS === 0) this.ack(this.expected - 1);
  }

  /** One socket into a node's map, by key. Its node is the connection's, whatever the bytes say (query/decode.ts). */
  private accept(node: NodeState, into: NodeSockets, socket: PendingSocket, nowMs: number, previous?: NodeSockets): void {
    if (into.size >= this.options.maxSocketsPerNode && !into.hasKeyBytes(socket.sourceView, socket.keyStart, socket.keyEnd, socket.keyHash)) {
      throw new StreamRejected(status.RESOURCE_EXHAUSTED, `node ${node.name} exceeds ${this.options.maxSocketsPerNode} sockets`);
    }
    into.put(socket, nowMs, previous);
  }

  private checkSize(count: number): void {
    if (count > this.options.maxSocketsPerMessage) throw new StreamRejected(status.RESOURCE_EXHAUSTED, `${count} sockets in one message (at most ${this.options.maxSocketsPerMessage})`);
  }

  private resync(node: NodeState, reason: string): void {
    this.options.log('resync requested', { node: node.name, session: this.session, reason });
    this.options.onEvent?.({ kind: 'resync' });
    this.awaitingSnapshot = true;
    this.staging = undefined;
    this.call.write({ message: { $case: 'resync', value: { reason } } });
  }

  private ack(sequence: number): void {
    this.call.write({ message: { $case: 'ack', value: { sequence: BigInt(sequence) } } });
  }

  reject(error: unknown): void {
    if (this.done) return;
    const rejected = error instanceof StreamRejected ? error : new StreamRejected(status.INTERNAL, error instanceof Error ? error.message : String(error));
    this.options.log('agent stream rejected', { node: this.node, session: this.session, code: status[rejected.code], reason: rejected.message }, 'warn');
    this.options.onEvent?.({ kind: 'rejected', code: status[rejected.code] });
    if (this.node !== undefined) this.store.disconnected(this.node, this.session, rejected.message);
    this.finish();
    this.call.emit('error', { code: rejected.code, details: rejected.message });
  }

  closed(reason: string): void {
    if (this.done) return;
    if (this.node !== undefined) this.store.disconnected(this.node, this.session, reason);
    this.finish();
  }

  private finish(): void {
    this.done = true;
    const calls = this.shared.calls;
    if (calls.get(this.session) === this.call) calls.delete(this.session);
  }
}
