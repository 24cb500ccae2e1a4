import assert from 'node:assert/strict';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TokenFile } from '../../../agent/stream/token.js';
import { AgentServiceClient } from '../../../gen/kubenetstat/v1/agent.js';
import { startApiCluster, type ApiCluster } from '../../support/api-cluster.js';
import { pod } from '../../support/k8s/index.js';
import { exactView, waitConverged } from '../../support/stream/converge.js';
import { startAgentAndAggregator, type AgentAndAggregator } from '../../support/stream/agent-and-aggregator.js';
import { waitFor } from '../../support/wait.js';

/**
 * Token rotation: the kubelet replaces the agent's projected token file before the token
 * expires. A real agent (runAgentWith, --token-file) whose file is replaced keeps writing its
 * node: when the old token expires the aggregator ends the stream it opened (UNAUTHENTICATED),
 * and the agent reconnects with the file's new token, reviewed anew. The old token alone, once
 * expired or revoked, is refused.
 */

const NODE = 'node-r';
const SA = 'system:serviceaccount:kube-netstat:kube-netstat-agent';
const AUDIENCE = 'kube-netstat';

/** A JWT-shaped token (what projected tokens are): only its `exp` is read, unverified, by the aggregator's cache. */
function jwt(name: string, expiresAtS: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'test' })}.${part({ sub: SA, aud: [AUDIENCE], exp: expiresAtS, jti: name })}.${Buffer.from(`signature-of-${name}`).toString('base64url')}`;
}

describe('an agent whose token file is rotated', { timeout: 60_000 }, () => {
  let cluster: ApiCluster;
  let started: AgentAndAggregator;
  let dir: string;
  let tokenPath: string;
  const agentLogs: Array<{ message: string; fields: Record<string, unknown> }> = [];
  const aggregatorLogs: Array<{ message: string; fields: Record<string, unknown> }> = [];
  // The old token expires a few seconds into the test; the new one in an hour.
  const oldExpiresS = Math.ceil(Date.now() / 1000) + 4;
  const oldToken = jwt('old', oldExpiresS);
  const newToken = jwt('new', Math.ceil(Date.now() / 1000) + 3_600);
  const reviewed = (token: string): boolean => cluster.server.reviews.asked.some((asked) => asked.kind === 'TokenReview' && (asked.body as { spec?: { token?: string } }).spec?.token === token);

  before(async () => {
    cluster = await startApiCluster();
    cluster.server.store.upsert(pod({ name: 'agent-r', namespace: 'kube-netstat', nodeName: NODE, uid: 'uid-agent-r' }));
    const binding = { username: SA, audiences: [AUDIENCE], podName: 'agent-r', podUid: 'uid-agent-r' };
    cluster.server.reviews.registerToken(oldToken, { ...binding, expiresAtMs: oldExpiresS * 1000 });
    dir = mkdtempSync(join(tmpdir(), 'kns-token-'));
    tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, `${oldToken}\n`);
    started = await startAgentAndAggregator({
      node: NODE,
      tree: { netnsInode: '4026539600', podUid: '7a7a7a7a-0000-4000-8000-000000000007', containerId: 'a'.repeat(64), inodeBase: 8_300_000 },
      aggregatorFlags: ['--kubeconfig', cluster.kubeconfig, '--peer-names', 'off', '--events', 'off', '--agent-auth', 'tokenreview', '--agent-service-account', 'kube-netstat/kube-netstat-agent', '--query-auth', 'none'],
      agentFlags: ['--kubeconfig', cluster.kubeconfig, '--token-file', tokenPath],
      aggregatorLog: (message, fields) => aggregatorLogs.push({ message, fields }),
      agentLog: (message, fields) => agentLogs.push({ message, fields }),
    });
  });

  after(async () => {
    await started?.stop();
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('with its first token the agent writes its node', async () => {
    await waitConverged(started.aggregator.httpPort, NODE, started.tree.root);
    assert.ok(reviewed(oldToken));
    assert.ok(!reviewed(newToken));
  });

  test('the file is replaced; at the old token\'s expiry the aggregator ends the stream and the agent reconnects with the new token, its node kept', async () => {
    const before = await exactView(started.aggregator.httpPort, NODE);
    cluster.server.reviews.registerToken(newToken, { username: SA, audiences: [AUDIENCE], podName: 'agent-r', podUid: 'uid-agent-r', expiresAtMs: Date.now() + 3_600_000 });
    writeFileSync(tokenPath, `${newToken}\n`);
    // An mtime the old file cannot have had, however coarse the filesystem's clock.
    const later = new Date(Date.now() + 10_000);
    utimesSync(tokenPath, later, later);
    await waitFor(() => reviewed(newToken), { timeoutMs: 15_000, what: 'a TokenReview of the new token' });
    assert.ok(Date.now() >= oldExpiresS * 1000 - 50, 'the stream ended no earlier than the old token expired');
    const ended = aggregatorLogs.find((line) => line.message === 'agent stream rejected' && /token expired/.test(String(line.fields.reason)));
    assert.equal(ended?.fields.code, 'UNAUTHENTICATED', 'the aggregator ended the old token\'s stream');
    assert.ok(agentLogs.some((line) => line.message === 'aggregator unreachable' && /token expired/.test(String(line.fields.error))), 'the agent heard why');
    await waitFor(() => started.aggregator.store.get(NODE)?.status === 'live', { timeoutMs: 10_000, what: `${NODE} live again` });
    await waitConverged(started.aggregator.httpPort, NODE, started.tree.root);
    assert.deepEqual((await exactView(started.aggregator.httpPort, NODE)).items, before.items, 'the node\'s sockets are as they were');
  });

  test('the old token alone is refused, expired or revoked', async () => {
    cluster.server.reviews.revokeToken(oldToken);
    const client = new AgentServiceClient(`127.0.0.1:${started.aggregator.grpcPort}`, credentials.createInsecure());
    try {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${oldToken}`);
      const call = client.stream(metadata, { deadline: Date.now() + 5_000 });
      const error = await new Promise<ServiceError>((resolve) => {
        call.on('error', resolve);
        call.write({ message: { $case: 'hello', value: { nodeName: NODE, bootId: 'b', epoch: 1n, version: 't', capabilities: [] } } });
      });
      assert.equal(error.code, status.UNAUTHENTICATED, error.details);
      assert.match(error.details, /invalid bearer token|token has expired/);
    } finally {
      client.close();
    }
    assert.equal(started.aggregator.store.get(NODE)?.status, 'live', 'the refused stream did not touch the node');
  });
});

describe('TokenFile', () => {
  test('reads the file again only when its mtime changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kns-token-file-'));
    try {
      const path = join(dir, 'token');
      writeFileSync(path, ' first \n');
      const at = new Date(1_700_000_000_000);
      utimesSync(path, at, at);
      const file = new TokenFile(path);
      assert.equal(file.read(), 'first');
      writeFileSync(path, 'second\n');
      utimesSync(path, at, at);
      assert.equal(file.read(), 'first', 'same mtime: the cached token');
      const later = new Date(1_700_000_060_000);
      utimesSync(path, later, later);
      assert.equal(file.read(), 'second');
      rmSync(path);
      assert.throws(() => file.read(), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
