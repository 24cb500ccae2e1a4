import { table } from './render.js';

/** A summary or top row as the aggregator's HTTP API returns it (aggregator/summary.ts). */
export interface SummaryItem {
  readonly node: string | null;
  readonly namespace: string | null;
  readonly pod: string | null;
  readonly workload: { readonly kind: string; readonly name: string } | null;
  readonly total: number;
  readonly states: Readonly<Record<string, number>>;
  readonly recvQ: number;
  readonly sendQ: number;
  readonly value?: number;
}

export interface SummaryAnswer {
  readonly groupBy?: string;
  readonly rankedBy?: string;
  readonly items: SummaryItem[];
  readonly unavailableNodes: { node: string; reason: string; lastSeen: string | null }[];
}

/** ss's states in the kernel's order; a summary shows the columns some row has. */
const STATE_ORDER = ['ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING', 'UNKNOWN'];

const UNIX_PREFIX = 'unix:';

function unixCount(item: SummaryItem): number {
  let sum = 0;
  for (const [state, count] of Object.entries(item.states)) if (state.startsWith(UNIX_PREFIX)) sum += count;
  return sum;
}

/** Sockets of a node outside any pod (the host's own) are named after the node. */
function hostLabel(item: SummaryItem): string {
  return `<host:${item.node ?? '?'}>`;
}

const workloadCell = (item: SummaryItem): string => (item.workload ? `${item.workload.kind}/${item.workload.name}` : '-');

/** The leading columns of a summary by `by`. */
function groupColumns(by: string): { titles: string[]; cells: (item: SummaryItem) => string[] } {
  switch (by) {
    case 'node':
      return { titles: ['NODE'], cells: (item) => [item.node ?? '-'] };
    case 'workload':
      return { titles: ['NAMESPACE', 'WORKLOAD'], cells: (item) => (item.namespace === null ? [hostLabel(item), '-'] : [item.namespace, workloadCell(item)]) };
    case 'pod':
      return { titles: ['NAMESPACE', 'POD', 'NODE'], cells: (item) => (item.namespace === null ? [hostLabel(item), '-', item.node ?? '-'] : [item.namespace, item.pod ?? '-', item.node ?? '-']) };
    default:
      return { titles: ['NAMESPACE'], cells: (item) => [item.namespace ?? hostLabel(item)] };
  }
}

/**
 * `kubectl netstat summary`: one row per group, TOTAL, then a column per TCP/UDP state that
 * occurs (ss's names, the --state vocabulary), UNIX for all unix sockets, and the queued bytes.
 */
export function renderSummary(answer: SummaryAnswer, by: string, headers: boolean): string {
  const group = groupColumns(by);
  const present = new Set(answer.items.flatMap((item) => Object.keys(item.states)));
  const states = STATE_ORDER.filter((state) => present.has(state));
  const hasUnix = [...present].some((state) => state.startsWith(UNIX_PREFIX));
  const titles = [...group.titles, 'TOTAL', ...states, ...(hasUnix ? ['UNIX'] : []), 'RECV-Q', 'SEND-Q'];
  const rows = answer.items.map((item) => [
    ...group.cells(item),
    String(item.total),
    ...states.map((state) => String(item.states[state] ?? 0)),
    ...(hasUnix ? [String(unixCount(item))] : []),
    String(item.recvQ),
    String(item.sendQ),
  ]);
  return table(titles, rows, headers);
}

/** `kubectl netstat top`: pods ranked by one state's count or by queued bytes. */
export function renderTop(answer: SummaryAnswer, by: string, headers: boolean): string {
  const figure = by.toUpperCase();
  const titles = ['NAMESPACE', 'POD', 'WORKLOAD', 'NODE', figure, ...(figure === 'RECV-Q' ? [] : ['RECV-Q']), ...(figure === 'SEND-Q' ? [] : ['SEND-Q'])];
  const rows = answer.items.map((item) => [
    item.namespace ?? '-',
    item.pod ?? '-',
    workloadCell(item),
    item.node ?? '-',
    String(item.value ?? item.total),
    ...(figure === 'RECV-Q' ? [] : [String(item.recvQ)]),
    ...(figure === 'SEND-Q' ? [] : [String(item.sendQ)]),
  ]);
  return table(titles, rows, headers);
}
