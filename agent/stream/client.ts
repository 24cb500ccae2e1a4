import { Metadata, status, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentServiceClient, NamespaceInfo, StreamRequest, StreamResponse } from '../../gen/kubenetstat/v1/agent.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import { backoffDelayMs, type Backoff } from '../../common/backoff.js';
import { AGENT_DEFAULTS } from '../../config/agent-settings.js';
import { agentClient, type SentListener } from './counting-client.js';
import { PodDictionary } from './pod-dictionary.js';
import type { SocketTable, TableChanges } from './socket-table.js';

export interface AgentStreamOptions {
  /** host:port of the aggregator's gRPC listener. */
  readonly address: string;
  readonly node: string;
  readonly bootId: string;
  /** Fresh for every agent start: the aggregator lets a newer epoch replace an older one. */
  readonly epoch: bigint;
  readonly version: string;
  /** What a snapshot sends: the agent's current view. */
  readonly table: SocketTable;
  /** A heartbeat goes out when nothing else did for this long (ms). */
  readonly heartbeatMs?: number;
  /** Sockets per snapshot chunk and per delta message, so no message grows with the table. */
  readonly chunkSize?: number;
  readonly backoff?: Backoff;
  /**
   * The wait after the aggregator refused the agent itself (UNAUTHENTICATED, PERMISSION_DENIED
   * before its hello was accepted): a token or RBAC problem that retrying at once cannot fix.
   */
  readonly refusedBackoff?: Backoff;
  /**
   * How long to wait for the aggregator to accept the hello (its Ack of sequence 0) before
   * sending the snapshot anyway: an aggregator older than that ack never sends it.
   */
  readonly helloWaitMs?: number;
  readonly credentials?: ChannelCredentials;
  /** The bearer token each connection sends (`authorization` metadata), asked for anew at every (re)connect; none when absent. */
  readonly token?: () => string;
  readonly random?: () => number;
  readonly onEvent?: (event: StreamEvent) => void;
  /** Every message sent, by kind, with its encoded size (for metrics). */
  readonly onSent?: SentListener;
}

export type StreamEvent =
  | { readonly kind: 'connected' }
  | { readonly kind: 'snapshot'; readonly sockets: number; readonly chunks: number; readonly reason: string }
  | { readonly kind: 'delta'; readonly upserted: number; readonly removed: number }
  | { readonly kind: 'resync-requested'; readonly reason: string }
  /** `refused`: the aggregator turned the agent away (UNAUTHENTICATED, PERMISSION_DENIED) before accepting its hello. */
  | { readonly kind: 'disconnected'; readonly error: string; readonly retryInMs: number; readonly refused: boolean };

const DEFAULTS = {
  heartbeatMs: AGENT_DEFAULTS.heartbeatSeconds * 1000,
  chunkSize: AGENT_DEFAULTS.chunkSize,
  backoff: { initialMs: AGENT_DEFAULTS.backoffInitialSeconds * 1000, maxMs: AGENT_DEFAULTS.backoffMaxSeconds * 1000 },
  refusedBackoff: { initialMs: 60_000, maxMs: 600_000 },
  helloWaitMs: 5_000,
};

/** A stream that ended or failed: the session is over and the agent reconnects. */
class SessionEnded extends Error {
  override readonly name = 'SessionEnded';
  constructor(
    message: string,
    /** The gRPC status the stream ended with, when it failed with one. */
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Statuses that say the agent itself was turned away: its token or its RBAC, not the network. */
const REFUSALS: ReadonlySet<number> = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED]);

/**
 * The agent's side of AgentService.Stream: hello, a full snapshot, then deltas and heartbeats;
 * reconnects with jittered exponential backoff and resends a snapshot after every reconnect
 * or resync request. Backpressure: writes honour gRPC flow control; while a write waits, new
 * scan results merge into one pending change set keyed by socket (latest state wins), so
 * memory is bounded by the table's size however slow the aggregator is. While disconnected
 * nothing is kept pending at all: the next session starts with a snapshot.
 */
export class AgentStream {
  private readonly client: AgentServiceClient;
  /** key → latest socket, or null for removed. */
  private pending = new Map<string, Socket | null>();
  private wake: (() => void) | undefined;
  private connected = false;
  private resyncReason: string | undefined;
  private sequence = 0n;
  private snapshotId = 0n;
  /** Pods sent on the current stream session, by ref. */
  private readonly pods = new PodDictionary();
  /** The node's namespace table (port ranges), and whether it changed since it was last sent. */
  private namespaces: NamespaceInfo[] = [];
  private namespacesChanged = false;

