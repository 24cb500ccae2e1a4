import assert from 'node:assert/strict';
import { connect, type ClientHttp2Session } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { SESSION_WINDOW_BYTES, STREAM_WINDOW_BYTES, type RunningAggregator } from '../../../aggregator/server/index.js';
import { aggregatorSettings, startAggregatorWith } from '../../../cmd/aggregator.js';

/**
 * The aggregator's HTTP/2 receive windows (aggregator/http2-windows.ts) as a client sees them:
 * its SETTINGS and the connection's window. They are set through a private field of grpc-js,
 * so an upgrade that moves it fails here instead of silently slowing ingest.
 */
describe('HTTP/2 receive windows', () => {
  let aggregator: RunningAggregator;
  let session: ClientHttp2Session | undefined;
  const logs: string[] = [];
  before(async () => {
    aggregator = await startAggregatorWith(aggregatorSettings(['--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0']), (message) => logs.push(message));
  });
  after(async () => {
    session?.destroy();
    await aggregator?.stop();
  });

  test('a client is told the stream window and given the connection window', async () => {
    session = connect(`http://127.0.0.1:${aggregator.grpcPort}`);
    const client = session;
    const told = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(client.remoteSettings?.initialWindowSize), 5_000);
      client.on('remoteSettings', (settings) => {
        if (settings.initialWindowSize !== STREAM_WINDOW_BYTES) return;
        clearTimeout(timer);
        resolve(settings.initialWindowSize);
      });
    });
    assert.equal(told, STREAM_WINDOW_BYTES);
    // The connection window arrives as a WINDOW_UPDATE right after; bounded wait for it.
    const deadline = Date.now() + 5_000;
    while ((client.state.remoteWindowSize ?? 0) < SESSION_WINDOW_BYTES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(client.state.remoteWindowSize, SESSION_WINDOW_BYTES);
    assert.ok(!logs.some((message) => message.startsWith('HTTP/2 receive windows')), logs.join('\n'));
  });
});
