import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { effectiveCapabilities, privilegeExplanation } from '../../agent/privileges.js';
import type { Refusal } from '../../model/scan-problems.js';

/** CapEff bits: CAP_DAC_READ_SEARCH 2, CAP_SYS_PTRACE 19 (the chart's pair is 0x80004). */
const BOTH = 0x80004n;
const PTRACE = 0x80000n;
const DAC = 0x4n;

describe('why the agent could not read everything, in one line', () => {
  test('nothing refused: nothing to say', () => {
    assert.equal(privilegeExplanation({ namespaceDenied: 0, fdDenied: 0, refusals: [] }, 0n), undefined);
  });

  const cases: ReadonlyArray<{ name: string; caps: bigint | undefined; namespaceDenied: number; fdDenied: number; refusals?: Refusal[]; says: string }> = [
    {
      name: 'no capability: namespaces and open files, both capabilities named',
      caps: 0n, namespaceDenied: 95, fdDenied: 95,
      says: 'the network namespaces of 95 processes cannot be opened, so their sockets are not reported (CAP_SYS_PTRACE is missing); ' +
        'the open files of 95 processes cannot be read, so their sockets have no PID, program or container (CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH are missing): ' +
        'run the agent as uid 0 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, as the chart does',
    },
    {
      name: 'CAP_SYS_PTRACE only: other users\' fd directories',
      caps: PTRACE, namespaceDenied: 0, fdDenied: 1,
      says: 'the open files of 1 process cannot be read, so their sockets have no PID, program or container (CAP_DAC_READ_SEARCH is missing): run the agent as uid 0 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, as the chart does',
    },
    {
      name: 'CAP_DAC_READ_SEARCH only: the namespaces (ptrace checks) stay closed',
      caps: DAC, namespaceDenied: 3, fdDenied: 0,
      says: 'the network namespaces of 3 processes cannot be opened, so their sockets are not reported (CAP_SYS_PTRACE is missing): run the agent as uid 0 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, as the chart does',
    },
    {
      name: 'both held and still refused: which processes and which error, and no remedy (granting more would change nothing)',
      caps: BOTH, namespaceDenied: 2, fdDenied: 0,
      refusals: [{ kind: 'namespace', pid: 1, path: '/proc/1/ns/net', code: 'EACCES' }, { kind: 'namespace', pid: 9, path: '/proc/9/ns/net', code: 'EACCES' }],
      says: 'the network namespaces of 2 processes (pid 1: EACCES on /proc/1/ns/net; pid 9: EACCES on /proc/9/ns/net) cannot be opened, so their sockets are not reported ' +
        '(refused although CAP_SYS_PTRACE is held: the target holds capabilities this process lacks, lives in another user namespace, or a security module (AppArmor, SELinux) denies it)',
    },
    {
      name: 'more refusals than examples: the first ones named, the rest said to exist',
      caps: 0n, namespaceDenied: 0, fdDenied: 40,
      refusals: [{ kind: 'fd', pid: 7, path: '/proc/7/fd', code: 'EACCES' }],
      says: 'the open files of 40 processes (pid 7: EACCES on /proc/7/fd; …) cannot be read, so their sockets have no PID, program or container (CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH are missing): run the agent as uid 0 with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, as the chart does',
    },
  ];
  for (const { name, caps, namespaceDenied, fdDenied, refusals = [], says } of cases) {
    test(name, () => assert.equal(privilegeExplanation({ namespaceDenied, fdDenied, refusals }, caps), says));
  }

  test('local gives its own remedy', () => {
    assert.equal(privilegeExplanation({ namespaceDenied: 1, fdDenied: 0, refusals: [] }, 0n, 'run as root'), 'the network namespaces of 1 process cannot be opened, so their sockets are not reported (CAP_SYS_PTRACE is missing): run as root');
  });

  test('CapEff is read as the hexadecimal mask /proc/<pid>/status prints', () => {
    assert.equal(effectiveCapabilities('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t0000000000080004\nCapBnd:\t000001ffffffffff\n'), BOTH);
    assert.equal(effectiveCapabilities('Name:\tnode\n'), undefined);
  });
});
