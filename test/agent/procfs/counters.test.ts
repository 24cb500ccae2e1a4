import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namespaceCounters, type CounterTexts, type TableGroup } from '../../../agent/procfs/counters.js';

/**
 * The namespace fingerprints (agent/procfs/counters.ts) over text as Linux 6.18 prints it: the
 * group whose tables a counter speaks for must move with it, the others stay, and nothing moves
 * when only host-wide values (memory, orphans, forwarded packets) do — or every namespace would
 * be read every scan.
 */
const SOCKSTAT = `sockets: used 26
TCP: inuse 5 orphan 0 tw 2 alloc 5 mem 3
UDP: inuse 1 mem 0
UDPLITE: inuse 0
RAW: inuse 0
FRAG: inuse 0 memory 0
`;
const SOCKSTAT6 = `TCP6: inuse 1
UDP6: inuse 0
UDPLITE6: inuse 0
RAW6: inuse 0
FRAG6: inuse 0 memory 0
`;
const SNMP = `Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits
Ip: 1 64 1910765 0 0 0 0 0 1910765 1868651 0 0 0 0 0 0 0 0 0 1868651
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps
Icmp: 2 0 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
IcmpMsg: InType3
IcmpMsg: 2
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 38162 37924 120 5904 2002 1910622 1897816 9416 0 6216 0
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
Udp: 141 0 0 143 0 0 0 0 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
UdpLite: 0 0 0 0 0 0 0 0 0
`;
const SNMP6 = `Ip6InReceives                   \t2
Ip6InDelivers                   \t2
Ip6OutForwDatagrams             \t0
Ip6OutRequests                  \t13
Icmp6InMsgs                     \t0
Udp6InDatagrams                 \t0
Udp6NoPorts                     \t0
UdpLite6InDatagrams             \t0
`;
const BASE: CounterTexts = { sockstat: SOCKSTAT, sockstat6: SOCKSTAT6, snmp: SNMP, snmp6: SNMP6 };

const edits: Array<{ name: string; moves: TableGroup[]; texts: CounterTexts }> = [
  { name: 'a socket created (sockets: used)', moves: ['unix'], texts: { ...BASE, sockstat: SOCKSTAT.replace('used 26', 'used 27') } },
  { name: 'a TCP socket hashed (TCP inuse)', moves: ['tcp'], texts: { ...BASE, sockstat: SOCKSTAT.replace('TCP: inuse 5', 'TCP: inuse 6') } },
  { name: 'a TIME_WAIT entry expired (tw)', moves: ['tcp'], texts: { ...BASE, sockstat: SOCKSTAT.replace('tw 2', 'tw 1') } },
  { name: 'a TCP6 listener (TCP6 inuse)', moves: ['tcp'], texts: { ...BASE, sockstat6: SOCKSTAT6.replace('TCP6: inuse 1', 'TCP6: inuse 2') } },
  { name: 'a segment received (Tcp InSegs)', moves: ['tcp'], texts: { ...BASE, snmp: SNMP.replace('1910622 1897816', '1910623 1897816') } },
  { name: 'a UDP socket bound (UDP inuse)', moves: ['udp'], texts: { ...BASE, sockstat: SOCKSTAT.replace('UDP: inuse 1', 'UDP: inuse 2') } },
  { name: 'a UDP6 socket bound (UDP6 inuse)', moves: ['udp'], texts: { ...BASE, sockstat6: SOCKSTAT6.replace('UDP6: inuse 0', 'UDP6: inuse 1') } },
  { name: 'a datagram received (Udp InDatagrams)', moves: ['udp'], texts: { ...BASE, snmp: SNMP.replace('Udp: 141', 'Udp: 142') } },
  { name: 'a UDP6 datagram (Udp6InDatagrams)', moves: ['udp'], texts: { ...BASE, snmp6: SNMP6.replace('Udp6InDatagrams                 \t0', 'Udp6InDatagrams                 \t1') } },
  { name: 'a raw socket (RAW inuse)', moves: ['raw'], texts: { ...BASE, sockstat: SOCKSTAT.replace('RAW: inuse 0', 'RAW: inuse 1') } },
  { name: 'traffic delivered locally (Ip InDelivers)', moves: ['raw'], texts: { ...BASE, snmp: SNMP.replace('0 0 0 0 0 1910765 1868651', '0 0 0 0 0 1910766 1868651') } },
  { name: 'IPv6 traffic delivered locally (Ip6InDelivers)', moves: ['raw'], texts: { ...BASE, snmp6: SNMP6.replace('Ip6InDelivers                   \t2', 'Ip6InDelivers                   \t3') } },
  { name: 'host-wide TCP memory, orphans and allocations', moves: [], texts: { ...BASE, sockstat: SOCKSTAT.replace('orphan 0', 'orphan 4').replace('alloc 5 mem 3', 'alloc 9 mem 40').replace('UDP: inuse 1 mem 0', 'UDP: inuse 1 mem 7') } },
  { name: 'packets routed through (Ip InReceives, ForwDatagrams)', moves: [], texts: { ...BASE, snmp: SNMP.replace('Ip: 1 64 1910765 0 0 0', 'Ip: 1 64 1999999 0 0 88') } },
  { name: 'ICMP counters', moves: [], texts: { ...BASE, snmp: SNMP.replace('Icmp: 2 0 0 2', 'Icmp: 3 0 0 3') } },
  { name: 'fragment queues', moves: [], texts: { ...BASE, sockstat6: SOCKSTAT6.replace('FRAG6: inuse 0 memory 0', 'FRAG6: inuse 1 memory 512') } },
];

describe('namespaceCounters', () => {
  const base = namespaceCounters(BASE);
  test('the captured texts have fingerprints', () => assert.ok(base));
  for (const { name, moves, texts } of edits) {
    test(`${name}: ${moves.length > 0 ? `${moves.join(', ')} moves` : 'nothing moves'}`, () => {
      const after = namespaceCounters(texts)!;
      const moved = (['tcp', 'udp', 'raw', 'unix'] as const).filter((group) => after[group] !== base![group]);
      assert.deepEqual(moved, moves);
    });
  }
  test('IPv6 disabled (no sockstat6, no snmp6): still fingerprints', () => {
    assert.ok(namespaceCounters({ sockstat: SOCKSTAT, snmp: SNMP }));
  });
  const broken: Array<{ name: string; texts: CounterTexts }> = [
    { name: 'no sockets line', texts: { ...BASE, sockstat: SOCKSTAT.replace('sockets: used 26\n', '') } },
    { name: 'no TCP line', texts: { ...BASE, sockstat: SOCKSTAT.replace(/^TCP:.*\n/m, '') } },
    { name: 'no Tcp counters', texts: { ...BASE, snmp: SNMP.replace(/^Tcp:.*\n/gm, '') } },
    { name: 'no Udp counters', texts: { ...BASE, snmp: SNMP.split('\nUdp:')[0]! } },
    { name: 'no Ip lines', texts: { ...BASE, snmp: SNMP.slice(SNMP.indexOf('Icmp:')) } },
    { name: 'empty files', texts: { sockstat: '', snmp: '' } },
  ];
  for (const { name, texts } of broken) {
    test(`${name}: no fingerprints (the tables are read)`, () => assert.equal(namespaceCounters(texts), undefined));
  }
});
