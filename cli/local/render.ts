import type { HostSnapshot, NamespaceSnapshot } from '../../model/host-snapshot.js';
import { socketItem, socketList } from '../../model/json/socket-list.js';
import { WIRE_TO_PROTO } from '../../model/wire.js';
import { listingOptions } from '../netstat/flags.js';
import { formatNetstat, netstatSelects } from '../netstat/format.js';
import type { NameResolver } from '../netstat/names.js';
import { ColumnLayout, POD_TITLES, WIDE_TITLES, podCells } from './columns.js';
import type { LocalFlags } from './flags.js';

export interface RenderInput {
  readonly flags: LocalFlags;
  /** The sockets to print: the host's, filtered. */
  readonly snapshot: HostSnapshot;
  readonly names: NameResolver;
  /** --netns without -o: exactly netstat, no banner and no pod columns. */
  readonly exactNetstat: boolean;
  readonly toYaml?: (value: unknown) => string;
}

/** One listing of a host: netstat's tables per namespace (pod columns in front, a banner on top), or the SocketList. */
export function render(input: RenderInput): string {
  const { flags, snapshot } = input;
  if (flags.output === 'json' || flags.output === 'yaml') {
    const list = socketList(snapshot.namespaces.flatMap((namespace) => namespace.sockets.map((socket) => socketItem(socket))));
    return input.toYaml ? input.toYaml(list) : `${JSON.stringify(list, null, 2)}\n`;
  }
  const wide = flags.output === 'wide';
  const options = listingOptions(flags);
  if (input.exactNetstat) {
    return snapshot.namespaces.map((namespace) => formatNetstat({ protos: flags.protos, sockets: namespace.sockets }, options, input.names)).join('\n');
  }

  const cellsOf = snapshot.namespaces.map((namespace) => namespace.sockets.map((socket) => podCells(socket, wide)));
  const printed = snapshot.namespaces.flatMap((namespace, n) =>
    namespace.sockets.flatMap((socket, i) => {
      const proto = WIRE_TO_PROTO.get(socket.proto);
      return proto !== undefined && flags.protos.has(proto) && netstatSelects(socket, options) ? [cellsOf[n]![i]!] : [];
    }),
  );
  const layout = new ColumnLayout(wide ? WIDE_TITLES : POD_TITLES, printed);
  return snapshot.namespaces
    .map((namespace, n) => namespaceBanner(namespace) + formatNetstat({ protos: flags.protos, sockets: namespace.sockets }, options, input.names, layout.leading((i) => cellsOf[n]![i]!)))
    .join('\n');
}

/** One line naming the namespace before its table: inode, whose it is, who lives in it. */
function namespaceBanner(namespace: NamespaceSnapshot): string {
  const first = namespace.pids[0];
  const comm = namespace.firstComm;
  const who = first === undefined ? '' : `, pid ${first}${comm ? ` (${comm})` : ''}`;
  const count = namespace.pids.length === 1 ? '1 process' : `${namespace.pids.length} processes`;
  const { pod, podUid } = namespace;
  const owner = namespace.isHost ? ' (host)' : pod ? ` pod ${pod.namespace}/${pod.name}` : podUid ? ` pod ${podUid}` : '';
  return `Network namespace net:[${namespace.netns}]${owner}: ${count}${who}\n`;
}
