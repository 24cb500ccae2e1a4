import assert from 'node:assert/strict';
import { credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { AgentServiceClient } from '../../../gen/kubenetstat/v1/agent.js';
import { ListRequest, QueryServiceClient } from '../../../gen/kubenetstat/v1/query.js';
import { startApiCluster, type ApiCluster } from '../../support/api-cluster.js';
import { makeMutualTlsFiles, type MutualTlsFiles } from '../../support/mtls.js';
import { exactView, getText, waitConverged } from '../../support/stream/converge.js';
import { startAgentAndAggregator, type AgentAndAggregator } from '../../support/stream/agent-and-aggregator.js';

/**
 * Mutual TLS on the aggregator's gRPC port, through the CLI's own flags: the aggregator with
 * --tls-cert/--tls-key/--tls-client-ca, a real agent (runAgentWith) with --tls-ca/--tls-cert/
 * --tls-key. Certificates come from a throw-away CA (openssl). The HTTP port is not TLS: it
 * stays plain HTTP for the API server's service proxy (the plugin's path).
 */

const NODE = 'tls-node';
let certs: MutualTlsFiles;
let cluster: ApiCluster;
let started: AgentAndAggregator;
const agentLogs: string[] = [];

before(async () => {
  certs = await makeMutualTlsFiles();
  cluster = await startApiCluster();
  started = await startAgentAndAggregator({
    node: NODE,
    tree: { netnsInode: '4026539500', podUid: '6f6f6f6f-0000-4000-8000-000000000006', containerId: 'f'.repeat(64), inodeBase: 8_200_000 },
    aggregatorFlags: ['--peer-names', 'off', '--events', 'off', '--agent-auth', 'none', '--query-auth', 'none', '--tls-cert', certs.serverCert, '--tls-key', certs.serverKey, '--tls-client-ca', certs.ca],
    agentFlags: ['--kubeconfig', cluster.kubeconfig, '--tls-ca', certs.ca, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey],
    agentLog: (message, fields) => agentLogs.push(`${message} ${JSON.stringify(fields)}`),
  });
});

after(async () => {
  await started?.stop();
  await cluster?.stop();
  certs?.remove();
});

/** One agent stream's outcome with these credentials: 'open' once the aggregator answered, else how it failed. */
function tryStream(channel: ChannelCredentials): Promise<{ code: status | 'open'; details: string }> {
  const client = new AgentServiceClient(`127.0.0.1:${started.aggregator.grpcPort}`, channel);
  const call = client.stream(new Metadata(), { deadline: Date.now() + 5_000 });
  return new Promise((resolve) => {
    const done = (outcome: { code: status | 'open'; details: string }): void => {
      call.cancel();
      client.close();
      resolve(outcome);
    };
    call.on('error', (error: ServiceError) => done({ code: error.code, details: error.details }));
    call.on('data', () => done({ code: 'open', details: '' }));
    // A hello for a node nobody else writes, then a heartbeat out of order: any answer (a resync) means the stream is open.
    call.write({ message: { $case: 'hello', value: { nodeName: 'tls-probe', bootId: 'b', epoch: 1n, version: 't', capabilities: [] } } });
    call.write({ message: { $case: 'heartbeat', value: { sequence: 5n, socketCount: 0n } } });
  });
}

function list(channel: ChannelCredentials): Promise<{ error: ServiceError | null; nodes: string[] }> {
  const client = new QueryServiceClient(`127.0.0.1:${started.aggregator.grpcPort}`, channel);
  return new Promise((resolve) =>
    client.list(ListRequest.fromPartial({ nodes: [NODE] }), new Metadata(), { deadline: Date.now() + 5_000 }, (error, response) => {
      client.close();
      resolve({ error, nodes: [...new Set(response?.items.map((item) => item.node) ?? [])] });
    }),
  );
}

const mutual = (): ChannelCredentials => credentials.createSsl(certs.read(certs.ca), certs.read(certs.clientKey), certs.read(certs.clientCert));

describe('mutual TLS on the gRPC port', () => {
  test('a real agent started with --tls-ca/--tls-cert/--tls-key completes the handshake and its node is written', async () => {
    await waitConverged(started.aggregator.httpPort, NODE, started.tree.root);
    assert.equal(started.aggregator.store.get(NODE)?.status, 'live');
  });

  test('the QueryService answers on the same TLS port to a client with a certificate of the CA', async () => {
    const answer = await list(mutual());
    assert.equal(answer.error, null);
    assert.deepEqual(answer.nodes, [NODE]);
  });

  test('without a client certificate the handshake is refused: no stream, no query', async () => {
    const before = await exactView(started.aggregator.httpPort, NODE);
    const stream = await tryStream(credentials.createSsl(certs.read(certs.ca)));
    assert.equal(stream.code, status.UNAVAILABLE, stream.details);
    assert.equal((await list(credentials.createSsl(certs.read(certs.ca)))).error?.code, status.UNAVAILABLE);
    assert.equal(started.aggregator.store.get('tls-probe'), undefined);
    assert.deepEqual(await exactView(started.aggregator.httpPort, NODE), before);
  });

  test('a client certificate issued by another CA is refused', async () => {
    const stranger = credentials.createSsl(certs.read(certs.ca), certs.read(certs.strangerKey), certs.read(certs.strangerCert));
    const stream = await tryStream(stranger);
    assert.equal(stream.code, status.UNAVAILABLE, stream.details);
    assert.equal((await list(stranger)).error?.code, status.UNAVAILABLE);
    assert.equal(started.aggregator.store.get('tls-probe'), undefined);
  });

  test('plain TCP, and a client that does not trust the server\'s CA, are refused', async () => {
    assert.equal((await tryStream(credentials.createInsecure())).code, status.UNAVAILABLE);
    const distrustful = credentials.createSsl(certs.read(certs.strangerCa), certs.read(certs.clientKey), certs.read(certs.clientCert));
    assert.equal((await tryStream(distrustful)).code, status.UNAVAILABLE);
    assert.equal(started.aggregator.store.get('tls-probe'), undefined);
  });

  test('the probe itself works: with the right certificate a stream opens (so the refusals above are the TLS layer\'s)', async () => {
    assert.equal((await tryStream(mutual())).code, 'open');
  });

  test('the HTTP port is not TLS: plain HTTP for the service proxy (the plugin\'s path), unaffected by --tls-*', async () => {
    assert.deepEqual(await getText(started.aggregator.httpPort, '/healthz'), { status: 200, text: 'ok\n' });
    assert.ok((await exactView(started.aggregator.httpPort, NODE)).items.length > 0);
    assert.ok(!agentLogs.some((line) => line.startsWith('aggregator unreachable')), `the agent never lost its stream: ${agentLogs.join('\n')}`);
  });
});
