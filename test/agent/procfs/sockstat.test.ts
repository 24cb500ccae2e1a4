import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSockstat, tableIsEmpty } from '../../../agent/procfs/sockstat.js';

/** As printed by Linux 6.18 (sockstat_seq_show, sockstat6_seq_show). */
const SOCKSTAT = `sockets: used 11
TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 70
UDP: inuse 0 mem 0
UDPLITE: inuse 0
RAW: inuse 0
FRAG: inuse 0 memory 0
`;
const SOCKSTAT6 = `TCP6: inuse 0
UDP6: inuse 2
UDPLITE6: inuse 0
RAW6: inuse 0
FRAG6: inuse 0 memory 0
`;

describe('sockstat counts decide which tables need reading', () => {
  const counts = parseSockstat(SOCKSTAT, SOCKSTAT6);

  test('parses inuse per table and the shared TIME_WAIT count', () => {
    assert.deepEqual(counts, { inuse: { tcp: 1, udp: 0, raw: 0, tcp6: 0, udp6: 2, raw6: 0 }, tcpTimeWait: 0 });
  });

  const cases: Array<{ name: string; sockstat: string; sockstat6: string; proto: Parameters<typeof tableIsEmpty>[1]; empty: boolean }> = [
    { name: 'tcp with a hashed socket is read', sockstat: SOCKSTAT, sockstat6: SOCKSTAT6, proto: 'tcp', empty: false },
    { name: 'tcp6 with nothing hashed and no TIME_WAIT is skipped', sockstat: SOCKSTAT, sockstat6: SOCKSTAT6, proto: 'tcp6', empty: true },
    { name: 'tcp6 is read while any TIME_WAIT exists (tw counts both families)', sockstat: SOCKSTAT.replace('tw 0', 'tw 3'), sockstat6: SOCKSTAT6, proto: 'tcp6', empty: false },
    { name: 'udp with nothing bound is skipped', sockstat: SOCKSTAT, sockstat6: SOCKSTAT6, proto: 'udp', empty: true },
    { name: 'udp6 with bound sockets is read', sockstat: SOCKSTAT, sockstat6: SOCKSTAT6, proto: 'udp6', empty: false },
    { name: 'raw6 without sockstat6 (IPv6 disabled) is never proven empty', sockstat: SOCKSTAT, sockstat6: '', proto: 'raw6', empty: false },
  ];
  for (const { name, sockstat, sockstat6, proto, empty } of cases) {
    test(name, () => assert.equal(tableIsEmpty(parseSockstat(sockstat, sockstat6), proto), empty));
  }

  test('garbage proves nothing', () => {
    assert.equal(tableIsEmpty(parseSockstat('TCP: inuse x tw y\nnonsense'), 'tcp'), false);
  });
});
