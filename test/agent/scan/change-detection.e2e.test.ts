/**
 * The agent's change detection on the real kernel (agent/scan/incremental.ts): for each kind of
 * change a namespace can see, does its counter fingerprint (sockstat, sockstat6, snmp, snmp6)
 * move? Where it does, the agent's next scan shows the change. Where it does not — the blind
 * spots the README lists — the safety net (a full read of every namespace and an fd walk of
 * every process once per fullReadEvery scans) must show it within that many scans. Every case
 * first proves the change is real: a full scan sees it and the agent's view does not yet.
 * Needs root (a namespace of its own); everything is removed in after(), even on failure.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VersionedPodResolver } from '../../../model/pod.js';
import { NodeScanner } from '../../../agent/snapshot/node-scanner.js';
import { LocalHostFs } from '../../../agent/procfs/hostfs.js';
import { readNamespaceCounters } from '../../../agent/scan/fingerprint.js';
import { SocketTable, sameForWire } from '../../../agent/stream/socket-table.js';
import type { Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { TestNetns, netnsInodeOf, netnsSkipReason } from '../../support/netns.js';
import { lineReader } from '../../support/line-reader.js';
import { requirement } from '../../support/requirements.js';

const skip = requirement(netnsSkipReason(['ip']));
/** The safety net of these tests, in scans (the agent's default is 10 s at a 1 s interval). */
const EVERY = 4;
/** Long enough for loopback ACKs to have gone out before counters are compared. */
const SETTLE_MS = 300;
const NO_API: VersionedPodResolver = { byUid: () => undefined, version: 0 };

/**
 * Holds sockets in every shape the cases need and changes them one step per stdin line. It
 * forks a helper first (before any other socket exists, so the helper shares none) that keeps
 * whatever fds it is sent over a socketpair.
 */
const STEPPER = String.raw`
import json, os, socket, sys
parent_end, child_end = socket.socketpair()
if os.fork() == 0:
    parent_end.close()
    kept = []
    while True:
        msg, fds, _, _ = socket.recv_fds(child_end, 16, 4)
        if not msg:
            os._exit(0)
        kept.extend(fds)
        child_end.send(b"k")
child_end.close()
tag = str(os.getpid())
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(16)
client = socket.create_connection(listener.getsockname()); server, _ = listener.accept()
server_dup = server.dup()
queued = socket.create_connection(listener.getsockname())
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); receiver.bind(("127.0.0.1", 0))
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sender.bind(("127.0.0.1", 0))
doomed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); doomed.bind(("127.0.0.1", 0))
unix_bound = socket.socket(socket.AF_UNIX); unix_bound.bind("\0kns-cd-bound-" + tag)
unix_listener = socket.socket(socket.AF_UNIX); unix_listener.bind("\0kns-cd-listen-" + tag); unix_listener.listen(4)
unix_client = socket.socket(socket.AF_UNIX)
dgram_receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); dgram_receiver.bind("\0kns-cd-dgram-" + tag)
dgram_sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
held = []
def step(name):
    global doomed
    if name == "tcp-data": client.sendall(b"x" * 1000)
    elif name == "tcp-read-part": server.recv(100)
    elif name == "tcp-accept": held.append(listener.accept()[0])
    elif name == "tcp-keepalive": client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    elif name == "tcp-connect": held.append(socket.create_connection(listener.getsockname()))
    elif name == "tcp-close": client.close()
    elif name == "udp-connect": udp.connect(("127.0.0.1", 9))
    elif name == "udp-datagram": sender.sendto(b"y" * 100, receiver.getsockname())
    elif name == "udp-replace":
        doomed.close()
        doomed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); doomed.bind(("127.0.0.1", 0))
    elif name == "unix-listen": unix_bound.listen(4)
    elif name == "unix-connect": unix_client.connect("\0kns-cd-listen-" + tag)
    elif name == "unix-accept": held.append(unix_listener.accept()[0])
    elif name == "unix-dgram-connect": dgram_sender.connect("\0kns-cd-dgram-" + tag)
    elif name == "unix-close": unix_bound.close()
    elif name == "fd-pass":
        socket.send_fds(parent_end, [b"f"], [server.fileno()]); parent_end.recv(1)
    elif name == "fd-close-dup": server_dup.close()
    else: raise ValueError(name)
print("READY " + json.dumps({}), flush=True)
for line in sys.stdin:
    step(line.strip())
    print("DONE " + line.strip(), flush=True)
`;

interface ChangeCase {
  readonly name: string;
  /** What the kernel showed: the fingerprint moves, or the change is a blind spot. */
  readonly expect: 'moves' | 'blind';
}

/**
 * In order: blind cases before those that leave TIME_WAIT or FIN_WAIT2 entries behind (their
 * expiry, 60 s later, would move the counters in the middle of a later case).
 */
