import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { StreamRequest, StreamResponse } from '../gen/kubenetstat/v1/agent.js';
import type { Socket } from '../gen/kubenetstat/v1/socket.js';
import type { NodeState, NodeStore } from './node-store.js';

export interface IngestOptions {
  /** Sockets one snapshot chunk or delta may carry. */
  readonly maxSocketsPerMessage: number;
  /** Sockets one node may hold. */
  readonly maxSocketsPerNode: number;
  readonly log: (message: string, fields: Record<string, unknown>) => void;
  /** Counts every applied change, for the ingest-rate metric. */
  readonly onApplied?: (changes: number) => void;
}

type Call = ServerDuplexStream<StreamRequest, StreamResponse>;

/** A protocol violation: the stream ends with this status and a log line; nothing else is touched. */
class StreamRejected extends Error {
  override readonly name = 'StreamRejected';
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

/** Kubernetes node names are DNS subdomains (RFC 1123), at most 253 characters. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const ACK_EVERY_DELTAS = 50;

/**
 * AgentService.Stream on the aggregator: one call per agent connection. Malformed, hostile or
 * out-of-order input ends that call with a clear status and a log line; the node's state and
 * every other node's are left as they were. A sequence gap or a broken snapshot asks the agent
 * to resync instead of guessing.
 */
export class IngestService {
  private readonly calls = new Map<number, Call>();

  constructor(
    private readonly store: NodeStore,
    private readonly options: IngestOptions,
  ) {}

  readonly stream = (call: Call): void => {
    const connection = new Connection(call, this.store, this.options, this.calls);
    call.on('data', (request: StreamRequest) => {
      try {
        connection.receive(request);
      } catch (error) {
        connection.reject(error);
      }
    });
    call.on('end', () => connection.closed('the agent closed the stream'));
    call.on('error', (error: Error) => connection.closed(error.message));
    call.on('cancelled', () => connection.closed('cancelled'));
  };

  /** Ends every agent stream (shutdown): agents reconnect to whoever serves next. */
  closeAll(reason: string): void {
    for (const call of this.calls.values()) call.emit('error', { code: status.UNAVAILABLE, details: reason });
    this.calls.clear();
  }
}

class Connection {
  private node: string | undefined;
  private session = 0;
  private expected = 1n;
  private deltas = 0;
  /** Set after asking for a resync: everything is ignored until a snapshot's chunk 0 arrives. */
  private awaitingSnapshot = false;
  private staging: { snapshotId: bigint; nextIndex: number; sockets: Map<string, Socket> } | undefined;
  private done = false;
  /** This connection sent a complete snapshot: deltas apply on top of it. */
  private snapshotted = false;

  constructor(
    private readonly call: Call,
    private readonly store: NodeStore,
    private readonly options: IngestOptions,
    private readonly calls: Map<number, Call>,
  ) {}

  receive(request: StreamRequest): void {
    if (this.done) return;
    const message = request.message;
    if (!message) throw new StreamRejected(status.INVALID_ARGUMENT, 'empty message');
    if (this.node === undefined) {
      if (message.$case !== 'hello') throw new StreamRejected(status.INVALID_ARGUMENT, `the first message must be hello, got ${message.$case}`);
      return this.hello(message.value.nodeName, message.value.epoch, message.value.bootId);
    }
    if (message.$case === 'hello') throw new StreamRejected(status.INVALID_ARGUMENT, 'hello sent twice');
    const node = this.store.owned(this.node, this.session);
    if (!node) throw new StreamRejected(status.ABORTED, `node ${this.node} is now held by another agent connection`);
    const sequence = message.value.sequence;
    if (this.awaitingSnapshot && message.$case !== 'goodbye') {
      // Until the requested snapshot starts, everything else is moot (and not re-requested).
      this.store.touch(node);
      if (message.$case !== 'snapshot' || message.value.index !== 0) return;
      this.expected = sequence;
    }
    if (sequence !== this.expected) return this.resync(node, `sequence ${sequence} where ${this.expected} was expected`);
    this.expected = sequence + 1n;
    this.store.touch(node);
    switch (message.$case) {
      case 'snapshot':
        return this.snapshot(node, message.value.snapshotId, message.value.index, message.value.sockets, message.value.last);
      case 'delta':
        return this.delta(node, message.value.upserted, message.value.removedKeys);
      case 'heartbeat':
        if (node.synced && !this.staging && message.value.socketCount !== BigInt(node.sockets.size)) {
          return this.resync(node, `agent holds ${message.value.socketCount} sockets, aggregator ${node.sockets.size}`);
        }
        return this.ack(sequence);
      case 'goodbye':
        this.store.disconnected(node.name, this.session, `goodbye: ${message.value.reason}`);
        this.finish();
        this.call.end();
        return;
    }
  }

