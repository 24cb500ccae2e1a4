import { BlockList, isIP } from 'node:net';
import { Proto, type Socket } from '../gen/kubenetstat/v1/socket.js';
import { netstatAddress } from './address.js';
import { TcpState } from './socket.js';

/** A socket filter built from user input; construction throws FilterError on bad input. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
}

const SS_STATE_BITS: Readonly<Record<string, number>> = {
  ESTAB: TcpState.ESTABLISHED,
  'SYN-SENT': TcpState.SYN_SENT,
  'SYN-RECV': TcpState.SYN_RECV,
  'FIN-WAIT-1': TcpState.FIN_WAIT1,
  'FIN-WAIT-2': TcpState.FIN_WAIT2,
  'TIME-WAIT': TcpState.TIME_WAIT,
  UNCONN: TcpState.CLOSE,
  'CLOSE-WAIT': TcpState.CLOSE_WAIT,
  'LAST-ACK': TcpState.LAST_ACK,
  LISTEN: TcpState.LISTEN,
  CLOSING: TcpState.CLOSING,
};

const bit = (state: number): number => 1 << state;
const ALL = (1 << 12) - 2;
/** ss.c SS_CONN: everything but LISTEN, CLOSE, TIME-WAIT and SYN-RECV. */
const CONNECTED = ALL & ~(bit(TcpState.LISTEN) | bit(TcpState.CLOSE) | bit(TcpState.TIME_WAIT) | bit(TcpState.SYN_RECV));
const BUCKET = bit(TcpState.SYN_RECV) | bit(TcpState.TIME_WAIT);

/** ss's state names and groups (`ss state connected`), plus netstat's spellings. */
const STATE_NAMES: Readonly<Record<string, number>> = {
  all: ALL,
  connected: CONNECTED,
  synchronized: CONNECTED & ~bit(TcpState.SYN_SENT),
  bucket: BUCKET,
  big: ALL & ~BUCKET,
  established: bit(TcpState.ESTABLISHED),
  'syn-sent': bit(TcpState.SYN_SENT),
  'syn-recv': bit(TcpState.SYN_RECV),
  'fin-wait-1': bit(TcpState.FIN_WAIT1),
  'fin-wait-2': bit(TcpState.FIN_WAIT2),
  'fin-wait1': bit(TcpState.FIN_WAIT1),
  'fin-wait2': bit(TcpState.FIN_WAIT2),
  'time-wait': bit(TcpState.TIME_WAIT),
  closed: bit(TcpState.CLOSE),
  close: bit(TcpState.CLOSE),
  unconn: bit(TcpState.CLOSE),
  'close-wait': bit(TcpState.CLOSE_WAIT),
  'last-ack': bit(TcpState.LAST_ACK),
  listening: bit(TcpState.LISTEN),
  listen: bit(TcpState.LISTEN),
  closing: bit(TcpState.CLOSING),
  estab: bit(TcpState.ESTABLISHED),
};

export const STATE_FILTER_NAMES: readonly string[] = Object.keys(STATE_NAMES);

/** Bit mask of kernel state codes for a list of names; throws FilterError on an unknown one. */
export function stateMask(names: readonly string[]): number {
  let mask = 0;
  for (const raw of names) {
    const name = raw.toLowerCase().replaceAll('_', '-');
    const bits = STATE_NAMES[name];
    if (bits === undefined) throw new FilterError(`unknown state '${raw}': expected one of ${STATE_FILTER_NAMES.join(', ')}`);
    mask |= bits;
  }
  return mask;
}

/** What a filter looks at, whether the socket is a wire message or a slot of the aggregator's store. */
export interface FilterView {
  /** The wire Proto (kubenetstat.v1.Proto). */
  readonly proto: number;
  readonly unix: boolean;
  /** The kernel state code; for unix sockets the one ss shows them in. */
  readonly stateCode: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly foreignAddress: string;
  readonly foreignPort: number;
}

/** ss's state code for a unix socket, by ss's state name. */
export function ssCodeOfName(ssState: string): number {
  return SS_STATE_BITS[ssState] ?? 0;
}

export interface SocketFilterSpec {
  /**
   * netstat's selection of servers: true only them (`-l`), false all but them (netstat's
   * default), absent both (`-a`). What a server is: isServer.
   */
  readonly listening?: boolean;
  readonly states?: readonly string[];
  /** Matches either end's port. */
  readonly ports?: readonly number[];
  /** IP addresses or CIDR prefixes; matches either end. */
  readonly addresses?: readonly string[];
  /** One end only, as ss's sport/dport and src/dst: the local or the foreign (remote) end. */
  readonly localPorts?: readonly number[];
  readonly foreignPorts?: readonly number[];
  readonly localAddresses?: readonly string[];
  readonly foreignAddresses?: readonly string[];
}

