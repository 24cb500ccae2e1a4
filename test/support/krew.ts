/**
 * krew's checks of a plugin manifest, and its install, done here because the krew binary
 * cannot be downloaded on these machines. Each rule follows krew v0.4.5 (what krew-index CI
 * pins): internal/index/validation/validate.go (ValidatePlugin, validatePlatform,
 * validateSelector, validateFiles), cmd/validate-krew-manifest/main.go (every platform used,
 * no overlap, a license file in the installed archive), internal/installation/semver (a
 * leading v, then semver) and internal/installation/install.go (files default to
 * `* → .`; bin relative to the install directory; ~/.krew/bin/kubectl-NAME links to it).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join, relative } from 'node:path';
import { parse } from 'yaml';

export interface KrewSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{ readonly key: string; readonly operator: string; readonly values?: readonly string[] }>;
}

export interface KrewPlatform {
  readonly selector?: KrewSelector;
  readonly uri?: string;
  readonly sha256?: string;
  readonly bin?: string;
  readonly files?: ReadonlyArray<{ readonly from?: string; readonly to?: string }> | null;
}

export interface KrewManifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string };
  readonly spec?: {
    readonly version?: string;
    readonly homepage?: string;
    readonly shortDescription?: string;
    readonly description?: string;
    readonly caveats?: string;
    readonly platforms?: readonly KrewPlatform[];
  };
}

/** validate-krew-manifest's allPlatforms(): what a selector must match at least one of. */
export const KREW_PLATFORMS: ReadonlyArray<{ os: string; arch: string }> = [
  ...['386', 'amd64', 'arm64'].map((arch) => ({ os: 'windows', arch })),
  ...['386', 'amd64', 'arm', 'arm64', 'ppc64le'].map((arch) => ({ os: 'linux', arch })),
  ...['386', 'amd64', 'arm64'].map((arch) => ({ os: 'darwin', arch })),
];

const WINDOWS_RESERVED = new Set(['CON', 'PRN', 'AUX', 'NUL', ...Array.from({ length: 9 }, (_, i) => `COM${i + 1}`), ...Array.from({ length: 9 }, (_, i) => `LPT${i + 1}`)]);
/** krew's semver.Parse: a `v`, then k8s.io/apimachinery's ParseSemantic (three parts, no leading zeros). */
const KREW_VERSION = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;
const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
const LICENSE_NAMES = new Set(['license', 'license.txt', 'license.md', 'licenses', 'licenses.txt', 'licenses.md', 'copying', 'copying.txt']);

/** Whether a label selector (apimachinery's semantics) matches one os/arch pair. */
export function selectorMatches(selector: KrewSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok = operator === 'In' ? has && values.includes(labels[key]!)
      : operator === 'NotIn' ? !has || !values.includes(labels[key]!)
        : operator === 'Exists' ? has
          : !has;
    if (!ok) return false;
  }
  return true;
}

function selectorProblems(selector: KrewSelector | undefined): string[] {
  if (!selector) return ['selector is missing'];
  const labels = selector.matchLabels;
  const expressions = selector.matchExpressions;
  if (labels === undefined && (expressions === undefined || expressions.length === 0)) return ['selector has neither matchLabels nor matchExpressions'];
  const problems: string[] = [];
  if (labels !== undefined && Object.keys(labels).length === 0) problems.push('matchLabels is empty');
  if (expressions !== undefined && expressions.length === 0) problems.push('matchExpressions is empty');
  for (const key of [...Object.keys(labels ?? {}), ...(expressions ?? []).map((e) => e.key)]) {
    if (key !== 'os' && key !== 'arch') problems.push(`selector key "${key}" is neither os nor arch`);
  }
  for (const { operator, values = [] } of expressions ?? []) {
    if (!OPERATORS.has(operator)) problems.push(`operator "${operator}" is not In, NotIn, Exists or DoesNotExist`);
    else if ((operator === 'In' || operator === 'NotIn') !== values.length > 0) problems.push(`operator ${operator} with ${values.length} values`);
  }
  return problems;
}

/**
 * Every rule ValidatePlugin and validate-krew-manifest apply, in their order; returns the
 * problems found (none: krew-index CI would accept it). `fileName` is the manifest's file
 * name, which must be the plugin's name plus `.yaml`.
 */