  constructor(private readonly options: AgentStreamOptions) {
    this.client = agentClient(options.address, options.credentials, {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
    }, options.onSent);
  }

  /** Merges a scan's changes into what is pending; the sender picks them up as soon as it can. */
  offer(changes: TableChanges): void {
    if (!this.connected) return;
    for (const socket of changes.upserted) this.pending.set(socket.key, socket);
    for (const key of changes.removed) this.pending.set(key, null);
    if (this.pending.size > 0) this.wakeUp();
  }

  /** A new namespace table: sent with the next delta (or snapshot), whole. */
  offerNamespaces(table: NamespaceInfo[]): void {
    this.namespaces = table;
    this.namespacesChanged = true;
    if (this.connected) this.wakeUp();
  }

  /** Pending changes not yet written (for tests and metrics). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Runs sessions until the signal aborts; then says goodbye and closes. */
  async run(signal: AbortSignal): Promise<void> {
    const backoff = this.options.backoff ?? DEFAULTS.backoff;
    const refusedBackoff = this.options.refusedBackoff ?? DEFAULTS.refusedBackoff;
    const random = this.options.random ?? Math.random;
    let failures = 0;
    let refusals = 0;
    signal.addEventListener('abort', () => this.wakeUp(), { once: true });
    while (!signal.aborted) {
      let accepted = false;
      let established = false;
      try {
        await this.session(
          signal,
          () => (accepted = true),
          () => {
            established = true;
            failures = 0;
            refusals = 0;
          },
        );
      } catch (error) {
        if (signal.aborted) break;
        // Turned away before the hello was accepted: retrying soon would only repeat it. (A
        // stream that was accepted and later ends UNAUTHENTICATED is a token that expired:
        // the rotated one is used at once.)
        const refused = !accepted && error instanceof SessionEnded && error.code !== undefined && REFUSALS.has(error.code);
        if (refused) refusals++;
        else failures = established ? 1 : failures + 1;
        const retryInMs = refused ? backoffDelayMs(refusedBackoff, refusals, random) : backoffDelayMs(backoff, failures, random);
        this.options.onEvent?.({ kind: 'disconnected', error: error instanceof Error ? error.message : String(error), retryInMs, refused });
        await sleep(retryInMs, undefined, { signal }).catch(() => undefined);
      }
    }
    this.client.close();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private next(): bigint {
    this.sequence += 1n;
    return this.sequence;
  }

  /** One stream: hello, and once the aggregator accepted it (onAccepted), the snapshot (onEstablished), then deltas. */
  private async session(signal: AbortSignal, onAccepted: () => void, onEstablished: () => void): Promise<void> {
    const metadata = new Metadata();
    const token = this.options.token?.();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    const call = this.client.stream(metadata);
    this.sequence = 0n;
    this.pods.reset();
    let ended: Error | undefined;
    const endedPromise = new Promise<never>((_, reject) => {
      const end = (error: Error) => {
        ended ??= error;
        this.wakeUp();
        reject(ended);
      };
      call.on('error', (error: ServiceError) => end(new SessionEnded(error.message, error.code)));
      call.on('end', () => end(new SessionEnded('the aggregator closed the stream')));
    });
    endedPromise.catch(() => undefined);
    // Any answer means the hello was accepted: the aggregator acks it (sequence 0) before anything else.
    let answered: () => void = () => undefined;
    const helloAnswered = new Promise<void>((resolve) => (answered = resolve));
    call.on('data', (response: StreamResponse) => {
      answered();
      const message = response.message;
      if (message?.$case === 'resync') {
        this.resyncReason = message.value.reason || 'requested';
        this.options.onEvent?.({ kind: 'resync-requested', reason: this.resyncReason });
        this.wakeUp();
      }
    });

    try {
      this.connected = true;
      this.pending.clear();
      const { node, bootId, epoch, version } = this.options;
      await this.write(call, { message: { $case: 'hello', value: { nodeName: node, bootId, epoch, version, capabilities: ['snapshot-chunks', 'goodbye'] } } }, endedPromise);
      // No snapshot for an aggregator that turns the agent away: wait for the hello's ack (or,
      // from an aggregator too old to send one, for helloWaitMs).
      const helloWaitMs = this.options.helloWaitMs ?? DEFAULTS.helloWaitMs;
      let waited: NodeJS.Timeout | undefined;
      const accepted = await Promise.race([helloAnswered.then(() => true), endedPromise, new Promise<boolean>((resolve) => (waited = setTimeout(() => resolve(false), helloWaitMs)))]).finally(() => clearTimeout(waited));
      if (accepted) onAccepted();
      this.options.onEvent?.({ kind: 'connected' });
      await this.sendSnapshot(call, 'connected', endedPromise);
      onEstablished();
      const heartbeatMs = this.options.heartbeatMs ?? DEFAULTS.heartbeatMs;
      let lastSent = Date.now();
      while (!signal.aborted) {
        if (ended) throw ended;
        if (this.resyncReason !== undefined) {
          const reason = this.resyncReason;
          this.resyncReason = undefined;
          await this.sendSnapshot(call, `resync: ${reason}`, endedPromise);
          lastSent = Date.now();
        } else if (this.pending.size > 0 || this.namespacesChanged) {
          await this.sendPending(call, endedPromise);
          lastSent = Date.now();
        } else if (Date.now() - lastSent >= heartbeatMs) {
          await this.write(call, { message: { $case: 'heartbeat', value: { sequence: this.next(), socketCount: BigInt(this.options.table.size) } } }, endedPromise);
          lastSent = Date.now();
        } else {
          await this.idle(heartbeatMs - (Date.now() - lastSent));
        }
      }
      await this.write(call, { message: { $case: 'goodbye', value: { sequence: this.next(), reason: 'agent shutting down' } } }, endedPromise);
      call.end();
    } finally {
      this.connected = false;
      this.pending.clear();
      if (ended === undefined) call.cancel();
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async sendSnapshot(call: ClientDuplexStream<StreamRequest, StreamResponse>, reason: string, ended: Promise<never>): Promise<void> {
    // The snapshot carries everything; changes pending until now are part of it.
    this.pending.clear();
    const sockets = this.options.table.snapshot();
    const chunkSize = this.options.chunkSize ?? DEFAULTS.chunkSize;
    this.snapshotId += 1n;
    const chunks = Math.max(1, Math.ceil(sockets.length / chunkSize));
    this.namespacesChanged = false;
    for (let index = 0; index < chunks; index++) {
      const { sockets: slice, pods } = this.pods.encode(sockets.slice(index * chunkSize, (index + 1) * chunkSize));
      const namespaces = index === 0 ? { namespaces: { namespaces: this.namespaces } } : {};
      await this.write(call, { message: { $case: 'snapshot', value: { sequence: this.next(), snapshotId: this.snapshotId, index, sockets: slice, last: index === chunks - 1, pods, ...namespaces } } }, ended);
    }
    this.options.onEvent?.({ kind: 'snapshot', sockets: sockets.length, chunks, reason });
  }

  private async sendPending(call: ClientDuplexStream<StreamRequest, StreamResponse>, ended: Promise<never>): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const upserted: Socket[] = [];
    const removed: string[] = [];
    for (const [key, socket] of batch) {
      if (socket) upserted.push(socket);
      else removed.push(key);
    }
    const chunkSize = this.options.chunkSize ?? DEFAULTS.chunkSize;
    // A changed namespace table rides in the first delta (alone, when no socket changed).
    let namespaces = this.namespacesChanged ? { namespaces: { namespaces: this.namespaces } } : {};
    this.namespacesChanged = false;
    for (let start = 0; start === 0 || start < Math.max(upserted.length, removed.length); start += chunkSize) {
      const { sockets, pods } = this.pods.encode(upserted.slice(start, start + chunkSize));
      await this.write(call, { message: { $case: 'delta', value: { sequence: this.next(), upserted: sockets, removedKeys: removed.slice(start, start + chunkSize), pods, ...namespaces } } }, ended);
      namespaces = {};
    }
    this.options.onEvent?.({ kind: 'delta', upserted: upserted.length, removed: removed.length });
  }

  /**
   * One message, resolved when gRPC has handed it to HTTP/2 (whose flow control holds it back
   * when the aggregator does not read). Waiting for that, not just for `drain`, keeps at most
   * one message in flight: grpc-js would otherwise buffer 16 messages before pushing back,
   * all of them stale by the time a stalled aggregator reads them.
   */
  private async write(call: ClientDuplexStream<StreamRequest, StreamResponse>, message: StreamRequest, ended: Promise<never>): Promise<void> {
    await Promise.race([new Promise<void>((resolve) => call.write(message, () => resolve())), ended]);
  }
}
