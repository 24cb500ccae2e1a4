import { buildViewFilter, type FilterView } from '../../model/filter.js';
import { labelsMatch, parseLabelSelector } from '../../kube/label-selector.js';
import { PROTO_TO_WIRE } from '../../model/wire.js';
import type { UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import { inPod, type NodeSockets, type NodeState, type NodeStore, type PodIndex, type SlotView } from '../store/index.js';
import { QueryError, type QuerySpec } from './spec.js';

/** A query's selection, compiled once and applied slot by slot. */
export interface Selection {
  readonly nodes: ReadonlySet<string> | undefined;
  /** The asked namespaces, sorted (the candidates' order), or undefined for all. */
  readonly namespaces: readonly string[] | undefined;
  /** Whether the socket in `slot` (the view pointed at it) is selected. */
  matches(sockets: NodeSockets, view: SlotView, slot: number): boolean;
}

function workloadMatcher(workloads: readonly string[]): (pod: PodIndex) => boolean {
  const wanted = workloads.map((text) => {
    const at = text.indexOf('/');
    return at < 0 ? { kind: undefined, name: text } : { kind: text.slice(0, at).toLowerCase(), name: text.slice(at + 1) };
  });
  return (pod) => wanted.some((w) => w.name === pod.workloadName && (w.kind === undefined || w.kind === pod.workloadKind.toLowerCase()));
}

/** Compiles a spec; a bad selector, state or address is the caller's mistake (QueryError). */
export function compileSelection(spec: QuerySpec, nowMs = Date.now()): Selection {
  let filter: (view: FilterView) => boolean;
  let selector: ReturnType<typeof parseLabelSelector>;
  try {
    filter = buildViewFilter(spec);
    selector = parseLabelSelector(spec.labelSelector ?? '');
  } catch (error) {
    throw new QueryError(error instanceof Error ? error.message : String(error));
  }
  for (const [name, value] of [['minRecvQ', spec.minRecvQ], ['minSendQ', spec.minSendQ], ['minAgeSeconds', spec.minAgeSeconds]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new QueryError(`${name} must be a non-negative number, got ${value}`);
  }
  const protos = spec.protos?.length ? new Set(spec.protos.map((proto) => PROTO_TO_WIRE[proto])) : undefined;
  const containers = spec.containers?.length ? new Set(spec.containers) : undefined;
  const workload = spec.workloads?.length ? workloadMatcher(spec.workloads) : undefined;
  const minRecvQ = spec.minRecvQ ?? 0;
  const minSendQ = spec.minSendQ ?? 0;
  const seenBefore = spec.minAgeSeconds ? nowMs - spec.minAgeSeconds * 1000 : undefined;
  // The namespace filter is the index (candidates); these need the socket's pod.
  const podFilters = selector.length > 0 || spec.pod !== undefined || containers !== undefined || workload !== undefined;
  return {
    nodes: spec.nodes?.length ? new Set(spec.nodes) : undefined,
    namespaces: spec.namespaces?.length ? [...new Set(spec.namespaces)].sort() : undefined,
    matches(sockets, view, slot) {
      if (protos && !protos.has(sockets.proto(slot))) return false;
      if (podFilters) {
        const pod = inPod(sockets.pod(slot));
        if (!pod) return false;
        if (spec.pod !== undefined && pod.name !== spec.pod) return false;
        if (containers && !containers.has(pod.container)) return false;
        if (workload && !workload(pod)) return false;
        if (!labelsMatch(selector, pod.labels)) return false;
      }
      if (sockets.recvQ(slot) < minRecvQ || sockets.sendQ(slot) < minSendQ) return false;
      if (seenBefore !== undefined && !(sockets.firstSeenMs(slot) > 0 && sockets.firstSeenMs(slot) <= seenBefore)) return false;
      view.at = slot;
      return filter(view);
    },
  };
}

/** Nodes in name order, each with why it cannot be vouched for (if so): every answer says. */
export function orderedNodes(store: NodeStore, selection: Selection, unavailable: UnavailableNode[]): NodeState[] {
  store.sweep();
  const ordered: NodeState[] = [];
  const from = unavailable.length;
  for (const node of [...store.all()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (selection.nodes && !selection.nodes.has(node.name)) continue;
    const reason = store.unavailability(node);
    if (reason !== undefined) unavailable.push({ node: node.name, reason, lastSeenUnixMs: BigInt(node.lastSeenMs) });
    ordered.push(node);
  }
  const agentless = agentlessNodes(store, selection);
  // In name order with the others.
  if (agentless.length > 0) unavailable.push(...[...unavailable.splice(from), ...agentless].sort(byNodeName));
  return ordered;
}

/** Unavailable nodes in name order. */
export const byNodeName = (a: UnavailableNode, b: UnavailableNode): number => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);

/** The Nodes the API lists without an agent (NodeStore.agentless) that the selection asks about, as answers name them. */
export function agentlessNodes(store: NodeStore, selection: Selection): UnavailableNode[] {
  return store
    .agentless()
    .filter((node) => !selection.nodes || selection.nodes.has(node.name))
    .map((node) => ({ node: node.name, reason: node.reason, lastSeenUnixMs: 0n }));
}

/** Calls `visit` for every selected socket of every node, node by node (for summaries). */
export function forEachSelected(store: NodeStore, selection: Selection, visit: (node: NodeState, slot: number) => void): UnavailableNode[] {
  const unavailable: UnavailableNode[] = [];
  for (const node of orderedNodes(store, selection, unavailable)) {
    const sockets = node.sockets;
    const view = sockets.view();
    walkCandidates(sockets, selection.namespaces, 0, (slot) => {
      if (selection.matches(sockets, view, slot)) visit(node, slot);
      return true;
    });
  }
  return unavailable;
}

/**
 * Visits the sockets of a node a query looks at, in an order that only depends on the query
 * and the node's contents: every slot, or the buckets of the asked namespaces in name order.
 * `position` numbers them in that order (continue tokens resume from one); the walk starts at
 * `from` and stops when `visit` returns false. Nothing is allocated per socket or per node.
 */
export function walkCandidates(sockets: NodeSockets, namespaces: readonly string[] | undefined, from: number, visit: (slot: number, position: number) => boolean): void {
  if (!namespaces) {
    const limit = sockets.slotLimit;
    for (let slot = from; slot < limit; slot++) if (sockets.isLive(slot) && !visit(slot, slot)) return;
    return;
  }
  let base = 0;
  for (const namespace of namespaces) {
    const slots = sockets.bucketView(namespace);
    for (let i = Math.max(0, from - base); i < slots.length; i++) if (!visit(slots[i]!, base + i)) return;
    base += slots.length;
  }
}

