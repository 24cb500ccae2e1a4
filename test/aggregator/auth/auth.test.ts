import assert from 'node:assert/strict';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import type { RunningAggregator } from '../../../aggregator/server/index.js';
import { aggregatorSettings, startAggregatorWith } from '../../../cmd/aggregator.js';
import { AgentServiceClient, type StreamRequest } from '../../../gen/kubenetstat/v1/agent.js';
import { ListRequest, QueryServiceClient } from '../../../gen/kubenetstat/v1/query.js';
import { Proto, Socket, type PodRef } from '../../../gen/kubenetstat/v1/socket.js';
import { dirname, join } from 'node:path';
import type { SocketList } from '../../../model/json/socket-list.js';
import { runCli } from '../../support/run-cli.js';
import { startApiCluster, type ApiCluster } from '../../support/api-cluster.js';
import { pod } from '../../support/k8s/index.js';
import { waitFor } from '../../support/wait.js';
import { AgentStream, type StreamEvent } from '../../../agent/stream/client.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';

/**
 * Agents write only the node their token's pod runs on; queries see only the namespaces whose
 * pods their caller may list. The test API server answers TokenReview and SubjectAccessReview.
 */
let cluster: ApiCluster;
let running: RunningAggregator;
const SA = 'system:serviceaccount:kube-netstat:kube-netstat-agent';
const hour = () => Date.now() + 3_600_000;

before(async () => {
  cluster = await startApiCluster();
  const { server } = cluster;
  server.store.upsert(pod({ name: 'agent-a', namespace: 'kube-netstat', nodeName: 'node-a', uid: 'uid-agent-a' }));
  server.store.upsert(pod({ name: 'agent-b', namespace: 'kube-netstat', nodeName: 'node-b', uid: 'uid-agent-b' }));
  server.reviews.registerToken('token-a', { username: SA, audiences: ['kube-netstat'], expiresAtMs: hour(), podName: 'agent-a', podUid: 'uid-agent-a' });
  server.reviews.registerToken('token-b', { username: SA, audiences: ['kube-netstat'], expiresAtMs: hour(), podName: 'agent-b', podUid: 'uid-agent-b', nodeName: 'node-b' });
  server.reviews.registerToken('token-expired', { username: SA, audiences: ['kube-netstat'], expiresAtMs: Date.now() - 1_000, podName: 'agent-a', podUid: 'uid-agent-a' });
  server.reviews.registerToken('token-other-audience', { username: SA, audiences: ['vault'], expiresAtMs: hour(), podName: 'agent-a', podUid: 'uid-agent-a' });
  server.reviews.registerToken('alice', { username: 'alice' });
  server.reviews.registerToken('root', { username: 'root' });
  server.reviews.allow({ user: 'alice', verbs: ['list'], resources: ['pods'], namespaces: ['shop'] });
  server.reviews.allow({ user: 'root', verbs: ['list'], resources: ['pods', 'nodes'], namespaces: [''] });
  const settings = aggregatorSettings(['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--kubeconfig', cluster.kubeconfig, '--peer-names', 'off', '--events', 'off',
    '--agent-auth', 'tokenreview', '--agent-service-account', 'kube-netstat/kube-netstat-agent', '--query-auth', 'tokenreview', '--query-rate', '5', '--query-burst', '20', '--max-filter-values', '3']);
  running = await startAggregatorWith(settings, () => undefined);
});
after(async () => {
  await running?.stop();
  await cluster?.stop();
});

const podRef = (namespace: string): PodRef => ({ namespace, name: 'web-0', uid: `uid-${namespace}`, container: 'web', containerId: '', runtime: '', workloadKind: '', workloadName: '', labels: {} });
const socket = (key: string, namespace: string): Socket => Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode: 10, state: 'LISTEN', ssState: 'LISTEN', localAddress: '0.0.0.0', localPort: 80, firstSeenUnixMs: 1_700_000_000_000n, pod: podRef(namespace) });

