import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'node:test';
import { checkoutFiles, REPO } from '../support/checkout.js';

/**
 * A user's clone has nothing beside it: no source, test, script, chart or document of the
 * project may read or point outside the checkout, into the team's reference shelf that sits
 * next to it on the developers' machines. The captures the tests need are copied into
 * test/fixtures/captures/.
 */

// Spelled in pieces so that this file does not match itself.
const OUTSIDE = [['..', 'shared'].join('/'), ['shared', 'reference'].join('/')];

test('nothing in the checkout refers to files outside it', () => {
  const offenders: string[] = [];
  let files = 0;
  for (const path of checkoutFiles()) {
    files += 1;
    const text = readFileSync(path, 'latin1');
    for (const needle of OUTSIDE) {
      const at = text.indexOf(needle);
      if (at >= 0) offenders.push(`${relative(REPO, path)}:${text.slice(0, at).split('\n').length}: ${needle}`);
    }
  }
  assert.ok(files > 100, `walked only ${files} files of ${REPO}`);
  assert.deepEqual(offenders, []);
});
