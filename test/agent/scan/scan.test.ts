import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {  pathToFileURL } from 'node:url';
import type { SocketProto } from '../../../model/socket.js';
import { AccessDeniedError } from '../../../agent/procfs/errors.js';
import { LocalHostFs, type HostFs } from '../../../agent/procfs/hostfs.js';
import { IncrementalScanner, type IncrementalScanOptions } from '../../../agent/scan/incremental.js';
import { programName, socketInodeOfLink } from '../../../agent/scan/owners.js';
import { run } from '../../support/netns.js';
import { demoProcRoot } from '../../support/samples.js';
import { REPO } from '../../support/checkout.js';


const fixture = demoProcRoot();
after(() => fixture.remove());
const ALL = new Set<SocketProto>(['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'unix']);

/** One scan that reads everything, as `kube-netstat local` makes it. */
function scanOnce(hostFs: HostFs, options: Partial<IncrementalScanOptions> & Pick<IncrementalScanOptions, 'protos'>): ReturnType<IncrementalScanner['scan']> {
  const scanner = new IncrementalScanner(hostFs, { fullReadEvery: 1, ...options });
  return scanner.scan().finally(() => scanner.close());
}

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

describe('a scan without privileges', () => {
  test('an unreadable fd directory (no CAP_DAC_READ_SEARCH) is counted; its sockets have no holder', async () => {
    const scan = await scanOnce(new DenyingHostFs(fixture.root, /^30775\/fd$/), { protos: ALL, owners: true });
    assert.equal(scan.problems.fdDenied, 1);
    assert.equal(scan.holders.get('3660059'), undefined);
    assert.deepEqual(scan.holders.get('3660058'), [{ pid: 30778, fd: 3 }]);
    assert.equal(scan.namespaces[0]?.sockets.length, 46);
  });

  test('an unreadable fd link (no CAP_SYS_PTRACE) stops that process only', async () => {
    const scan = await scanOnce(new DenyingHostFs(fixture.root, /^30777\/fd\/\d+$/), { protos: ALL, owners: true });
    assert.equal(scan.problems.fdDenied, 1);
    assert.equal(scan.holders.get('3658285'), undefined);
    assert.deepEqual(scan.holders.get('3660059'), [{ pid: 30775, fd: 4 }]);
  });

  test('an unreadable ns/net leaves that process out of namespace discovery', async () => {
    const scan = await scanOnce(new DenyingHostFs(fixture.root, /^30775\/ns\/net$/), { protos: ALL, owners: false });
    assert.equal(scan.problems.namespaceDenied, 1);
    assert.deepEqual(scan.namespaces[0]?.pids, [30777, 30778]);
    assert.equal(scan.namespaces[0]?.readVia, 30777);
  });

  test('owners are not resolved unless asked', async () => {
    const scan = await scanOnce(new LocalHostFs(fixture.root), { protos: ALL, owners: false });
    assert.equal(scan.holders.size, 0);
  });

  test('only the selected tables are read', async () => {
    const scan = await scanOnce(new DenyingHostFs(fixture.root, /\/net\/(tcp|udp|unix)/), { protos: new Set<SocketProto>(['raw']), owners: false });
    assert.deepEqual(scan.namespaces[0]?.sockets.map((s) => s.proto), ['raw']);
    assert.equal(scan.problems.tablesDenied, 0);
  });

  test('a table refused by a security module is counted, the others still listed', async () => {
    const scan = await scanOnce(new DenyingHostFs(fixture.root, /\/net\/tcp6$/), { protos: ALL, owners: false });
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


describe('a scan on two threads', () => {
  const projection = (scan: Awaited<ReturnType<IncrementalScanner['scan']>>) => ({
    namespaces: scan.namespaces.map(({ netnsInode, pids, readVia, sockets }) => ({ netnsInode, pids, readVia, sockets })),
    holders: [...scan.holders].sort(([a], [b]) => a.localeCompare(b)),
    processes: [...scan.processes].sort(([a], [b]) => a - b),
    problems: scan.problems,
  });

  test('over the demo tree: the same result as on one thread, the fd walk on the second', async () => {
    const one = await scanOnce(new LocalHostFs(fixture.root), { protos: ALL });
    const two = await scanOnce(new LocalHostFs(fixture.root), { protos: ALL, threads: 2 });
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    assert.deepEqual({ ...two, threads: 1 }, one);
  });

  test('without owners the second thread only reads tables', async () => {
    const scan = await scanOnce(new LocalHostFs(fixture.root), { protos: ALL, owners: false, threads: 2 });
    assert.equal(scan.threads, 2);
    assert.equal(scan.holders.size, 0);
    assert.equal(scan.namespaces[0]?.sockets.length, 46);
  });

  test('a proc root that does not exist yields an empty scan, not a crash', async () => {
    const scan = await scanOnce(new LocalHostFs(`${fixture.root}/missing`), { protos: ALL, threads: 2 });
    assert.deepEqual(scan.namespaces, []);
  });

  test("'auto' keeps a host with fewer than PARALLEL_SCAN_MIN_SOCKETS sockets on one thread", async () => {
    const scan = await scanOnce(new LocalHostFs(fixture.root), { protos: ALL, threads: 'auto' });
    assert.equal(scan.threads, 1);
  });

  test('scanning again, only a scan that visits every process takes the second thread', async () => {
    const scanner = new IncrementalScanner(new LocalHostFs(fixture.root), { protos: ALL, fullReadEvery: 100, threads: 2 });
    try {
      assert.deepEqual([(await scanner.scan()).threads, (await scanner.scan()).threads], [2, 1]);
    } finally {
      scanner.close();
    }
  });

  test('one scan at a time: a scan asked for while one waits on its worker is refused', async () => {
    const scanner = new IncrementalScanner(new LocalHostFs(fixture.root), { protos: ALL, fullReadEvery: 1, threads: 2 });
    const first = scanner.scan();
    await assert.rejects(scanner.scan(), /the previous scan has not finished/);
    assert.equal((await first).threads, 2);
    scanner.close();
  });

  test('compiled (what ships: no tsx), the worker loads as the compiled module next to the scanner', async () => {
    const out = mkdtempSync(join(tmpdir(), 'kns-compiled-scan-'));
    try {
      writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
      writeFileSync(
        join(out, 'tsconfig.json'),
        JSON.stringify({
          extends: join(REPO, 'tsconfig.build.json'),
          compilerOptions: { outDir: join(out, 'dist'), rootDir: REPO, sourceMap: false, typeRoots: [join(REPO, 'node_modules/@types')] },
          include: [],
          files: [join(REPO, 'agent/scan/incremental.ts'), join(REPO, 'agent/scan/scan-worker.ts')],
        }),
      );
      await run([process.execPath, join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(out, 'tsconfig.json')], { timeoutMs: 120_000 });
      const compiled = (path: string): string => pathToFileURL(join(out, 'dist', path)).href;
      const script = `
        import { IncrementalScanner } from ${JSON.stringify(compiled('agent/scan/incremental.js'))};
        import { LocalHostFs } from ${JSON.stringify(compiled('agent/procfs/hostfs.js'))};
        const scanner = new IncrementalScanner(new LocalHostFs(${JSON.stringify(fixture.root)}), { protos: new Set(${JSON.stringify([...ALL])}), fullReadEvery: 1, threads: 2 });
        const scan = await scanner.scan();
        const projection = {
          namespaces: scan.namespaces.map(({ netnsInode, pids, readVia, sockets }) => ({ netnsInode, pids, readVia, sockets })),
          holders: [...scan.holders].sort(([a], [b]) => a.localeCompare(b)),
          processes: [...scan.processes].sort(([a], [b]) => a - b),
          problems: scan.problems,
        };
        process.stdout.write(JSON.stringify({ threads: scan.threads, projection }));
      `;
      writeFileSync(join(out, 'scan.js'), script);
      const child = await run([process.execPath, join(out, 'scan.js')], { timeoutMs: 60_000 });
      const { threads, projection: fromDist } = JSON.parse(child.stdout) as { threads: number; projection: unknown };
      assert.equal(threads, 2);
      const here = projection(await scanOnce(new LocalHostFs(fixture.root), { protos: ALL }));
      assert.deepEqual(fromDist, JSON.parse(JSON.stringify(here)));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
