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
  assert.match(lines[0]!, /^kube-netstat: could not read the network namespace of \d+ process(es)? .* or the open files of \d+ process(es)? .*: run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH\.$/);
});
