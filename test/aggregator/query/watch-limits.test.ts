import assert from 'node:assert/strict';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { NodeStore } from '../../../aggregator/store/index.js';
import type { RunningAggregator } from '../../../aggregator/server/index.js';
import { WatchHub, WatchLimitError, type WatchSink } from '../../../aggregator/query/index.js';
import { aggregatorSettings, startAggregatorWith } from '../../../cmd/aggregator.js';
import { AGGREGATOR_DEFAULTS } from '../../../config/aggregator-settings.js';
import { QueryServiceClient, WatchRequest } from '../../../gen/kubenetstat/v1/query.js';
import { startApiCluster, type ApiCluster } from '../../support/api-cluster.js';
import { startLoopbackAggregator } from '../../support/loopback-aggregator.js';
import { waitFor } from '../../support/wait.js';
import { runCli } from '../../support/run-cli.js';
import { exposeAggregator } from '../../support/plugin/kubectl.js';

/**
 * Besides --max-watches in all, one client — an authenticated user, else a remote address —
 * holds at most --max-watches-per-client watches, HTTP and gRPC together: one more is 429 /
 * RESOURCE_EXHAUSTED saying which limit; closing one frees its place.
 */

const SINK: WatchSink = { send: () => true, end: () => undefined };

describe('WatchHub counts watches per client', () => {
  test('a client at its limit is refused while others are served; closing one frees its place', () => {
    const hub = new WatchHub(new NodeStore({ staleAfterMs: 60_000, evictAfterMs: 600_000, log: () => undefined }), { pollMs: 1_000, maxWatches: 10, maxWatchesPerClient: 2, log: () => undefined });
    const first = hub.open({}, SINK, 'user alice');
    hub.open({}, SINK, 'user alice');
    assert.throws(() => hub.open({}, SINK, 'user alice'), (error: Error) => error instanceof WatchLimitError && /user alice has 2 watches open, as many as one client may \(--max-watches-per-client 2\)/.test(error.message));
    hub.open({}, SINK, 'user bob');
    first.close();
    first.close();
    hub.open({}, SINK, 'user alice');
    assert.throws(() => hub.open({}, SINK, 'user alice'), WatchLimitError);
    assert.equal(hub.size, 3);
    hub.close('done');
    assert.equal(hub.size, 0);
    hub.open({}, SINK, 'user alice');
    hub.close('done');
  });

  test('the default is AGGREGATOR_DEFAULTS.maxWatchesPerClient (10), the flag and environment variable set it', () => {
    assert.equal(AGGREGATOR_DEFAULTS.maxWatchesPerClient, 10);
    assert.equal(aggregatorSettings([]).maxWatchesPerClient, 10);
    assert.equal(aggregatorSettings(['--max-watches-per-client', '3']).maxWatchesPerClient, 3);
    process.env.KUBE_NETSTAT_MAX_WATCHES_PER_CLIENT = '4';
    try {
      assert.equal(aggregatorSettings([]).maxWatchesPerClient, 4);
    } finally {
      delete process.env.KUBE_NETSTAT_MAX_WATCHES_PER_CLIENT;
    }
    assert.throws(() => aggregatorSettings(['--max-watches-per-client', '0']), /--max-watches-per-client/);
  });
});

interface OpenWatch {
  readonly status: number;
  readonly body: string;
  close(): void;
}

/** GET ?watch=1: a 200 is left open (close() ends it); an error's body is read. */
function httpWatch(port: number, token?: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path: '/api/v1/sockets?watch=1', headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 5_000 }, (response: IncomingMessage) => {
      const code = response.statusCode ?? 0;
      if (code === 200) return resolve({ status: code, body: '', close: () => response.destroy() });
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: code, body: Buffer.concat(chunks).toString('utf8'), close: () => undefined }));
    });
    call.on('timeout', () => call.destroy(new Error('no answer within 5 s')));
    call.on('error', reject);
    call.end();
  });
}

/** A gRPC Watch: resolves with its error, or 'open' at its first event. */
function grpcWatch(port: number, token?: string): Promise<{ code: status | 'open'; details: string; close: () => void }> {
  const client = new QueryServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const call = client.watch(WatchRequest.fromPartial({}), metadata);
  const close = (): void => {
    call.cancel();
    client.close();
  };
  return new Promise((resolve) => {
    call.on('error', (error: ServiceError) => resolve({ code: error.code, details: error.details, close }));
    call.on('data', () => resolve({ code: 'open', details: '', close }));
  });
}

