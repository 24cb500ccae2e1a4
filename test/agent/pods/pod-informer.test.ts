import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { PodInformer, type InformerEvent } from '../../../agent/pods/pod-informer.js';
import { PodStore } from '../../../agent/pods/pod-store.js';
import { TestApiServer, pod } from '../../support/k8s/index.js';
import { waitFor } from '../../support/wait.js';

/**
 * The node-scoped pod informer against the test API server's real list/watch protocol:
 * field selector on the wire, paging, bookmarks, 410 relists and backoff on failures.
 */
const ID = (n: number) => n.toString(16).padStart(64, '0');
let server: TestApiServer;
let dir: string;
let kubeConfig: KubeConfig;

before(async () => {
  server = await TestApiServer.start({ bookmarkIntervalMs: 50 });
  dir = mkdtempSync(join(tmpdir(), 'kns-informer-'));
  server.writeKubeconfig(join(dir, 'kubeconfig'));
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(join(dir, 'kubeconfig'));
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Polls until check() passes, bounded; the failure names what never happened. */
describe('PodInformer', () => {
  let informer: PodInformer | undefined;
  const events: InformerEvent[] = [];
  let store: PodStore;
  let now = 0;

  const start = (extra: Partial<ConstructorParameters<typeof PodInformer>[0]> = {}): PodInformer => {
    informer = new PodInformer({
      kubeConfig,
      nodeName: 'node-a',
      store,
      pageSize: 2,
      backoff: { initialMs: 10, maxMs: 40 },
      onEvent: (event) => events.push(event),
      ...extra,
    });
    informer.start();
    return informer;
  };

  beforeEach(async () => {
    await informer?.stop();
    informer = undefined;
    events.length = 0;
    now = 0;
    store = new PodStore(60_000, () => now);
    for (const existing of server.store.list('Pod')) server.store.delete({ kind: 'Pod', namespace: existing.metadata.namespace!, name: existing.metadata.name });
  });
  after(async () => informer?.stop());

  test('lists this node\'s pods in pages, with the node field selector, then watches with bookmarks', async () => {
    for (let i = 0; i < 5; i++) server.store.upsert(pod({ name: `web-${i}`, namespace: 'shop', nodeName: 'node-a', uid: `uid-${i}`, containers: [{ name: 'web', containerID: `containerd://${ID(i)}` }] }));
    server.store.upsert(pod({ name: 'elsewhere', namespace: 'shop', nodeName: 'node-b', uid: 'uid-b' }));
    const requestsBefore = server.requests.length;
    await start().synced();
    assert.deepEqual(store.list().map((p) => p.name).sort(), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
    assert.equal(store.byUid('uid-3')?.containers.get(ID(3)), 'web');
    const watch = await server.waitForWatch((request) => request.resource === 'pods' && request.verb === 'watch', 5_000);
    const lists = server.requests.slice(requestsBefore).filter((request) => request.verb === 'list');
    assert.equal(lists.length, 3, 'five pods in pages of two');
    for (const request of [...lists, watch]) assert.equal(request.query.get('fieldSelector'), 'spec.nodeName=node-a');
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
    assert.equal(watch.query.get('resourceVersion'), lists.at(-1)?.query.get('resourceVersion') ?? (events.find((e) => e.kind === 'listed') as { resourceVersion: string }).resourceVersion);
  });

  test('follows adds, updates and deletes; a deleted pod keeps its name for the grace period', async () => {
    await start().synced();
    await server.waitForWatch((request) => request.verb === 'watch', 5_000);
    server.store.upsert(pod({ name: 'cart-0', namespace: 'shop', nodeName: 'node-a', uid: 'uid-cart', labels: { app: 'cart' } }));
    await waitFor(() => store.byUid('uid-cart') !== undefined, { what: 'the add', timeoutMs: 10_000, intervalMs: 20 });
    server.store.upsert(pod({ name: 'cart-0', namespace: 'shop', nodeName: 'node-a', uid: 'uid-cart', labels: { app: 'cart', v: '2' } }));
    await waitFor(() => store.byUid('uid-cart')?.labels.v === '2', { what: 'the update', timeoutMs: 10_000, intervalMs: 20 });
    now = 1_000;
    server.store.delete({ kind: 'Pod', namespace: 'shop', name: 'cart-0' });
    await waitFor(() => store.byUid('uid-cart')?.deletedAt !== undefined, { what: 'the delete', timeoutMs: 10_000, intervalMs: 20 });
    assert.equal(store.byUid('uid-cart')?.deletedAt?.getTime(), 1_000);
    now = 62_000;
    assert.equal(store.byUid('uid-cart'), undefined);
  });

  test('an expired resourceVersion (410) relists and converges to the server\'s state', async () => {
    server.store.upsert(pod({ name: 'a', namespace: 'ns', nodeName: 'node-a', uid: 'uid-a' }));
    await start().synced();
    await server.waitForWatch((request) => request.verb === 'watch', 5_000);
    // Changes the informer will miss, then history compacted and the watch dropped.
    server.store.delete({ kind: 'Pod', namespace: 'ns', name: 'a' });
    server.store.upsert(pod({ name: 'b', namespace: 'ns', nodeName: 'node-a', uid: 'uid-b' }));
    server.dropWatches({ matching: (request) => request.verb === 'watch', reset: true });
    server.store.compact();
    await waitFor(() => store.byUid('uid-b') !== undefined && store.byUid('uid-a')?.deletedAt !== undefined, { what: 'the relist after 410', timeoutMs: 10_000, intervalMs: 20 });
    assert.ok(events.some((event) => event.kind === 'expired' || (event.kind === 'failed' && events.filter((e) => e.kind === 'listed').length >= 2)));
  });

  test('a plain 500 does not stop it: it backs off and retries until the API answers', async () => {
    server.injectFailure({ status: 500, matching: (request) => request.verb === 'list', times: 3 });
    server.store.upsert(pod({ name: 'late', namespace: 'ns', nodeName: 'node-a', uid: 'uid-late' }));
    await start().synced();
    assert.equal(events.filter((event) => event.kind === 'failed').length, 3);
    const delays = events.flatMap((event) => (event.kind === 'failed' ? [event.retryInMs] : []));
    assert.ok(delays.every((ms, i) => ms <= Math.min(40, 10 * 2 ** i)), `exponential with a ceiling: ${delays.join(', ')}`);
    assert.ok(store.byUid('uid-late'));
  });

  test('a dropped watch resumes from the last resourceVersion without relisting', async () => {
    await start().synced();
    await server.waitForWatch((request) => request.verb === 'watch', 5_000);
    const listsBefore = server.requests.filter((request) => request.verb === 'list').length;
    server.dropWatches({ matching: (request) => request.verb === 'watch' });
    server.store.upsert(pod({ name: 'after-drop', namespace: 'ns', nodeName: 'node-a', uid: 'uid-after' }));
    await waitFor(() => store.byUid('uid-after') !== undefined, { what: 'the pod added while reconnecting', timeoutMs: 10_000, intervalMs: 20 });
    assert.equal(server.requests.filter((request) => request.verb === 'list').length, listsBefore);
  });

  test('stop() ends the watch and the loop', async () => {
    await start().synced();
    await server.waitForWatch((request) => request.verb === 'watch', 5_000);
    await informer!.stop();
    await waitFor(() => server.openWatches.length === 0, { what: 'no open watch', timeoutMs: 10_000, intervalMs: 20 });
  });
});
