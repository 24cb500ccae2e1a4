/**
 * The test Kubernetes API server, proven against the real clients that will talk to it —
 * the `kubectl` binary and @kubernetes/client-node's informer — and over raw HTTP for the
 * list/watch rules (resourceVersion resume, bookmarks, 410 Gone, selectors, pagination).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, ListWatch, Watch } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { run } from '../netns.js';
import { missingTools, requirement } from '../requirements.js';
import { namespace, node, ObjectStore, pod, RawWatch, rawRequest, TestApiServer, TooOldResourceVersionError } from './index.js';
import type { KubeObject, RawTarget, RecordedRequest, Status, WatchEvent } from './index.js';
import { createObject } from './create.js';
import { parseApiPath } from './request-path.js';
import { resourceForKind } from './resources.js';
import { ApiError } from './status.js';
import { labelsMatch, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { waitForValue } from '../wait.js';

/** Upper bound of every wait for something asynchronous to happen. */
const WAIT_MS = 10_000;
const TOKEN = 'test-token';

/** Polls `check` until it returns a value other than undefined; fails after timeoutMs naming `what`. */
function names(objects: readonly { metadata?: { name?: string } }[]): string[] {
  return objects.map((object) => object.metadata?.name ?? '?');
}

describe('label selectors', () => {
  const labels = { app: 'web', env: 'prod', tier: '3' };
  const cases: { name: string; selector: string; matches: boolean }[] = [
    { name: 'empty selects all', selector: '', matches: true },
    { name: 'equality', selector: 'app=web', matches: true },
    { name: 'double equals', selector: 'app==web', matches: true },
    { name: 'equality, other value', selector: 'app=db', matches: false },
    { name: 'inequality', selector: 'app!=db', matches: true },
    { name: 'inequality holds for a missing label', selector: 'canary!=true', matches: true },
    { name: 'in', selector: 'env in (prod, staging)', matches: true },
    { name: 'in, no value listed', selector: 'env in (dev)', matches: false },
    { name: 'notin', selector: 'env notin (dev,staging)', matches: true },
    { name: 'notin holds for a missing label', selector: 'canary notin (true)', matches: true },
    { name: 'exists', selector: 'app', matches: true },
    { name: 'exists, missing', selector: 'canary', matches: false },
    { name: 'does not exist', selector: '!canary', matches: true },
    { name: 'does not exist, present', selector: '!app', matches: false },
    { name: 'greater than', selector: 'tier>2', matches: true },
    { name: 'less than', selector: 'tier<2', matches: false },
    { name: 'all requirements must hold', selector: 'app=web,env in (prod),!canary', matches: true },
    { name: 'one failing requirement fails', selector: 'app=web,env=dev', matches: false },
    { name: 'prefixed key', selector: 'app.kubernetes.io/name', matches: false },
  ];
  for (const { name, selector, matches } of cases) {
    test(name, () => assert.equal(labelsMatch(parseLabelSelector(selector), labels), matches));
  }

  const malformed: { name: string; selector: string }[] = [
    { name: 'unclosed set', selector: 'a in (x' },
    { name: 'set without parenthesis', selector: 'a in x' },
    { name: 'operator without key', selector: '=x' },
    { name: 'two values', selector: 'a=b c' },
    { name: 'trailing comma', selector: 'a=b,' },
    { name: 'unknown operator word', selector: 'a within (x)' },
    { name: 'invalid key', selector: '-a=b' },
    { name: 'invalid value', selector: 'a=b/c' },
    { name: 'non-integer for gt', selector: 'a>b' },
  ];
  for (const { name, selector } of malformed) {
    test(`rejects: ${name}`, () => assert.throws(() => parseLabelSelector(selector), SelectorError));
  }
});

describe('field selectors', () => {
  const cases: { name: string; selector: string; parsed: ReturnType<typeof parseFieldSelector> }[] = [
    { name: 'empty', selector: '', parsed: [] },
    { name: 'equality', selector: 'spec.nodeName=node-a', parsed: [{ field: 'spec.nodeName', operator: '=', value: 'node-a' }] },
    { name: 'double equals', selector: 'status.phase==Running', parsed: [{ field: 'status.phase', operator: '=', value: 'Running' }] },
    { name: 'inequality', selector: 'status.phase!=Running', parsed: [{ field: 'status.phase', operator: '!=', value: 'Running' }] },
    { name: 'empty value', selector: 'spec.nodeName=', parsed: [{ field: 'spec.nodeName', operator: '=', value: '' }] },
    {
      name: 'several, with escapes',
      selector: 'metadata.name=a\\,b,metadata.namespace!=x\\=y',
      parsed: [
        { field: 'metadata.name', operator: '=', value: 'a,b' },
        { field: 'metadata.namespace', operator: '!=', value: 'x=y' },
      ],
    },
  ];
  for (const { name, selector, parsed } of cases) {
    test(name, () => assert.deepEqual(parseFieldSelector(selector), parsed));
  }
  test('rejects a term without operator', () => assert.throws(() => parseFieldSelector('spec.nodeName'), SelectorError));
  test('rejects an invalid escape', () => assert.throws(() => parseFieldSelector('metadata.name=a\\b'), SelectorError));
});

