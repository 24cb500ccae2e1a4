import type { SocketProto } from '../../model/socket.js';

/**
 * A network namespace's socket counters, reduced to one comparable string per group of tables:
 * the fingerprints the agent compares between intervals to decide which of a namespace's tables
 * need reading again (agent/scan/incremental.ts, test/agent/scan/change-detection.e2e.test.ts).
 *
 * Only per-namespace values are kept. From sockstat (sockstat_seq_show in net/ipv4/proc.c):
 * `sockets: used` (every socket of the namespace, unix included: sock_inuse_get(net)), each
 * table's `inuse`, and TCP's `tw`; TCP's `orphan`, `alloc` and every `mem` are host-wide sums and
 * are left out, as they move with any namespace's traffic. From sockstat6 (sockstat6_seq_show):
 * each table's `inuse`. From snmp (snmp_seq_show_tcp_udp): every Tcp, Udp and UdpLite counter,
 * and Ip InDelivers and OutRequests (local traffic, which raw sockets receive); Ip's forwarding
 * counters are left out, as they move in the host namespace with every routed pod packet. From
 * snmp6: Udp6*, UdpLite6*, Ip6InDelivers and Ip6OutRequests (TCP over IPv6 counts in snmp's Tcp
 * line).
 */
export interface CounterTexts {
  readonly sockstat: string;
  /** Absent when IPv6 is disabled. */
  readonly sockstat6?: string;
  readonly snmp: string;
  readonly snmp6?: string;
}

/** Tables whose changes move the same counters. */
export type TableGroup = 'tcp' | 'udp' | 'raw' | 'unix';

export const TABLE_GROUP: Readonly<Record<SocketProto, TableGroup>> = { tcp: 'tcp', tcp6: 'tcp', udp: 'udp', udp6: 'udp', raw: 'raw', raw6: 'raw', unix: 'unix' };

/**
 * One fingerprint per group: tcp (segments, opens, resets, sockets in use, TIME_WAIT), udp
 * (datagrams, errors, sockets in use), raw (locally delivered and sent packets, sockets in use),
 * unix (`sockets: used`, the only count unix sockets move; it moves with any socket).
 */
export type NamespaceCounters = Readonly<Record<TableGroup, string>>;

const USED = /^sockets: used (\d+)$/m;
const TCP = /^TCP: inuse (\d+) orphan \d+ tw (\d+)/m;
const inuse = (label: string): RegExp => new RegExp(`^${label}: inuse (\\d+)`, 'm');
const UDP = [inuse('UDP'), inuse('UDPLITE')];
const RAW = inuse('RAW');
const TCP6 = inuse('TCP6');
const UDP6 = [inuse('UDP6'), inuse('UDPLITE6')];
const RAW6 = inuse('RAW6');
const IP6_LOCAL = [/^Ip6InDelivers\s+(\d+)$/m, /^Ip6OutRequests\s+(\d+)$/m];

/**
 * The fingerprints of one namespace, or undefined when the texts do not have the lines every
 * kernel since 4.16 prints (`sockets: used`, `TCP: inuse`, Ip, Tcp and Udp counters): unknown
 * counters never vouch for an unchanged table. Built from slices and a few values, not from
 * every line split apart: it runs for every namespace on every scan.
 */
export function namespaceCounters(texts: CounterTexts): NamespaceCounters | undefined {
  const { sockstat, snmp } = texts;
  const sockstat6 = texts.sockstat6 ?? '';
  const snmp6 = texts.snmp6 ?? '';
  const used = USED.exec(sockstat);
  const tcp = TCP.exec(sockstat);
  // snmp_seq_show_tcp_udp prints Tcp, then Udp and UdpLite, after Ip and Icmp.
  const tcpAt = snmp.indexOf('\nTcp:');
  const udpAt = snmp.indexOf('\nUdp:');
  const ip = ipLocal(snmp);
  if (!used || !tcp || tcpAt < 0 || udpAt < tcpAt || ip === undefined) return undefined;
  // snmp6_seq_show prints Udp6 and UdpLite6 after Ip6 and Icmp6.
  const udp6At = snmp6.indexOf('\nUdp6');
  const value = (pattern: RegExp, text: string): string => pattern.exec(text)?.[1] ?? '-';
  return {
    tcp: `${tcp[1]} ${tcp[2]} ${value(TCP6, sockstat6)}${snmp.slice(tcpAt, udpAt)}`,
    udp: `${UDP.map((pattern) => value(pattern, sockstat)).join(' ')} ${UDP6.map((pattern) => value(pattern, sockstat6)).join(' ')}${snmp.slice(udpAt)}${udp6At < 0 ? '' : snmp6.slice(udp6At)}`,
    raw: `${value(RAW, sockstat)} ${value(RAW6, sockstat6)} ${ip} ${IP6_LOCAL.map((pattern) => value(pattern, snmp6)).join(' ')}`,
    unix: used[1]!,
  };
}

/** Ip InDelivers and OutRequests from the first header/values pair of snmp; undefined when absent. */
function ipLocal(snmp: string): string | undefined {
  const headerEnd = snmp.indexOf('\n');
  const valuesEnd = snmp.indexOf('\n', headerEnd + 1);
  if (!snmp.startsWith('Ip: ') || headerEnd < 0 || valuesEnd < 0 || !snmp.startsWith('Ip: ', headerEnd + 1)) return undefined;
  const names = snmp.slice(4, headerEnd).split(' ');
  const values = snmp.slice(headerEnd + 5, valuesEnd).split(' ');
  const delivers = names.indexOf('InDelivers');
  const requests = names.indexOf('OutRequests');
  if (delivers < 0 || requests < 0) return undefined;
  return `${values[delivers]} ${values[requests]}`;
}
