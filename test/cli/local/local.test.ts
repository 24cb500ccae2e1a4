import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import type { SocketList } from '../../../model/json/socket-list.js';
import { runCli } from '../../support/run-cli.js';
import { demoProcRoot, sampleText } from '../../support/samples.js';

// Hermetic: never reach a real cluster from a developer's ~/.kube/config.
process.env.KUBECONFIG = '/nonexistent/kubeconfig';
const fixture = demoProcRoot();
after(() => fixture.remove());
const root = ['--proc-root', fixture.root];

describe('kube-netstat local over the demo proc tree', () => {
  test('--netns <pid> prints exactly what netstat printed in that namespace', async () => {
    const result = await runCli(['local', ...root, '--netns', '30778', '-xanp']);
    assert.deepEqual(result, { code: 0, stdout: sampleText('demo.netstat-xanp.txt'), stderr: '' });
  });

  test('--netns accepts the namespace inode too', async () => {
    const result = await runCli(['local', ...root, '--netns', '4026532877', '-wanpe']);
    assert.equal(result.stdout, sampleText('demo.netstat-wanpe.txt'));
  });

  test('without --netns each namespace is introduced by a line naming it, and pod columns lead', async () => {
    const result = await runCli(['local', ...root, '-wanpe']);
    const [title, header, ...rows] = sampleText('demo.netstat-wanpe.txt').split('\n');
    // kubectl's layout: each column its widest cell plus three spaces, at least ten.
    const lead = 'NAMESPACE   POD       CONTAINER   ';
    const empty = '-           -         -           ';
    const expected = [`Network namespace net:[4026532877]: 3 processes, pid 30775 (python3)`, title, lead + header, ...rows.filter(Boolean).map((row) => empty + row), ''];
    assert.equal(result.stdout, expected.join('\n'));
  });

  test('default selection (no -a/-l) hides listeners, as netstat does', async () => {
    const { stdout } = await runCli(['local', ...root, '--netns', '30775', '-tn']);
    assert.doesNotMatch(stdout, /LISTEN/);
    assert.match(stdout, /^Active Internet connections \(w\/o servers\)\n/);
    assert.match(stdout, /CLOSE_WAIT/);
  });

  test('-l shows only listeners, with the (only servers) title', async () => {
    const { stdout } = await runCli(['local', ...root, '--netns', '30775', '-tln']);
    const rows = stdout.split('\n').slice(2).filter(Boolean);
    assert.equal(rows.length, 7);
    assert.ok(rows.every((row) => row.includes('LISTEN')));
    assert.match(stdout, /\(only servers\)/);
  });

  test('--state close-wait keeps only CLOSE_WAIT rows', async () => {
    const { stdout } = await runCli(['local', ...root, '--netns', '30775', '-tan', '--state', 'close-wait']);
    const rows = stdout.split('\n').slice(2).filter(Boolean);
    assert.deepEqual(rows.map((row) => row.split(/\s+/)[3]), ['127.0.0.1:50372', '127.0.0.1:50378']);
  });

  test('-o json follows the SocketList contract with every holder', async () => {
    const { code, stdout } = await runCli(['local', ...root, '-tan', '-o', 'json', '--port', '8080', '--state', 'listening']);
    assert.equal(code, 0);
    const list = JSON.parse(stdout) as SocketList;
    assert.equal(list.apiVersion, 'kubenetstat.io/v1');
    assert.equal(list.kind, 'SocketList');
    assert.deepEqual(list.unavailableNodes, []);
    assert.equal(list.items.length, 1);
    const { node, firstSeen, ...item } = list.items[0]!;
    assert.equal(typeof node, 'string');
    assert.ok(!Number.isNaN(Date.parse(firstSeen)));
    assert.deepEqual(item, {
      namespace: null, pod: null, podUID: null, container: null, containerID: null, runtime: null, workload: null,
      attributedBy: 'none', netns: '4026532877', hostNetwork: false, proto: 'tcp', state: 'LISTEN', ssState: 'LISTEN',
      inode: '3660058',
      processes: [
        { pid: 30775, name: 'python3', comm: 'python3', fds: [3] },
        { pid: 30778, name: 'sleep', comm: 'sleep', fds: [3] },
      ],
      localAddress: '127.0.0.1', localPort: 8080, foreignAddress: '0.0.0.0', foreignPort: null, peer: null,
      recvQ: 0, sendQ: 0, uid: 0, timer: { kind: 'off', seconds: 0, retransmits: 0, probes: 0 },
    });
  });

  test('-o yaml carries the same list, unix names in full', async () => {
    const { stdout } = await runCli(['local', ...root, '-xa', '-o', 'yaml']);
    const list = parseYaml(stdout) as SocketList;
    assert.deepEqual(list.items.map((item) => item.path).filter(Boolean), ['demo.sock', 'with space.sock', 'new\nline.sock', '@inventory-demo', '@inv@nul', '@inventory-demo', '@inventory-seqpacket']);
  });

  test('-o wide adds NODE, WORKLOAD, NETNS and netstat\'s User, Inode, program and timers', async () => {
    const { stdout } = await runCli(['local', ...root, '--node', 'node-a', '-t', '-o', 'wide']);
    const lines = stdout.split('\n');
    assert.match(lines[2]!, /^NAMESPACE   POD       CONTAINER   NODE      WORKLOAD   NETNS        Proto .*State       User       Inode      PID\/Program name     Timer$/);
    assert.match(lines[3]!, /^-           -         -           node-a    -          4026532877   tcp /);
  });
});