/** One agent stream: hello for `node` and a snapshot; resolves with how it ended (undefined: still open after the snapshot was acked). */
function agentSession(token: string | undefined, node: string, sockets: Socket[]): Promise<{ code: status | undefined; details: string; close: () => void }> {
  const client = new AgentServiceClient(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
  const metadata = new Metadata();
  if (token) metadata.set('authorization', `Bearer ${token}`);
  const call = client.stream(metadata);
  const close = (): void => {
    call.cancel();
    client.close();
  };
  return new Promise((resolve) => {
    call.on('error', (error: ServiceError) => resolve({ code: error.code, details: error.details, close }));
    call.on('data', (response: { message?: { $case: string } }) => {
      if (response.message?.$case === 'ack') resolve({ code: undefined, details: '', close });
    });
    const write = (message: StreamRequest): boolean => call.write(message);
    write({ message: { $case: 'hello', value: { nodeName: node, bootId: 'boot', epoch: BigInt(Date.now()), version: 'test', capabilities: [] } } });
    write({ message: { $case: 'snapshot', value: { sequence: 1n, snapshotId: 1n, index: 0, sockets, last: true, pods: [] } } });
  });
}

describe('agent authentication binds a stream to its pod\'s node', () => {
  test('an agent whose token is bound to a pod on node-b writes node-b', async () => {
    const session = await agentSession('token-b', 'node-b', [socket('b/1', 'shop'), socket('b/2', 'ops')]);
    assert.equal(session.code, undefined);
    await waitFor(() => running.store.get('node-b')?.sockets.size === 2, { timeoutMs: 5_000, what: 'node-b holding its 2 sockets' });
  });

  test('a valid token of a pod on node-a writing node-b is PERMISSION_DENIED and node-b is untouched', async () => {
    const before = running.store.get('node-b');
    const session = await agentSession('token-a', 'node-b', [socket('evil', 'shop')]);
    assert.equal(session.code, status.PERMISSION_DENIED);
    assert.match(session.details, /runs on node node-a and may not write node node-b/);
    assert.equal(running.store.get('node-b'), before);
    assert.equal(running.store.get('node-b')?.sockets.size, 2);
    assert.equal(running.store.get('node-b')?.status, 'live');
  });

  for (const [name, token, details] of [
    ['an expired token', 'token-expired', /token has expired/],
    ['a token for another audience', 'token-other-audience', /audiences is invalid/],
    ['an unknown token', 'forged', /invalid bearer token/],
    ['no token', undefined, /no bearer token/],
  ] as const) {
    test(`${name} is UNAUTHENTICATED`, async () => {
      const session = await agentSession(token, 'node-a', []);
      assert.equal(session.code, status.UNAUTHENTICATED);
      assert.match(session.details, details);
      assert.equal(running.store.get('node-a'), undefined);
    });
  }

  for (const [name, token, code] of [
    ['a token of a pod on another node (PERMISSION_DENIED)', 'token-a', /7 PERMISSION_DENIED: .*may not write node node-b/],
    ['an unknown token (UNAUTHENTICATED)', 'forged', /16 UNAUTHENTICATED: .*invalid bearer token/],
  ] as const) {
    test(`the agent's stream, turned away for ${name}: no snapshot sent, retries spaced by the refusal backoff, the reason said`, async () => {
      const sent: string[] = [];
      const events: StreamEvent[] = [];
      const table = new SocketTable();
      table.update([socket('x/1', 'shop')]);
      const controller = new AbortController();
      const stream = new AgentStream({
        address: `127.0.0.1:${running.grpcPort}`, node: 'node-b', bootId: 'b', epoch: BigInt(Date.now()), version: 't', table, token: () => token,
        backoff: { initialMs: 10, maxMs: 20 }, refusedBackoff: { initialMs: 400, maxMs: 800 }, onEvent: (event) => events.push(event), onSent: (kind) => sent.push(kind),
      });
      const runningStream = stream.run(controller.signal);
      const started = Date.now();
      try {
        await waitFor(() => events.filter((event) => event.kind === 'disconnected').length >= 3, { timeoutMs: 15_000, what: 'three refusals' });
      } finally {
        controller.abort();
        await runningStream;
      }
      const refusals = events.filter((event): event is Extract<StreamEvent, { kind: 'disconnected' }> => event.kind === 'disconnected');
      assert.deepEqual(sent.filter((kind) => kind !== 'hello'), [], 'nothing but hellos: no snapshot for an aggregator that turns the agent away');
      for (const refusal of refusals) {
        assert.equal(refusal.refused, true);
        assert.match(refusal.error, code);
      }
      // 10-20 ms apart with the network backoff; the refusal backoff doubles from 400 ms (a random point in the upper half).
      assert.deepEqual(refusals.slice(0, 3).map((refusal) => refusal.retryInMs >= 200), [true, true, true], JSON.stringify(refusals));
      assert.ok(Date.now() - started >= 200 + 400, 'the retries waited');
      assert.equal(events.some((event) => event.kind === 'connected'), false);
    });
  }
});

async function http(path: string, token?: string): Promise<{ status: number; body: { items?: { namespace: string | null }[]; message?: string }; headers: Headers }> {
  const response = await fetch(`http://127.0.0.1:${running.httpPort}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as { items?: { namespace: string | null }[] }, headers: response.headers };
}

describe('queries see only the namespaces whose pods their caller may list', () => {
  test('over HTTP, alice (shop only) sees shop\'s sockets and is told others were hidden', async () => {
    const answer = await http('/api/v1/sockets', 'alice');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.items?.map((item) => item.namespace), ['shop']);
    assert.equal(answer.headers.get('x-kube-netstat-hidden-namespaces'), '1');
    const root = await http('/api/v1/sockets', 'root');
    assert.deepEqual(root.body.items?.map((item) => item.namespace).sort(), ['ops', 'shop']);
  });

  test('the plugin with --server sends the kubeconfig user\'s token (or --token) and says what was left out', async () => {
    const url = `http://127.0.0.1:${running.httpPort}`;
    const kubeconfig = join(dirname(cluster.kubeconfig), 'alice-kubeconfig');
    cluster.server.writeKubeconfig(kubeconfig, { token: 'alice' });
    for (const credentials of [['--kubeconfig', kubeconfig], ['--kubeconfig', cluster.kubeconfig, '--token', 'alice']]) {
      const result = await runCli(['query', '--server', url, ...credentials, '-A', '-a', '-o', 'json']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((JSON.parse(result.stdout) as SocketList).items.map((item) => item.namespace), ['shop']);
      assert.match(result.stderr, /Warning: your credentials do not cover everything: left out are 1 namespace whose pods you may not list; the nodes' own sockets/);
    }
    const refused = await runCli(['query', '--server', url, '--kubeconfig', cluster.kubeconfig, '--token', 'forged', '-A']);
    assert.equal(refused.code, 1);
  });

  test('with --server, a refusal names the aggregator as who refused, and the remedy for that path (not the API server\'s or the service proxy\'s)', async () => {
    const url = `http://127.0.0.1:${running.httpPort}`;
    const forbidden = await runCli(['query', '--server', url, '--kubeconfig', cluster.kubeconfig, '--token', 'alice', '-n', 'ops']);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /the aggregator at http:\/\/127\.0\.0\.1:\d+ refused this query \(403 Forbidden: alice may not list pods in namespace ops\): it answers what your Kubernetes user may list/);
    assert.doesNotMatch(forbidden.stderr, /services\/proxy|\?namespace=/);
    const everywhere = await runCli(['query', '--server', url, '--kubeconfig', cluster.kubeconfig, '--token', 'alice', 'leaks', '-A']);
    assert.equal(everywhere.code, 1);
    assert.match(everywhere.stderr, /may not list pods in every namespace: name one\): .*-n NAMESPACE/);
    assert.doesNotMatch(everywhere.stderr, /\?namespace=/);
    const forged = await runCli(['query', '--server', url, '--kubeconfig', cluster.kubeconfig, '--token', 'forged', '-A']);
    assert.match(forged.stderr, /the aggregator at http:\/\/127\.0\.0\.1:\d+ refused the token \(401 Unauthorized: .*\): .*--token/);
    assert.doesNotMatch(forged.stderr, /API server refused|kubectl get pods/);
  });

  test('every subcommand says what the caller\'s credentials left out, not only the listing', async () => {
    const url = `http://127.0.0.1:${running.httpPort}`;
    for (const command of [['summary'], ['summary', '--by', 'pod'], ['top']]) {
      const result = await runCli(['query', '--server', url, '--kubeconfig', cluster.kubeconfig, '--token', 'alice', '-A', ...command]);
      assert.equal(result.code, 0, `${command.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /Warning: your credentials do not cover everything: left out are 1 namespace whose pods you may not list/, command.join(' '));
    }
  });

  test('asking for a namespace alice may not list is 403', async () => {
    const answer = await http('/api/v1/sockets?namespace=ops', 'alice');
    assert.equal(answer.status, 403);
    assert.match(answer.body.message ?? '', /alice may not list pods in namespace ops/);
  });

  test('an unauthenticated query is 401, a forged token too', async () => {
    assert.equal((await http('/api/v1/sockets')).status, 401);
    assert.equal((await http('/api/v1/sockets', 'forged')).status, 401);
    assert.equal((await http('/healthz').catch(() => ({ status: 0 }))).status !== 401, true);
  });

  test('over gRPC, alice sees only shop; without a token UNAUTHENTICATED', async () => {
    const client = new QueryServiceClient(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    try {
      const list = (metadata: Metadata) =>
        new Promise<{ error: ServiceError | null; namespaces: string[] }>((resolve) =>
          client.list(ListRequest.fromPartial({}), metadata, (error, response) => resolve({ error, namespaces: response?.items.map((item) => item.pod?.namespace ?? '') ?? [] })),
        );
      const alice = new Metadata();
      alice.set('authorization', 'Bearer alice');
      assert.deepEqual((await list(alice)).namespaces, ['shop']);
      assert.equal((await list(new Metadata())).error?.code, status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  test('too many filter values is 400; too many requests is 429', async () => {
    const wide = await http('/api/v1/sockets?port=1,2,3,4', 'root');
    assert.equal(wide.status, 400);
    assert.match(wide.body.message ?? '', /too many port values: 4 \(at most 3 per query\)/);
    const codes = [];
    for (let i = 0; i < 30; i++) codes.push((await http('/api/v1/summary', 'root')).status);
    assert.ok(codes.includes(429), `no 429 in ${codes.join(',')}`);
  });
});
