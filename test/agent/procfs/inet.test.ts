import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { InetProto, InetSocketRecord } from '../../../model/socket.js';
import { ParseError } from '../../../agent/procfs/errors.js';
import { parseInetTable } from '../../../agent/procfs/inet.js';
import { sample, sampleText } from '../../support/samples.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const zeroTimer = { code: 0, ticks: 0, retransmits: 0, probes: 0 };

function only(table: string, proto: InetProto): InetSocketRecord {
  const { records, errors } = parseInetTable(`${TCP_HEADER}\n${table}\n`, proto);
  assert.deepEqual(errors, []);
  assert.equal(records.length, 1);
  return records[0]!;
}

describe('parseInetTable over the real demo capture', () => {
  const tcp = parseInetTable(sample('demo.proc-net-tcp.txt'), 'tcp');
  const byLocal = (address: string, port: number, foreignPort: number): InetSocketRecord | undefined =>
    tcp.records.find((r) => r.localAddress === address && r.localPort === port && r.foreignPort === foreignPort);

  test('parses every line of tcp, padded to 149 columns, without errors', () => {
    assert.equal(tcp.errors.length, 0);
    assert.equal(tcp.records.length, 25);
  });

  const cases: Array<{ name: string; local: [string, number, number]; expected: InetSocketRecord }> = [
    {
      name: 'LISTEN created by uid 65534, full shape with TFO queue limit 0',
      local: ['127.0.0.1', 9090, 0],
      expected: {
        proto: 'tcp', shape: 'full', localAddress: '127.0.0.1', localPort: 9090, foreignAddress: '0.0.0.0', foreignPort: 0,
        stateCode: 10, txQueue: 0, rxQueue: 0, timer: zeroTimer, uid: 65534, inode: '3658285', refCount: 1,
        pointer: '00000000e4282d13', tcp: { rtoTicks: 100, atoTicks: 0, quickAckPingpong: 0, sndCwnd: 10, ssthresh: 0 },
      },
    },
    {
      name: 'LISTEN with backlog 0: rx_queue is the accept-queue length',
      local: ['127.0.0.1', 8081, 0],
      expected: {
        proto: 'tcp', shape: 'full', localAddress: '127.0.0.1', localPort: 8081, foreignAddress: '0.0.0.0', foreignPort: 0,
        stateCode: 10, txQueue: 0, rxQueue: 1, timer: zeroTimer, uid: 0, inode: '3660067', refCount: 2,
        pointer: '00000000e597cc15', tcp: { rtoTicks: 100, atoTicks: 0, quickAckPingpong: 0, sndCwnd: 10, ssthresh: 0 },
      },
    },
    {
      name: 'SYN_SENT: the SYN counts one byte in tx_queue, retransmit timer with 2 retransmissions',
      local: ['127.0.0.1', 40200, 8082],
      expected: {
        proto: 'tcp', shape: 'full', localAddress: '127.0.0.1', localPort: 40200, foreignAddress: '127.0.0.1', foreignPort: 8082,
        stateCode: 2, txQueue: 1, rxQueue: 0, timer: { code: 1, ticks: 0x4b, retransmits: 2, probes: 0 }, uid: 0, inode: '3660071',
        refCount: 2, pointer: '00000000b9ac63a2',
        tcp: { rtoTicks: 100, atoTicks: 0, quickAckPingpong: 0, sndCwnd: 1, ssthresh: -1 },
      },
    },
    {
      name: 'TIME_WAIT: timewait shape, uid and inode 0, no extras',
      local: ['127.0.0.1', 50380, 8080],
      expected: {
        proto: 'tcp', shape: 'timewait', localAddress: '127.0.0.1', localPort: 50380, foreignAddress: '127.0.0.1', foreignPort: 8080,
        stateCode: 6, txQueue: 0, rxQueue: 0, timer: { code: 3, ticks: 0x1680, retransmits: 0, probes: 0 }, uid: 0, inode: '0',
        refCount: 3, pointer: '0000000066d7d79c',
      },
    },
    {
      name: 'orphaned FIN_WAIT2 converted to a timewait entry: st 05 with timer 3',
      local: ['127.0.0.1', 8080, 50378],
      expected: {
        proto: 'tcp', shape: 'timewait', localAddress: '127.0.0.1', localPort: 8080, foreignAddress: '127.0.0.1', foreignPort: 50378,
        stateCode: 5, txQueue: 0, rxQueue: 0, timer: { code: 3, ticks: 0x1677, retransmits: 0, probes: 0 }, uid: 0, inode: '0',
        refCount: 3, pointer: '00000000fa984634',
      },
    },
    {
      name: 'request socket (NEW_SYN_RECV printed as 03): request shape, refcount 0',
      local: ['127.0.0.1', 8082, 40200],
      expected: {
        proto: 'tcp', shape: 'request', localAddress: '127.0.0.1', localPort: 8082, foreignAddress: '127.0.0.1', foreignPort: 40200,
        stateCode: 3, txQueue: 0, rxQueue: 0, timer: { code: 1, ticks: 0x4a, retransmits: 0, probes: 0 }, uid: 0, inode: '0',
        refCount: 0, pointer: '00000000dcecc9b5',
      },
    },
    {
      name: 'orphaned FIN_WAIT1 with 2 MB unsent and a zero-window probe timer: full shape, inode 0',
      local: ['127.0.0.1', 47656, 8084],
      expected: {
        proto: 'tcp', shape: 'full', localAddress: '127.0.0.1', localPort: 47656, foreignAddress: '127.0.0.1', foreignPort: 8084,
        stateCode: 4, txQueue: 2174977, rxQueue: 0, timer: { code: 4, ticks: 0x5d, retransmits: 0, probes: 0 }, uid: 0, inode: '0',
        refCount: 2, pointer: '00000000ae3ff8b2', tcp: { rtoTicks: 20, atoTicks: 0, quickAckPingpong: 0, sndCwnd: 12, ssthresh: -1 },
      },
    },
  ];
  for (const { name, local, expected } of cases) {
    test(name, () => assert.deepEqual(byLocal(...local), expected));
  }

  test('tcp6: wildcard, IPv4-mapped and ::1 addresses in inet_ntop form', () => {
    const { records, errors } = parseInetTable(sample('demo.proc-net-tcp6.txt'), 'tcp6');
    assert.deepEqual(errors, []);
    assert.deepEqual(
      records.map((r) => [r.localAddress, r.localPort, r.foreignAddress, r.foreignPort, r.stateCode, r.inode]),
      [
        ['::', 8443, '::', 0, 10, '3660152'],
        ['::ffff:127.0.0.1', 8443, '::ffff:127.0.0.1', 53626, 1, '3660154'],
        ['::1', 8443, '::1', 42378, 1, '3660156'],
        ['::1', 42378, '::1', 8443, 1, '3660155'],
      ],
    );
  });

  test('udp: sl is a hash bucket (5 wide), rx_queue is memory, drops are kept', () => {
    const { records, errors } = parseInetTable(sample('demo.proc-net-udp.txt'), 'udp');
    assert.deepEqual(errors, []);
    assert.deepEqual(records[0], {
      proto: 'udp', shape: 'full', localAddress: '127.0.0.1', localPort: 5353, foreignAddress: '0.0.0.0', foreignPort: 0,
      stateCode: 7, txQueue: 0, rxQueue: 7488, timer: zeroTimer, uid: 0, inode: '3660157', refCount: 2,
      pointer: '00000000a568dfd6', drops: 191,
    });
    assert.deepEqual(records.map((r) => r.stateCode), [7, 1, 7]);
  });

  test('raw and raw6: the local port is the IP protocol number', () => {
    const raw = parseInetTable(sample('demo.proc-net-raw.txt'), 'raw');
    const raw6 = parseInetTable(sample('demo.proc-net-raw6.txt'), 'raw6');
    assert.deepEqual([raw.errors, raw6.errors], [[], []]);
    assert.deepEqual(raw.records.map((r) => [r.localAddress, r.localPort, r.stateCode, r.drops]), [['0.0.0.0', 1, 7, 0]]);
    assert.deepEqual(raw6.records.map((r) => [r.localAddress, r.localPort, r.stateCode, r.drops]), [['::', 58, 7, 0]]);
  });

  test('the kernel-owned VXLAN socket parses like any other (inode without a holder)', () => {
    const text = sampleText('kernel-owned-vxlan.udp-and-ss.txt').split('\n').slice(1, 3).join('\n');
    const { records, errors } = parseInetTable(text, 'udp');
    assert.deepEqual(errors, []);
    assert.deepEqual(records.map((r) => [r.localAddress, r.localPort, r.inode]), [['0.0.0.0', 4789, '3843963']]);
  });
});

