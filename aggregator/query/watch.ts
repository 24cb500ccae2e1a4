import { WatchEventType, type UnavailableNode, type WatchEvent } from '../../gen/kubenetstat/v1/query.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { NodeSockets, NodeState, NodeStore, PodIndex, UnavailableCause } from '../store/index.js';
import { decodeSocket, decodeStored } from './decode.js';
import { agentlessNodes, byNodeName, compileSelection, orderedNodes, walkCandidates, type Selection } from './selection.js';
import { QueryError, type QuerySpec } from './spec.js';
import type { LogFn } from '../../common/log.js';

/**
 * Watch: the sockets a filter selects, then their changes. A watcher does not follow ingest
 * (snapshots, resyncs, a newer agent taking a node over, evictions all change a node in their
 * own way): it polls, and compares what a node holds now with what it last sent for that node.
 * Only nodes whose store moved since (NodeSockets.version, or a new store after a snapshot)
 * are walked again, and only the sockets the filter selects are remembered, so a narrow watch
 * stays cheap on a large cluster. A client that reads slowly pauses its watcher; when it
 * catches up, the next comparison sends what changed meanwhile, so nothing queues up.
 */

/** Where a watch's events go. */
export interface WatchSink {
  /** Takes one event; false when the client is behind: the watcher pauses until Watch.resume. */
  send(event: WatchEvent): boolean;
  /** Ends the watch from the aggregator's side: it is shutting down, or the watch failed. */
  end(cause: 'shutdown' | 'failed', message: string): void;
}

/** As many watches are open as the aggregator serves: the client should retry later. */
export class WatchLimitError extends Error {
  override readonly name = 'WatchLimitError';
}

/** A socket as a watcher last sent it: enough to see it changed and to send it as DELETED. */
interface Sent {
  /** A copy of its stored bytes (the store's are a view that moves). */
  readonly bytes: Buffer;
  readonly pod: PodIndex | undefined;
  /** The walk that last found it selected. */
  walk: number;
}

/** What a watcher last sent of one node: as of which store and version, by socket key. */
interface NodeSent {
  readonly sockets: NodeSockets;
  readonly version: number;
  readonly sent: Map<string, Sent>;
}

const samePod = (a: PodIndex | undefined, b: PodIndex | undefined): boolean => a === b || (a !== undefined && b !== undefined && a.bytes.equals(b.bytes));

/** One watch's state and its comparison pass (the hub runs it; tests drive it directly). */
export class Watcher {
  /** Nodes walked so far: a node whose store did not move since the last pass is skipped. */
  walks = 0;
  /** Selected sockets left out because their bytes do not decode (as answers leave them out). */
  undecodable = 0;
  private readonly nodes = new Map<string, NodeSent>();
  private readonly selection: Selection;
  /** minAge selects by the clock: every pass then looks at every node. */
  private readonly byAge: boolean;
  /** The unavailable nodes and their causes as last sent in a BOOKMARK; undefined before the first. */
  private bookmarked: string | undefined;
  private paused = false;

  constructor(
    private readonly store: NodeStore,
    private readonly spec: QuerySpec,
    private readonly sink: WatchSink,
    private readonly now: () => number = Date.now,
  ) {
    if ((spec.limit ?? 0) > 0 || spec.continueToken) throw new QueryError('limit and continue do not apply to a watch: it sends every matching socket, then the changes');
    this.selection = compileSelection(spec, now());
    this.byAge = (spec.minAgeSeconds ?? 0) > 0;
  }

  /** True while the client is behind (see WatchSink.send). */
  get isPaused(): boolean {
    return this.paused;
  }

  resume(): void {
    this.paused = false;
  }

