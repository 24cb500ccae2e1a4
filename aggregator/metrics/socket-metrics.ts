import { Gauge, type Registry } from 'prom-client';
import type { NodeStore } from '../store/index.js';
import { summarize, type SummaryRow } from '../query/index.js';

/** The pod (and workload) label of the series that pods beyond the cap are folded into. */
export const OTHER = '<other>';

/** One pod's series labels, as kubenetstat_sockets carries them. */
export interface PodLabels {
  readonly namespace: string;
  /** The owner's kind (Deployment, StatefulSet, ...); `Pod` for a pod without one, as summaries group it. */
  readonly workload_kind: string;
  readonly workload: string;
  readonly pod: string;
}

/** Socket counts by state (ss's names, unix sockets as `unix:STATE`: summary.ts), under one set of labels. */
export interface Counted<Labels> {
  readonly labels: Labels;
  readonly states: Readonly<Record<string, number>>;
}

export interface SocketSeries {
  /** At most `maxPods` pods with series of their own, then one `<other>` pod per namespace holding the rest. */
  readonly pods: Counted<PodLabels>[];
  /** Every pod's sockets per namespace, folded ones included: exact whatever the cap. */
  readonly namespaces: Counted<{ readonly namespace: string }>[];
  /** Sockets outside any pod (host daemons, hostNetwork processes not named), per node. */
  readonly hosts: Counted<{ readonly node: string }>[];
  /** Pods whose sockets went into an `<other>` series. */
  readonly foldedPods: number;
}

const closeWait = (row: SummaryRow): number => row.states['CLOSE-WAIT'] ?? 0;

/**
 * Which pods keep series of their own under the cap: those an operator alerts on first —
 * most CLOSE-WAIT, then most sockets, then by name (so the choice is stable between scrapes
 * while the counts are).
 */
function byInterest(a: SummaryRow, b: SummaryRow): number {
  return closeWait(b) - closeWait(a) || b.total - a.total || (a.namespace! < b.namespace! ? -1 : a.namespace! > b.namespace! ? 1 : a.pod! < b.pod! ? -1 : a.pod! > b.pod! ? 1 : 0);
}

function add(into: Record<string, number>, states: Readonly<Record<string, number>>): void {
  for (const [state, count] of Object.entries(states)) into[state] = (into[state] ?? 0) + count;
}

/**
 * Socket counts for /metrics from one pass over the store (summarize by pod): every pod
 * and the host sockets of every node, whatever their node's availability (the last known
 * sockets of a stale node are still counted, as queries show them). Beyond `maxPods` pods, the
 * rest are summed per namespace into a pod `<other>`, so the series stay bounded by
 * (maxPods + namespaces) × states however many pods the cluster runs.
 */
export function socketSeries(store: NodeStore, maxPods: number, nowMs = Date.now()): SocketSeries {
  const podRows: SummaryRow[] = [];
  const hosts: Counted<{ node: string }>[] = [];
  for (const row of summarize(store, {}, 'pod', nowMs).rows) {
    if (row.pod === null || row.namespace === null) hosts.push({ labels: { node: row.node ?? '' }, states: row.states });
    else podRows.push(row);
  }
  const namespaces = new Map<string, Record<string, number>>();
  for (const row of podRows) {
    let states = namespaces.get(row.namespace!);
    if (!states) namespaces.set(row.namespace!, (states = {}));
    add(states, row.states);
  }
  podRows.sort(byInterest);
  const pods: Counted<PodLabels>[] = podRows.slice(0, maxPods).map((row) => ({
    labels: { namespace: row.namespace!, workload_kind: row.workload?.kind || 'Pod', workload: row.workload?.name || row.pod!, pod: row.pod! },
    states: row.states,
  }));
  const folded = new Map<string, Record<string, number>>();
  for (const row of podRows.slice(maxPods)) {
    let states = folded.get(row.namespace!);
    if (!states) folded.set(row.namespace!, (states = {}));
    add(states, row.states);
  }
  for (const [namespace, states] of [...folded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    pods.push({ labels: { namespace, workload_kind: '', workload: OTHER, pod: OTHER }, states });
  }
  return {
    pods,
    namespaces: [...namespaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([namespace, states]) => ({ labels: { namespace }, states })),
    hosts,
    foldedPods: Math.max(0, podRows.length - maxPods),
  };
}

/**
 * The socket gauges, filled at scrape time from one walk of the store. A registry collects
 * its metrics in the order they were registered (Registry.metrics, getMetricsAsJSON), so the
 * first gauge walks the store and the others reuse that result: one walk per scrape.
 */
export function registerSocketMetrics(registry: Registry, store: NodeStore, maxPods: number): void {
  let current: SocketSeries | undefined;
  const fresh = (): SocketSeries => (current = socketSeries(store, maxPods));
  const latest = (): SocketSeries => current ?? fresh();
  /** A gauge of counts by state under each record's labels, filled from scratch at every scrape (a pod gone leaves no series). */
  const byState = <Labels extends object>(name: string, help: string, labelNames: ReadonlyArray<keyof Labels & string>, counted: () => readonly Counted<Labels>[]): void => {
    new Gauge({
      name,
      help,
      labelNames: [...labelNames, 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, states } of counted()) for (const [state, count] of Object.entries(states)) this.set({ ...labels, state }, count);
      },
    });
  };
  byState<PodLabels>(
    'kubenetstat_sockets',
    `Sockets by state per pod (ss's state names; unix sockets as unix:STATE). Beyond the pod cap (--metrics-max-pods) the pods with the fewest CLOSE-WAIT and sockets are summed per namespace into pod="${OTHER}".`,
    ['namespace', 'workload_kind', 'workload', 'pod'],
    () => fresh().pods,
  );
  byState<{ namespace: string }>('kubenetstat_namespace_sockets', 'Sockets by state per namespace, every pod counted (exact whatever the pod cap).', ['namespace'], () => latest().namespaces);
  byState<{ node: string }>('kubenetstat_host_sockets', "Sockets by state outside any pod (the node's own processes), per node.", ['node'], () => latest().hosts);
  new Gauge({
    name: 'kubenetstat_metrics_folded_pods',
    help: `Pods beyond the pod cap (--metrics-max-pods) whose sockets were summed into pod="${OTHER}" series at this scrape.`,
    registers: [registry],
    collect() {
      this.set(latest().foldedPods);
    },
  });
}
