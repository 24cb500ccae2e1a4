import assert from 'node:assert/strict';
import fc from 'fast-check';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { AgentStream } from '../../../agent/stream/client.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import type { RunningAggregator } from '../../../aggregator/server/index.js';
import { exactView, getText, waitConverged } from '../../support/stream/converge.js';
import { NodeTree } from '../../support/stream/node-tree.js';
import { hostSockets } from '../../support/host-sockets.js';
import { startLoopbackAggregator } from '../../support/loopback-aggregator.js';

/**
 * The HTTP query parameters, fuzzed (fast-check, seeded, bounded): whatever keys and values a
 * client puts in the query string of /api/v1/{sockets,summary,top,findings,history} and
 * ?watch=1 — unknown, repeated, unicode, huge, malformed percent-escapes — the answer is 200,
 * 400, 404 or 429 (errors as a JSON Status), never a 500; the aggregator stays up; and a node
 * streaming alongside is served exactly as before. (A URL past 64 KiB never reaches the
 * aggregator's code: Node refuses it with a bare 431.)
 */

const NODE = 'fuzzed-node';
const PATHS = ['/api/v1/sockets', '/api/v1/summary', '/api/v1/top', '/api/v1/findings', '/api/v1/history'] as const;
const KEYS = [
  'namespace', 'proto', 'state', 'port', 'address', 'localPort', 'foreignPort', 'localAddress', 'foreignAddress', 'node', 'container', 'workload', 'limit', 'pod', 'labelSelector',
  'continue', 'sortBy', 'minRecvQ', 'minSendQ', 'minAge', 'by', 'watch', 'rule', 'severity', 'since',
] as const;
const ALLOWED = new Set([200, 400, 404, 429]);
/** A request's line and headers beyond this (aggregator/server/http.ts) are Node's to refuse, with a bare 431. */
const MAX_HEADER_BYTES = 64 * 1024;
/** A failure names its counterexample shortened: some are hundreds of KiB of percent-escapes. */
function reporter<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample) ?? '';
  throw new Error(`property failed (seed ${details.seed}, path ${details.counterexamplePath ?? ''}): ${example.slice(0, 2_000)}${example.length > 2_000 ? `… (${example.length} characters)` : ''}\n${String(details.errorInstance)}`);
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  /** The body of an error (a 200's body is not read: a watch never ends). */
  readonly body: string;
}

/** One GET; a 200 is abandoned after its headers (a watch streams until the client goes away). */
function get(port: number, path: string, accept: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = request({ host: '127.0.0.1', port, path, headers: { accept }, timeout: 5_000 }, (response) => {
      const status = response.statusCode ?? 0;
      const contentType = String(response.headers['content-type'] ?? '');
      if (status === 200) {
        response.destroy();
        return resolve({ status, contentType, body: '' });
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status, contentType, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    call.on('timeout', () => call.destroy(new Error(`GET ${path.slice(0, 200)}: no answer within 5 s`)));
    call.on('error', reject);
    call.end();
  });
}

/** A value as clients (and attackers) send them. */
const valueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '0', '1', '-1', 'true', 'false', 'NaN', 'Infinity', '1e309', '65536', '99999999999999999999', 'tcp', 'udp', 'LISTEN', 'close-wait', 'shop', 'a,b,,c', ' , ', '!=', 'app in (a,b)', 'x=', '\u0000'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer().map(String),
  fc.double().map(String),
  // Huge: past the filter's 1024-character values, sometimes past the 16 KiB URL limit.
  fc.tuple(fc.constantFrom('a', ',', 'é', '%', '🦀'), fc.integer({ min: 1_000, max: 12_000 })).map(([unit, count]) => unit.repeat(count)),
  fc.array(fc.nat(70_000).map(String), { maxLength: 150 }).map((ports) => ports.join(',')),
);
const keyArb: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
/** Pairs, keys often repeated; sometimes raw text after them: stray or broken percent-escapes. */
const queryArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.tuple(keyArb, valueArb), { maxLength: 8 }), fc.constantFrom('', '&', '&%', '&%zz=%', '&a=%FF%FE', '&%00=%00', '&&&==&'))
  .map(([pairs, raw]) => `${new URLSearchParams(pairs).toString()}${raw}`);
const requestArb = fc.record({ path: fc.constantFrom(...PATHS), watch: fc.boolean(), query: queryArb, protobuf: fc.boolean() });

describe('HTTP query parameters, fuzzed', { timeout: 120_000 }, () => {
  let aggregator: RunningAggregator;
  let tree: NodeTree;
  const stop = new AbortController();
  let streaming: Promise<void> | undefined;
  let baseline: Awaited<ReturnType<typeof exactView>>;

  before(async () => {
    aggregator = await startLoopbackAggregator({ watchPollMs: 50 });
    tree = new NodeTree({ netnsInode: '4026539400', podUid: '5e5e5e5e-0000-4000-8000-000000000005', containerId: 'e'.repeat(64), inodeBase: 8_100_000 });
    const table = new SocketTable();
    table.update(await hostSockets(tree.root, NODE));
    streaming = new AgentStream({ address: `127.0.0.1:${aggregator.grpcPort}`, node: NODE, bootId: 'boot', epoch: 1n, version: 'test', table, heartbeatMs: 200 }).run(stop.signal);
    await waitConverged(aggregator.httpPort, NODE, tree.root);
    baseline = await exactView(aggregator.httpPort, NODE);
  });

  after(async () => {
    stop.abort();
    await streaming;
    await aggregator?.stop();
    tree?.dispose();
  });

  it('every answer is 200/400/404/429, errors a JSON Status, and the other node is unchanged (200 runs)', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ path, watch, query, protobuf }) => {
        const target = `${path}?${watch ? 'watch=1&' : ''}${query}`;
        const answer = await get(aggregator.httpPort, target, protobuf ? 'application/x-protobuf' : 'application/json');
        seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        if (answer.status === 431) {
          assert.ok(target.length > MAX_HEADER_BYTES - 1_024, `431 for a URL of ${target.length} bytes`);
          return;
        }
        assert.ok(ALLOWED.has(answer.status), `GET ${target.slice(0, 300)}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
        if (answer.status !== 200) {
          assert.equal(answer.contentType, 'application/json');
          const status = JSON.parse(answer.body) as { kind?: string; code?: number; message?: string };
          assert.equal(status.kind, 'Status');
          assert.equal(status.code, answer.status);
          assert.ok(status.message, 'the Status says why');
        }
        assert.deepEqual(await getText(aggregator.httpPort, '/healthz'), { status: 200, text: 'ok\n' });
      }),
      { numRuns: 200, seed: 0x6b6e73, reporter },
    );
    assert.deepEqual(await exactView(aggregator.httpPort, NODE), baseline, 'the streaming node is served as before');
    // The fuzz reached both sides: answers and refusals.
    assert.ok((seen.get(200) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, `answers by status: ${JSON.stringify([...seen])}`);
  });

  it('a URL past the 16 KiB limit is a 400 Status; past the 64 KiB header limit Node refuses it (431) and the server carries on', async () => {
    const long = await get(aggregator.httpPort, `/api/v1/sockets?namespace=${'a'.repeat(20_000)}`, 'application/json');
    assert.equal(long.status, 400);
    assert.match((JSON.parse(long.body) as { message: string }).message, /longer than 16 KiB/);
    const huge = await get(aggregator.httpPort, `/api/v1/sockets?namespace=${'a'.repeat(70_000)}`, 'application/json');
    assert.equal(huge.status, 431);
    assert.deepEqual(await exactView(aggregator.httpPort, NODE), baseline);
  });
});
