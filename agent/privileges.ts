/**
 * Why a scan could not read everything, in one line an operator can act on. The kernel's
 * checks (docs/procfs-and-cgroups.md §3–4): /proc/<pid>/ns/net and /proc/<pid>/fd/* links pass
 * ptrace_may_access(PTRACE_MODE_READ_FSCREDS) — another uid, or a target with capabilities the
 * reader lacks, needs CAP_SYS_PTRACE; listing another user's /proc/<pid>/fd (mode 0500) needs
 * CAP_DAC_READ_SEARCH. A capability that is held yet still refused points at a security module.
 */
import { readFileSync } from 'node:fs';
import type { ScanProblems } from '../model/scan-problems.js';

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

/** Which of `needed` the set lacks, or, when it holds them all, that something else refused. */
function cause(caps: bigint | undefined, needed: ReadonlyArray<readonly [bigint, string]>): string {
  const missing = needed.filter(([cap]) => !has(caps, cap)).map(([, name]) => name);
  if (missing.length > 0) return `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} missing`;
  return `refused despite ${needed.map(([, name]) => name).join(' and ')}: a security module (AppArmor, SELinux) denies it`;
}

/**
 * One sentence naming what was refused, what it costs and the capability to grant; undefined
 * when nothing was refused. `caps`: the effective set (undefined: unknown, so every needed
 * capability is named as missing).
 */
export function privilegeExplanation(problems: Pick<ScanProblems, 'namespaceDenied' | 'fdDenied'>, caps: bigint | undefined): string | undefined {
  const parts: string[] = [];
  if (problems.namespaceDenied > 0) {
    parts.push(`the network namespaces of ${plural(problems.namespaceDenied, 'process', 'processes')} cannot be opened, so their sockets are not reported (${cause(caps, [[CAP_SYS_PTRACE, 'CAP_SYS_PTRACE']])})`);
  }
  if (problems.fdDenied > 0) {
    parts.push(`the open files of ${plural(problems.fdDenied, 'process', 'processes')} cannot be read, so their sockets have no PID, program or container (${cause(caps, [[CAP_SYS_PTRACE, 'CAP_SYS_PTRACE'], [CAP_DAC_READ_SEARCH, 'CAP_DAC_READ_SEARCH']])})`);
  }
  if (parts.length === 0) return undefined;
  return `${parts.join('; ')}: run the agent as uid 0 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, as the chart does`;
}
