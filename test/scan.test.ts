import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SocketProto } from '../model/socket.js';
import { AccessDeniedError } from '../agent/procfs/errors.js';
import { LocalHostFs, type HostFs } from '../agent/procfs/hostfs.js';
import { scanHost, scanHostParallel } from '../agent/scan/index.js';
import { programName, socketInodeOfLink } from '../agent/scan/owners.js';
import { demoProcRoot } from './helpers/samples.js';

const fixture = demoProcRoot();
after(() => fixture.remove());
const ALL = new Set<SocketProto>(['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix']);

/** The real file system, except that paths matching `denied` fail as EACCES would. */
class DenyingHostFs implements HostFs {
  private readonly inner: LocalHostFs;
  constructor(
    root: string,
    private readonly denied: RegExp,
  ) {
    this.inner = new LocalHostFs(root);
  }
  get procRoot(): string {
    return this.inner.procRoot;
  }
  private check(path: string): void {
    if (this.denied.test(path)) throw new AccessDeniedError(path, 'EACCES');
  }
  readFile(path: string): Buffer | undefined {
    this.check(path);
    return this.inner.readFile(path);
  }
  readdir(path: string): string[] | undefined {
    this.check(path);
    return this.inner.readdir(path);
  }
  readlink(path: string): string | undefined {
    this.check(path);
    return this.inner.readlink(path);
  }
}

describe('scanHost without privileges', () => {
  test('an unreadable fd directory (no CAP_DAC_READ_SEARCH) is counted; its sockets have no holder', () => {
    const scan = scanHost(new DenyingHostFs(fixture.root, /^30775\/fd$/), { protos: ALL, resolveOwners: true });
    assert.equal(scan.problems.fdDenied, 1);
    assert.equal(scan.holders.get('3660059'), undefined);
    assert.deepEqual(scan.holders.get('3660058'), [{ pid: 30778, fd: 3 }]);
    assert.equal(scan.namespaces[0]?.sockets.length, 46);
  });

  test('an unreadable fd link (no CAP_SYS_PTRACE) stops that process only', () => {
    const scan = scanHost(new DenyingHostFs(fixture.root, /^30777\/fd\/\d+$/), { protos: ALL, resolveOwners: true });
    assert.equal(scan.problems.fdDenied, 1);
    assert.equal(scan.holders.get('3658285'), undefined);
    assert.deepEqual(scan.holders.get('3660059'), [{ pid: 30775, fd: 4 }]);
  });

  test('an unreadable ns/net leaves that process out of namespace discovery', () => {
    const scan = scanHost(new DenyingHostFs(fixture.root, /^30775\/ns\/net$/), { protos: ALL, resolveOwners: false });
    assert.equal(scan.problems.namespaceDenied, 1);
    assert.deepEqual(scan.namespaces[0]?.pids, [30777, 30778]);
    assert.equal(scan.namespaces[0]?.readVia, 30777);
  });

  test('owners are not resolved unless asked', () => {
    const scan = scanHost(new LocalHostFs(fixture.root), { protos: ALL, resolveOwners: false });
    assert.equal(scan.holders.size, 0);
  });

  test('only the selected tables are read', () => {
    const scan = scanHost(new DenyingHostFs(fixture.root, /\/net\/(tcp|udp|unix)/), { protos: new Set<SocketProto>(['raw']), resolveOwners: false });
    assert.deepEqual(scan.namespaces[0]?.sockets.map((s) => s.proto), ['raw']);
    assert.equal(scan.problems.tablesDenied, 0);
  });

  test('a table refused by a security module is counted, the others still listed', () => {
    const scan = scanHost(new DenyingHostFs(fixture.root, /\/net\/tcp6$/), { protos: ALL, resolveOwners: false });
    assert.equal(scan.problems.tablesDenied, 1);
    assert.equal(scan.namespaces[0]?.sockets.filter((s) => s.proto === 'tcp6').length, 0);
    assert.equal(scan.namespaces[0]?.sockets.filter((s) => s.proto === 'tcp').length, 25);
  });
});

describe('fd links and program names', () => {
  const links: Array<{ link: string; inode: string | undefined }> = [
    { link: 'socket:[3660058]', inode: '3660058' },
    { link: '[0000]:3660058', inode: '3660058' },
    { link: 'pipe:[3658957]', inode: undefined },
    { link: 'anon_inode:[eventpoll]', inode: undefined },
    { link: '/dev/null', inode: undefined },
    { link: 'socket:[]', inode: undefined },
  ];
  for (const { link, inode } of links) test(`${link} → ${inode ?? 'not a socket'}`, () => assert.equal(socketInodeOfLink(link), inode));

  const names: Array<{ cmdline: string; name: string }> = [
    { cmdline: 'python3\0inv_sockets.py\0', name: 'python3' },
    { cmdline: '/usr/bin/sleep\x003600\0', name: 'sleep' },
    { cmdline: './bin/server\0', name: './bin/server' },
    { cmdline: 'nginx: worker process\0', name: 'nginx: worker process' },
    { cmdline: '', name: '' },
  ];
  for (const { cmdline, name } of names) {
    test(`program name of ${JSON.stringify(cmdline)} is ${JSON.stringify(name)}`, () => assert.equal(programName(Buffer.from(cmdline, 'latin1')), name));
  }
});

describe('scanHostParallel', () => {
  test('over the demo tree: the same result as the single-threaded scan', async () => {
    const options = { protos: ALL, resolveOwners: true };
    const parallel = await scanHostParallel(fixture.root, options);
    assert.deepEqual(parallel, scanHost(new LocalHostFs(fixture.root), options));
  });

  test('without owners the worker only reads tables', async () => {
    const parallel = await scanHostParallel(fixture.root, { protos: ALL, resolveOwners: false });
    assert.equal(parallel.holders.size, 0);
    assert.equal(parallel.namespaces[0]?.sockets.length, 46);
  });

  test('a proc root that does not exist yields an empty scan, not a crash', async () => {
    const parallel = await scanHostParallel(`${fixture.root}/missing`, { protos: ALL, resolveOwners: true });
    assert.deepEqual(parallel.namespaces, []);
  });
});
