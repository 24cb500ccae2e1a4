import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSocketFilter, FilterError, stateMask, type SocketFilterSpec } from '../../model/filter.js';
import type { SocketRecord } from '../../model/socket.js';
import { parseInetTable } from '../../agent/procfs/inet.js';
import { parseUnixTable } from '../../agent/procfs/unix.js';
import { toWireSocket, wireContext } from '../../agent/stream/wire.js';
import { ssStateName } from '../../model/states.js';
import { sample } from '../support/samples.js';

const tcp = [...parseInetTable(sample('demo.proc-net-tcp.txt'), 'tcp').records, ...parseInetTable(sample('demo.proc-net-tcp6.txt'), 'tcp6').records];
const unix = parseUnixTable(sample('demo.proc-net-unix.txt')).records;

/** The records whose wire form (what the filter sees, in `local` and the plugin) the filter keeps. */
function kept<R extends SocketRecord>(records: readonly R[], spec: SocketFilterSpec): R[] {
  const filter = buildSocketFilter(spec);
  const namespace = { netnsInode: '4026532877', isHost: false, pids: [], readVia: undefined, sockets: [], parseErrors: [] };
  const context = wireContext('n', namespace, { namespaces: [namespace], holders: new Map(), processes: new Map() }, 0);
  const attribution = { podUid: null, containerId: null, containerName: null, runtime: null, hostNetwork: false, source: 'none' } as const;
  return records.filter((record) => filter(toWireSocket(record, attribution, context)));
}
const statesOf = (states: string[]): string[] => [...new Set(kept(tcp, { states }).map(ssStateName))].sort();

describe('--state with ss names and groups', () => {
  const cases: Array<{ name: string; states: string[]; expected: string[] }> = [
    { name: 'close-wait', states: ['close-wait'], expected: ['CLOSE-WAIT'] },
    { name: "netstat's spelling CLOSE_WAIT", states: ['CLOSE_WAIT'], expected: ['CLOSE-WAIT'] },
    { name: 'connected: all but LISTEN, CLOSE, TIME-WAIT and SYN-RECV', states: ['connected'], expected: ['CLOSE-WAIT', 'ESTAB', 'FIN-WAIT-1', 'FIN-WAIT-2', 'SYN-SENT'] },
    { name: 'synchronized: connected without SYN-SENT', states: ['synchronized'], expected: ['CLOSE-WAIT', 'ESTAB', 'FIN-WAIT-1', 'FIN-WAIT-2'] },
    { name: 'bucket: the minisockets', states: ['bucket'], expected: ['SYN-RECV', 'TIME-WAIT'] },
    { name: 'big: everything but the minisockets', states: ['big'], expected: ['CLOSE-WAIT', 'ESTAB', 'FIN-WAIT-1', 'FIN-WAIT-2', 'LISTEN', 'SYN-SENT'] },
    { name: 'listening and time-wait together', states: ['listening', 'time-wait'], expected: ['LISTEN', 'TIME-WAIT'] },
  ];
  for (const { name, states, expected } of cases) test(name, () => assert.deepEqual(statesOf(states), expected));

  test('unix sockets filter as ss sees them', () => {
    assert.deepEqual(kept(unix, { states: ['listening'] }).map((r) => r.inode), ['3660167', '3660164', '3660173']);
  });

  test('an unknown state name is a FilterError naming the choices', () => {
    assert.throws(() => stateMask(['half-open']), (error) => error instanceof FilterError && /unknown state 'half-open'.*close-wait/.test(error.message));
  });
});

describe('--port and --address', () => {
  test('a port matches either end', () => {
    assert.deepEqual(kept(tcp, { ports: [8083] }).map((r) => `${r.localPort}>${r.foreignPort}`), ['8083>0', '34812>8083', '8083>34812']);
  });

  test('a CIDR matches IPv4-mapped peers of dual-stack sockets', () => {
    const matched = kept(tcp, { addresses: ['127.0.0.0/8'], ports: [8443] });
    assert.deepEqual(matched.map((r) => r.localAddress), ['127.0.0.1', '::ffff:127.0.0.1']);
  });

  test('an IPv6 address', () => {
    assert.deepEqual(kept(tcp, { addresses: ['::1'] }).map((r) => r.inode), ['3660156', '3660155']);
  });

  test('unix sockets never match address or port filters', () => {
    assert.equal(kept(unix, { ports: [0] }).length, 0);
  });

  const bad = ['10.0.0.0/33', 'not-an-ip', '::1/129', '10.0.0.0/x'];
  for (const address of bad) {
    test(`invalid address '${address}' is a FilterError`, () => assert.throws(() => buildSocketFilter({ addresses: [address] }), FilterError));
  }
});
