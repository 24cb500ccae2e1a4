import type { UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { SocketProto } from '../../model/socket.js';
import { ColumnLayout, POD_TITLES, podCells } from '../local/columns.js';
import { listingOptions } from '../netstat/flags.js';
import { formatNetstat, unknownProtos, type LeadingColumns } from '../netstat/format.js';
import { FileNameResolver, type NameResolver } from '../netstat/names.js';
import { peerItem, peerText } from '../../model/json/peer-text.js';
import { socketItem, socketList, unavailableItems, type UnavailableNode as UnavailableItem } from '../../model/json/socket-list.js';
import type { QueryFlags } from './flags.js';

/**
 * Names for netstat's non-numeric mode. Ports are named from /etc/services as netstat does;
 * hosts and users stay numeric: this machine's /etc/hosts and /etc/passwd say nothing about
 * a pod's peers or its users (peer names are in -o wide and -o json).
 */
export class QueryNames implements NameResolver {
  private readonly files = new FileNameResolver();
  service(port: number, proto: 'tcp' | 'udp' | 'raw'): string | undefined {
    return this.files.service(port, proto);
  }
  host(): undefined {
    return undefined;
  }
  user(): undefined {
    return undefined;
  }
}

/** -o wide: where each socket is and what its peer is, in front of netstat's columns. */
export const QUERY_WIDE_TITLES = [...POD_TITLES, 'NODE', 'WORKLOAD', 'NETNS', 'PEER'] as const;

/** NAMESPACE, POD, CONTAINER (and NODE, WORKLOAD, NETNS, PEER with -o wide) of a socket from the aggregator. */
export function socketPodCells(socket: Socket, wide: boolean): readonly string[] {
  const cells = podCells(socket, wide);
  return wide ? [...cells, peerText(peerItem(socket.peer))] : cells;
}

/**
 * Sockets from many pods and nodes as one netstat listing: the Internet block, then the unix
 * block, each row led by the socket's pod columns aligned kubectl's way.
 */
export function renderListing(sockets: readonly Socket[], flags: QueryFlags, names: NameResolver): string {
  const wide = flags.output === 'wide';
  const cells = sockets.map((socket) => socketPodCells(socket, wide));
  const layout = new ColumnLayout(wide ? QUERY_WIDE_TITLES : POD_TITLES, cells);
  return formatSockets(sockets, flags, names, layout.leading((index) => cells[index]!), !flags.noHeaders);
}

/** Wire sockets in netstat's format, each row led by `leading`'s cells; PID/Program name is each socket's first holder. */
/** netstat's blocks of `sockets` for the flags' protos (or `protos`, a part of them). */
export function formatSockets(sockets: readonly Socket[], flags: QueryFlags, names: NameResolver, leading: LeadingColumns, headers: boolean, protos: ReadonlySet<SocketProto> = flags.protos): string {
  // Timers as of now: the aggregator holds each as its agent last read it (timerSecondsLeft).
  return formatNetstat({ protos, sockets, headers }, { ...listingOptions(flags), timersAsOfMs: Date.now() }, names, leading);
}

/**
 * One stderr line when sockets of a proto this plugin does not know (sent by an agent newer than
 * it) were left out of a netstat listing; -o json shows them, with proto `unknown`.
 */
export function unknownProtoWarning(sockets: readonly Socket[]): string {
  const count = unknownProtos(sockets);
  if (count === 0) return '';
  const them = count === 1 ? 'it' : 'them';
  return `Warning: ${count === 1 ? '1 socket of a protocol unknown to this version is' : `${count} sockets of a protocol unknown to this version are`} left out of the listing (-o json shows proto unknown); upgrade to list ${them}.\n`;
}

/** The `-o json|yaml` SocketList of an answer. */
export function structuredListing(sockets: readonly Socket[], unavailable: readonly UnavailableNode[], toText: (value: unknown) => string): string {
  const now = Date.now();
  return toText(socketList(sockets.map((socket) => socketItem(socket, now)), unavailableItems(unavailable)));
}

/** One stderr line per answer that could not vouch for every node: partial results are never silent. */
export function partialWarning(nodes: readonly UnavailableItem[], nowMs = Date.now()): string {
  if (nodes.length === 0) return '';
  const shown = nodes.slice(0, 5).map((node) => `${node.node} (${node.reason}${node.lastSeen ? `, last heard ${age(nowMs - Date.parse(node.lastSeen))} ago` : ''})`);
  const more = nodes.length > shown.length ? ` and ${nodes.length - shown.length} more` : '';
  return `Warning: partial results: ${nodes.length === 1 ? 'this node is' : `${nodes.length} nodes are`} not vouched for: ${shown.join(', ')}${more}; their sockets may be missing or out of date.\n`;
}

/** kubectl's AGE: 45s, 12m, 3h, 5d. */
export function age(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** kubectl's plain table: columns as wide as their widest cell plus three spaces. */
export function table(titles: readonly string[], rows: readonly (readonly string[])[], headers = true): string {
  const layout = new ColumnLayout(titles, rows);
  const lines = headers ? [layout.line(titles)] : [];
  for (const row of rows) lines.push(layout.line(row));
  return lines.map((line) => `${line.trimEnd()}\n`).join('');
}
