import { FindingsEngine, type Finding, type FindingsSettings, type PortRangeOf } from '../../aggregator/findings/index.js';
import { HistoryStore } from '../../aggregator/history/index.js';
import { bytesView, NodeStore } from '../../aggregator/store/index.js';
import { PodCache } from '../../aggregator/ingest/index.js';
import { AGGREGATOR_DEFAULTS } from '../../config/aggregator-settings.js';
import { Proto, Socket } from '../../gen/kubenetstat/v1/socket.js';
import { STATES, type StateName } from './agent-sockets.js';
import { putSocket, storedSockets } from './stored.js';

/**
 * A simulated cluster for the leak rules: a node store on a clock the test moves, sockets put
 * as ingest puts them (snapshots and deltas), and an engine evaluated by hand. No sleeps.
 */

/** 2024-01-01T00:00:00Z: whole seconds, as the store keeps since-times. */
export const T0 = Date.UTC(2024, 0, 1);

/** The pods' network namespace (every test pod has its own; only port ranges care). */
export const NETNS = 4026532000n;

/** A TCP socket as agents send it (their node's name first); keys, ports and addresses as the test gives them. */
export function tcp(key: string, state: StateName, fields: Partial<Socket> = {}): Socket {
  const [stateCode, name, ssState] = STATES[state];
  return Socket.fromPartial({ key, node: 'node-a', netns: NETNS, proto: Proto.PROTO_TCP, stateCode, state: name, ssState, localAddress: '10.244.1.5', localPort: 8080, foreignAddress: '10.244.2.9', foreignPort: 40_000, firstSeenUnixMs: BigInt(T0), ...fields });
}

/** Every setting at its default, with some groups replaced. */
export function settingsWith(overrides: Partial<{ [K in keyof FindingsSettings]: Partial<FindingsSettings[K]> }> = {}): FindingsSettings {
  const base: FindingsSettings = AGGREGATOR_DEFAULTS.findings;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] = typeof current === 'object' && current !== null ? { ...current, ...(value as object) } : value;
  }
  return merged as unknown as FindingsSettings;
}

export class FindingsCluster {
  ms = T0;
  readonly now = (): number => this.ms;
  readonly store: NodeStore;
  readonly history: HistoryStore;
  readonly engine: FindingsEngine;
  readonly opened: Finding[] = [];
  readonly logs: Array<{ message: string; fields: Record<string, unknown> }> = [];
  private readonly podCaches = new Map<string, PodCache>();

  constructor(settings: FindingsSettings = settingsWith(), options: { portRangeOf?: PortRangeOf; staleAfterMs?: number; evaluateEveryMs?: number } = {}) {
    this.store = new NodeStore({ staleAfterMs: options.staleAfterMs ?? 86_400_000, evictAfterMs: 86_400_000, now: this.now });
    this.history = new HistoryStore(AGGREGATOR_DEFAULTS.history);
    this.engine = new FindingsEngine(this.store, {
      settings,
      history: this.history,
      ...(options.portRangeOf && { portRangeOf: options.portRangeOf }),
      ...(options.evaluateEveryMs !== undefined && { evaluateEveryMs: options.evaluateEveryMs }),
      log: (message, fields) => this.logs.push({ message, fields }),
      onOpened: (finding) => this.opened.push(finding),
    });
  }

  /** A (re)connected agent's complete snapshot of a node, arriving now. */
  snapshot(node: string, sockets: readonly Socket[], bootId = 'boot'): void {
    const { session } = this.store.claim(node, 1n, bootId);
    const state = this.store.owned(node, session!)!;
    this.store.replaceSockets(state, storedSockets(sockets, this.ms));
    this.podCaches.set(node, new PodCache());
  }

  /** A delta's upserts, arriving now. */
  put(node: string, ...sockets: Socket[]): void {
    const state = this.store.get(node)!;
    this.store.touch(state);
    for (const socket of sockets) putSocket(state.sockets, this.podCaches.get(node)!, socket, this.ms);
  }

  remove(node: string, ...keys: string[]): void {
    const state = this.store.get(node)!;
    this.store.touch(state);
    for (const key of keys) {
      const bytes = Buffer.from(key, 'latin1');
      if (!state.sockets.delete(bytesView(bytes), 0, bytes.length)) throw new Error(`${node} holds no ${key}`);
    }
  }

  /** Moves the clock; every node's agent but the `silent` ones sent a heartbeat meanwhile. */
  advance(seconds: number, silent: readonly string[] = []): void {
    this.ms += seconds * 1000;
    for (const node of this.store.all()) if (!silent.includes(node.name)) this.store.touch(node);
  }

  /** Evaluates and returns the open findings, newest first. */
  evaluate(): Finding[] {
    this.engine.evaluate();
    return this.open();
  }

  open(): Finding[] {
    return this.engine.all().filter((finding) => finding.state === 'open');
  }
}