describe('per-client watch limit, per user when queries are authenticated', () => {
  let cluster: ApiCluster;
  let running: RunningAggregator;
  const open: Array<{ close(): void }> = [];

  before(async () => {
    cluster = await startApiCluster();
    cluster.server.reviews.registerToken('alice', { username: 'alice' });
    cluster.server.reviews.registerToken('root', { username: 'root' });
    cluster.server.reviews.allow({ user: 'alice', verbs: ['list'], resources: ['pods'], namespaces: ['shop'] });
    cluster.server.reviews.allow({ user: 'root', verbs: ['list'], resources: ['pods', 'nodes'], namespaces: [''] });
    const settings = aggregatorSettings(['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--kubeconfig', cluster.kubeconfig, '--peer-names', 'off', '--events', 'off',
      '--agent-auth', 'none', '--query-auth', 'tokenreview', '--max-watches', '20', '--max-watches-per-client', '2', '--watch-poll', '0.05']);
    running = await startAggregatorWith(settings, () => undefined);
  });
  after(async () => {
    for (const watch of open) watch.close();
    await running?.stop();
    await cluster?.stop();
  });

  test('alice\'s third watch is 429 over HTTP and RESOURCE_EXHAUSTED over gRPC; root, from the same address, is served; a closed watch frees a place', async () => {
    const first = await httpWatch(running.httpPort, 'alice');
    open.push(first);
    const second = await grpcWatch(running.grpcPort, 'alice');
    open.push(second);
    assert.deepEqual([first.status, second.code], [200, 'open']);
    const refused = await httpWatch(running.httpPort, 'alice');
    assert.equal(refused.status, 429);
    const body = JSON.parse(refused.body) as { kind: string; reason: string; message: string };
    assert.deepEqual([body.kind, body.reason], ['Status', 'TooManyRequests']);
    assert.match(body.message, /user alice has 2 watches open, as many as one client may \(--max-watches-per-client 2\)/);
    const refusedGrpc = await grpcWatch(running.grpcPort, 'alice');
    refusedGrpc.close();
    assert.equal(refusedGrpc.code, status.RESOURCE_EXHAUSTED);
    assert.match(refusedGrpc.details, /user alice has 2 watches open/);
    const root = await httpWatch(running.httpPort, 'root');
    open.push(root);
    assert.equal(root.status, 200, root.body);
    first.close();
    await waitFor(async () => {
      const again = await httpWatch(running.httpPort, 'alice');
      open.push(again);
      return again.status === 200;
    }, { timeoutMs: 5_000, what: 'alice watching again once one of her watches closed' });
  });
});

describe('per-client watch limit, per address without authentication', () => {
  let running: RunningAggregator;
  const open: Array<{ close(): void }> = [];
  before(async () => {
    running = await startLoopbackAggregator({ watchPollMs: 50, maxWatches: 20, maxWatchesPerClient: 2 });
  });
  after(async () => {
    for (const watch of open) watch.close();
    await running?.stop();
  });

  test('the third watch from 127.0.0.1 is refused, HTTP and gRPC counted together', async () => {
    const first = await httpWatch(running.httpPort);
    const second = await grpcWatch(running.grpcPort);
    open.push(first, second);
    assert.deepEqual([first.status, second.code], [200, 'open']);
    const refused = await grpcWatch(running.grpcPort);
    refused.close();
    assert.equal(refused.code, status.RESOURCE_EXHAUSTED);
    assert.match(refused.details, /address (ipv4:)?127\.0\.0\.1 has 2 watches open/);
    const refusedHttp = await httpWatch(running.httpPort);
    assert.equal(refusedHttp.status, 429);
  });
});

describe('watches through the API server\'s service proxy share one cluster-wide budget', () => {
  let running: RunningAggregator;
  let cluster: ApiCluster;
  const stops: AbortController[] = [];
  const runs: Array<Promise<unknown>> = [];
  before(async () => {
    running = await startLoopbackAggregator({ watchPollMs: 50, maxWatches: 20, maxWatchesPerClient: 2, maxProxiedWatches: 3 });
    cluster = await startApiCluster();
    exposeAggregator(cluster.server.store, running.httpPort);
  });
  after(async () => {
    for (const stop of stops) stop.abort();
    await Promise.all(runs);
    await running?.stop();
    await cluster?.stop();
  });

  /** `kubectl netstat watch -A` through the service proxy, until the test ends; resolves once it printed its listing, or with its result if it ended first. */
  async function proxiedWatch(): Promise<{ code: number; stderr: string } | 'open'> {
    const stop = new AbortController();
    stops.push(stop);
    let output = '';
    const result = runCli(['query', '--kubeconfig', cluster.kubeconfig, 'watch', '-A'], { signal: stop.signal, onStdout: (text) => (output += text) });
    runs.push(result);
    return Promise.race([result, waitFor(() => output.includes('Active'), { timeoutMs: 10_000, what: 'the listing' }).then(() => 'open' as const)]);
  }

  test('more users than --max-watches-per-client allows one address each watch through it, up to --max-proxied-watches, and the refusal says so', async () => {
    // Every one of them reaches the aggregator from the API server's address.
    assert.deepEqual([await proxiedWatch(), await proxiedWatch(), await proxiedWatch()], ['open', 'open', 'open']);
    const refused = await proxiedWatch();
    assert.notEqual(refused, 'open');
    assert.equal((refused as { code: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /the aggregator is busy \(3 watches are open through the API server's service proxy, .*--max-proxied-watches 3.*cannot tell users apart/);
    // A direct client keeps its own limit beside the budget.
    const direct = await httpWatch(running.httpPort);
    direct.close();
    assert.equal(direct.status, 200);
  });

  test('the default budget is sized for a team, not one user', () => {
    assert.equal(AGGREGATOR_DEFAULTS.maxProxiedWatches, 80);
    assert.ok(AGGREGATOR_DEFAULTS.maxProxiedWatches > AGGREGATOR_DEFAULTS.maxWatchesPerClient * 5);
  });
});
