/**
 * Why a scan could not read everything, in one line an operator can act on. The kernel's
 * checks (docs/procfs-and-cgroups.md §3–4): /proc/<pid>/ns/net and /proc/<pid>/fd/* links pass
 * ptrace_may_access(PTRACE_MODE_READ_FSCREDS) — another uid, or a target with capabilities the
 * reader lacks, needs CAP_SYS_PTRACE; listing another user's /proc/<pid>/fd (mode 0500) needs
 * CAP_DAC_READ_SEARCH. A capability that is held yet still refused points at a security module.
 */
import { readFileSync } from 'node:fs';
import type { Refusal, ScanProblems } from '../model/scan-problems.js';

const CAP_DAC_READ_SEARCH = 2n;
const CAP_SYS_PTRACE = 19n;

/** The effective capability set of this process (CapEff of /proc/self/status); undefined where unreadable. */
export function effectiveCapabilities(statusText?: string): bigint | undefined {
  let text = statusText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/status', 'utf8');
    } catch {
      return undefined;
    }
  }
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
  return hex === undefined ? undefined : BigInt(`0x${hex}`);
}

const has = (caps: bigint | undefined, cap: bigint): boolean => caps !== undefined && ((caps >> cap) & 1n) === 1n;

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Which of `needed` the set lacks (`missing`), or, when it holds them all, that something else refused. */
function cause(caps: bigint | undefined, needed: ReadonlyArray<readonly [bigint, string]>): { readonly text: string; readonly missing: boolean } {
  const missing = needed.filter(([cap]) => !has(caps, cap)).map(([, name]) => name);
  if (missing.length > 0) return { text: `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing`, missing: true };
  const held = needed.map(([, name]) => name).join(' and ');
  return { text: `refused although ${held} ${needed.length === 1 ? 'is' : 'are'} held: the target holds capabilities this process lacks, lives in another user namespace, or a security module (AppArmor, SELinux) denies it`, missing: false };
}

/** `pid 1: EACCES on /proc/1/ns/net`, for the first refusals of a kind; `…` when there were more. */
function examples(refusals: readonly Refusal[], kind: Refusal['kind'], count: number): string {
  const mine = refusals.filter((refusal) => refusal.kind === kind);
  if (mine.length === 0) return '';
  const named = mine.map((refusal) => `pid ${refusal.pid}: ${refusal.code} on ${refusal.path}`).join('; ');
  return ` (${named}${count > mine.length ? '; …' : ''})`;
}

/** The agent's remedy; `local` gives its own. */
export const AGENT_REMEDY = 'run the agent as uid 0 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, as the chart does';

/**
 * One sentence naming what was refused (which processes, which error), what it costs and,
 * when a capability is missing, `remedy`; undefined when nothing was refused. `caps`: the
 * effective set (undefined: unknown, so every needed capability is named as missing). When
 * every needed capability is held, no remedy is given: granting more would change nothing.
 */
export function privilegeExplanation(problems: Pick<ScanProblems, 'namespaceDenied' | 'fdDenied' | 'refusals'>, caps: bigint | undefined, remedy = AGENT_REMEDY): string | undefined {
  const parts: string[] = [];
  let missing = false;
  if (problems.namespaceDenied > 0) {
    const why = cause(caps, [[CAP_SYS_PTRACE, 'CAP_SYS_PTRACE']]);
    missing ||= why.missing;
    parts.push(`the network namespaces of ${plural(problems.namespaceDenied, 'process', 'processes')}${examples(problems.refusals, 'namespace', problems.namespaceDenied)} cannot be opened, so their sockets are not reported (${why.text})`);
  }
  if (problems.fdDenied > 0) {
    const why = cause(caps, [[CAP_SYS_PTRACE, 'CAP_SYS_PTRACE'], [CAP_DAC_READ_SEARCH, 'CAP_DAC_READ_SEARCH']]);
    missing ||= why.missing;
    parts.push(`the open files of ${plural(problems.fdDenied, 'process', 'processes')}${examples(problems.refusals, 'fd', problems.fdDenied)} cannot be read, so their sockets have no PID, program or container (${why.text})`);
  }
  if (parts.length === 0) return undefined;
  return missing ? `${parts.join('; ')}: ${remedy}` : parts.join('; ');
}