  /**
   * Sends what changed since the last pass. A pass that finds the client behind stops after
   * the node it is at; the next one carries on from there (the nodes left have not been
   * compared yet). A complete pass ends with a BOOKMARK when the unavailable nodes changed,
   * and the first complete pass always does: the initial listing is then complete.
   */
  poll(): void {
    if (this.paused) return;
    const selection = this.byAge ? compileSelection(this.spec, this.now()) : this.selection;
    const nodes = orderedNodes(this.store, selection, []);
    for (const node of nodes) {
      const last = this.nodes.get(node.name);
      if (!this.byAge && last?.sockets === node.sockets && last.version === node.sockets.version) continue;
      this.walk(node, selection, last?.sent ?? new Map());
      if (this.paused) return;
    }
    if (this.nodes.size > nodes.length) {
      // An evicted node: everything sent of it is gone.
      const present = new Set(nodes.map((node) => node.name));
      for (const [name, last] of this.nodes) {
        if (present.has(name)) continue;
        this.nodes.delete(name);
        for (const sent of last.sent.values()) this.sendDeleted(sent, name);
        if (this.paused) return;
      }
    }
    this.bookmarkIfChanged(nodes);
  }

  /**
   * Compares the nodes' causes, not the reasons' text, which counts seconds; the BOOKMARK's
   * reasons are told from the same causes, so what is sent is what was compared.
   */
  private bookmarkIfChanged(nodes: readonly NodeState[]): void {
    const down: Array<{ readonly node: NodeState; readonly cause: UnavailableCause }> = [];
    for (const node of nodes) {
      const cause = this.store.unavailableCause(node);
      if (cause) down.push({ node, cause });
    }
    const agentless = agentlessNodes(this.store, this.selection);
    const seen = [...down.map(({ node, cause }) => `${node.name} ${cause}`), ...agentless.map((node) => `${node.node} ${node.reason}`)].join('\n');
    if (seen === this.bookmarked) return;
    this.bookmarked = seen;
    const unavailableNodes = [...down.map(({ node, cause }): UnavailableNode => ({ node: node.name, reason: this.store.unavailability(node, cause) ?? '', lastSeenUnixMs: BigInt(node.lastSeenMs) })), ...agentless].sort(byNodeName);
    this.send({ type: WatchEventType.WATCH_EVENT_TYPE_BOOKMARK, socket: undefined, unavailableNodes });
  }

  /** Compares a node's selected sockets with what was sent of it, and sends the differences. */
  private walk(node: NodeState, selection: Selection, sent: Map<string, Sent>): void {
    const sockets = node.sockets;
    const view = sockets.view();
    const walk = ++this.walks;
    walkCandidates(sockets, selection.namespaces, 0, (slot) => {
      if (!selection.matches(sockets, view, slot)) return true;
      const key = sockets.keyOf(slot);
      const bytes = sockets.bytesOf(slot);
      const pod = sockets.pod(slot);
      const last = sent.get(key);
      if (last && samePod(last.pod, pod) && last.bytes.equals(bytes)) {
        last.walk = walk;
        return true;
      }
      const socket = decodeStored(sockets, slot, node.name, this.store.peers);
      if (!socket) {
        // Not sent, as answers leave it out; a version sent before is DELETED below.
        this.undecodable++;
        return true;
      }
      sent.set(key, { bytes: Buffer.from(bytes), pod, walk });
      this.sendSocket(last ? WatchEventType.WATCH_EVENT_TYPE_MODIFIED : WatchEventType.WATCH_EVENT_TYPE_ADDED, socket);
      return true;
    });
    for (const [key, last] of sent) {
      if (last.walk === walk) continue;
      sent.delete(key);
      this.sendDeleted(last, node.name);
    }
    this.nodes.set(node.name, { sockets, version: sockets.version, sent });
  }

  private sendDeleted(last: Sent, node: string): void {
    // It decoded when it was sent.
    const socket = decodeSocket(last.bytes, last.pod, node, this.store.peers);
    if (socket) this.sendSocket(WatchEventType.WATCH_EVENT_TYPE_DELETED, socket);
  }

  private sendSocket(type: WatchEventType, socket: Socket): void {
    this.send({ type, socket, unavailableNodes: [] });
  }

  private send(event: WatchEvent): void {
    if (!this.sink.send(event)) this.paused = true;
  }
}

