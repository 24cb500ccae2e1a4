/**
 * What a test needs from the machine, and the one rule for when it is missing: as a user
 * without root, the test skips and says why; as root, `npm test`'s setup step
 * (scripts/install-test-tools.sh) has installed every tool, so a missing one is a defect; under
 * `CI=true` a missing requirement fails the test file instead of skipping it, so a green CI run
 * always includes every end-to-end proof.
 */
import { spawnSync } from 'node:child_process';

/** Thrown at load time of a test file whose requirement is unmet under CI. */
export class UnmetRequirementError extends Error {
  constructor(reason: string) {
    super(`${reason} (CI=true: a missing requirement fails the run; run npm test as root, whose setup installs the tools)`);
    this.name = 'UnmetRequirementError';
  }
}

/**
 * The value for `{ skip }`: false when every reason is undefined; otherwise the first reason,
 * or, under CI=true, an UnmetRequirementError.
 */
export function requirement(...reasons: ReadonlyArray<string | undefined>): string | false {
  const reason = reasons.find((candidate) => candidate !== undefined);
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new UnmetRequirementError(reason);
  return reason;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** Why not: "needs root (WHY)" unless this process is root. */
export function rootReason(why: string): string | undefined {
  return isRoot() ? undefined : `needs root (${why})`;
}

/** The commands of `tools` that are not on PATH, as a reason naming them, or undefined. */
export function missingTools(tools: readonly string[]): string | undefined {
  const missing = tools.filter((tool) => !onPath(tool));
  return missing.length > 0 ? `needs ${missing.join(', ')} on PATH (scripts/install-test-tools.sh installs them as root)` : undefined;
}

export function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0;
}
