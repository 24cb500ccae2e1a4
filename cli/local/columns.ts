import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { LeadingColumns } from '../netstat/format.js';

/**
 * kubectl's table layout (printers.GetNewTabWriter: tabwriter minwidth 10, padding 3): every
 * column is as wide as its widest cell plus three spaces, and at least ten.
 */
const MIN_WIDTH = 10;
const PADDING = 3;

/** Short container IDs, 12 hex as `docker ps` and `crictl ps` print them. */
const SHORT_ID = 12;

/**
 * The pod columns of one socket: NAMESPACE, POD, CONTAINER, and with -o wide NODE, WORKLOAD,
 * NETNS. A pod known from cgroups only (no API access) shows `?`, its UID and the runtime's
 * container ID; the host's own sockets and namespaces no pod owns (a plain container,
 * `ip netns`) show `-`.
 */
export function podCells(socket: Socket, wide: boolean): readonly string[] {
  const pod = socket.pod;
  let cells: readonly string[];
  if (pod?.name) cells = [pod.namespace, pod.name, pod.container || shortContainer(pod.containerId || null, pod.runtime || null)];
  else if (pod?.uid) cells = ['?', pod.uid, shortContainer(pod.containerId || null, pod.runtime || null)];
  else cells = socket.hostNetwork ? HOST_CELLS : NO_POD_CELLS;
  if (!wide) return cells;
  const workload = pod?.workloadName ? `${pod.workloadKind}/${pod.workloadName}` : '-';
  return [...cells, socket.node, workload, socket.netns.toString()];
}

const HOST_CELLS: readonly string[] = ['-', '<host>', '-'];
const NO_POD_CELLS: readonly string[] = ['-', '-', '-'];

function shortContainer(containerId: string | null, runtime: string | null): string {
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
