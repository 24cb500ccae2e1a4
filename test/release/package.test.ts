import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildKrewRelease, renderManifest, type KrewRelease } from '../../scripts/krew.js';
import { copyCheckout } from '../support/checkout.js';
import { installLikeKrew, krewProblems, parseKrewManifest, platformFor, type KrewManifest } from '../support/krew.js';
import { cleanupAtExit, run, type CommandResult } from '../support/netns.js';
import { missingTools, requirement } from '../support/requirements.js';
import { waitFor } from '../support/wait.js';
import { REPO } from '../support/checkout.js';

/**
 * The package a user installs, installed the way a user does: `npm pack` of a clean copy of the
 * checkout (prepack builds it), `npm install -g` of the tarball into a temporary prefix, then
 * its binaries run from there, the plugin through the real kubectl, and a query answered by
 * the installed `kube-netstat standalone`. The same for the krew release: its archive built,
 * its manifest checked with krew's rules, installed as krew installs it, run through kubectl.
 */

const skip = requirement(missingTools(['npm', 'kubectl', 'tar']));
const TIMEOUT_MS = 240_000;

interface Packed {
  readonly tarball: string;
  readonly entries: readonly string[];
}

describe('the npm package and the krew release', { skip, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kns-package-'));
  const source = join(dir, 'checkout');
  const prefix = join(dir, 'prefix');
  const home = join(dir, 'home');
  let packed: Packed;
  let standalone: ChildProcess | undefined;
  let server = '';
  let listener: Server;
  let listenerPort = 0;
  const forgetCleanup = cleanupAtExit(() => {
    if (standalone?.pid !== undefined && standalone.exitCode === null) process.kill(standalone.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  /** An environment with nothing of the user's: no kubeconfig, an empty HOME, `bin` first on PATH. */
  const userEnv = (bin: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: home, KUBECONFIG: join(home, 'no-kubeconfig') };
    return env;
  };
  const npmEnv = (): NodeJS.ProcessEnv => {
    // What `npm test` exported for its own run (npm_config_*, npm_lifecycle_*) must not steer these npm runs.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
    return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  };
  const kubectl = (bin: string, args: readonly string[]): Promise<CommandResult> => run(['kubectl', ...args], { env: userEnv(bin), timeoutMs: 60_000, allowFailure: true });

  before(async () => {
    mkdirSync(home);
    copyCheckout(source);
    const pack = await run(['npm', 'pack', '--json', '--pack-destination', dir], { cwd: source, env: npmEnv(), timeoutMs: TIMEOUT_MS });
    const [report] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    packed = { tarball: join(dir, report.filename), entries: report.files.map((file) => file.path) };
    await run(['npm', 'install', '--global', '--prefix', prefix, '--prefer-offline', packed.tarball], { env: npmEnv(), timeoutMs: TIMEOUT_MS });

    listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    listenerPort = (listener.address() as { port: number }).port;
    standalone = spawn(join(prefix, 'bin', 'kube-netstat'), ['standalone', '--http-port', '0'], { env: userEnv(join(prefix, 'bin')), stdio: ['ignore', 'pipe', 'pipe'] });
    let printed = '';
    standalone.stdout!.setEncoding('utf8').on('data', (text: string) => (printed += text));
    standalone.stderr!.resume();
    await waitFor(() => /http:\/\/127\.0\.0\.1:\d+/.test(printed), { timeoutMs: 60_000, what: 'kube-netstat standalone to print its address', describe: () => printed });
    server = /http:\/\/127\.0\.0\.1:\d+/.exec(printed)![0];
    assert.match(printed, new RegExp(`\\n  kube-netstat query --server ${server} -A -tanp\\n`), 'installed, it tells the user to run kube-netstat, not node bin/…');
  });

  after(async () => {
    if (standalone?.pid !== undefined && standalone.exitCode === null) {
      const exited = new Promise((resolve) => standalone!.once('exit', resolve));
      process.kill(standalone.pid, 'SIGTERM');
      await exited;
    }
    await new Promise((resolve) => listener?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
    forgetCleanup();
  });

  test('the tarball holds what runs, and nothing else', () => {
    const has = (path: string): boolean => packed.entries.includes(path);
    for (const path of ['package.json', 'README.md', 'LICENSE', 'npm-shrinkwrap.json', 'bin/kube-netstat.js', 'bin/kubectl-netstat.js', 'bin/kubectl_complete-netstat.js',
      'dist/cmd/bin.js', 'dist/cmd/kube-netstat.js', 'dist/agent/runner.js', 'dist/aggregator/server/index.js', 'dist/gen/kubenetstat/v1/socket.js', 'dist/gen/kubenetstat/v1/agent.js',
      'proto/kubenetstat/v1/socket.proto', 'charts/kube-netstat/Chart.yaml', 'charts/kube-netstat/values.schema.json', 'charts/kube-netstat/dashboards/kube-netstat.json']) {
      assert.ok(has(path), `${path} is in the package`);
    }
    const extra = packed.entries.filter((path) => /^(test|bench|scripts|krew|docs|\.ci|gen|agent|aggregator|cli)\//.test(path) || path.startsWith('dist/bench/') || /\.(ts|map)$/.test(path) || (/^\.|\/\./.test(path) && !path.endsWith('/.helmignore')));
    assert.deepEqual(extra, [], 'no tests, bench, sources, scripts, CI files or dot files');
  });

  test('kube-netstat --help runs from the installed package', async () => {
    const result = await run([join(prefix, 'bin', 'kube-netstat'), '--help'], { env: userEnv(join(prefix, 'bin')) });
    assert.match(result.stdout, /^usage: kube-netstat <command> \[flags\]\n/);
    for (const command of ['standalone', 'local', 'agent', 'aggregator', 'query']) assert.match(result.stdout, new RegExp(`\\n  ${command} +\\S`));
  });

  test('kubectl finds the plugin: plugin list, netstat --help, and completion through kubectl_complete-netstat', async () => {
    const bin = join(prefix, 'bin');
    const list = await kubectl(bin, ['plugin', 'list']);
    assert.match(list.stdout, new RegExp(`${bin}/kubectl-netstat\\n`));
    const help = await kubectl(bin, ['netstat', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: kubectl netstat /);
    const subcommands = await kubectl(bin, ['__complete', 'netstat', '']);
    assert.equal(subcommands.stdout, 'summary\ntop\nwatch\nleaks\nhistory\ncompletion\n:4\n');
    const flag = await kubectl(bin, ['__complete', 'netstat', '--sta']);
    assert.equal(flag.stdout, '--state\n:4\n');
  });

  /** Asks `server` through kubectl for this test's listener, until the agent has sent it. */
  async function findListener(bin: string): Promise<Record<string, unknown>> {
    let last: CommandResult | undefined;
    let item: Record<string, unknown> | undefined;
    await waitFor(async () => {
      last = await kubectl(bin, ['netstat', '--server', server, '-A', '-tlnp', '--local-port', String(listenerPort), '-o', 'json']);
      if (last.code !== 0) return false;
      item = (JSON.parse(last.stdout) as { items: Record<string, unknown>[] }).items[0];
      return item !== undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, what: `the listener on 127.0.0.1:${listenerPort} in the answer`, describe: () => `${last?.stdout}\n${last?.stderr}` });
    return item!;
  }

  test('kubectl netstat asks the installed aggregator and finds this process listening', async () => {
    const item = await findListener(join(prefix, 'bin'));
    assert.equal(item.proto, 'tcp');
    assert.equal(item.state, 'LISTEN');
    assert.equal(item.localAddress, '127.0.0.1');
    assert.equal(item.localPort, listenerPort);
    assert.equal(item.pod, null);
    assert.deepEqual((item.processes as { pid: number }[]).map((p) => p.pid), [process.pid]);
    const table = await kubectl(join(prefix, 'bin'), ['netstat', '--server', server, '-A', '-tln', '--local-port', String(listenerPort)]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp('^Active Internet connections \\(only servers\\)\\n' +
      'NAMESPACE +POD +CONTAINER +Proto Recv-Q Send-Q Local Address +Foreign Address +State *\\n' +
      `- +<host> +- +tcp +0 +0 127\\.0\\.0\\.1:${listenerPort} +0\\.0\\.0\\.0:\\* +LISTEN *\\n$`));
  });

  describe('the krew release', () => {
    let release: KrewRelease;
    let manifest: KrewManifest;
    const krewRoot = join(dir, 'krew');

    before(async () => {
      // The copy's dist/ is what prepack built for the tarball.
      release = await buildKrewRelease({ repo: source, outDir: join(dir, 'krew-release'), baseUrl: 'https://downloads.invalid/kube-netstat/v0.1.0' });
      manifest = parseKrewManifest(readFileSync(release.manifest, 'utf8'));
    });

    test('its manifest passes krew-index\'s validation, and its checksum is the archive\'s', () => {
      assert.deepEqual(krewProblems(manifest, 'netstat.yaml'), []);
      assert.equal(manifest.spec?.version, 'v0.1.0');
      const [platform] = manifest.spec!.platforms!;
      assert.equal(platform!.sha256, createHash('sha256').update(readFileSync(release.archive)).digest('hex'));
      assert.equal(platform!.uri, `https://downloads.invalid/kube-netstat/v0.1.0/kubectl-netstat-v0.1.0.tar.gz`);
      assert.equal(platform!.bin, 'kubectl-netstat');
      for (const os of ['linux', 'darwin']) for (const arch of ['amd64', 'arm64']) assert.ok(platformFor(manifest, { os, arch }), `${os}/${arch} is served`);
      assert.equal(platformFor(manifest, { os: 'windows', arch: 'amd64' }), undefined, 'no Windows: krew runs only .exe there');
      assert.match(manifest.spec!.shortDescription!, /^netstat /);
      assert.match(manifest.spec!.description!, /CLOSE_WAIT/);
      assert.match(manifest.spec!.caveats!, /\* node \(Node\.js 20\.19 or later\)/);
      assert.match(manifest.spec!.caveats!, /get services\/proxy/);
    });

    test('installed as krew installs it, kubectl runs it, and it asks the same aggregator', async () => {
      const install = installLikeKrew(manifest, platformFor(manifest, { os: 'linux', arch: 'amd64' })!, release.archive, krewRoot);
      const help = await kubectl(install.binDir, ['netstat', '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /^usage: kubectl netstat /);
      // Nothing of the npm install is on this PATH: the archive alone answers.
      const item = await findListener(install.binDir);
      assert.deepEqual((item.processes as { pid: number }[]).map((p) => p.pid), [process.pid]);
      const completion = await run([join(install.installDir, 'kubectl_complete-netstat'), '--sta'], { env: userEnv(install.binDir) });
      assert.equal(completion.stdout, '--state\n:4\n');
    });
  });
});

describe('krew\'s manifest rules, as the test applies them', () => {
  const template = readFileSync(join(REPO, 'krew/netstat.yaml'), 'utf8');
  const good = { version: 'v0.1.0', uri: 'https://downloads.invalid/a.tar.gz', sha256: 'a'.repeat(64) };
  const problemsWith = (values: Partial<typeof good>, fileName = 'netstat.yaml'): string[] => krewProblems(parseKrewManifest(renderManifest(template, { ...good, ...values })), fileName);

  test('the template, filled in, has no problem', () => assert.deepEqual(problemsWith({}), []));
  test('a placeholder left unfilled is an error', () => assert.throws(() => renderManifest('version: {{VERSION}}\nx: {{OTHER}}', good), /\{\{OTHER\}\}/));

  const cases: ReadonlyArray<{ name: string; values?: Partial<typeof good>; fileName?: string; problem: RegExp }> = [
    { name: 'an upper-case checksum', values: { sha256: 'A'.repeat(64) }, problem: /sha256/ },
    { name: 'a short checksum', values: { sha256: 'a'.repeat(63) }, problem: /sha256/ },
    { name: 'a version without v', values: { version: '0.1.0' }, problem: /version/ },
    { name: 'a version with a leading zero', values: { version: 'v0.01.0' }, problem: /version/ },
    { name: 'an empty uri', values: { uri: '""' }, problem: /uri is empty/ },
    { name: 'a file named otherwise', fileName: 'kubectl-netstat.yaml', problem: /does not match the name/ },
  ];
  for (const { name, values = {}, fileName, problem } of cases) {
    test(`rejected: ${name}`, () => assert.ok(problemsWith(values, fileName).some((p) => problem.test(p)), String(problemsWith(values, fileName))));
  }

  test('rejected: overlapping platforms, a key other than os/arch, a selector matching nothing', () => {
    const base = parseKrewManifest(renderManifest(template, good));
    const platform = base.spec!.platforms![0]!;
    const withPlatforms = (...platforms: object[]): KrewManifest => ({ ...base, spec: { ...base.spec, platforms: platforms as KrewManifest['spec'] extends { platforms?: infer P } ? P : never } });
    assert.ok(krewProblems(withPlatforms(platform, { ...platform, selector: { matchLabels: { os: 'linux' } } }), 'netstat.yaml').some((p) => /matched by 2 platforms/.test(p)));
    assert.ok(krewProblems(withPlatforms({ ...platform, selector: { matchLabels: { distro: 'debian' } } }), 'netstat.yaml').some((p) => /neither os nor arch/.test(p)));
    assert.ok(krewProblems(withPlatforms({ ...platform, selector: { matchLabels: { os: 'plan9' } } }), 'netstat.yaml').some((p) => /matches no platform/.test(p)));
  });
});
