import type { SocketAttribution } from '../../model/pod.js';
import type { LeadingColumns } from '../netstat/format.js';

/**
 * kubectl's table layout (printers.GetNewTabWriter: tabwriter minwidth 10, padding 3): every
 * column is as wide as its widest cell plus three spaces, and at least ten.
 */
const MIN_WIDTH = 10;
const PADDING = 3;

/** Short container IDs, 12 hex as `docker ps` and `crictl ps` print them. */
const SHORT_ID = 12;

/** The pod columns of one socket: NAMESPACE, POD, CONTAINER, and with -o wide NODE, WORKLOAD, NETNS. */
export function podCells(attribution: SocketAttribution, wide: { node: string; netns: string } | undefined): string[] {
  const { pod, podUid, containerId, containerName, runtime } = attribution;
  let cells: string[];
  if (pod) {
    cells = [pod.namespace, pod.name, containerName ?? shortContainer(containerId, runtime)];
  } else if (podUid !== null) {
    // Known from cgroups only (no API access): the UID and the runtime's container ID.
    cells = ['?', podUid, shortContainer(containerId, runtime)];
  } else {
    // The host's own sockets, or a namespace no pod owns (a plain container, `ip netns`).
    cells = ['-', attribution.hostNetwork ? '<host>' : '-', '-'];
  }
  if (!wide) return cells;
  const workload = pod?.workload ? `${pod.workload.kind}/${pod.workload.name}` : '-';
  return [...cells, wide.node, workload, wide.netns];
}

export function shortContainer(containerId: string | null, runtime: string | null): string {
  if (containerId === null) return '-';
  const id = containerId.slice(0, SHORT_ID);
  return runtime ? `${runtime}://${id}` : id;
}

export const POD_TITLES = ['NAMESPACE', 'POD', 'CONTAINER'] as const;
export const WIDE_TITLES = [...POD_TITLES, 'NODE', 'WORKLOAD', 'NETNS'] as const;

/** Column widths over every row that will be printed, so all namespaces' tables align. */
export class ColumnLayout {
  private readonly widths: number[];

  constructor(
    private readonly titles: readonly string[],
    rows: Iterable<readonly string[]>,
  ) {
    this.widths = titles.map((title) => Math.max(MIN_WIDTH, title.length + PADDING));
    for (const row of rows) this.widen(row);
  }

  /** Makes room for one more row (a row printed later, as a watch prints them). */
  widen(cells: readonly string[]): void {
    cells.forEach((cell, i) => (this.widths[i] = Math.max(this.widths[i] ?? MIN_WIDTH, cell.length + PADDING)));
  }

  line(cells: readonly string[]): string {
    return cells.map((cell, i) => cell.padEnd(this.widths[i]!)).join('');
  }

  /** Leading columns for one namespace's table, rows given by socket index. */
  leading(cellsOf: (index: number) => readonly string[]): LeadingColumns {
    return { header: this.line(this.titles), cells: (index) => this.line(cellsOf(index)) };
  }
}
