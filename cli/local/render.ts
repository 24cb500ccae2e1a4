import type { AttributedNamespace } from '../../agent/attribution/attribute.js';
import type { PodResolver } from '../../model/pod.js';
import type { HostScan } from '../../agent/scan/index.js';
import { formatNetstat, netstatSelects, programLabel, type NetstatOptions } from '../netstat/format.js';
import type { NameResolver } from '../netstat/names.js';
import { toWireSocket } from '../../agent/stream/wire.js';
import { socketItem, socketList } from '../../model/json/socket-list.js';
import { ColumnLayout, POD_TITLES, WIDE_TITLES, podCells } from './columns.js';
import type { LocalFlags } from './flags.js';

export interface RenderInput {
  readonly flags: LocalFlags;
  readonly scan: HostScan;
  readonly namespaces: readonly AttributedNamespace[];
  readonly node: string;
  readonly names: NameResolver;
  /** --netns without -o: exactly netstat, no banner and no pod columns. */
  readonly exactNetstat: boolean;
  readonly resolver: PodResolver;
  readonly toYaml?: (value: unknown) => string;
}

export function render(input: RenderInput): string {
  const { flags, scan, namespaces, node } = input;
  if (flags.output === 'json' || flags.output === 'yaml') {
    const firstSeenMs = Date.now();
    const items = namespaces.flatMap(({ namespace, sockets }) =>
      namespace.sockets.map((record, i) => socketItem(toWireSocket(record, { node, namespace, attribution: sockets[i]!, holders: scan.holders, processes: scan.processes, firstSeenMs }))),
    );
    const list = socketList(items);
    return input.toYaml ? input.toYaml(list) : `${JSON.stringify(list, null, 2)}\n`;
  }
  const wide = flags.output === 'wide';
  const options: NetstatOptions = wide ? { ...flags.netstat, extend: Math.max(flags.netstat.extend, 2), programs: true, timers: true, wide: true } : flags.netstat;
  const program = (inode: string): string | undefined => {
    const first = scan.holders.get(inode)?.[0];
    return first && programLabel(first.pid, scan.processes.get(first.pid)?.name ?? '');
  };
  if (input.exactNetstat) {
    return namespaces.map(({ namespace }) => formatNetstat({ protos: flags.protos, sockets: namespace.sockets }, options, input.names, program)).join('\n');
  }

  const cellsOf = namespaces.map(({ namespace, sockets }) => sockets.map((attribution) => podCells(attribution, wide ? { node, netns: namespace.netnsInode } : undefined)));
  const printed = namespaces.flatMap(({ namespace }, n) => namespace.sockets.flatMap((record, i) => (flags.protos.has(record.proto) && netstatSelects(record, options) ? [cellsOf[n]![i]!] : [])));
  const layout = new ColumnLayout(wide ? WIDE_TITLES : POD_TITLES, printed);
  return namespaces
    .map((entry, n) => {
      const table = formatNetstat({ protos: flags.protos, sockets: entry.namespace.sockets }, options, input.names, program, layout.leading((i) => cellsOf[n]![i]!));
      return namespaceBanner(entry, scan, input.resolver) + table;
    })
    .join('\n');
}

/** One line naming the namespace before its table: inode, whose it is, who lives in it. */
export function namespaceBanner(entry: AttributedNamespace, scan: HostScan, resolver: PodResolver): string {
  const { namespace } = entry;
  const first = namespace.pids[0];
  const comm = first === undefined ? undefined : scan.processes.get(first)?.comm;
  const who = first === undefined ? '' : `, pid ${first}${comm ? ` (${comm})` : ''}`;
  const count = namespace.pids.length === 1 ? '1 process' : `${namespace.pids.length} processes`;
  const pod = entry.podUid === undefined ? undefined : resolver.byUid(entry.podUid);
  const owner = namespace.isHost ? ' (host)' : pod ? ` pod ${pod.namespace}/${pod.name}` : entry.podUid ? ` pod ${entry.podUid}` : '';
  return `Network namespace net:[${namespace.netnsInode}]${owner}: ${count}${who}\n`;
}
