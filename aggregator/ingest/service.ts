import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { NamespaceInfo, StreamResponse } from '../../gen/kubenetstat/v1/agent.js';
import { applyNamespaceTable, type NodeState, type NodeStore } from '../store/node-store.js';
import { RemovedKeySet } from './removed-keys.js';
import { NodeSockets, type PendingSocket } from '../store/node-sockets.js';
import type { AgentAuthenticator, AgentIdentity } from '../auth/agent-auth.js';
import { bearerToken } from '../auth/bearer.js';
import { AuthError } from '../auth/types.js';
import { PendingPool, PodCache, readEnvelope, WireFormatError, type Envelope, type RemovedKeys } from './stream-reader.js';
import type { LogFn } from '../../common/log.js';

export interface IngestOptions {
  /** Sockets one snapshot chunk or delta may carry. */
  readonly maxSocketsPerMessage: number;
  /** Sockets one node may hold. */
  readonly maxSocketsPerNode: number;
  readonly log: LogFn;
  /** Counts every applied change, for the ingest-rate metric. */
  readonly onApplied?: (changes: number) => void;
  /** Every message read, snapshot applied, resync asked and stream rejected, for metrics. */
  readonly onEvent?: (event: IngestEvent) => void;
  /** Agent authentication (aggregator/auth/agent-auth.ts): the stream may write only the node it names. */
  readonly authenticate?: Pick<AgentAuthenticator, 'authenticate'>;
}

/** What ingest reports for metrics; `rejected` names the gRPC status the stream ended with. */
export type IngestEvent =
  | { readonly kind: 'message'; readonly message: Envelope['kind'] }
  | { readonly kind: 'snapshot' }
  | { readonly kind: 'resync' }
  | { readonly kind: 'rejected'; readonly code: string };

/** Requests arrive as raw bytes: wire-index.ts reads them without decoding every socket. */
type Call = ServerDuplexStream<Buffer, StreamResponse>;

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
/** Ingest runs one message at a time: one set serves every connection. */
const REMOVED = new RemovedKeySet();
const AUTH_CODES: Readonly<Record<AuthError['kind'], status>> = { unauthenticated: status.UNAUTHENTICATED, forbidden: status.PERMISSION_DENIED, unavailable: status.UNAVAILABLE };

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
    const listen = (): void => {
      call.on('data', (request: Buffer) => {
        try {
          connection.receive(request);
        } catch (error) {
          connection.reject(error instanceof WireFormatError ? new StreamRejected(status.INVALID_ARGUMENT, `malformed message: ${error.message}`) : error);
        }
      });
    };
    const auth = this.options.authenticate;
    if (!auth) listen();
    else {
      // Nothing is read (the stream stays paused) until the token says which node this stream may write.
      const authorization = call.metadata.get('authorization')[0];
      auth.authenticate(bearerToken(typeof authorization === 'string' ? authorization : undefined)).then(
        (identity) => {
          connection.boundTo = identity;
          endAtExpiry(call, connection, identity);
          listen();
        },
        (error: unknown) => connection.reject(error instanceof AuthError ? new StreamRejected(AUTH_CODES[error.kind], error.message) : error),
      );
    }
    call.on('end', () => {
      // Half-closed without a goodbye: the node is down; end our side too so the call completes.
      connection.closed('the agent closed the stream');
      if (!call.writableEnded) call.end();
    });
    call.on('error', (error: Error) => connection.closed(error.message));
    call.on('cancelled', () => connection.closed('cancelled'));
  };

  /** Ends every agent stream (shutdown): agents reconnect to whoever serves next. */
  closeAll(reason: string): void {
    for (const call of this.calls.values()) call.emit('error', { code: status.UNAVAILABLE, details: reason });
    this.calls.clear();
  }
}

/**
 * A stream lives no longer than the token it was opened with: at its expiry the stream ends
 * (UNAUTHENTICATED) and the agent reconnects with its rotated token, reviewed anew.
 */
function endAtExpiry(call: Call, connection: Connection, identity: AgentIdentity): void {
  const expiresAtMs = identity.expiresAtMs;
  if (expiresAtMs === undefined) return;
  // setTimeout's longest delay is 2^31-1 ms (~24.8 days): a longer-lived token's stream ends then, and is reviewed anew.
  const expired = (): void => connection.reject(new StreamRejected(status.UNAUTHENTICATED, `the agent's token expired at ${new Date(expiresAtMs).toISOString()}: reconnect with the rotated token`));
  const timer = setTimeout(expired, Math.min(Math.max(0, expiresAtMs - Date.now()), 2 ** 31 - 1));
  timer.unref();
  const clear = (): void => clearTimeout(timer);
  call.once('error', clear);
  call.once('end', clear);
  call.once('cancelled', clear);
  call.once('close', clear);
}

/** Every connection's sockets are read into one pool: a message is applied before receive() returns, and the next one is read. */
const PENDING = new PendingPool();

class Connection {
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
    private readonly calls: Map<number, Call>,
  ) {}

  receive(request: Buffer): void {
    if (this.done) return;
    const message = readEnvelope(request, this.pods, PENDING);
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
    this.calls.set(this.session, this.call);
    if (claim.superseded !== undefined) {
      const previous = this.calls.get(claim.superseded);
      this.calls.delete(claim.superseded);
      previous?.emit('error', { code: status.ABORTED, details: `superseded by a newer connection for node ${nodeName} (epoch ${epoch})` });
    }
  }

  private snapshot(node: NodeState, snapshotId: number, index: number, sockets: PendingSocket[], last: boolean, namespaces: NamespaceInfo[] | undefined): void {
    this.checkSize(sockets.length);
    if (index === 0) {
      this.staging = { snapshotId, nextIndex: 0, sockets: new NodeSockets(), namespaces: undefined };
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
    const { source, bounds } = removed;
    if (removals > 0) {
      REMOVED.reset(removed);
      for (let i = 0; i < removals; i++) node.sockets.delete(source, bounds[2 * i]!, bounds[2 * i + 1]!, REMOVED.hashOf(i));
    }
    for (const socket of upserted) {
      if (removals > 0 && REMOVED.has(socket.source, socket.keyStart, socket.keyEnd, socket.keyHash)) continue;
      this.accept(node, node.sockets, socket, now);
    }
    this.options.onApplied?.(upserted.length + removals);
    if (++this.deltas % ACK_EVERY_DELTAS === 0) this.ack(this.expected - 1);
  }

  /** One socket into a node's map, by key. Its node is the connection's, whatever the bytes say (query.ts). */
  private accept(node: NodeState, into: NodeSockets, socket: PendingSocket, nowMs: number, previous?: NodeSockets): void {
    if (into.size >= this.options.maxSocketsPerNode && !into.hasKeyBytes(socket.source, socket.keyStart, socket.keyEnd, socket.keyHash)) {
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
    if (this.calls.get(this.session) === this.call) this.calls.delete(this.session);
  }
}