/**
 * Whether netstat counts the socket as a server (net-tools netstat.c: tcp_do_one, udp_do_one,
 * raw_do_one, unix_do_one): tcp by the remote *port* being 0 (so a connected socket to port 0
 * counts as one), udp and raw by the remote *address* being the family's wildcard (the wire
 * shows IPv4-mapped addresses as IPv4, and netstat does not count ::ffff:0.0.0.0 as the IPv6
 * wildcard), unix by SS_UNCONNECTED with __SO_ACCEPTCON: ss's LISTEN, the code a view has for
 * it (a unix socket only gets __SO_ACCEPTCON from listen(), which needs SS_UNCONNECTED).
 * undefined for a proto this build does not know: no netstat selection takes it.
 */
export function isServer(view: FilterView): boolean | undefined {
  return servesAsNetstatSays(view.proto, view.stateCode === TcpState.LISTEN, view.foreignAddress, view.foreignPort);
}

/**
 * isServer's rule on the fields it reads, for callers that hold them without a view (a table
 * asks it of every socket it prints): `ssListen` is a unix socket's ss state being LISTEN.
 */
export function servesAsNetstatSays(proto: number, ssListen: boolean, foreignAddress: string, foreignPort: number): boolean | undefined {
  switch (proto) {
    case Proto.PROTO_TCP:
    case Proto.PROTO_TCP6:
      return foreignPort === 0;
    case Proto.PROTO_UDP:
    case Proto.PROTO_RAW:
      return foreignAddress === '0.0.0.0';
    case Proto.PROTO_UDP6:
    case Proto.PROTO_RAW6:
      return foreignAddress === '::';
    case Proto.PROTO_UNIX:
      return ssListen;
    default:
      return undefined;
  }
}

type MutableView = { -readonly [Field in keyof FilterView]: FilterView[Field] };

/** Points `view` at a wire socket (unix sockets by ss's state code, as the aggregator stores them). */
function pointAt(view: MutableView, socket: Socket): FilterView {
  view.proto = socket.proto;
  view.unix = socket.proto === Proto.PROTO_UNIX;
  view.stateCode = view.unix ? ssCodeOfName(socket.ssState) : socket.stateCode;
  view.localAddress = socket.localAddress;
  view.localPort = socket.localPort;
  view.foreignAddress = socket.foreignAddress;
  view.foreignPort = socket.foreignPort;
  return view;
}

const emptyView = (): MutableView => ({ proto: 0, unix: false, stateCode: 0, localAddress: '', localPort: 0, foreignAddress: '', foreignPort: 0 });

export type SocketPredicate = (socket: Socket) => boolean;
export type ViewPredicate = (view: FilterView) => boolean;

/** A filter over any socket seen through a FilterView; throws FilterError on bad input. */
export function buildViewFilter(spec: SocketFilterSpec): ViewPredicate {
  const checks: ViewPredicate[] = [];
  const { listening } = spec;
  // A proto this build does not know is kept either way: whether it serves cannot be told, and
  // listings say what they left out of a table (-o json shows it).
  if (listening !== undefined) checks.push((view) => (isServer(view) ?? listening) === listening);
  if (spec.states?.length) {
    const mask = stateMask(spec.states);
    checks.push((view) => (mask & bit(view.stateCode)) !== 0);
  }
  if (spec.ports?.length) {
    const ports = new Set(spec.ports);
    checks.push((view) => !view.unix && (ports.has(view.localPort) || ports.has(view.foreignPort)));
  }
  if (spec.addresses?.length) {
    const list = addressList(spec.addresses);
    checks.push((view) => !view.unix && (matches(list, view.localAddress) || matches(list, view.foreignAddress)));
  }
  if (spec.localPorts?.length) {
    const ports = new Set(spec.localPorts);
    checks.push((view) => !view.unix && ports.has(view.localPort));
  }
  if (spec.foreignPorts?.length) {
    const ports = new Set(spec.foreignPorts);
    checks.push((view) => !view.unix && ports.has(view.foreignPort));
  }
  if (spec.localAddresses?.length) {
    const list = addressList(spec.localAddresses);
    checks.push((view) => !view.unix && matches(list, view.localAddress));
  }
  if (spec.foreignAddresses?.length) {
    const list = addressList(spec.foreignAddresses);
    checks.push((view) => !view.unix && matches(list, view.foreignAddress));
  }
  // Queries run this over a million sockets: no closure over an array when one check will do.
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0]!;
  return (view) => checks.every((check) => check(view));
}

/** The same filter over wire sockets. */
export function buildSocketFilter(spec: SocketFilterSpec): SocketPredicate {
  const filter = buildViewFilter(spec);
  // One view, pointed at each socket in turn: a listing filters every socket of a host.
  const view = emptyView();
  return (socket) => filter(pointAt(view, socket));
}

function addressList(addresses: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of addresses) {
    const [ip, prefixText] = text.split('/');
    const family = ip ? isIP(ip) : 0;
    if (!ip || family === 0) throw new FilterError(`invalid address '${text}': expected an IP address or CIDR such as 10.0.0.0/8`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(ip, type);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) throw new FilterError(`invalid prefix length in '${text}'`);
    list.addSubnet(ip, prefix, type);
  }
  return list;
}

/** IPv4-mapped peers of dual-stack sockets match IPv4 filters too. */
function matches(list: BlockList, address: string): boolean {
  const shown = netstatAddress(address);
  return list.check(shown, isIP(shown) === 4 ? 'ipv4' : 'ipv6');
}