export function krewProblems(manifest: KrewManifest, fileName: string): string[] {
  const problems: string[] = [];
  if (manifest.apiVersion !== 'krew.googlecontainertools.github.com/v1alpha2') problems.push(`apiVersion "${manifest.apiVersion}"`);
  if (manifest.kind !== 'Plugin') problems.push(`kind "${manifest.kind}"`);
  const name = manifest.metadata?.name ?? '';
  if (!/^[\w-]+$/.test(name) || WINDOWS_RESERVED.has(name.toUpperCase())) problems.push(`name "${name}" is not a safe plugin name`);
  if (!fileName.endsWith('.yaml') || basename(fileName, '.yaml') !== name) problems.push(`file ${fileName} does not match the name "${name}"`);
  const spec = manifest.spec ?? {};
  if (!spec.shortDescription || /[\r\n]/.test(spec.shortDescription)) problems.push('shortDescription is empty or spans lines');
  const platforms = spec.platforms ?? [];
  if (platforms.length === 0) problems.push('no platforms');
  if (!spec.version || !KREW_VERSION.test(spec.version)) problems.push(`version "${spec.version}" is not v + semver`);
  for (const [i, platform] of platforms.entries()) {
    const at = `platforms[${i}]`;
    if (!platform.uri) problems.push(`${at}.uri is empty`);
    if (!platform.sha256 || !/^[a-f0-9]{64}$/.test(platform.sha256)) problems.push(`${at}.sha256 is not 64 lower-case hex digits`);
    if (!platform.bin) problems.push(`${at}.bin is empty`);
    if (platform.files !== undefined && platform.files !== null) {
      if (platform.files.length === 0) problems.push(`${at}.files is empty`);
      for (const file of platform.files) if (!file.from || !file.to) problems.push(`${at}.files has an entry without from or to`);
    }
    problems.push(...selectorProblems(platform.selector).map((problem) => `${at}: ${problem}`));
    if (platform.selector && !KREW_PLATFORMS.some((pair) => selectorMatches(platform.selector!, pair))) problems.push(`${at} matches no platform krew supports`);
  }
  for (const pair of KREW_PLATFORMS) {
    const matching = platforms.filter((platform) => platform.selector && selectorMatches(platform.selector, pair));
    if (matching.length > 1) problems.push(`${pair.os}/${pair.arch} is matched by ${matching.length} platforms`);
  }
  return problems;
}

export function parseKrewManifest(text: string): KrewManifest {
  return parse(text) as KrewManifest;
}

/** The first platform whose selector matches, as krew picks one. */
export function platformFor(manifest: KrewManifest, labels: { os: string; arch: string }): KrewPlatform | undefined {
  return manifest.spec?.platforms?.find((platform) => platform.selector && selectorMatches(platform.selector, labels));
}

export interface KrewInstall {
  /** ~/.krew/bin: what a user puts on PATH. */
  readonly binDir: string;
  /** ~/.krew/store/NAME/VERSION. */
  readonly installDir: string;
}

/**
 * Installs `archive` as krew does for `platform`: unpack (refusing absolute and parent paths),
 * move `files` (default: everything) into the store, check the license file, then link
 * bin/kubectl-NAME to `bin`.
 */
export function installLikeKrew(manifest: KrewManifest, platform: KrewPlatform, archive: string, krewRoot: string): KrewInstall {
  const name = manifest.metadata!.name!;
  const entries = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const unsafe = entries.filter((entry) => entry.startsWith('/') || entry.startsWith('\\') || entry.split('/').includes('..'));
  if (unsafe.length > 0) throw new Error(`krew refuses archive entries ${unsafe.join(', ')}`);
  const installDir = join(krewRoot, 'store', name, manifest.spec!.version!);
  mkdirSync(installDir, { recursive: true });
  if (platform.files && platform.files.length > 0) throw new Error('installLikeKrew: only the default files (* → .) are implemented');
  execFileSync('tar', ['-xzf', archive, '-C', installDir]);
  if (!readdirSync(installDir).some((entry) => LICENSE_NAMES.has(entry.toLowerCase()) && statSync(join(installDir, entry)).isFile())) {
    throw new Error('no license file at the top of the installed archive (validate-krew-manifest requires one)');
  }
  const bin = join(installDir, platform.bin!);
  if (relative(installDir, realpathSync(bin)).startsWith('..') || !existsSync(bin)) throw new Error(`bin ${platform.bin} is not inside the archive`);
  const binDir = join(krewRoot, 'bin');
  mkdirSync(binDir, { recursive: true });
  chmodSync(binDir, 0o755);
  symlinkSync(bin, join(binDir, `kubectl-${name.replaceAll('-', '_')}`));
  return { binDir, installDir };
}
