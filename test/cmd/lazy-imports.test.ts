import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLIENT_LIBRARY = '/node_modules/@kubernetes/client-node/';

/**
 * The Kubernetes client library is ~40 MiB of heap (every major GC marks it again) and ~110
 * MiB of RSS: an aggregator that has no cluster to talk to must not load it.
 */
describe('an aggregator without cluster access', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kns-lazy-imports-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The module URLs a fresh process resolved while starting and stopping an aggregator. */
  async function importsOf(name: string, args: readonly string[] = []): Promise<string[]> {
    const file = join(dir, `${name}.txt`);
    // No kubeconfig anywhere (HOME is empty, KUBECONFIG names nothing) and not in a pod.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, KUBECONFIG: join(dir, 'none'), KNS_RECORD_IMPORTS: file };
    delete env.KUBERNETES_SERVICE_HOST;
    delete env.NODE_OPTIONS;
    await run(process.execPath, ['--import', 'tsx', '--import', './test/support/record-imports.ts', 'test/support/aggregator-once.ts', ...args], { env, timeout: 120_000 });
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  }

  test('starts and stops without loading the Kubernetes client library', async () => {
    const urls = await importsOf('plain');
    assert.ok(urls.some((url) => url.endsWith('/cmd/aggregator.ts')), 'the recorder saw the aggregator load');
    assert.deepEqual(
      urls.filter((url) => url.includes(CLIENT_LIBRARY)),
      [],
    );
  });

  test('the recorder does see the library when the auth module is loaded (the check above can fail)', async () => {
    const urls = await importsOf('with-auth', ['--with-auth-module']);
    assert.ok(urls.some((url) => url.includes(CLIENT_LIBRARY)));
  });
});
