import type { Server } from '@grpc/grpc-js';
import type { ServerHttp2Session } from 'node:http2';
import type { LogFn } from '../../common/log.js';

/**
 * HTTP/2 receive windows of the aggregator's gRPC connections. grpc-js leaves Node's: 64 KiB
 * per stream and per connection, less than an agent's burst of deltas, which then waits for
 * WINDOW_UPDATE round trips through the aggregator's event loop; with many agents sending at
 * once neither side stays busy. The replay bench (bench/replay.ts) compares window sizes
 * (README, Performance).
 *
 * What it costs: an agent may have up to a stream window of bytes in flight that the
 * aggregator has not read. Each agent uses one stream, so the worst case — an aggregator that
 * stalls while every agent sends — is STREAM_WINDOW_BYTES per agent.
 */
export const STREAM_WINDOW_BYTES = 256 * 1024;
/** The connection's window: at least the stream's (one agent stream, and queries). */
export const SESSION_WINDOW_BYTES = 1024 * 1024;

/**
 * Sets the windows on every HTTP/2 session `server` accepts from now on. grpc-js has no option
 * for it; its servers are its private `http2Servers` map. If an upgrade of grpc-js removes
 * that, this logs so and returns false, and the aggregator runs with Node's windows
 * (test/aggregator/server/http2-windows.test.ts sees the setting reach a client, so an upgrade that breaks it
 * fails there).
 */
export function widenReceiveWindows(server: Server, log: LogFn): boolean {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  const listeners = servers instanceof Map ? [...servers.keys()].filter((candidate): candidate is { on: (event: 'session', listener: (session: ServerHttp2Session) => void) => void } => typeof (candidate as { on?: unknown })?.on === 'function') : [];
  if (listeners.length === 0) {
    log('HTTP/2 receive windows left at their defaults: grpc-js no longer shows its servers', { streamWindowBytes: STREAM_WINDOW_BYTES }, 'warn');
    return false;
  }
  for (const http2Server of listeners) {
    http2Server.on('session', (session) => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES);
        session.settings({ initialWindowSize: STREAM_WINDOW_BYTES });
      } catch (error) {
        // A session that closed before its settings went out.
        log('HTTP/2 receive windows not set on a connection', { error: error instanceof Error ? error.message : String(error) }, 'warn');
      }
    });
  }
  return true;
}
