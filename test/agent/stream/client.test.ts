import assert from 'node:assert/strict';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { after, afterEach, describe, test } from 'node:test';
import { startAggregator, type RunningAggregator } from '../../../aggregator/server/index.js';
import { AgentStream, type StreamEvent } from '../../../agent/stream/client.js';
import { SocketTable } from '../../../agent/stream/socket-table.js';
import { AgentServiceService, type StreamRequest, type StreamResponse } from '../../../gen/kubenetstat/v1/agent.js';
import { Proto, Socket } from '../../../gen/kubenetstat/v1/socket.js';
import { waitFor } from '../../support/wait.js';

/** The agent's stream client against a real aggregator, and against servers that misbehave on purpose. */
const socket = (key: string, recvQ = 0n): Socket =>
  Socket.fromPartial({ key, proto: Proto.PROTO_TCP, stateCode: 1, state: 'ESTABLISHED', ssState: 'ESTAB', localAddress: '127.0.0.1', localPort: 1, foreignAddress: '127.0.0.1', foreignPort: 2, recvQ });

const quiet = () => undefined;

/** What the aggregator answers an accepted hello with: an Ack of sequence 0. */
const HELLO_ACK: StreamResponse = { message: { $case: 'ack', value: { sequence: 0n } } };

describe('AgentStream against the aggregator', () => {
  let aggregator: RunningAggregator;
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  after(async () => {
    controller.abort();
    await running;
    await aggregator?.stop();
  });

  test('snapshot in chunks, then deltas: the aggregator converges to the table', async () => {
    aggregator = await startAggregator({ grpcListen: '127.0.0.1:0', httpListen: '127.0.0.1:0', staleAfterMs: 10_000, evictAfterMs: 60_000, maxMessageBytes: 16 << 20, maxSocketsPerMessage: 20_000, maxSocketsPerNode: 1_000_000, log: quiet });
    const table = new SocketTable();
    table.update(Array.from({ length: 2_500 }, (_, i) => socket(`k${i}`)));
    const events: StreamEvent[] = [];
    const stream = new AgentStream({ address: `127.0.0.1:${aggregator.grpcPort}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table, chunkSize: 1_000, heartbeatMs: 200, onEvent: (e) => events.push(e) });
    running = stream.run(controller.signal);
    const held = () => aggregator.store.get('node-a')?.sockets;
    await waitFor(() => held()?.size === 2_500, { what: 'the snapshot', timeoutMs: 30_000, intervalMs: 10 });
    assert.deepEqual(events.find((e) => e.kind === 'snapshot'), { kind: 'snapshot', sockets: 2_500, chunks: 3, reason: 'connected' });

    const changes = table.update([...Array.from({ length: 2_000 }, (_, i) => socket(`k${i}`, i === 7 ? 99n : 0n)), socket('new')]);
    stream.offer(changes);
    const recvQ = (key: string) => {
      const sockets = held();
      const slot = sockets?.find(key) ?? -1;
      return slot >= 0 ? Socket.decode(sockets!.bytesOf(slot)).recvQ : undefined;
    };
    await waitFor(() => held()?.size === 2_001 && recvQ('k7') === 99n && held()?.has('new') === true, { what: 'the delta', timeoutMs: 30_000, intervalMs: 10 });
    assert.equal(held()?.has('k2400'), false);
  });
});

describe('AgentStream against servers that misbehave', () => {
  /** Stops whatever a test started, even when its assertions failed. */
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A server whose handler the test writes; stopped after the test whatever happens. */
  async function fakeServer(handler: (call: ServerDuplexStream<StreamRequest, StreamResponse>) => void): Promise<{ port: number }> {
    const server = new Server();
    server.addService(AgentServiceService, { stream: handler });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
    cleanups.push(() => server.forceShutdown());
    return { port };
  }

  /** Runs the stream until the test ends. */
  function runStream(stream: AgentStream): void {
    const controller = new AbortController();
    const running = stream.run(controller.signal);
    cleanups.push(async () => {
      controller.abort();
      await running;
    });
  }

  test('a slow aggregator: flow control holds writes back and pending changes coalesce per socket', async () => {
    let call: ServerDuplexStream<StreamRequest, StreamResponse> | undefined;
    const received: StreamRequest[] = [];
    const server = await fakeServer((c) => {
      call = c;
      c.on('data', (request: StreamRequest) => received.push(request));
      c.pause();
    });
    const table = new SocketTable();
    // A server that reads nothing acks no hello either: the snapshot goes after helloWaitMs.
    const stream = new AgentStream({ address: `127.0.0.1:${server.port}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table, chunkSize: 500, heartbeatMs: 60_000, helloWaitMs: 50 });
    runStream(stream);
    await waitFor(() => call !== undefined, { what: 'the connection', timeoutMs: 30_000, intervalMs: 10 });
    // 100 rounds of changes to the same 2,000 sockets while the server reads nothing.
    let maxPending = 0;
    for (let round = 1; round <= 100; round++) {
      stream.offer(table.update(Array.from({ length: 2_000 }, (_, i) => socket(`k${i}`, BigInt(round)))));
      maxPending = Math.max(maxPending, stream.pendingCount);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(maxPending <= 2_000, `pending stays bounded by the sockets there are (${maxPending})`);
    call!.resume();
    await waitFor(() =>
      received.some((r) => r.message?.$case === 'delta' && r.message.value.upserted.some((s) => s.key === 'k1999' && s.recvQ === 100n)), { what: 'the latest state to arrive', timeoutMs: 30_000, intervalMs: 10 });
    const deltas = received.filter((r) => r.message?.$case === 'delta').length;
    assert.ok(deltas < 100 * 4, `coalesced: ${deltas} delta messages for 100 rounds of 2,000 changes`);
  });

  test('a resync request is answered with a fresh full snapshot', async () => {
    const snapshots: bigint[] = [];
    let asked = false;
    const server = await fakeServer((c) => {
      c.on('data', (request: StreamRequest) => {
        if (request.message?.$case === 'hello') c.write(HELLO_ACK);
        if (request.message?.$case === 'snapshot' && request.message.value.last) {
          snapshots.push(request.message.value.snapshotId);
          if (!asked) {
            asked = true;
            c.write({ message: { $case: 'resync', value: { reason: 'test' } } });
          }
        }
      });
    });
    const table = new SocketTable();
    table.update([socket('a')]);
    runStream(new AgentStream({ address: `127.0.0.1:${server.port}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table, heartbeatMs: 60_000 }));
    await waitFor(() => snapshots.length === 2, { what: 'two snapshots', timeoutMs: 30_000, intervalMs: 10 });
    assert.deepEqual(snapshots, [1n, 2n]);
  });

  test('a server that hangs up: reconnect with backoff, hello and snapshot again, sequence from 1', async () => {
    const hellos: number[] = [];
    const firstSequences: bigint[] = [];
    let connections = 0;
    const server = await fakeServer((c) => {
      connections++;
      let first = true;
      c.on('data', (request: StreamRequest) => {
        const message = request.message;
        if (message?.$case === 'hello') {
          hellos.push(connections);
          c.write(HELLO_ACK);
        } else if (message && first) {
          first = false;
          firstSequences.push(message.value.sequence);
          if (connections < 3) c.end();
        }
      });
    });
    const events: StreamEvent[] = [];
    runStream(new AgentStream({ address: `127.0.0.1:${server.port}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table: new SocketTable(), heartbeatMs: 60_000, backoff: { initialMs: 10, maxMs: 50 }, onEvent: (e) => events.push(e) }));
    // Each connection's first message after hello (a snapshot chunk) may trail its hello.
    await waitFor(() => hellos.length >= 3 && firstSequences.length >= 3, { what: 'three connections, each past its hello', timeoutMs: 30_000, intervalMs: 10 });
    assert.deepEqual(firstSequences.slice(0, 3), [1n, 1n, 1n]);
    assert.equal(events.filter((e) => e.kind === 'disconnected').length, 2);
  });

  test('the snapshot waits for the hello\'s ack; from an aggregator too old to ack, it follows after helloWaitMs', async () => {
    for (const acks of [true, false]) {
      const times: Record<string, number> = {};
      const server = await fakeServer((c) => {
        c.on('data', (request: StreamRequest) => {
          const kind = request.message?.$case ?? 'none';
          times[kind] ??= Date.now();
          if (kind === 'hello' && acks) setTimeout(() => c.write(HELLO_ACK), 300);
        });
      });
      const table = new SocketTable();
      table.update([socket('a')]);
      runStream(new AgentStream({ address: `127.0.0.1:${server.port}`, node: 'node-a', bootId: 'b', epoch: 1n, version: 't', table, heartbeatMs: 60_000, helloWaitMs: acks ? 10_000 : 600 }));
      await waitFor(() => times.snapshot !== undefined, { what: 'the snapshot', timeoutMs: 30_000, intervalMs: 10 });
      const after = times.snapshot! - times.hello!;
      assert.ok(acks ? after >= 290 && after < 5_000 : after >= 590, `${acks ? 'after the ack' : 'after helloWaitMs'}: ${after} ms`);
    }
  });
});