describe('request paths', () => {
  const cases: { name: string; path: string; route: object }[] = [
    { name: 'version', path: '/version', route: { kind: 'version' } },
    { name: 'core group versions', path: '/api', route: { kind: 'core-versions' } },
    { name: 'core resources', path: '/api/v1', route: { kind: 'resources', group: '', version: 'v1' } },
    { name: 'named group', path: '/apis/discovery.k8s.io', route: { kind: 'group', group: 'discovery.k8s.io' } },
    { name: 'pods of all namespaces', path: '/api/v1/pods', route: { resource: 'pods', subresource: [] } },
    { name: 'pods of one namespace', path: '/api/v1/namespaces/shop/pods', route: { resource: 'pods', namespace: 'shop', subresource: [] } },
    { name: 'one pod', path: '/api/v1/namespaces/shop/pods/cart-1', route: { resource: 'pods', namespace: 'shop', name: 'cart-1', subresource: [] } },
    { name: 'a namespace is a cluster-scoped object', path: '/api/v1/namespaces/shop', route: { resource: 'namespaces', name: 'shop', subresource: [] } },
    { name: 'one node', path: '/api/v1/nodes/node-a', route: { resource: 'nodes', name: 'node-a', subresource: [] } },
    { name: 'endpointslices in a named group', path: '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices', route: { resource: 'endpointslices', namespace: 'shop', subresource: [] } },
    { name: 'service proxy subresource', path: '/api/v1/namespaces/shop/services/web:80/proxy/metrics', route: { resource: 'services', namespace: 'shop', name: 'web:80', subresource: ['proxy', 'metrics'] } },
    { name: 'a namespaced object outside its namespace', path: '/api/v1/pods/cart-1', route: { kind: 'unknown' } },
    { name: 'unserved group', path: '/apis/apps/v1/deployments', route: { kind: 'unknown' } },
    { name: 'unserved version', path: '/api/v2/pods', route: { kind: 'unknown' } },
  ];
  for (const { name, path, route } of cases) {
    test(name, () => {
      const parsed = parseApiPath(path);
      const comparable = parsed.kind === 'resource' ? { ...parsed, kind: undefined, resource: parsed.resource.resource } : parsed;
      assert.deepEqual(JSON.parse(JSON.stringify(comparable)), route);
    });
  }
});

