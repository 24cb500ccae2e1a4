import { ssNameOfCode } from '../../model/states.js';
import type { UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import { Proto } from '../../gen/kubenetstat/v1/socket.js';
import { inPod, type NodeStore, type PodIndex } from '../store/index.js';
import { compileSelection, forEachSelected } from './selection.js';
import { QueryError, type QuerySpec } from './spec.js';

/** What a summary groups sockets by. */
export const GROUPINGS = ['namespace', 'workload', 'pod', 'node'] as const;
export type Grouping = (typeof GROUPINGS)[number];

/** One group's socket counts by state (ss's names: ESTAB, CLOSE-WAIT, ...). */
export interface SummaryRow {
  readonly node: string | null;
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly workload: { readonly kind: string; readonly name: string } | null;
  readonly total: number;
  readonly states: Record<string, number>;
  /** Bytes queued, summed over the group's sockets. */
  readonly recvQ: number;
  readonly sendQ: number;
}

export interface SummaryResult {
  readonly rows: SummaryRow[];
  readonly unavailable: UnavailableNode[];
}

interface Group {
  node: string | null;
  namespace: string | null;
  pod: string | null;
  workload: { kind: string; name: string } | null;
  total: number;
  states: Record<string, number>;
  recvQ: number;
  sendQ: number;
}

/** A group's counters before its first socket. */
function empty(): Pick<Group, 'total' | 'states' | 'recvQ' | 'sendQ'> {
  return { total: 0, states: {}, recvQ: 0, sendQ: 0 };
}

/** Unix sockets are counted under their own names so that `ESTAB` stays TCP's. */
function stateName(proto: number, code: number): string {
  return proto === Proto.PROTO_UNIX ? `unix:${ssNameOfCode(code)}` : ssNameOfCode(code);
}

/**
 * Counts by state per namespace, workload, pod or node, over the sockets a query selects.
 * Sockets outside pods (the host's) form their own group per node, with null pod fields.
 */
export function summarize(store: NodeStore, spec: QuerySpec, by: Grouping, nowMs = Date.now()): SummaryResult {
  if (!(GROUPINGS as readonly string[]).includes(by)) throw new QueryError(`cannot summarize by '${by}': expected one of ${GROUPINGS.join(', ')}`);
  const selection = compileSelection(spec, nowMs);
  const groups = new Map<string, Group>();
  // A pod always falls in the same group (and so do a node's own sockets): look it up once.
  const groupOfPod = new Map<PodIndex, Group>();
  const groupOfHost = new Map<string, Group>();
  const group = (key: string, fresh: () => Group): Group => {
    let found = groups.get(key);
    if (!found) groups.set(key, (found = fresh()));
    return found;
  };
  const unavailable = forEachSelected(store, selection, (node, slot) => {
    const sockets = node.sockets;
    const pod = sockets.pod(slot);
    const podOfSocket = inPod(pod);
    let target: Group | undefined;
    if (by === 'node' || !podOfSocket) {
      // By node, or the host's own sockets (no pod) in any other grouping: one group per node.
      target = groupOfHost.get(node.name);
      if (!target) groupOfHost.set(node.name, (target = group(`node\u0000${node.name}`, () => ({ node: node.name, namespace: null, pod: null, workload: null, ...empty() }))));
    } else {
      target = groupOfPod.get(podOfSocket);
      if (!target) groupOfPod.set(podOfSocket, (target = podGroup(podOfSocket, node.name, by, group)));
    }
    const state = stateName(sockets.proto(slot), sockets.stateCode(slot));
    target.states[state] = (target.states[state] ?? 0) + 1;
    target.total++;
    target.recvQ += sockets.recvQ(slot);
    target.sendQ += sockets.sendQ(slot);
  });
  const order = (row: Group): string => [row.namespace ?? '\uffff', row.workload?.name ?? '', row.pod ?? '', row.node ?? ''].join('\u0000');
  const rows = [...groups.values()].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  return { rows, unavailable };
}

/** A pod's workload: its controller's, or the pod itself when it has none (a bare pod is its own workload). */
function workloadOf(pod: PodIndex): { kind: string; name: string } {
  return pod.workloadName ? { kind: pod.workloadKind, name: pod.workloadName } : { kind: 'Pod', name: pod.name };
}

/** The group a pod's sockets count in, for a grouping by namespace, workload or pod. */
function podGroup(pod: PodIndex, node: string, by: Grouping, group: (key: string, fresh: () => Group) => Group): Group {
  if (by === 'namespace') return group(`ns\u0000${pod.namespace}`, () => ({ node: null, namespace: pod.namespace, pod: null, workload: null, ...empty() }));
  if (by === 'workload') {
    const workload = workloadOf(pod);
    return group(`wl\u0000${pod.namespace}\u0000${workload.kind}\u0000${workload.name}`, () => ({ node: null, namespace: pod.namespace, pod: null, workload, ...empty() }));
  }
  return group(`pod\u0000${pod.namespace}\u0000${pod.name}`, () => ({
    node,
    namespace: pod.namespace,
    pod: pod.name,
    workload: workloadOf(pod),
    ...empty(),
  }));
}

/** What `top` ranks pods by: the count of one state (a name or group --state takes), or queued bytes. */
export type Ranking = { readonly kind: 'state'; readonly state: string } | { readonly kind: 'recv-q' } | { readonly kind: 'send-q' };

/** A ranking as HTTP and gRPC name it: recv-q, send-q, or a state (close-wait when empty). */
export function rankingOf(by: string): Ranking {
  if (by === 'recv-q' || by === 'send-q') return { kind: by };
  return { kind: 'state', state: by || 'close-wait' };
}

export interface TopRow extends SummaryRow {
  /** The figure ranked by. */
  readonly value: number;
}

/**
 * Pods ranked by how many of their sockets are in a state (that state replaces any state filter
 * of the spec) or by queued bytes, highest first; ties by namespace and name. Pods scoring 0
 * are left out.
 */
export function topPods(store: NodeStore, spec: QuerySpec, ranking: Ranking, limit: number, nowMs = Date.now()): { rows: TopRow[]; unavailable: UnavailableNode[] } {
  if (!Number.isInteger(limit) || limit < 1) throw new QueryError(`limit must be a positive integer, got ${limit}`);
  const { rows, unavailable } = summarize(store, ranking.kind === 'state' ? { ...spec, states: [ranking.state] } : spec, 'pod', nowMs);
  const value = (row: SummaryRow): number => (ranking.kind === 'recv-q' ? row.recvQ : ranking.kind === 'send-q' ? row.sendQ : row.total);
  const ranked = rows
    .filter((row) => row.pod !== null)
    .map((row) => ({ ...row, value: value(row) }))
    .filter((row) => row.value > 0)
    .sort((a, b) => b.value - a.value || (a.namespace! < b.namespace! ? -1 : a.namespace! > b.namespace! ? 1 : a.pod! < b.pod! ? -1 : 1));
  return { rows: ranked.slice(0, limit), unavailable };
}
