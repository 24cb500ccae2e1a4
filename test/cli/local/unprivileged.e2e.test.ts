import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { missingTools, requirement, rootReason } from '../../support/requirements.js';
import { REPO } from '../../support/checkout.js';

const repo = REPO;
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];

/** Runs argv as uid 65534 with setpriv; only root can drop to another user. */
function asNobody(argv: string[]): ReturnType<typeof spawnSync> {
  return spawnSync('setpriv', [...NOBODY, ...argv], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
}

function skipReason(): string | undefined {
  return rootReason('switches to uid 65534') ?? missingTools(['setpriv'])
    ?? (asNobody(['test', '-r', `${repo}/cmd/bin.ts`]).status !== 0 ? `uid 65534 cannot read ${repo}` : undefined);
}

test('as an unprivileged user: what can be read is printed, plus one line saying what is missing and why', { skip: requirement(skipReason()) }, () => {
  const result = asNobody([process.execPath, '--import', 'tsx', 'cmd/bin.ts', 'local', '-tanp']);
  assert.equal(result.status, 0, String(result.stderr));
  assert.match(String(result.stdout), /^Network namespace net:\[\d+\]/);
  assert.match(String(result.stdout), /\nNAMESPACE +POD +CONTAINER +Proto Recv-Q Send-Q Local Address {11}Foreign Address {9}State {7}PID\/Program name/);
  const lines = String(result.stderr).trimEnd().split('\n');
  assert.equal(lines.length, 1, String(result.stderr));
  assert.match(lines[0]!, /^kube-netstat: the network namespaces of \d+ process(es)? \(pid \d+: EACCES on \/proc\/\d+\/ns\/net.*\) cannot be opened, .*; the open files of \d+ process(es)? \(pid \d+: EACCES on \/proc\/\d+\/fd.*\) cannot be read, .*: run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH\.$/);
});

test('as root: what even root cannot read is named (pid, error), with no advice to run as root', { skip: requirement(process.getuid?.() === 0 ? undefined : 'needs root (reads every process of the host)') }, async () => {
  const { readdirSync, readlinkSync } = await import('node:fs');
  const { runCli } = await import('../../support/run-cli.js');
  const closed = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).sort((a, b) => Number(a) - Number(b)).filter((pid) => {
    try {
      readlinkSync(`/proc/${pid}/ns/net`);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EACCES';
    }
  });
  const result = await runCli(['local', '-tan']);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /run as root/);
  if (closed.length === 0) return assert.doesNotMatch(result.stderr, /cannot be opened/);
  assert.match(result.stderr, new RegExp(`the network namespaces? of \\d+ process(es)? \\(pid ${closed[0]}: EACCES on /proc/${closed[0]}/ns/net`));
  assert.match(result.stderr, /refused although CAP_SYS_PTRACE is held/);
});