const CASES: readonly ChangeCase[] = [
  { name: 'tcp-data', expect: 'moves' },
  { name: 'tcp-read-part', expect: 'blind' },
  { name: 'tcp-accept', expect: 'blind' },
  { name: 'tcp-keepalive', expect: 'blind' },
  { name: 'udp-connect', expect: 'blind' },
  { name: 'udp-datagram', expect: 'moves' },
  { name: 'udp-replace', expect: 'blind' },
  { name: 'unix-listen', expect: 'blind' },
  { name: 'unix-connect', expect: 'moves' },
  { name: 'unix-accept', expect: 'blind' },
  { name: 'unix-dgram-connect', expect: 'blind' },
  { name: 'fd-pass', expect: 'blind' },
  { name: 'fd-close-dup', expect: 'blind' },
  { name: 'tcp-connect', expect: 'moves' },
  { name: 'unix-close', expect: 'moves' },
  { name: 'tcp-close', expect: 'moves' },
];

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  'tcp-data': 'TCP: data arrives (Recv-Q grows)',
  'tcp-read-part': 'TCP: the application reads part of its Recv-Q (no window update)',
  'tcp-accept': 'TCP: accept() of a queued connection (the child gets its inode)',
  'tcp-keepalive': 'TCP: SO_KEEPALIVE switched on (timer kind)',
  'udp-connect': 'UDP: connect() of a bound socket, no traffic',
  'udp-datagram': 'UDP: a datagram arrives',
  'udp-replace': 'UDP: a bound socket closed and another bound, no traffic',
  'unix-listen': 'unix: listen() on a bound socket',
  'unix-connect': 'unix: connect() to a listener (an embryo is created)',
  'unix-accept': 'unix: accept() of a pending connection',
  'unix-dgram-connect': 'unix: connect() of a datagram socket',
  'fd-pass': 'holders: a socket passed to another live process (SCM_RIGHTS)',
  'fd-close-dup': 'holders: one of two fds of a socket closed',
  'tcp-connect': 'TCP: a new connection',
  'unix-close': 'unix: a socket closed',
  'tcp-close': 'TCP: close() (FIN)',
};

describe('change detection on the real kernel', { skip }, () => {
  let netns: TestNetns | undefined;
  let stepper: ChildProcess | undefined;
  let pid = 0;
  let netnsInode = '';
  let step: (name: string) => Promise<void> = () => Promise.reject(new Error('no stepper'));
  const hostFs = new LocalHostFs('/proc');
  let agent: NodeScanner | undefined;
  const table = new SocketTable();

  /** The agent's view after one more scan. */
  const agentScan = async (): Promise<void> => {
    const rescan = await agent!.scan();
    table.updateNamespaces(rescan.rebuilt, rescan.present);
  };
  /** What a full read of the namespace shows now: a scanner with no history. */
  const truth = async (): Promise<Socket[]> => {
    const fresh = new NodeScanner({ hostFs, node: 'n', resolver: NO_API, fullReadEvery: 1, netnsInodes: new Set([netnsInode]) });
    try {
      return [...(await fresh.scan()).rebuilt.values()].flat();
    } finally {
      fresh.close();
    }
  };
  /** Differences between the agent's view and the truth, in what the wire carries. */
  const differences = async (): Promise<string[]> => {
    const seen = new Map(table.snapshot().map((socket) => [socket.key, socket]));
    const out: string[] = [];
    for (const socket of await truth()) {
      const held = seen.get(socket.key);
      if (!held) out.push(`missing ${socket.key}`);
      else if (!sameForWire(held, socket)) out.push(`differs ${socket.key}`);
      seen.delete(socket.key);
    }
    for (const key of seen.keys()) out.push(`stale ${key}`);
    return out;
  };
  const fingerprint = (): string => {
    const counters = readNamespaceCounters(hostFs, [pid]);
    assert.ok(counters, 'the namespace counters are readable');
    return JSON.stringify(counters);
  };

  before(async () => {
    netns = await TestNetns.create();
    // Its own process group: cleanup kills the stepper and its helper together.
    const child = spawn('ip', ['netns', 'exec', netns.name, 'python3', '-c', STEPPER], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    stepper = child;
    pid = child.pid!;
    const nextLine = lineReader(child.stdout!, 'stepper');
    assert.match(await nextLine(), /^READY/);
    step = async (name) => {
      child.stdin!.write(`${name}\n`);
      assert.equal(await nextLine(), `DONE ${name}`);
    };
    netnsInode = netnsInodeOf(pid);
    await sleep(SETTLE_MS);
    agent = new NodeScanner({ hostFs, node: 'n', resolver: NO_API, fullReadEvery: EVERY, netnsInodes: new Set([netnsInode]) });
    await agentScan();
    assert.deepEqual(await differences(), [], 'the first scan is a full read');
  });

  after(async () => {
    // The agent keeps the namespace's counter files open, which would keep it alive.
    agent?.close();
    if (stepper?.pid !== undefined && stepper.exitCode === null && stepper.signalCode === null) {
      try {
        process.kill(-stepper.pid, 'SIGKILL');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    await netns?.cleanup();
  });

  for (const { name, expect } of CASES) {
    test(`${DESCRIPTIONS[name]}: ${expect === 'moves' ? 'the fingerprint moves, the next scan shows it' : `no counter moves, the safety net shows it within ${EVERY} scans`}`, async () => {
      // Start from a converged view (the previous case may have ended right at convergence).
      for (let i = 0; i < EVERY && (await differences()).length > 0; i++) await agentScan();
      assert.deepEqual(await differences(), [], 'converged before the change');
      const before = fingerprint();
      await step(name);
      await sleep(SETTLE_MS);
      assert.notDeepEqual(await differences(), [], 'the change is visible to a full read, not yet to the agent');
      const moved = fingerprint() !== before;
      if (expect === 'moves') {
        assert.ok(moved, 'the fingerprint moved');
        await agentScan();
        assert.deepEqual(await differences(), [], 'the next scan shows it');
        return;
      }
      assert.equal(moved, false, 'no counter moved: only the safety net can show this change');
      let scans = 0;
      while (scans < EVERY && (await differences()).length > 0) {
        await agentScan();
        scans++;
      }
      assert.deepEqual(await differences(), [], `converged within ${EVERY} scans`);
    });
  }
});