export interface WatchHubOptions {
  /** Between two passes of every watch (ms). */
  readonly pollMs: number;
  /** Watches open at once; one more is refused (WatchLimitError). */
  readonly maxWatches: number;
  /** Watches one client (an authenticated user, else a remote address) may hold open; default: maxWatches. */
  readonly maxWatchesPerClient?: number;
  /** Watches PROXIED (every user behind the API server's service proxy) may hold open together; default: maxWatches. */
  readonly maxProxiedWatches?: number;
  readonly log: LogFn;
  readonly now?: () => number;
}

/** An open watch, as the transport that serves it holds it. */
export interface Watch {
  /** The client caught up (a 'drain'): carry on at once. */
  resume(): void;
  /** The client went away; idempotent. */
  close(): void;
}

/**
 * The client of every request that came through the API server's service proxy: the proxy
 * sets X-Forwarded-For and keeps the user's identity to itself, so the aggregator sees the
 * proxy's address for every user. They share one budget (maxProxiedWatches).
 */
export const PROXIED = "the API server's service proxy";

/** Every open watch, polled by one timer. */
export class WatchHub {
  private readonly watchers = new Map<Watcher, { readonly sink: WatchSink; readonly client: string }>();
  /** Open watches by client, for --max-watches-per-client. */
  private readonly perClient = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: NodeStore,
    private readonly options: WatchHubOptions,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /**
   * Opens a watch; its first pass (the initial listing) runs on the next turn of the event loop,
   * after the caller has answered with its headers. Throws QueryError for a bad filter and
   * WatchLimitError when maxWatches are open, or maxWatchesPerClient of `client`'s (`user NAME`
   * or `address IP`, as the query gate names callers).
   */
  open(spec: QuerySpec, sink: WatchSink, client = 'unknown client'): Watch {
    if (this.watchers.size >= this.options.maxWatches) {
      throw new WatchLimitError(`${this.watchers.size} watches are open, as many as this aggregator serves (--max-watches); retry later`);
    }
    const held = this.perClient.get(client) ?? 0;
    if (client === PROXIED) {
      const budget = this.options.maxProxiedWatches ?? this.options.maxWatches;
      if (held >= budget) {
        throw new WatchLimitError(
          `${held} watches are open through the API server's service proxy, as many as this aggregator serves that way for all users together (--max-proxied-watches ${budget}): behind the proxy it cannot tell users apart; close one, or retry later`,
        );
      }
    } else {
      const perClient = this.options.maxWatchesPerClient ?? this.options.maxWatches;
      if (held >= perClient) throw new WatchLimitError(`${client} has ${held} watches open, as many as one client may (--max-watches-per-client ${perClient}); close one, or retry later`);
    }
    const watcher = new Watcher(this.store, spec, sink, this.options.now);
    this.watchers.set(watcher, { sink, client });
    this.perClient.set(client, held + 1);
    this.timer ??= setInterval(() => this.pollAll(), this.options.pollMs).unref();
    setImmediate(() => this.poll(watcher));
    return {
      resume: () => {
        if (!watcher.isPaused) return;
        watcher.resume();
        setImmediate(() => this.poll(watcher));
      },
      close: () => this.remove(watcher),
    };
  }

  /** Ends every watch (the aggregator is shutting down). */
  close(message: string): void {
    for (const [watcher, { sink }] of [...this.watchers]) {
      this.remove(watcher);
      sink.end('shutdown', message);
    }
  }

  private pollAll(): void {
    for (const watcher of this.watchers.keys()) this.poll(watcher);
  }

  private poll(watcher: Watcher): void {
    const sink = this.watchers.get(watcher)?.sink;
    if (!sink) return;
    try {
      watcher.poll();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.log('watch failed', { error: message }, 'error');
      this.remove(watcher);
      sink.end('failed', `watch failed: ${message}`);
      return;
    }
    if (watcher.undecodable > 0) {
      this.options.log('sockets left out of a watch: their bytes do not decode', { count: watcher.undecodable }, 'error');
      watcher.undecodable = 0;
    }
  }

  private remove(watcher: Watcher): void {
    const open = this.watchers.get(watcher);
    if (!open) return;
    this.watchers.delete(watcher);
    const held = (this.perClient.get(open.client) ?? 1) - 1;
    if (held > 0) this.perClient.set(open.client, held);
    else this.perClient.delete(open.client);
    if (this.watchers.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
