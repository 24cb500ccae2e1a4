/**
 * The ss and netstat parsers the end-to-end tests use as oracles, checked against the real
 * captures in test/fixtures/captures/ (demo.ss-*.txt, demo.netstat-*.txt: one namespace, one
 * pass, so the two tools describe the same sockets).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  OracleParseError,
  netstatAddressOf,
  netstatStateOf,
  netstatTimerKindOf,
  parseNetstat,
  parseSs,
  parseSsDuration,
} from './oracles.js';
import type { OracleRecord } from './oracles.js';
import { sampleText } from './samples.js';

/** A record without its raw line, for whole-record comparisons. */
function fields(record: OracleRecord | undefined): Omit<OracleRecord, 'line'> | undefined {
  if (!record) return undefined;
  const { line, ...rest } = record;
  void line;
  return rest;
}

const noUnix = { unix: null } as const;
const PY = 30775;

describe('parseSs on demo.ss-tanpeo.txt (no Netid column)', () => {
  const rows = parseSs(sampleText('demo.ss-tanpeo.txt'), { netid: 'tcp' });
  const byLocal = (local: string, peer: string): OracleRecord | undefined =>
    rows.find((row) => `${row.localAddress}:${row.localPort ?? '*'}` === local && `${row.foreignAddress}:${row.foreignPort ?? '*'}` === peer);

  test('reads every row', () => {
    assert.equal(rows.length, 29);
  });

  const cases: Array<{ name: string; local: string; peer: string; want: Omit<OracleRecord, 'line'> }> = [
    {
      name: 'LISTEN of the uid-65534 child: backlog in Send-Q, uid printed',
      local: '127.0.0.1:9090',
      peer: '0.0.0.0:*',
      want: {
        tool: 'ss', proto: 'tcp', state: 'LISTEN', recvQ: 0, sendQ: 4,
        localAddress: '127.0.0.1', localPort: 9090, foreignAddress: '0.0.0.0', foreignPort: null,
        uid: 65534, inode: '3658285', users: [{ name: 'python3', pid: 30777, fd: 3 }], timer: null, ...noUnix,
      },
    },
    {
      name: 'LISTEN shared by two processes: both users, most recent first, uid 0 omitted',
      local: '127.0.0.1:8080',
      peer: '0.0.0.0:*',
      want: {
        tool: 'ss', proto: 'tcp', state: 'LISTEN', recvQ: 0, sendQ: 16,
        localAddress: '127.0.0.1', localPort: 8080, foreignAddress: '0.0.0.0', foreignPort: null,
        uid: null, inode: '3660058',
        users: [{ name: 'sleep', pid: 30778, fd: 3 }, { name: 'python3', pid: PY, fd: 3 }], timer: null, ...noUnix,
      },
    },
    {
      name: 'SYN-SENT with a retransmit timer',
      local: '127.0.0.1:40200',
      peer: '127.0.0.1:8082',
      want: {
        tool: 'ss', proto: 'tcp', state: 'SYN-SENT', recvQ: 0, sendQ: 1,
        localAddress: '127.0.0.1', localPort: 40200, foreignAddress: '127.0.0.1', foreignPort: 8082,
        uid: null, inode: '3660071', users: [{ name: 'python3', pid: PY, fd: 14 }],
        timer: { kind: 'on', seconds: 0.644, retransmits: 2, probes: null }, ...noUnix,
      },
    },
    {
      name: 'orphaned FIN-WAIT-1: no users, inode 0, persist timer',
      local: '127.0.0.1:47656',
      peer: '127.0.0.1:8084',
      want: {
        tool: 'ss', proto: 'tcp', state: 'FIN-WAIT-1', recvQ: 0, sendQ: 2174977,
        localAddress: '127.0.0.1', localPort: 47656, foreignAddress: '127.0.0.1', foreignPort: 8084,
        uid: null, inode: '0', users: [], timer: { kind: 'persist', seconds: 0.828, retransmits: null, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'keepalive timer in minutes',
      local: '127.0.0.1:34812',
      peer: '127.0.0.1:8083',
      want: {
        tool: 'ss', proto: 'tcp', state: 'ESTAB', recvQ: 0, sendQ: 0,
        localAddress: '127.0.0.1', localPort: 34812, foreignAddress: '127.0.0.1', foreignPort: 8083,
        uid: null, inode: '3660073', users: [{ name: 'python3', pid: PY, fd: 16 }],
        timer: { kind: 'keepalive', seconds: 7140, retransmits: null, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'timewait-shaped FIN-WAIT-2: no cgroup, no users',
      local: '127.0.0.1:8080',
      peer: '127.0.0.1:50378',
      want: {
        tool: 'ss', proto: 'tcp', state: 'FIN-WAIT-2', recvQ: 0, sendQ: 0,
        localAddress: '127.0.0.1', localPort: 8080, foreignAddress: '127.0.0.1', foreignPort: 50378,
        uid: null, inode: '0', users: [], timer: { kind: 'timewait', seconds: 57, retransmits: null, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'dual-stack wildcard `*` is IPv6',
      local: '*:8443',
      peer: '*:*',
      want: {
        tool: 'ss', proto: 'tcp6', state: 'LISTEN', recvQ: 0, sendQ: 16,
        localAddress: '*', localPort: 8443, foreignAddress: '*', foreignPort: null,
        uid: null, inode: '3660152', users: [{ name: 'python3', pid: PY, fd: 21 }], timer: null, ...noUnix,
      },
    },
    {
      name: 'v4-mapped address loses its brackets, stays IPv6',
      local: '::ffff:127.0.0.1:8443',
      peer: '::ffff:127.0.0.1:53626',
      want: {
        tool: 'ss', proto: 'tcp6', state: 'ESTAB', recvQ: 0, sendQ: 0,
        localAddress: '::ffff:127.0.0.1', localPort: 8443, foreignAddress: '::ffff:127.0.0.1', foreignPort: 53626,
        uid: null, inode: '3660154', users: [{ name: 'python3', pid: PY, fd: 24 }], timer: null, ...noUnix,
      },
    },
  ];
  for (const { name, local, peer, want } of cases) {
    test(name, () => {
      assert.deepEqual(fields(byLocal(local, peer)), want);
    });
  }
});

describe('parseSs on the UDP and raw captures', () => {
  test('UDP: Recv-Q is buffer memory; `*:5354` is the dual-stack UDP6 socket', () => {
    const rows = parseSs(sampleText('demo.ss-uanpe.txt'), { netid: 'udp' });
    assert.deepEqual(
      rows.map((row) => [row.proto, row.state, row.recvQ, `${row.localAddress}:${row.localPort}`, row.inode]),
      [
        ['udp', 'UNCONN', 7488, '127.0.0.1:5353', '3660157'],
        ['udp', 'ESTAB', 0, '127.0.0.1:55286', '3660158'],
        ['udp', 'UNCONN', 0, '0.0.0.0:56616', '3660161'],
        ['udp6', 'ESTAB', 0, '::1:36553', '3660160'],
        ['udp6', 'UNCONN', 0, '*:5354', '3660159'],
      ],
    );
  });

  test('raw: no inode (ss reads /proc/net/raw), the protocol as the port', () => {
    const rows = parseSs(sampleText('demo.ss-wanpe.txt'), { netid: 'raw' });
    assert.deepEqual(
      rows.map(fields),
      [
        {
          tool: 'ss', proto: 'raw', state: 'UNCONN', recvQ: 0, sendQ: 0,
          localAddress: '0.0.0.0', localPort: 1, foreignAddress: '0.0.0.0', foreignPort: null,
          uid: null, inode: null, users: [{ name: 'python3', pid: PY, fd: 32 }], timer: null, ...noUnix,
        },
        {
          tool: 'ss', proto: 'raw6', state: 'UNCONN', recvQ: 0, sendQ: 0,
          localAddress: '*', localPort: 58, foreignAddress: '*', foreignPort: null,
          uid: null, inode: null, users: [{ name: 'python3', pid: PY, fd: 33 }], timer: null, ...noUnix,
        },
      ],
    );
  });
});

describe('parseSs on demo.ss-xanpe.txt (unix, with a Netid column)', () => {
  const rows = parseSs(sampleText('demo.ss-xanpe.txt'));

  test('joins the line a newline in a name splits, so every socket is one record', () => {
    assert.equal(rows.length, 10);
  });

  test('the socket inode comes from the Port column, not from ino: (the socket file\'s inode)', () => {
    const listener = rows.find((row) => row.unix?.path === 'demo.sock');
    assert.deepEqual(fields(listener), {
      tool: 'ss', proto: 'unix', state: 'LISTEN', recvQ: 0, sendQ: 8,
      localAddress: null, localPort: null, foreignAddress: null, foreignPort: null,
      uid: null, inode: '3660167', users: [{ name: 'python3', pid: PY, fd: 37 }], timer: null,
      unix: { type: 'STREAM', path: 'demo.sock', peerInode: '0', refCnt: null, flags: null },
    });
  });

  const cases: Array<{ name: string; inode: string; want: [string, string | null, string] }> = [
    { name: 'a name with a space, whole', inode: '3660168', want: ['DGRAM', 'with space.sock', '0'] },
    { name: 'a name with a newline, whole', inode: '3660169', want: ['DGRAM', 'new\nline.sock', '0'] },
    { name: 'an abstract name with a NUL printed as @', inode: '3660170', want: ['DGRAM', '@inv@nul', '0'] },
    { name: 'the accepted side, named after its listener, with its peer', inode: '3660166', want: ['STREAM', '@inventory-demo', '3660165'] },
    { name: 'an unnamed client (`*`)', inode: '3660165', want: ['STREAM', null, '3660166'] },
    { name: 'a seqpacket listener', inode: '3660173', want: ['SEQPACKET', '@inventory-seqpacket', '0'] },
  ];
  for (const { name, inode, want } of cases) {
    test(name, () => {
      const row = rows.find((candidate) => candidate.inode === inode);
      assert.deepEqual(row && [row.unix?.type, row.unix?.path, row.unix?.peerInode], want);
    });
  }
});

describe('parseSs durations (print_ms_timer)', () => {
  const cases: Array<{ name: string; text: string; seconds: number | undefined }> = [
    { name: 'minutes', text: '119min', seconds: 7140 },
    { name: 'minutes and seconds', text: '2min5sec', seconds: 125 },
    { name: 'seconds', text: '57sec', seconds: 57 },
    { name: 'milliseconds', text: '828ms', seconds: 0.828 },
    { name: 'seconds with milliseconds, printed with an ms suffix', text: '1.564ms', seconds: 1.564 },
    { name: 'a due timer prints nothing', text: '', seconds: 0 },
    { name: 'garbage', text: 'soon', seconds: undefined },
  ];
  for (const { name, text, seconds } of cases) {
    test(name, () => {
      assert.equal(parseSsDuration(text), seconds);
    });
  }
});

describe('parseSs rejects what it does not understand', () => {
  const cases: Array<{ name: string; text: string; netid?: 'tcp' }> = [
    { name: 'no header', text: 'ESTAB 0 0 127.0.0.1:1 127.0.0.1:2\n', netid: 'tcp' },
    { name: 'no Netid column and no netid given', text: 'State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n' },
    { name: 'an unknown state', text: 'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\ntcp BOGUS 0 0 127.0.0.1:1 127.0.0.1:2\n' },
    { name: 'a bad port', text: 'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\ntcp ESTAB 0 0 127.0.0.1:x 127.0.0.1:2\n' },
    { name: 'an unreadable timer', text: 'Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\ntcp ESTAB 0 0 127.0.0.1:1 127.0.0.1:2 timer:(on,soon,0)\n' },
  ];
  for (const { name, text, netid } of cases) {
    test(name, () => {
      assert.throws(() => parseSs(text, netid ? { netid } : {}), OracleParseError);
    });
  }
});

describe('parseNetstat on demo.netstat-tanpoe.txt', () => {
  const rows = parseNetstat(sampleText('demo.netstat-tanpoe.txt'));

  test('reads every row of the Internet table', () => {
    assert.equal(rows.length, 29);
  });

  const cases: Array<{ name: string; index: number; want: Omit<OracleRecord, 'line'> }> = [
    {
      name: 'LISTEN of the uid-65534 child, with user, inode, program and timer',
      index: 0,
      want: {
        tool: 'netstat', proto: 'tcp', state: 'LISTEN', recvQ: 0, sendQ: 0,
        localAddress: '127.0.0.1', localPort: 9090, foreignAddress: '0.0.0.0', foreignPort: null,
        uid: 65534, inode: '3658285', users: [{ pid: 30777, name: 'python3', fd: null }],
        timer: { kind: 'off', seconds: 0, retransmits: 0, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'orphaned FIN_WAIT1: Send-Q wider than its column, `-` program, probe timer',
      index: 12,
      want: {
        tool: 'netstat', proto: 'tcp', state: 'FIN_WAIT1', recvQ: 0, sendQ: 2174977,
        localAddress: '127.0.0.1', localPort: 47656, foreignAddress: '127.0.0.1', foreignPort: 8084,
        uid: 0, inode: '0', users: [], timer: { kind: 'probe', seconds: 0.64, retransmits: 0, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'SYN_SENT: retransmit count inside the timer',
      index: 6,
      want: {
        tool: 'netstat', proto: 'tcp', state: 'SYN_SENT', recvQ: 0, sendQ: 1,
        localAddress: '127.0.0.1', localPort: 40200, foreignAddress: '127.0.0.1', foreignPort: 8082,
        uid: 0, inode: '3660071', users: [{ pid: PY, name: 'python3', fd: null }],
        timer: { kind: 'on', seconds: 0.46, retransmits: 2, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'dual-stack listener printed as :::8443',
      index: 25,
      want: {
        tool: 'netstat', proto: 'tcp6', state: 'LISTEN', recvQ: 0, sendQ: 0,
        localAddress: '::', localPort: 8443, foreignAddress: '::', foreignPort: null,
        uid: 0, inode: '3660152', users: [{ pid: PY, name: 'python3', fd: null }],
        timer: { kind: 'off', seconds: 0, retransmits: 0, probes: 0 }, ...noUnix,
      },
    },
    {
      name: 'v4-mapped server side printed as plain IPv4 under tcp6',
      index: 26,
      want: {
        tool: 'netstat', proto: 'tcp6', state: 'ESTABLISHED', recvQ: 0, sendQ: 0,
        localAddress: '127.0.0.1', localPort: 8443, foreignAddress: '127.0.0.1', foreignPort: 53626,
        uid: 0, inode: '3660154', users: [{ pid: PY, name: 'python3', fd: null }],
        timer: { kind: 'off', seconds: 0, retransmits: 0, probes: 0 }, ...noUnix,
      },
    },
  ];
  for (const { name, index, want } of cases) {
    test(name, () => {
      assert.deepEqual(fields(rows[index]), want);
    });
  }
});

describe('parseNetstat on the other captures', () => {
  test('without -e there is no user and no inode', () => {
    const first = parseNetstat(sampleText('demo.netstat-tanpo.txt'))[0];
    assert.deepEqual([first?.uid, first?.inode, first?.users], [null, null, [{ pid: 30777, name: 'python3', fd: null }]]);
  });

  test('UDP: an empty State column for unconnected sockets', () => {
    const rows = parseNetstat(sampleText('demo.netstat-uanpoe.txt'));
    assert.deepEqual(
      rows.map((row) => [row.proto, row.state, row.recvQ, `${row.localAddress}:${row.localPort ?? '*'}`, row.inode]),
      [
        ['udp', '', 7488, '127.0.0.1:5353', '3660157'],
        ['udp', 'ESTABLISHED', 0, '127.0.0.1:55286', '3660158'],
        ['udp', '', 0, '0.0.0.0:56616', '3660161'],
        ['udp6', 'ESTABLISHED', 0, '::1:36553', '3660160'],
        ['udp6', '', 0, ':::5354', '3660159'],
      ],
    );
  });

  test('raw: the state as a number, no Timer column', () => {
    const rows = parseNetstat(sampleText('demo.netstat-wanpe.txt'));
    assert.deepEqual(
      rows.map((row) => [row.proto, row.state, `${row.localAddress}:${row.localPort}`, row.uid, row.inode, row.timer]),
      [
        ['raw', '7', '0.0.0.0:1', 0, '3660162', null],
        ['raw6', '7', ':::58', 0, '3660163', null],
      ],
    );
  });

  test('unix: paths cut at the first whitespace, [ ACC ] flags, empty state for datagrams', () => {
    const rows = parseNetstat(sampleText('demo.netstat-xanp.txt'));
    assert.deepEqual(
      rows.map((row) => [row.unix?.refCnt, row.unix?.flags, row.unix?.type, row.state, row.inode, row.users[0]?.pid, row.unix?.path]),
      [
        [2, ['ACC'], 'STREAM', 'LISTENING', '3660167', PY, 'demo.sock'],
        [3, [], 'STREAM', 'CONNECTED', '3660165', PY, null],
        [2, [], 'DGRAM', '', '3660168', PY, 'with'],
        [2, [], 'DGRAM', '', '3660169', PY, 'new'],
        [3, [], 'STREAM', 'CONNECTED', '3660166', PY, '@inventory-demo'],
        [3, [], 'STREAM', 'CONNECTED', '3660172', PY, null],
        [3, [], 'STREAM', 'CONNECTED', '3660171', PY, null],
        [2, [], 'DGRAM', '', '3660170', PY, '@inv@nul'],
        [2, ['ACC'], 'STREAM', 'LISTENING', '3660164', PY, '@inventory-demo'],
        [2, ['ACC'], 'SEQPACKET', 'LISTENING', '3660173', PY, '@inventory-seqpacket'],
      ],
    );
  });
});

describe('parseNetstat finds fields by netstat.c\'s widths, so spaces inside them are kept', () => {
  const inetHeader =
    'Active Internet connections (servers and established)\n' +
    'Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name     Timer\n';
  const unixHeader = 'Active UNIX domain sockets (servers and established)\nProto RefCnt Flags       Type       State         I-Node   PID/Program name     Path\n';

  test('a program name with spaces, before the timer', () => {
    const [row] = parseNetstat(
      `${inetHeader}udp        0      0 127.0.0.1:5355          0.0.0.0:*                           0          76695      1183/kns/sleeper wi  off (0.00/0/0)\n`,
    );
    assert.deepEqual([row?.state, row?.users], ['', [{ pid: 1183, name: 'kns/sleeper wi', fd: null }]]);
  });

  test('a unix embryo: inode 0, no program, the listener\'s name', () => {
    const [row] = parseNetstat(`${unixHeader}unix  3      [ ]         STREAM     CONNECTING    0        -                    @kns-embryo\n`);
    assert.deepEqual([row?.state, row?.inode, row?.users, row?.unix?.path], ['CONNECTING', '0', [], '@kns-embryo']);
  });

  test('a unix inode wider than its column shifts the program and path', () => {
    const [row] = parseNetstat(`${unixHeader}unix  2      [ ]         DGRAM                    1234567890 42/python3           x y\n`);
    assert.deepEqual([row?.inode, row?.users, row?.unix?.path], ['1234567890', [{ pid: 42, name: 'python3', fd: null }], 'x y']);
  });

  test('"(Not all processes could be identified…)" notes are skipped', () => {
    const rows = parseNetstat(
      `(Not all processes could be identified, non-owned process info\n will not be shown, you would have to be root to see it all.)\n${unixHeader}`,
    );
    assert.deepEqual(rows, []);
  });

  test('a row before any header is an error', () => {
    assert.throws(() => parseNetstat('tcp        0      0 127.0.0.1:1 127.0.0.1:2 ESTABLISHED\n'), OracleParseError);
  });
});

describe('translating ss into netstat\'s words', () => {
  const ss = [
    ...parseSs(sampleText('demo.ss-tanpeo.txt'), { netid: 'tcp' }),
    ...parseSs(sampleText('demo.ss-uanpe.txt'), { netid: 'udp' }),
  ];
  const netstat = [...parseNetstat(sampleText('demo.netstat-tanpoe.txt')), ...parseNetstat(sampleText('demo.netstat-uanpoe.txt'))];

  test('every ss row of the demo capture has the netstat row with the same inode, state and addresses', () => {
    const translated = (row: OracleRecord): string =>
      [
        row.proto,
        row.inode,
        row.tool === 'ss' ? netstatStateOf(row) : row.state,
        `${row.tool === 'ss' ? netstatAddressOf(row.localAddress!, row.proto) : row.localAddress}:${row.localPort ?? '*'}`,
        `${row.tool === 'ss' ? netstatAddressOf(row.foreignAddress!, row.proto) : row.foreignAddress}:${row.foreignPort ?? '*'}`,
        row.tool === 'ss' ? netstatTimerKindOf(row.timer) : row.timer?.kind,
      ].join(' ');
    assert.deepEqual(ss.map(translated).sort(), netstat.map(translated).sort());
  });

  const stateCases: Array<{ name: string; proto: OracleRecord['proto']; state: string; inode: string; want: string }> = [
    { name: 'TCP ESTAB', proto: 'tcp', state: 'ESTAB', inode: '1', want: 'ESTABLISHED' },
    { name: 'TCP FIN-WAIT-2', proto: 'tcp6', state: 'FIN-WAIT-2', inode: '0', want: 'FIN_WAIT2' },
    { name: 'UDP unconnected', proto: 'udp', state: 'UNCONN', inode: '1', want: '' },
    { name: 'raw unconnected', proto: 'raw6', state: 'UNCONN', inode: '1', want: '7' },
    { name: 'unix listener', proto: 'unix', state: 'LISTEN', inode: '1', want: 'LISTENING' },
    { name: 'unix connected', proto: 'unix', state: 'ESTAB', inode: '1', want: 'CONNECTED' },
    { name: 'unix embryo', proto: 'unix', state: 'ESTAB', inode: '0', want: 'CONNECTING' },
    { name: 'unix unconnected datagram', proto: 'unix', state: 'UNCONN', inode: '1', want: '' },
  ];
  for (const { name, proto, state, inode, want } of stateCases) {
    test(`state: ${name}`, () => {
      const row = { ...ss[0]!, proto, state, inode };
      assert.equal(netstatStateOf(row), want);
    });
  }

  const addressCases: Array<{ name: string; address: string; proto: OracleRecord['proto']; want: string }> = [
    { name: 'IPv6 wildcard', address: '*', proto: 'tcp6', want: '::' },
    { name: 'IPv4 wildcard', address: '*', proto: 'udp', want: '0.0.0.0' },
    { name: 'v4-mapped', address: '::ffff:127.0.0.1', proto: 'tcp6', want: '127.0.0.1' },
    { name: 'plain IPv6', address: '::1', proto: 'tcp6', want: '::1' },
  ];
  for (const { name, address, proto, want } of addressCases) {
    test(`address: ${name}`, () => {
      assert.equal(netstatAddressOf(address, proto), want);
    });
  }
});