test('-c repeats the listing at the interval until interrupted', async () => {
  const controller = new AbortController();
  let listings = 0;
  const result = await runCli(['local', ...root, '--netns', '30775', '-wn', '-c', '0.05'], {
    signal: controller.signal,
    onStdout: () => {
      if (++listings === 3) controller.abort();
    },
  });
  assert.equal(result.code, 0);
  assert.equal(result.stdout.match(/^Active Internet connections/gm)?.length, 3);
});

describe('usage errors exit 2 with a netstat-style message', () => {
  const cases: Array<{ name: string; argv: string[]; message: RegExp }> = [
    { name: 'an unknown flag', argv: ['local', '-tz'], message: /^kube-netstat local: invalid option -- 'z'\nTry 'kube-netstat local --help'/ },
    { name: 'an unknown state', argv: ['local', '--state', 'bogus'], message: /unknown state 'bogus'/ },
    { name: 'a pid that does not exist', argv: ['local', ...root, '--netns', '424242'], message: /no process with pid 424242/ },
    { name: 'a namespace no process lives in', argv: ['local', ...root, '--netns', '4026599999'], message: /no process lives in network namespace 4026599999/ },
    { name: 'an unknown command', argv: ['frobnicate'], message: /unknown command 'frobnicate'/ },
  ];
  for (const { name, argv, message } of cases) {
    test(name, async () => {
      const result = await runCli(argv);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
    });
  }

  test('--help prints the usage with examples on stdout and exits 0', async () => {
    const result = await runCli(['local', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^usage: kube-netstat local/);
    assert.match(result.stdout, /Examples:/);
  });
});

describe('churn and missing privileges are reported, never fatal', () => {
  test('a process that vanished between listing and reading hands over to the next one', async () => {
    const gone = demoProcRoot();
    try {
      // pid 30775 "exits": its net/ tables disappear and ns/net stops resolving.
      rmSync(join(gone.root, '30775', 'net'), { recursive: true });
      unlinkSync(join(gone.root, '30775', 'ns', 'net'));
      const result = await runCli(['local', '--proc-root', gone.root, '--netns', '30777', '-wanpe']);
      assert.equal(result.code, 0);
      // The tables are read through 30777; sockets held only by 30775 lose their owner.
      assert.match(result.stdout, /raw {8}0 {6}0 0\.0\.0\.0:1/);
    } finally {
      gone.remove();
    }
  });

  test('a malformed line is skipped and counted on stderr; the table still prints', async () => {
    const broken = demoProcRoot();
    try {
      appendFileSync(join(broken.root, '30775', 'net', 'raw'), '  99: garbage\n');
      const result = await runCli(['local', '--proc-root', broken.root, '--netns', '30775', '-wanpe']);
      assert.equal(result.stdout, sampleText('demo.netstat-wanpe.txt'));
      assert.match(result.stderr, /skipped 1 malformed line .*\/30775\/net\/raw:3: expected at least 12 fields/);
    } finally {
      broken.remove();
    }
  });
});

describe('a --proc-root that is no proc file system is an error, not an empty host', () => {
  test('a path that does not exist: exit 1, saying so', async () => {
    const result = await runCli(['local', '--proc-root', '/nonexistent', '-tan']);
    assert.deepEqual(result, { code: 1, stdout: '', stderr: 'kube-netstat local: the proc root /nonexistent does not exist (--proc-root names where /proc is mounted)\n' });
  });

  test('a directory without process directories: exit 1, saying why', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kns-not-proc-'));
    try {
      const result = await runCli(['local', '--proc-root', empty, '-tan']);
      assert.deepEqual(result, { code: 1, stdout: '', stderr: `kube-netstat local: ${empty} is not a proc file system: it holds no process directories (/proc/<pid>)\n` });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('-l, -a and neither select the same sockets in every output format', () => {
  const states = async (...flags: string[]) => {
    const result = await runCli(['local', ...root, '--netns', '30775', ...flags, '-o', 'json']);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as SocketList).items.map((item) => item.state);
  };

  test('-tl -o json: the listeners the table shows, and nothing else', async () => {
    const listeners = await states('-tl');
    assert.equal(listeners.length, 7);
    assert.ok(listeners.every((state) => state === 'LISTEN'), listeners.join());
  });

  test('-t -o json: all but the listeners; -ta: both', async () => {
    const connected = await states('-t');
    assert.ok(connected.length > 0 && !connected.includes('LISTEN'), connected.join());
    assert.equal((await states('-ta')).length, connected.length + 7);
  });
});
