import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { HostSnapshot } from '../../../model/host-snapshot.js';
import type { SocketProto } from '../../../model/socket.js';
import { LocalHostFs } from '../../../agent/procfs/hostfs.js';
import { IncrementalScanner } from '../../../agent/scan/incremental.js';
import { takeHostSnapshot } from '../../../agent/snapshot/host-snapshot.js';
import { formatNetstat, type NetstatOptions } from '../../../cli/netstat/format.js';
import type { NameResolver } from '../../../cli/netstat/names.js';
import { demoProcRoot, sampleText } from '../../support/samples.js';

/**
 * Golden end-to-end over real captures: the demo proc tree (tables, fd links, cmdlines as
 * recorded) is scanned and turned into wire sockets as `kube-netstat local` does it, and
 * formatted; the result must equal what
 * net-tools netstat printed for the same namespace. Only timer seconds differ legitimately:
 * netstat read the tables a few hundred milliseconds after the capture.
 */
const fixture = demoProcRoot();
after(() => fixture.remove());

const numeric: NameResolver = {
  service: () => assert.fail('numeric output must not resolve services'),
  host: () => assert.fail('numeric output must not resolve hosts'),
  user: () => assert.fail('numeric output must not resolve users'),
};

const base: NetstatOptions = {
  all: true,
  listening: false,
  numericHosts: true,
  numericPorts: true,
  numericUsers: true,
  extend: 1,
  programs: true,
  timers: false,
  wide: false,
};

function render(snapshot: HostSnapshot, protos: SocketProto[], options: NetstatOptions): string {
  const [namespace] = snapshot.namespaces;
  assert.ok(namespace, 'the demo namespace is found');
  return formatNetstat({ protos: new Set(protos), sockets: namespace.sockets }, options, numeric);
}

/** Timer seconds move between two reads; everything else must match to the byte. */
const maskTimerSeconds = (text: string): string => text.replace(/\((\d+\.\d\d)\//g, '(S/');

const ALL = new Set<SocketProto>(['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix']);
const snapshot = await takeHostSnapshot(new LocalHostFs(fixture.root), { node: 'demo', resolver: { byUid: () => undefined }, protos: ALL });
const scan = await new IncrementalScanner(new LocalHostFs(fixture.root), { protos: ALL, fullReadEvery: 1 }).scan();

describe('netstat output over the demo capture', () => {

  const cases: Array<{ name: string; golden: string; protos: SocketProto[]; options: NetstatOptions }> = [
    { name: '-tanpo', golden: 'demo.netstat-tanpo.txt', protos: ['tcp', 'tcp6'], options: { ...base, timers: true } },
    { name: '-tanpoe', golden: 'demo.netstat-tanpoe.txt', protos: ['tcp', 'tcp6'], options: { ...base, timers: true, extend: 2 } },
    { name: '-uanpoe', golden: 'demo.netstat-uanpoe.txt', protos: ['udp', 'udp6'], options: { ...base, timers: true, extend: 2 } },
    { name: '-wanpe', golden: 'demo.netstat-wanpe.txt', protos: ['raw', 'raw6'], options: { ...base, extend: 2 } },
    { name: '-xanp', golden: 'demo.netstat-xanp.txt', protos: ['unix'], options: base },
  ];
  for (const { name, golden, protos, options } of cases) {
    test(`${name} equals ${golden}`, () => {
      assert.equal(maskTimerSeconds(render(snapshot, protos, options)), maskTimerSeconds(sampleText(golden)));
    });
  }

  test('the scan reads the namespace once and finds nothing missing', () => {
    assert.equal(scan.namespaces.length, 1);
    assert.equal(scan.namespaces[0]?.netnsInode, '4026532877');
    assert.deepEqual(scan.namespaces[0]?.pids, [30775, 30777, 30778]);
    assert.equal(scan.namespaces[0]?.readVia, 30775);
    assert.deepEqual(scan.problems, { namespaceDenied: 0, fdDenied: 0, vanished: 0, tablesDenied: 0, duplicatesDropped: 0, refusals: [] });
  });

  test('a socket shared by two processes lists both holders, lowest pid first', () => {
    assert.deepEqual(scan.holders.get('3660058'), [
      { pid: 30775, fd: 3 },
      { pid: 30778, fd: 3 },
    ]);
  });
});
