import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { socketItem } from '../../../model/json/socket-list.js';
import { ALL_PROTOS, type InetSocketRecord } from '../../../model/socket.js';
import { toWireSocket, wireContext } from '../../../agent/stream/wire.js';
import { formatNetstat, NetstatFormatter, netstatSelects, programLabel, unknownProtos, type NetstatOptions } from '../../../cli/netstat/format.js';
import { FileNameResolver } from '../../../cli/netstat/names.js';
import { unknownProtoWarning } from '../../../cli/query/render.js';

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

/** The record as the agent sends it, held by nobody: what every listing formats. */
const context = wireContext('n', { netnsInode: '4026532877', isHost: false, pids: [], readVia: undefined, sockets: [], parseErrors: [] }, { namespaces: [], holders: new Map(), processes: new Map() }, 0);
const wire = (record: InetSocketRecord): Socket =>
  toWireSocket(record, { podUid: null, containerId: null, containerName: null, runtime: null, hostNetwork: false, source: 'none' }, context);

const row = (options: NetstatOptions, record: InetSocketRecord): string => new NetstatFormatter(options, new FileNameResolver(etc)).inetRow(wire(record), record.proto);

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
      assert.equal(netstatSelects(wire(record), { ...numeric, all: false, listening: true }), listening);
      assert.equal(netstatSelects(wire(record), { ...numeric, all: false, listening: false }), !listening);
      assert.equal(netstatSelects(wire(record), numeric), true);
    });
  }
});

describe('a socket of a proto this build does not know (from an agent newer than the reader)', () => {
  const known = wire(tcp({}));
  const unknown: Socket = { ...known, proto: 8 as Proto, inode: 2n };
  const names = new FileNameResolver(etc);

  test('is no row of any listing: netstat has no block for it', () => {
    const protos = new Set(ALL_PROTOS);
    assert.equal(formatNetstat({ protos, sockets: [unknown, known] }, numeric, names), formatNetstat({ protos, sockets: [known] }, numeric, names));
    assert.equal(netstatSelects(unknown, numeric), false);
  });

  test('the plugin says on stderr how many it left out', () => {
    assert.equal(unknownProtos([unknown, known, unknown]), 2);
    assert.equal(unknownProtoWarning([known]), '');
    assert.equal(unknownProtoWarning([unknown, known, unknown]), 'Warning: 2 sockets of a protocol unknown to this version are left out of the listing (-o json shows proto unknown); upgrade to list them.\n');
  });

  test('its JSON item names the proto unknown and keeps the rest as sent', () => {
    const item = socketItem(unknown);
    assert.equal(item.proto, 'unknown');
    assert.deepEqual([item.localAddress, item.localPort, item.state, item.inode], ['127.0.0.1', 80, 'LISTEN', '2']);
  });
});
