import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { InetSocketRecord } from '../model/socket.js';
import { NetstatFormatter, netstatSelects, programLabel, type NetstatOptions } from '../cli/netstat/format.js';
import { FileNameResolver } from '../cli/netstat/names.js';

const etc = mkdtempSync(join(tmpdir(), 'kns-etc-'));
after(() => rmSync(etc, { recursive: true, force: true }));
writeFileSync(join(etc, 'services'), 'http\t\t80/tcp\t\t\t# WorldWideWeb HTTP\nhttps\t\t443/tcp\nhttps\t\t443/udp\ndomain\t\t53/udp\n');
writeFileSync(join(etc, 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.1.2.3 db-primary.example db\n');
writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');

const numeric: NetstatOptions = {
  all: true, listening: false, numericHosts: true, numericPorts: true, numericUsers: true,
  extend: 1, programs: false, timers: false, wide: false,
};
const symbolic: NetstatOptions = { ...numeric, numericHosts: false, numericPorts: false, numericUsers: false };

const tcp = (fields: Partial<InetSocketRecord>): InetSocketRecord => ({
  proto: 'tcp', shape: 'full', localAddress: '127.0.0.1', localPort: 80, foreignAddress: '0.0.0.0', foreignPort: 0,
  stateCode: 10, txQueue: 0, rxQueue: 0, timer: { code: 0, ticks: 0, retransmits: 0, probes: 0 }, uid: 0, inode: '1',
  refCount: 1, pointer: '0', ...fields,
});

const row = (options: NetstatOptions, record: InetSocketRecord): string => new NetstatFormatter(options, new FileNameResolver(etc)).inetRow(record, undefined);

describe('addresses and names', () => {
  test('without -n: /etc/hosts names and /etc/services ports; 0.0.0.0 and * stay', () => {
    assert.equal(row(symbolic, tcp({})), 'tcp        0      0 localhost:http          0.0.0.0:*               LISTEN     \n');
  });

  test('without -n: the IPv6 wildcard prints [::] (INET6_rresolve)', () => {
    assert.equal(row(symbolic, tcp({ proto: 'tcp6', localAddress: '::', localPort: 443, foreignAddress: '::' })), 'tcp6       0      0 [::]:https              [::]:*                  LISTEN     \n');
  });

  test('an unknown port stays numeric even without -n', () => {
    assert.match(row(symbolic, tcp({ localPort: 8080 })), /localhost:8080 /);
  });

  test('-e without -n shows the user name (getpwuid); with -n the uid', () => {
    const record = tcp({ uid: 65534, inode: '3658285' });
    assert.match(row({ ...symbolic, extend: 2 }, record), /LISTEN      nobody     3658285   \n$/);
    assert.match(row({ ...numeric, extend: 2 }, record), /LISTEN      65534      3658285   \n$/);
  });

  test('a long address is squeezed into 23 columns as addr_do_one does', () => {
    const record = tcp({ proto: 'tcp6', localAddress: '2001:db8:1234:5678:9abc:def0:1234:5678', localPort: 443, foreignAddress: '::' });
    assert.equal(row(numeric, record), 'tcp6       0      0 2001:db8:1234:5678::443 :::*                    LISTEN     \n');
  });

  test('-W keeps the whole address and widens the column', () => {
    const record = tcp({ proto: 'tcp6', localAddress: '2001:db8:1234:5678:9abc:def0:1234:5678', localPort: 443, foreignAddress: '::' });
    assert.equal(row({ ...numeric, wide: true }, record), 'tcp6       0      0 2001:db8:1234:5678:9abc:def0:1234:5678:443 :::*                    LISTEN     \n');
  });

  test('IPv4-mapped addresses print as IPv4', () => {
    const record = tcp({ proto: 'tcp6', localAddress: '::ffff:10.0.0.1', foreignAddress: '::ffff:10.0.0.2', foreignPort: 5 });
    assert.equal(row(numeric, record), 'tcp6       0      0 10.0.0.1:80             10.0.0.2:5              LISTEN     \n');
  });
});

describe('rows', () => {
  test('an unknown TCP state prints UNKNOWN', () => {
    assert.match(row(numeric, tcp({ stateCode: 12 })), / UNKNOWN {4}\n$/);
  });

  const timers: Array<{ name: string; record: InetSocketRecord; text: string }> = [
    { name: 'tcp keepalive', record: tcp({ timer: { code: 2, ticks: 719771, retransmits: 0, probes: 0 } }), text: 'keepalive (7197.71/0/0)' },
    { name: 'tcp unknown timer code', record: tcp({ timer: { code: 9, ticks: 150, retransmits: 1, probes: 2 } }), text: 'unkn-9 (1.50/1/2)' },
    { name: 'udp timers print on<n> and force retransmits to 0', record: tcp({ proto: 'udp', stateCode: 7, timer: { code: 1, ticks: 250, retransmits: 4, probes: 0 } }), text: 'on1 (2.50/0/0)' },
    { name: 'raw timers keep retransmits', record: tcp({ proto: 'raw', stateCode: 7, timer: { code: 2, ticks: 100, retransmits: 4, probes: 0 } }), text: 'on2 (1.00/4/0)' },
  ];
  for (const { name, record, text } of timers) {
    test(`timer: ${name}`, () => assert.ok(row({ ...numeric, timers: true }, record).endsWith(` ${text}\n`)));
  }

  test('program labels are cut to netstat\'s 19 characters', () => {
    assert.equal(programLabel(4194303, 'a-very-long-program-name'), '4194303/a-very-long');
  });
});

describe('-a / -l selection follows netstat, protocol by protocol', () => {
  const cases: Array<{ name: string; record: InetSocketRecord; listening: boolean }> = [
    { name: 'tcp LISTEN', record: tcp({}), listening: true },
    { name: 'tcp connected to port 0 counts as listening (remote port test)', record: tcp({ stateCode: 1, foreignAddress: '10.0.0.1', foreignPort: 0 }), listening: true },
    { name: 'tcp ESTABLISHED', record: tcp({ stateCode: 1, foreignAddress: '10.0.0.1', foreignPort: 5 }), listening: false },
    { name: 'udp unconnected', record: tcp({ proto: 'udp', stateCode: 7 }), listening: true },
    { name: 'udp connected', record: tcp({ proto: 'udp', stateCode: 1, foreignAddress: '10.0.0.1', foreignPort: 53 }), listening: false },
    { name: 'raw6 unconnected', record: tcp({ proto: 'raw6', stateCode: 7, localAddress: '::', foreignAddress: '::' }), listening: true },
  ];
  for (const { name, record, listening } of cases) {
    test(name, () => {
      assert.equal(netstatSelects(record, { ...numeric, all: false, listening: true }), listening);
      assert.equal(netstatSelects(record, { ...numeric, all: false, listening: false }), !listening);
      assert.equal(netstatSelects(record, numeric), true);
    });
  }
});
