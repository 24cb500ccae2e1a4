import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * A user's clone has nothing beside it: no source, test, script, chart or document of the
 * project may read or point outside the checkout, into the team's reference shelf that sits
 * next to it on the developers' machines. The captures the tests need are copied into
 * test/fixtures/captures/.
 */

const REPO = resolve(fileURLToPath(import.meta.url), '../..');
/** Made, not checked in: dependencies, build output, generated code, bench scratch space. */
const NOT_OURS = new Set(['.git', 'node_modules', 'dist', 'gen', '.bench']);
// Spelled in pieces so that this file does not match itself.
const OUTSIDE = [['..', 'shared'].join('/'), ['shared', 'reference'].join('/')];

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (NOT_OURS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

test('nothing in the checkout refers to files outside it', () => {
  const offenders: string[] = [];
  let files = 0;
  for (const path of filesUnder(REPO)) {
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