  private hello(nodeName: string, epoch: bigint, bootId: string): void {
    if (!NODE_NAME.test(nodeName) || nodeName.length > 253) throw new StreamRejected(status.INVALID_ARGUMENT, `invalid node name ${JSON.stringify(nodeName.slice(0, 300))}`);
    if (epoch <= 0n) throw new StreamRejected(status.INVALID_ARGUMENT, 'epoch must be positive');
    const claim = this.store.claim(nodeName, epoch, bootId);
    if (!claim.accepted) throw new StreamRejected(status.FAILED_PRECONDITION, claim.reason);
    this.node = nodeName;
    this.session = claim.session!;
    this.calls.set(this.session, this.call);
    if (claim.superseded !== undefined) {
      const previous = this.calls.get(claim.superseded);
      this.calls.delete(claim.superseded);
      previous?.emit('error', { code: status.ABORTED, details: `superseded by a newer connection for node ${nodeName} (epoch ${epoch})` });
    }
  }

  private snapshot(node: NodeState, snapshotId: bigint, index: number, sockets: Socket[], last: boolean): void {
    this.checkSize(sockets.length);
    if (index === 0) {
      this.staging = { snapshotId, nextIndex: 0, sockets: new Map() };
      this.awaitingSnapshot = false;
    }
    const staging = this.staging;
    if (!staging || staging.snapshotId !== snapshotId || staging.nextIndex !== index) {
      this.staging = undefined;
      return this.resync(node, `snapshot chunk ${index} of snapshot ${snapshotId} out of order`);
    }
    for (const socket of sockets) this.accept(node, staging.sockets, socket);
    staging.nextIndex++;
    if (last) {
      this.store.replaceSockets(node, staging.sockets);
      this.snapshotted = true;
      this.options.onApplied?.(staging.sockets.size);
      this.staging = undefined;
      this.ack(this.expected - 1n);
    }
  }

  private delta(node: NodeState, upserted: Socket[], removed: string[]): void {
    this.checkSize(upserted.length + removed.length);
    if (!this.snapshotted || this.staging) return this.resync(node, 'delta before a complete snapshot');
    for (const socket of upserted) this.accept(node, node.sockets, socket);
    for (const key of removed) node.sockets.delete(key);
    this.options.onApplied?.(upserted.length + removed.length);
    if (++this.deltas % ACK_EVERY_DELTAS === 0) this.ack(this.expected - 1n);
  }

  /** One socket into a node's map: keyed, and always labelled with the node that sent it. */
  private accept(node: NodeState, into: Map<string, Socket>, socket: Socket): void {
    if (!socket.key) throw new StreamRejected(status.INVALID_ARGUMENT, 'a socket without a key');
    if (!into.has(socket.key) && into.size >= this.options.maxSocketsPerNode) {
      throw new StreamRejected(status.RESOURCE_EXHAUSTED, `node ${node.name} exceeds ${this.options.maxSocketsPerNode} sockets`);
    }
    socket.node = node.name;
    into.set(socket.key, socket);
  }

  private checkSize(count: number): void {
    if (count > this.options.maxSocketsPerMessage) throw new StreamRejected(status.RESOURCE_EXHAUSTED, `${count} sockets in one message (at most ${this.options.maxSocketsPerMessage})`);
  }

  private resync(node: NodeState, reason: string): void {
    this.options.log('resync requested', { node: node.name, session: this.session, reason });
    this.awaitingSnapshot = true;
    this.staging = undefined;
    this.call.write({ message: { $case: 'resync', value: { reason } } });
  }

  private ack(sequence: bigint): void {
    this.call.write({ message: { $case: 'ack', value: { sequence } } });
  }

  reject(error: unknown): void {
    if (this.done) return;
    const rejected = error instanceof StreamRejected ? error : new StreamRejected(status.INTERNAL, error instanceof Error ? error.message : String(error));
    this.options.log('agent stream rejected', { node: this.node, session: this.session, code: status[rejected.code], reason: rejected.message });
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
    if (this.calls.get(this.session) === this.call) this.calls.delete(this.session);
  }
}
