/**
 * Proves, on the real kernel, the rule the scanner uses to skip tables: a table whose
 * namespace's sockstat shows no socket in use (and, for TCP, no TIME_WAIT) prints no line.
 * Reading sockstat costs the same whatever the host holds; reading an empty table of a namespace walks the host-wide hash
 * (reference §3.5), so on a node with many pods most IPv6 and raw tables are never read.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { INET_PROTOS, type InetProto } from '../../../model/socket.js';
import { parseInetTable } from '../../../agent/procfs/inet.js';
import { parseSockstat, tableIsEmpty } from '../../../agent/procfs/sockstat.js';
import { TestNetns, netnsSkipReason } from '../../support/netns.js';
import { lineReader } from '../../support/line-reader.js';
import { requirement } from '../../support/requirements.js';

const skip = requirement(netnsSkipReason(['ip']));

/** A process in the namespace that opens sockets on command, one step per line on stdin. */
const STEPPER = String.raw`
import socket, sys, json
held = []
print("READY " + json.dumps({}), flush=True)
for line in sys.stdin:
    step = line.strip()
    if step == "tcp4":
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(); held.append(l)
        c = socket.create_connection(l.getsockname()); s, _ = l.accept(); held += [c, s]
    elif step == "timewait4":
        # the active closer keeps a TIME_WAIT entry with no socket; nothing else stays hashed
        for sock in held: sock.close()
        held.clear()
    elif step == "udp6":
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 0)); held.append(u)
    print("DONE " + step, flush=True)
`;

interface TableTruth {
  readonly proto: InetProto;
  readonly provenEmpty: boolean;
  readonly lines: number;
}

function truth(pid: number): TableTruth[] {
  const counts = parseSockstat(readFileSync(`/proc/${pid}/net/sockstat`, 'latin1'), readFileSync(`/proc/${pid}/net/sockstat6`, 'latin1'));
  return INET_PROTOS.map((proto) => ({
    proto,
    provenEmpty: tableIsEmpty(counts, proto),
    lines: parseInetTable(readFileSync(`/proc/${pid}/net/${proto}`), proto).records.length,
  }));
}

describe('sockstat proves tables empty, never wrongly', { skip }, () => {
  let netns: TestNetns | undefined;
  let pid = 0;
  let step: (name: string) => Promise<void>;
  let stepper: ChildProcess | undefined;

  before(async () => {
    netns = await TestNetns.create();
    // ip netns exec execs python in place: the pid is the stepper's, living in the namespace.
    const child = spawn('ip', ['netns', 'exec', netns.name, 'python3', '-c', STEPPER], { stdio: ['pipe', 'pipe', 'inherit'] });
    pid = child.pid!;
    const nextLine = lineReader(child.stdout!, 'stepper');
    stepper = child;
    assert.match(await nextLine(), /^READY/);
    step = async (name) => {
      child.stdin!.write(`${name}\n`);
      assert.equal(await nextLine(), `DONE ${name}`);
    };
  });

  after(async () => {
    stepper?.kill('SIGKILL');
    await netns?.cleanup();
  });

  test('a fresh namespace: every inet table is proven empty, and is', () => {
    assert.deepEqual(truth(pid), INET_PROTOS.map((proto) => ({ proto, provenEmpty: true, lines: 0 })));
  });

  test('IPv4 TCP only: tcp is read, the IPv6 and other tables are proven empty', async () => {
    await step('tcp4');
    const tables = truth(pid);
    assert.deepEqual(tables.find((t) => t.proto === 'tcp'), { proto: 'tcp', provenEmpty: false, lines: 3 });
    assert.deepEqual(tables.filter((t) => t.proto !== 'tcp'), INET_PROTOS.filter((p) => p !== 'tcp').map((proto) => ({ proto, provenEmpty: true, lines: 0 })));
  });

  test('TIME_WAIT entries (no socket, not in inuse) keep both TCP tables read', async () => {
    await step('timewait4');
    const tables = truth(pid);
    const tcp = tables.find((t) => t.proto === 'tcp');
    assert.equal(tcp?.provenEmpty, false);
    assert.ok((tcp?.lines ?? 0) >= 1, 'the active closer left a TIME_WAIT entry');
    assert.equal(tables.find((t) => t.proto === 'tcp6')?.provenEmpty, false);
  });

  test('a bound UDP6 socket makes udp6 read', async () => {
    await step('udp6');
    assert.deepEqual(truth(pid).find((t) => t.proto === 'udp6'), { proto: 'udp6', provenEmpty: false, lines: 1 });
  });

  test('soundness at every step: no table proven empty has a line', () => {
    assert.deepEqual(truth(pid).filter((t) => t.provenEmpty && t.lines > 0), []);
  });
});