describe('object store', () => {
  const fixedNow = (): Date => new Date('2025-01-02T03:04:05.678Z');

  test('upsert stamps resourceVersion, uid and creationTimestamp, and keeps the last two on update', () => {
    const store = new ObjectStore({ now: fixedNow });
    const created = store.upsert(pod({ name: 'a', namespace: 'ns' }));
    assert.equal(created.metadata.resourceVersion, '1');
    assert.match(created.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(created.metadata.creationTimestamp, '2025-01-02T03:04:05Z');
    const updated = store.upsert(pod({ name: 'a', namespace: 'ns', phase: 'Succeeded' }));
    assert.deepEqual(updated.metadata, { ...created.metadata, resourceVersion: '2' });
    assert.equal(store.resourceVersion, '2');
  });

  test('scope is checked: pods need a namespace, nodes take none', () => {
    const store = new ObjectStore();
    assert.throws(() => store.upsert({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' } }), /namespaced/);
    assert.throws(() => store.upsert({ ...node('n'), metadata: { name: 'n', namespace: 'x' } }), /cluster-scoped/);
    assert.throws(() => store.upsert({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'x' } }), /no resource of kind/);
  });

  test('create (POST, events only): the namespace of the path, generateName, 409 for a name taken, 400 for another namespace or kind', () => {
    const store = new ObjectStore();
    const events = resourceForKind('Event');
    const body = (metadata: Record<string, unknown>, kind = 'Event'): string => JSON.stringify({ apiVersion: 'v1', kind, metadata, reason: 'Test' });
    assert.equal(createObject(store, events, 'shop', body({ name: 'e1' })).metadata.namespace, 'shop');
    assert.match(createObject(store, events, 'shop', body({ generateName: 'cart.' })).metadata.name, /^cart\.[0-9a-f]{5}$/);
    const refusal = (text: string): number | undefined => {
      try {
        createObject(store, events, 'shop', text);
      } catch (error) {
        return error instanceof ApiError ? error.status.code : undefined;
      }
      return undefined;
    };
    assert.deepEqual([refusal(body({ name: 'e1' })), refusal(body({ name: 'e2', namespace: 'other' })), refusal(body({ name: 'e3' }, 'Pod')), refusal('{')], [409, 400, 400, 400]);
    assert.deepEqual(store.list('Event', 'shop').length, 2);
  });

  test('delete returns the last state at the deletion revision and throws for a missing object', () => {
    const store = new ObjectStore();
    store.upsert(node('n'));
    const deleted = store.delete({ kind: 'Node', name: 'n' });
    assert.equal(deleted.metadata.resourceVersion, '2');
    assert.equal(store.get({ kind: 'Node', name: 'n' }), undefined);
    assert.throws(() => store.delete({ kind: 'Node', name: 'n' }), /not found/);
  });

  test('a bounded history makes older revisions too old to watch from', () => {
    const store = new ObjectStore({ historySize: 2 });
    for (const name of ['a', 'b', 'c']) store.upsert(node(name));
    const nodes = resourceOf('/api/v1/nodes');
    const seen: number[] = [];
    store.watch(nodes, 1, (event) => seen.push(event.revision))();
    assert.deepEqual(seen, [2, 3]);
    assert.throws(() => store.watch(nodes, 0, () => undefined), (error) => error instanceof TooOldResourceVersionError && error.message === 'too old resource version: 0 (2)');
  });

  test('snapshot rebuilds an earlier revision by undoing later writes', () => {
    const store = new ObjectStore();
    const nodes = resourceOf('/api/v1/nodes');
    store.upsert(node('a'));
    store.upsert(node('b'));
    store.upsert(node('a', { zone: 'z1' }));
    store.delete({ kind: 'Node', name: 'b' });
    store.upsert(node('c'));
    const past = store.snapshot(nodes, 2);
    assert.equal(past.revision, 2);
    assert.deepEqual(past.objects.map((object) => [object.metadata.name, object.metadata.resourceVersion]), [['a', '1'], ['b', '2']]);
    store.compact();
    assert.throws(() => store.snapshot(nodes, 2), TooOldResourceVersionError);
    assert.deepEqual(names(store.snapshot(nodes).objects), ['a', 'c']);
  });

  function resourceOf(path: string) {
    const route = parseApiPath(path);
    assert.equal(route.kind, 'resource');
    return route.resource;
  }
});

describe('HTTP list and watch protocol', () => {
  let server: TestApiServer;
  let target: RawTarget;
  const watches: RawWatch[] = [];
  const openWatch = async (path: string): Promise<RawWatch> => {
    const watch = await RawWatch.open(target, path);
    watches.push(watch);
    return watch;
  };
  const get = async (path: string): Promise<{ statusCode: number; body: Record<string, unknown> }> => {
    const response = await rawRequest(target, path);
    return { statusCode: response.statusCode, body: response.body as Record<string, unknown> };
  };
  const itemsOf = (body: Record<string, unknown>): KubeObject[] => body.items as KubeObject[];
  const eventSummary = (event: WatchEvent): [string, string, string | undefined] => [event.type, (event.object as KubeObject).metadata.name, event.object.metadata.resourceVersion as string | undefined];

  before(async () => {
    server = await TestApiServer.start({ token: TOKEN, bookmarkIntervalMs: 50 });
    target = { url: server.url, caCert: server.caCert, token: TOKEN };
  });
  after(async () => {
    watches.forEach((watch) => watch.close());
    await server.stop();
  });

  test('list: a PodList at the store revision, items in key order without kind, selectors applied', async () => {
    server.store.upsert(pod({ name: 'web-2', namespace: 'list', nodeName: 'node-b', labels: { app: 'web', env: 'prod' } }));
    server.store.upsert(pod({ name: 'web-1', namespace: 'list', nodeName: 'node-a', labels: { app: 'web', env: 'staging' } }));
    server.store.upsert(pod({ name: 'db-1', namespace: 'list', nodeName: 'node-a', labels: { app: 'db' }, phase: 'Pending' }));
    const { statusCode, body } = await get('/api/v1/namespaces/list/pods');
    assert.equal(statusCode, 200);
    assert.equal(body.kind, 'PodList');
    assert.equal(body.apiVersion, 'v1');
    assert.deepEqual(body.metadata, { resourceVersion: server.store.resourceVersion });
    assert.deepEqual(names(itemsOf(body)), ['db-1', 'web-1', 'web-2']);
    assert.deepEqual(itemsOf(body)[0], (({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest)(server.store.get({ kind: 'Pod', namespace: 'list', name: 'db-1' })!));

    const selected = async (query: string): Promise<string[]> => names(itemsOf((await get(`/api/v1/namespaces/list/pods?${query}`)).body));
    assert.deepEqual(await selected(`labelSelector=${encodeURIComponent('app=web,env notin (staging)')}`), ['web-2']);
    assert.deepEqual(await selected(`labelSelector=${encodeURIComponent('env')}`), ['web-1', 'web-2']);
    assert.deepEqual(await selected(`fieldSelector=${encodeURIComponent('spec.nodeName=node-a')}`), ['db-1', 'web-1']);
    assert.deepEqual(await selected(`fieldSelector=${encodeURIComponent('spec.nodeName=node-a,status.phase!=Pending')}`), ['web-1']);
  });

  test('list: limit and continue page through one consistent snapshot; an expired token is 410', async () => {
    for (const name of ['p0', 'p1', 'p2', 'p3', 'p4']) server.store.upsert(pod({ name, namespace: 'paging' }));
    const first = await get('/api/v1/namespaces/paging/pods?limit=2');
    const firstMeta = first.body.metadata as { resourceVersion: string; continue: string; remainingItemCount: number };
    assert.deepEqual(names(itemsOf(first.body)), ['p0', 'p1']);
    assert.equal(firstMeta.remainingItemCount, 3);

    server.store.delete({ kind: 'Pod', namespace: 'paging', name: 'p2' });
    server.store.upsert(pod({ name: 'p5', namespace: 'paging' }));
    const second = await get(`/api/v1/namespaces/paging/pods?limit=2&continue=${encodeURIComponent(firstMeta.continue)}`);
    const secondMeta = second.body.metadata as { resourceVersion: string; continue: string };
    assert.deepEqual(names(itemsOf(second.body)), ['p2', 'p3'], 'later pages come from the first page\'s revision');
    assert.equal(secondMeta.resourceVersion, firstMeta.resourceVersion);
    const third = await get(`/api/v1/namespaces/paging/pods?limit=2&continue=${encodeURIComponent(secondMeta.continue)}`);
    assert.deepEqual(names(itemsOf(third.body)), ['p4']);
    assert.deepEqual(third.body.metadata, { resourceVersion: firstMeta.resourceVersion });

    const filtered = await get(`/api/v1/namespaces/paging/pods?limit=1&fieldSelector=${encodeURIComponent('metadata.name!=p0')}`);
    assert.deepEqual(names(itemsOf(filtered.body)), ['p1']);
    assert.equal((filtered.body.metadata as Record<string, unknown>).remainingItemCount, undefined, 'unknown when filtering');

    server.store.compact();
    const expiredPage = await get(`/api/v1/namespaces/paging/pods?limit=2&continue=${encodeURIComponent(secondMeta.continue)}`);
    assert.equal(expiredPage.statusCode, 410);
    assert.equal((expiredPage.body as unknown as Status).reason, 'Expired');
  });

  test('list: resourceVersionMatch=Exact serves a past revision, 410 once compacted', async () => {
    server.store.upsert(pod({ name: 'a', namespace: 'exact', labels: { v: '1' } }));
    const then = server.store.resourceVersion;
    server.store.upsert(pod({ name: 'a', namespace: 'exact', labels: { v: '2' } }));
    server.store.upsert(pod({ name: 'b', namespace: 'exact' }));
    const path = `/api/v1/namespaces/exact/pods?resourceVersion=${then}&resourceVersionMatch=Exact`;
    const past = await get(path);
    assert.deepEqual(past.body.metadata, { resourceVersion: then });
    assert.deepEqual(itemsOf(past.body).map((item) => [item.metadata.name, item.metadata.labels]), [['a', { v: '1' }]]);
    const notOlder = await get(`/api/v1/namespaces/exact/pods?resourceVersion=${then}&resourceVersionMatch=NotOlderThan`);
    assert.deepEqual(notOlder.body.metadata, { resourceVersion: server.store.resourceVersion });

    server.store.compact();
    const gone = await get(path);
    assert.equal(gone.statusCode, 410);
    assert.deepEqual(gone.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'The resourceVersion for the provided list is too old.', reason: 'Expired', code: 410 });
  });

  test('watch from resourceVersion 0: synthetic ADDED for the current state, then live events', async () => {
    const existing = server.store.upsert(pod({ name: 'old', namespace: 'zero' }));
    const watch = await openWatch('/api/v1/namespaces/zero/pods?watch=1&resourceVersion=0');
    assert.equal(watch.statusCode, 200);
    assert.equal(watch.headers['transfer-encoding'], 'chunked');
    assert.equal(watch.headers['content-type'], 'application/json');
    assert.deepEqual(await watch.next(WAIT_MS), { type: 'ADDED', object: existing });
    const modified = server.store.upsert(pod({ name: 'old', namespace: 'zero', phase: 'Failed' }));
    assert.deepEqual(await watch.next(WAIT_MS), { type: 'MODIFIED', object: modified });
  });

  test('watch from a resourceVersion resumes with exactly the writes after it', async () => {
    const from = server.store.resourceVersion;
    server.store.upsert(pod({ name: 'p', namespace: 'resume' }));
    server.store.upsert(node('unrelated-node'));
    server.store.upsert(pod({ name: 'p', namespace: 'resume', phase: 'Succeeded' }));
    const deleted = server.store.delete({ kind: 'Pod', namespace: 'resume', name: 'p' });
    const watch = await openWatch(`/api/v1/namespaces/resume/pods?watch=true&resourceVersion=${from}`);
    const base = Number(from);
    assert.deepEqual([eventSummary(await watch.next(WAIT_MS)), eventSummary(await watch.next(WAIT_MS)), eventSummary(await watch.next(WAIT_MS))], [
      ['ADDED', 'p', String(base + 1)],
      ['MODIFIED', 'p', String(base + 3)],
      ['DELETED', 'p', String(base + 4)],
    ]);
    assert.deepEqual(deleted.metadata.resourceVersion, String(base + 4));

    const later = await openWatch(`/api/v1/namespaces/resume/pods?watch=true&resourceVersion=${base + 3}`);
    assert.deepEqual(eventSummary(await later.next(WAIT_MS)), ['DELETED', 'p', String(base + 4)]);
    server.store.upsert(pod({ name: 'q', namespace: 'resume' }));
    assert.deepEqual(eventSummary(await later.next(WAIT_MS)), ['ADDED', 'q', server.store.resourceVersion]);
  });

  test('a watch of one named object sees only that object', async () => {
    const watch = await openWatch(`/api/v1/namespaces/named/pods/one?watch=1&resourceVersion=${server.store.resourceVersion}`);
    server.store.upsert(pod({ name: 'two', namespace: 'named' }));
    const one = server.store.upsert(pod({ name: 'one', namespace: 'named' }));
    assert.deepEqual(await watch.next(WAIT_MS), { type: 'ADDED', object: one });
    assert.deepEqual(watch.pending, [], 'the other pod, written first, was not sent');
  });

  test('watch with a selector: an object that stops matching is DELETED, one that starts matching is ADDED', async () => {
    const watch = await openWatch(`/api/v1/namespaces/relabel/pods?watch=1&resourceVersion=${server.store.resourceVersion}&labelSelector=app%3Dweb`);
    server.store.upsert(pod({ name: 'w', namespace: 'relabel', labels: { app: 'web' } }));
    server.store.upsert(pod({ name: 'other', namespace: 'relabel', labels: { app: 'db' } }));
    const relabelled = server.store.upsert(pod({ name: 'w', namespace: 'relabel', labels: { app: 'db' } }));
    server.store.upsert(pod({ name: 'w', namespace: 'relabel', labels: { app: 'web' } }));
    assert.deepEqual(eventSummary(await watch.next(WAIT_MS)), ['ADDED', 'w', String(Number(relabelled.metadata.resourceVersion) - 2)]);
    const gone = await watch.next(WAIT_MS);
    assert.equal(gone.type, 'DELETED');
    // The last state that matched, stamped with the revision of the write that unmatched it.
    assert.deepEqual((gone.object as KubeObject).metadata.labels, { app: 'web' });
    assert.equal(gone.object.metadata.resourceVersion, relabelled.metadata.resourceVersion);
    assert.deepEqual(eventSummary(await watch.next(WAIT_MS)), ['ADDED', 'w', server.store.resourceVersion]);
  });

  test('watch with allowWatchBookmarks gets BOOKMARK events carrying only the revision', async () => {
    const plain = await openWatch(`/api/v1/namespaces/quiet/pods?watch=1&resourceVersion=${server.store.resourceVersion}`);
    const withBookmarks = await openWatch(`/api/v1/namespaces/quiet/pods?watch=1&resourceVersion=${server.store.resourceVersion}&allowWatchBookmarks=true`);
    const bookmark = { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: server.store.resourceVersion } } };
    assert.deepEqual(await withBookmarks.next(WAIT_MS), bookmark);
    assert.deepEqual(await withBookmarks.next(WAIT_MS), bookmark);
    assert.deepEqual(plain.pending, [], 'no bookmarks unless asked for');
  });

  test('watch from a compacted resourceVersion: HTTP 200, one ERROR event with 410 Expired, end of stream', async () => {
    const old = server.store.resourceVersion;
    server.store.upsert(pod({ name: 'x', namespace: 'gone' }));
    server.store.compact();
    const watch = await openWatch(`/api/v1/namespaces/gone/pods?watch=1&resourceVersion=${old}`);
    assert.equal(watch.statusCode, 200);
    assert.deepEqual(await watch.rest(WAIT_MS), [
      { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${old} (${Number(old) + 2})`, reason: 'Expired', code: 410 } },
    ]);
  });

  test('watch ends cleanly after timeoutSeconds, and at dropWatches()', async () => {
    const timed = await openWatch(`/api/v1/pods?watch=1&resourceVersion=${server.store.resourceVersion}&timeoutSeconds=1`);
    assert.deepEqual(await timed.rest(WAIT_MS), []);
    const dropped = await openWatch(`/api/v1/pods?watch=1&resourceVersion=${server.store.resourceVersion}`);
    assert.ok(server.dropWatches() >= 1);
    assert.deepEqual(await dropped.rest(WAIT_MS), []);
  });

  test('injectFailure makes the next matching request fail with a plain HTTP status', async () => {
    server.injectFailure({ status: 503, matching: (request) => request.verb === 'watch' && request.resource === 'pods' });
    const listed = await rawRequest(target, '/api/v1/pods');
    assert.equal(listed.statusCode, 200, 'lists do not match a watch rule');
    const failed = await rawRequest(target, '/api/v1/pods?watch=1');
    assert.equal(failed.statusCode, 503);
    assert.equal((failed.body as Status).reason, 'ServiceUnavailable');
    const next = await openWatch(`/api/v1/pods?watch=1&resourceVersion=${server.store.resourceVersion}`);
    assert.equal(next.statusCode, 200, 'the rule was used up');
  });

  test('errors are Status objects with the real codes and reasons', async () => {
    const anonymous = { ...target, token: undefined };
    const impostor = { ...target, token: 'wrong' };
    const cases: { name: string; path: string; method?: string; as?: RawTarget; code: number; reason: string }[] = [
      { name: 'missing object', path: '/api/v1/namespaces/list/pods/none', code: 404, reason: 'NotFound' },
      { name: 'unknown resource', path: '/api/v1/deployments', code: 404, reason: 'NotFound' },
      { name: 'unknown group', path: '/apis/apps/v1', code: 404, reason: 'NotFound' },
      { name: 'malformed label selector', path: '/api/v1/pods?labelSelector=a%20in%20(', code: 400, reason: 'BadRequest' },
      { name: 'unsupported field selector', path: '/api/v1/pods?fieldSelector=spec.foo%3Dx', code: 400, reason: 'BadRequest' },
      { name: 'malformed resourceVersion', path: '/api/v1/pods?watch=1&resourceVersion=abc', code: 400, reason: 'BadRequest' },
      { name: 'resourceVersionMatch without resourceVersion', path: '/api/v1/pods?resourceVersionMatch=Exact', code: 400, reason: 'BadRequest' },
      { name: 'unsupported verb', path: '/api/v1/namespaces/list/pods', method: 'POST', code: 405, reason: 'MethodNotAllowed' },
      { name: 'no token', path: '/api/v1/pods', as: anonymous, code: 401, reason: 'Unauthorized' },
      { name: 'wrong token, even for discovery', path: '/version', as: impostor, code: 401, reason: 'Unauthorized' },
    ];
    for (const { name, path, method, as, code, reason } of cases) {
      const response = await rawRequest(as ?? target, path, method);
      assert.deepEqual([response.statusCode, (response.body as Status).code, (response.body as Status).reason], [code, code, reason], name);
    }
    const missing = await get('/api/v1/namespaces/list/pods/none');
    assert.deepEqual(missing.body, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "none" not found', reason: 'NotFound', details: { name: 'none', kind: 'pods' }, code: 404 });
  });

  test('discovery: /api, /api/v1, /apis, the discovery.k8s.io group and /version', async () => {
    assert.deepEqual((await get('/api')).body.versions, ['v1']);
    const core = (await get('/api/v1')).body as { groupVersion: string; resources: { name: string }[] };
    assert.equal(core.groupVersion, 'v1');
    assert.deepEqual(core.resources.find((resource) => resource.name === 'pods'), { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'], categories: ['all'] });
    assert.deepEqual(core.resources.map((resource) => resource.name).sort(), ['endpoints', 'events', 'namespaces', 'nodes', 'pods', 'services']);
    assert.deepEqual((await get('/apis')).body.groups, [{ name: 'discovery.k8s.io', versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' } }]);
    const slices = (await get('/apis/discovery.k8s.io/v1')).body as { resources: { name: string; namespaced: boolean }[] };
    assert.deepEqual(slices.resources.map(({ name, namespaced }) => ({ name, namespaced })), [{ name: 'endpointslices', namespaced: true }]);
    assert.equal((await get('/version')).body.gitVersion, 'v1.32.0-kube-netstat-test');
  });

  test('the request log counts requests per path and keeps their queries', async () => {
    const before = server.requestCount('/api/v1/namespaces/log/pods');
    await get('/api/v1/namespaces/log/pods?labelSelector=app%3Dx');
    await get('/api/v1/namespaces/log/pods');
    assert.equal(server.requestCount('/api/v1/namespaces/log/pods'), before + 2);
    const last = server.requests.filter((request) => request.path === '/api/v1/namespaces/log/pods').at(-2)!;
    assert.deepEqual({ verb: last.verb, resource: last.resource, namespace: last.namespace, selector: last.query.get('labelSelector'), statusCode: last.statusCode }, { verb: 'list', resource: 'pods', namespace: 'log', selector: 'app=x', statusCode: 200 });
  });
});

/** The machine ships kubectl; where it does not, these tests say so instead of failing. */
const noKubectl = requirement(missingTools(['kubectl']));

describe('the real kubectl', { skip: noKubectl }, () => {
  let server: TestApiServer;
  let dir: string;
  let kubeconfig: string;
  const children: ChildProcess[] = [];
  const kubectlArgs = (args: string[]): string[] => ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args];
  const kubectl = (...args: string[]) => run(['kubectl', ...kubectlArgs(args)], { timeoutMs: 30_000, allowFailure: true });
  /** kubectl's table output as rows of whitespace-separated cells, header first. */
  const table = (stdout: string): string[][] => stdout.trimEnd().split('\n').map((line) => line.trim().split(/\s+/));

  before(async () => {
    server = await TestApiServer.start({ token: TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'kns-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    server.writeKubeconfig(kubeconfig, { namespace: 'shop' });
    for (const object of [
      namespace('shop'),
      namespace('default'),
      node('node-a'),
      node('node-b'),
      pod({ name: 'cart-1', namespace: 'shop', nodeName: 'node-a', labels: { app: 'cart' } }),
      pod({ name: 'cart-2', namespace: 'shop', nodeName: 'node-b', labels: { app: 'cart' } }),
      pod({ name: 'front-1', namespace: 'shop', nodeName: 'node-a', labels: { app: 'front' } }),
      pod({ name: 'web-1', namespace: 'default', nodeName: 'node-b', labels: { app: 'cart' } }),
    ]) {
      server.store.upsert(object);
    }
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('get pods -A lists every seeded pod with its namespace', async () => {
    const result = await kubectl('get', 'pods', '-A');
    assert.equal(result.code, 0, result.stderr);
    const rows = table(result.stdout);
    assert.deepEqual(rows[0], ['NAMESPACE', 'NAME', 'AGE']);
    assert.deepEqual(rows.slice(1).map(([ns, name]) => [ns, name]), [
      ['default', 'web-1'],
      ['shop', 'cart-1'],
      ['shop', 'cart-2'],
      ['shop', 'front-1'],
    ]);
  });

  test('get pods -n X -l app=y sends the selector and lists only matching pods of X', async () => {
    const result = await kubectl('get', 'pods', '-n', 'shop', '-l', 'app=cart');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(table(result.stdout).map(([name]) => name), ['NAME', 'cart-1', 'cart-2']);
    assert.equal(server.requests.at(-1)?.url, '/api/v1/namespaces/shop/pods?labelSelector=app%3Dcart&limit=500');
  });

  test('the context namespace applies and --field-selector reaches the server', async () => {
    const result = await kubectl('get', 'po', '--field-selector', 'spec.nodeName=node-a');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(table(result.stdout).map(([name]) => name), ['NAME', 'cart-1', 'front-1']);
  });

  test('get nodes lists the cluster-scoped nodes', async () => {
    const result = await kubectl('get', 'nodes');
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(table(result.stdout).map(([name]) => name), ['NAME', 'node-a', 'node-b']);
  });

  test('server errors reach kubectl as kubectl prints them', async () => {
    const missing = await kubectl('get', 'pod', 'nope');
    assert.deepEqual([missing.code, missing.stderr.trim()], [1, 'Error from server (NotFound): pods "nope" not found']);
    const badSelector = await kubectl('get', 'pods', '-l', 'app in (');
    assert.equal(badSelector.code, 1);
    assert.match(badSelector.stderr, /^Error from server \(BadRequest\):/);
    const unauthorized = await kubectl('get', 'pods', '--token', 'wrong');
    assert.deepEqual([unauthorized.code, unauthorized.stderr.trim()], [1, 'error: You must be logged in to the server (Unauthorized)']);
  });

  test('get pods -A -w shows a pod added and then deleted after the watch started', async () => {
    const child = spawn('kubectl', kubectlArgs(['get', 'pods', '-A', '-w', '--output-watch-events']), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const lines = (): string[][] => table(stdout).filter((row) => row.length > 1);
    const hasLine = (...cells: string[]) => (lines().some((row) => cells.every((cell, index) => row[index] === cell)) ? true : undefined);
    try {
      await waitForValue(() => hasLine('ADDED', 'shop', 'front-1'), { what: `the initial list in kubectl's output (so far: ${JSON.stringify(stdout)}${stderr})`, timeoutMs: WAIT_MS, intervalMs: 25 });
      await server.waitForWatch((request) => request.resource === 'pods' && request.namespace === undefined, WAIT_MS);
      server.store.upsert(pod({ name: 'late', namespace: 'shop', nodeName: 'node-a' }));
      await waitForValue(() => hasLine('ADDED', 'shop', 'late'), { what: 'kubectl to print the added pod', timeoutMs: WAIT_MS, intervalMs: 25 });
      server.store.delete({ kind: 'Pod', namespace: 'shop', name: 'late' });
      await waitForValue(() => hasLine('DELETED', 'shop', 'late'), { what: 'kubectl to print the deleted pod', timeoutMs: WAIT_MS, intervalMs: 25 });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    assert.deepEqual(lines().slice(0, 1), [['EVENT', 'NAMESPACE', 'NAME', 'AGE']]);
    assert.deepEqual(lines().slice(1).map(([event, ns, name]) => [event, ns, name]), [
      ['ADDED', 'default', 'web-1'],
      ['ADDED', 'shop', 'cart-1'],
      ['ADDED', 'shop', 'cart-2'],
      ['ADDED', 'shop', 'front-1'],
      ['ADDED', 'shop', 'late'],
      ['DELETED', 'shop', 'late'],
    ]);
  });
});

describe('@kubernetes/client-node', () => {
  let server: TestApiServer;
  let dir: string;
  let api: CoreV1Api;
  let kc: KubeConfig;
  const informers: ListWatch<V1Pod>[] = [];

  /** A pod informer scoped to one node as the agent builds it, recording what it reports. Each test uses its own node. */
  function nodeInformer(nodeName: string): { informer: ListWatch<V1Pod>; events: [string, string][]; errors: unknown[] } {
    const fieldSelector = `spec.nodeName=${nodeName}`;
    const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc), () => api.listPodForAllNamespaces({ fieldSelector }), false, undefined, fieldSelector);
    informers.push(informer);
    const events: [string, string][] = [];
    const errors: unknown[] = [];
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, (object) => events.push([verb, object.metadata?.name ?? '?']));
    informer.on('error', (error) => errors.push(error));
    return { informer, events, errors };
  }
  const onNode = (nodeName: string) => (request: RecordedRequest) => request.resource === 'pods' && request.query.get('fieldSelector') === `spec.nodeName=${nodeName}`;
  const watchOpen = (nodeName: string) => server.waitForWatch(onNode(nodeName), WAIT_MS);
  const added = (events: [string, string][], name: string) => (events.some(([verb, eventName]) => verb === 'add' && eventName === name) ? true : undefined);

  before(async () => {
    server = await TestApiServer.start({ token: TOKEN });
    dir = mkdtempSync(join(tmpdir(), 'kns-client-node-'));
    server.writeKubeconfig(join(dir, 'kubeconfig'));
    kc = new KubeConfig();
    kc.loadFromFile(join(dir, 'kubeconfig'));
    api = kc.makeApiClient(CoreV1Api);
  });
  after(async () => {
    for (const informer of informers) await informer.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('CoreV1Api.listPodForAllNamespaces reads the pods over TLS with the token', async () => {
    server.store.upsert(pod({ name: 'list-a', namespace: 'listing', nodeName: 'node-list' }));
    server.store.upsert(pod({ name: 'list-b', namespace: 'listing', nodeName: 'node-other' }));
    const list = await api.listPodForAllNamespaces({ labelSelector: '!absent' });
    assert.equal(list.metadata?.resourceVersion, server.store.resourceVersion);
    assert.deepEqual(list.items.filter((item) => item.metadata?.namespace === 'listing').map((item) => [item.metadata?.name, item.spec?.nodeName]), [
      ['list-a', 'node-list'],
      ['list-b', 'node-other'],
    ]);
    assert.equal(server.requests.at(-1)?.url, '/api/v1/pods?labelSelector=%21absent');
  });

  test('a node-scoped informer sends the field selector and sees add, update and delete of its node\'s pods only', async () => {
    server.store.upsert(pod({ name: 'n1-a', namespace: 'informer', nodeName: 'node-1' }));
    const { informer, events, errors } = nodeInformer('node-1');
    await informer.start();
    const watch = await watchOpen('node-1');
    assert.match(watch.url, /[?&]fieldSelector=spec\.nodeName%3Dnode-1(&|$)/);
    assert.deepEqual(events, [['add', 'n1-a']]);

    server.store.upsert(pod({ name: 'n1-b', namespace: 'informer', nodeName: 'node-1', phase: 'Pending' }));
    server.store.upsert(pod({ name: 'n2-a', namespace: 'informer', nodeName: 'node-2' }));
    server.store.upsert(pod({ name: 'n1-b', namespace: 'informer', nodeName: 'node-1', phase: 'Running' }));
    server.store.delete({ kind: 'Pod', namespace: 'informer', name: 'n1-a' });
    await waitForValue(() => (events.length >= 4 ? true : undefined), { what: `four informer events (so far ${JSON.stringify(events)})`, timeoutMs: WAIT_MS, intervalMs: 25 });
    assert.deepEqual(events, [
      ['add', 'n1-a'],
      ['add', 'n1-b'],
      ['update', 'n1-b'],
      ['delete', 'n1-a'],
    ]);
    assert.equal(informer.get('n1-b', 'informer')?.status?.phase, 'Running');
    assert.deepEqual(errors, []);
  });

  test('objects from the list and from the watch differ in shape: the agent must not rely on kind or on Date timestamps', async () => {
    server.store.upsert(pod({ name: 'listed', namespace: 'shapes', nodeName: 'node-shapes' }));
    const { informer, events } = nodeInformer('node-shapes');
    await informer.start();
    await watchOpen('node-shapes');
    server.store.upsert(pod({ name: 'watched', namespace: 'shapes', nodeName: 'node-shapes' }));
    await waitForValue(() => added(events, 'watched'), { what: 'the watched pod', timeoutMs: WAIT_MS, intervalMs: 25 });
    const shape = (name: string) => {
      const object = informer.get(name, 'shapes')!;
      return { kind: object.kind, apiVersion: object.apiVersion, creationTimestamp: typeof object.metadata?.creationTimestamp };
    };
    // The list is deserialized by the generated client (no kind on items, as on the wire; Date
    // objects); watch events are handed over as parsed JSON (kind present; RFC 3339 strings).
    assert.deepEqual(shape('listed'), { kind: undefined, apiVersion: undefined, creationTimestamp: 'object' });
    assert.deepEqual(shape('watched'), { kind: 'Pod', apiVersion: 'v1', creationTimestamp: 'string' });
  });

  test('after compaction a dropped watch resumes into 410 Gone, and the informer relists and converges', async () => {
    for (const name of ['keep', 'remove']) server.store.upsert(pod({ name, namespace: 'relist', nodeName: 'node-relist' }));
    const { informer, events, errors } = nodeInformer('node-relist');
    await informer.start();
    await watchOpen('node-relist');
    const lists = () => server.requests.filter((request) => request.verb === 'list' && request.query.get('fieldSelector') === 'spec.nodeName=node-relist').length;
    const requestsBefore = server.requests.length;
    const resumeFrom = informer.latestResourceVersion();
    events.length = 0;

    // All in one tick: no watch is open while the store changes, so the informer misses these writes
    // and can only learn of them by relisting, because the history it would resume from is gone.
    assert.equal(server.dropWatches({ matching: onNode('node-relist') }), 1);
    server.store.upsert(pod({ name: 'new', namespace: 'relist', nodeName: 'node-relist' }));
    server.store.delete({ kind: 'Pod', namespace: 'relist', name: 'remove' });
    server.store.compact();

    await waitForValue(() => (events.length >= 2 ? true : undefined), { what: `the relist's events (so far ${JSON.stringify(events)})`, timeoutMs: WAIT_MS, intervalMs: 25 });
    assert.deepEqual(events.sort(), [['add', 'new'], ['delete', 'remove']]);
    assert.deepEqual(names(informer.list()).sort(), names(server.store.list('Pod', 'relist')).sort());
    assert.equal(lists(), 2, 'one relist after the first list');
    assert.ok(
      server.requests.slice(requestsBefore).some((request) => request.verb === 'watch' && request.query.get('resourceVersion') === resumeFrom),
      'it tried to resume from the compacted revision first',
    );
    await watchOpen('node-relist');
    server.store.upsert(pod({ name: 'after', namespace: 'relist', nodeName: 'node-relist' }));
    await waitForValue(() => added(events, 'after'), { what: 'the informer to watch again after relisting', timeoutMs: WAIT_MS, intervalMs: 25 });
    assert.deepEqual(errors, []);
  });

  test('a plain HTTP 500 on a watch reaches the error callback; start() resumes the informer', async () => {
    const { informer, events, errors } = nodeInformer('node-500');
    await informer.start();
    await watchOpen('node-500');
    server.injectFailure({ status: 500, matching: (request) => request.verb === 'watch' && onNode('node-500')(request) });
    assert.equal(server.dropWatches({ matching: onNode('node-500') }), 1);
    const error = await waitForValue(() => errors[0], { what: 'the error callback', timeoutMs: WAIT_MS, intervalMs: 25 });
    assert.equal((error as { statusCode?: number }).statusCode, 500);

    await informer.start();
    await watchOpen('node-500');
    server.store.upsert(pod({ name: 'after-500', namespace: 'failures', nodeName: 'node-500' }));
    await waitForValue(() => added(events, 'after-500'), { what: 'events after the restart', timeoutMs: WAIT_MS, intervalMs: 25 });
  });

  test('a connection reset mid-watch also reaches the error callback', async () => {
    const { informer, errors } = nodeInformer('node-reset');
    await informer.start();
    await watchOpen('node-reset');
    assert.equal(server.dropWatches({ matching: onNode('node-reset'), reset: true }), 1);
    const error = await waitForValue(() => errors[0], { what: 'the error callback', timeoutMs: WAIT_MS, intervalMs: 25 });
    // node-fetch's words for a body cut short (client-node 1.x fetches with node-fetch).
    assert.match(String(error), /Premature close/);
  });
});
