/**
 * `npm run krew -- --base-url URL [--out DIR]`: the krew release of the `kubectl netstat` plugin.
 *
 * krew installs a plugin from an archive and runs no package manager, so the archive is
 * self-contained: the plugin and its completion helper bundled by esbuild (every dependency
 * inlined; what the plugin loads lazily stays in chunks of its own), two POSIX launchers that
 * run them with the node on PATH, and the LICENSE (krew-index requires one in the archive).
 * The manifest (krew/netstat.yaml, with the version, URL and checksum filled in) is written
 * beside it. Build first (`npm run build`): the bundle is made from dist/.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { build } from 'esbuild';

export const REPO = resolve(fileURLToPath(import.meta.url), '../..');
/** The binaries kubectl looks for: the plugin, and the helper kubectl 1.26+ runs for completion. */
const LAUNCHERS = ['kubectl-netstat', 'kubectl_complete-netstat'] as const;

/**
 * A launcher that works through krew's symlink (~/.krew/bin/kubectl-netstat → the store): it
 * follows the links to find its own directory, without `readlink -f` (absent on older macOS).
 */
function launcher(name: string): string {
  return `#!/bin/sh
# ${name}: runs the bundled plugin with the node on PATH (Node.js >= 20.19).
self=$0
while [ -L "$self" ]; do
  target=$(readlink "$self")
  case $target in /*) self=$target ;; *) self=$(dirname "$self")/$target ;; esac
done
exec node "$(cd "$(dirname "$self")" && pwd)/lib/${name}.js" "$@"
`;
}

/**
 * Bundles bin/kubectl-netstat.js and bin/kubectl_complete-netstat.js (and what they load from
 * dist/ and node_modules) into `outdir` as ES modules; returns the bundle's bytes.
 */
export async function bundlePlugin(outdir: string, repo = REPO): Promise<number> {
  const result = await build({
    entryPoints: LAUNCHERS.map((name) => join(repo, 'bin', `${name}.js`)),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    metafile: true,
    logLevel: 'error',
    // CommonJS dependencies inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as kubeNetstatRequire } from 'node:module'; const require = kubeNetstatRequire(import.meta.url);" },
  });
  return Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
}

export interface KrewRelease {
  /** The archive (.tar.gz) and the manifest written beside it. */
  readonly archive: string;
  readonly manifest: string;
  readonly sha256: string;
  readonly version: string;
}

/** The package's version as krew spells it: `v` and semver. */
export function krewVersion(repo = REPO): string {
  const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  return `v${version}`;
}

/** The manifest template with its three placeholders filled in. */
export function renderManifest(template: string, values: { version: string; uri: string; sha256: string }): string {
  const rendered = template.replaceAll('{{VERSION}}', values.version).replaceAll('{{URI}}', values.uri).replaceAll('{{SHA256}}', values.sha256);
  const left = /\{\{[A-Z0-9_]+\}\}/.exec(rendered);
  if (left) throw new Error(`krew/netstat.yaml: placeholder ${left[0]} has no value`);
  return rendered;
}

/**
 * Builds the archive and its manifest in `outDir` from `repo`'s dist/ (this checkout by
 * default); the manifest's uri is `baseUrl/<archive name>`.
 */
export async function buildKrewRelease(options: { outDir: string; baseUrl: string; repo?: string }): Promise<KrewRelease> {
  const repo = options.repo ?? REPO;
  const version = krewVersion(repo);
  const name = `kubectl-netstat-${version}.tar.gz`;
  const staging = mkdtempSync(join(tmpdir(), 'kns-krew-'));
  try {
    await bundlePlugin(join(staging, 'lib'), repo);
    for (const bin of LAUNCHERS) {
      writeFileSync(join(staging, bin), launcher(bin));
      chmodSync(join(staging, bin), 0o755);
    }
    copyFileSync(join(repo, 'LICENSE'), join(staging, 'LICENSE'));
    mkdirSync(options.outDir, { recursive: true });
    const archive = join(options.outDir, name);
    // No leading ./ and numeric owners: krew rejects absolute and parent paths, modes come from the headers.
    execFileSync('tar', ['-C', staging, '--owner=0', '--group=0', '--numeric-owner', '-czf', archive, 'LICENSE', 'lib', ...LAUNCHERS]);
    const sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
    const manifest = join(options.outDir, 'netstat.yaml');
    const uri = `${options.baseUrl.replace(/\/+$/, '')}/${name}`;
    writeFileSync(manifest, renderManifest(readFileSync(join(repo, 'krew', 'netstat.yaml'), 'utf8'), { version, uri, sha256 }));
    return { archive, manifest, sha256, version };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'base-url': { type: 'string' }, out: { type: 'string', default: join(REPO, 'dist', 'krew') } } });
  if (!values['base-url']) {
    process.stderr.write('usage: npm run krew -- --base-url URL [--out DIR]   (URL: where the release archive will be downloaded from)\n');
    process.exit(2);
  }
  const release = await buildKrewRelease({ outDir: values.out, baseUrl: values['base-url'] });
  process.stdout.write(`${release.archive}\n${release.manifest}\nsha256 ${release.sha256}\n`);
}