describe('parseInetTable edge cases', () => {
  const LISTEN = '   0: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 3658285 1 00000000e4282d13 100 0 0 10 0';

  test('sl wider than four digits, uid ≥ 100000 and a wide inode', () => {
    const record = only('123456: 0100007F:2382 00000000:0000 0A 00000000:00000000 00:00000000 00000000 1000680000        0 4294967295 1 0000000000000000 100 0 0 10 0', 'tcp');
    assert.equal(record.uid, 1000680000);
    assert.equal(record.inode, '4294967295');
  });

  test('lower-case hex is accepted, as sscanf %X does', () => {
    assert.equal(only(LISTEN.replace('0100007F', '0100007f'), 'tcp').localAddress, '127.0.0.1');
  });

  test('fields appended by a newer kernel are ignored', () => {
    assert.equal(only(`${LISTEN} 42 43`, 'tcp').stateCode, 10);
  });

  test('an unknown state code is kept, not rejected', () => {
    assert.equal(only(LISTEN.replace(' 0A ', ' 0F '), 'tcp').stateCode, 15);
  });

  test('a blank line is not an error', () => {
    assert.deepEqual(parseInetTable(`${TCP_HEADER}\n\n${LISTEN}\n`, 'tcp').errors, []);
  });

  test('a global IPv6 address decodes word by word in host order', () => {
    const line = '   0: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0';
    assert.equal(only(line, 'tcp6').localAddress, '2001:db8::1');
  });

  const malformed: Array<{ name: string; line: string; reason: RegExp }> = [
    { name: 'too few fields', line: '   0: 0100007F:2382 00000000:0000 0A', reason: /at least 12 fields/ },
    { name: 'sl without colon', line: LISTEN.replace('   0:', '   0 '), reason: /sl/ },
    { name: 'local address not hex', line: LISTEN.replace('0100007F:2382', '0100007G:2382'), reason: /local_address/ },
    { name: 'local address of the wrong width', line: LISTEN.replace('0100007F:2382', '100007F:2382'), reason: /local_address/ },
    { name: 'port beyond 16 bits', line: LISTEN.replace('0100007F:2382', '0100007F:12382'), reason: /local_address/ },
    { name: 'remote address missing its port', line: LISTEN.replace('00000000:0000 0A', '00000000 0A'), reason: /rem_address/ },
    { name: 'state not hex', line: LISTEN.replace(' 0A ', ' 0Z '), reason: /\bst\b/ },
    { name: 'queues without colon', line: LISTEN.replace('00000000:00000000 00:', '0000000000000000 00:'), reason: /tx_queue/ },
    { name: 'timer without colon', line: LISTEN.replace('00:00000000 00000000', '0000000000 00000000'), reason: /tr:tm->when/ },
    { name: 'retrnsmt not hex', line: LISTEN.replace('00:00000000 00000000', '00:00000000 0000000X'), reason: /retrnsmt/ },
    { name: 'uid negative', line: LISTEN.replace('65534', '-1'), reason: /uid/ },
    { name: 'timeout not decimal', line: LISTEN.replace('65534        0', '65534        A'), reason: /timeout/ },
    { name: 'inode not decimal', line: LISTEN.replace('3658285', '36582x5'), reason: /inode/ },
    { name: 'ref not decimal', line: LISTEN.replace('3658285 1 ', '3658285 one '), reason: /ref/ },
    { name: 'cwnd not decimal', line: LISTEN.replace(' 10 0', ' ten 0'), reason: /cwnd/ },
  ];
  for (const { name, line, reason } of malformed) {
    test(`malformed: ${name} → ParseError with file, line number and text; the rest still parses`, () => {
      const { records, errors } = parseInetTable(`${TCP_HEADER}\n${line}\n${LISTEN}\n`, 'tcp', '/proc/1/net/tcp');
      assert.equal(records.length, 1);
      assert.equal(errors.length, 1);
      const [error] = errors;
      assert.ok(error instanceof ParseError);
      assert.equal(error.file, '/proc/1/net/tcp');
      assert.equal(error.lineNumber, 2);
      assert.equal(error.text, line);
      assert.match(error.reason, reason);
    });
  }

  test('property: arbitrary bytes never throw, and every skipped line is a ParseError', () => {
    const protos: InetProto[] = ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6'];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...protos), (bytes, proto) => {
        const { errors } = parseInetTable(bytes, proto);
        for (const error of errors) assert.ok(error instanceof ParseError);
      }),
      { numRuns: 500 },
    );
  });

  test('property: lines built from valid-looking tokens never throw', () => {
    const hex = (digits: number) => fc.stringMatching(new RegExp(`^[0-9A-Fa-f]{${digits}}$`));
    const token = fc.oneof(hex(8), hex(32), fc.stringMatching(/^[0-9]{1,6}:?$/), fc.constant('-1'), fc.stringMatching(/^[0-9A-F]{8}:[0-9A-F]{1,4}$/));
    const line = fc.array(token, { maxLength: 20 }).map((tokens) => tokens.join(' '));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom<InetProto>('tcp', 'tcp6', 'udp'), (lines, proto) => {
        const { records, errors } = parseInetTable([TCP_HEADER, ...lines].join('\n'), proto);
        assert.ok(records.length + errors.length <= lines.length);
      }),
      { numRuns: 300 },
    );
  });
});
