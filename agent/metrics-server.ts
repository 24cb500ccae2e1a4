import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from '../config/listen.js';
import type { AgentMetrics } from './metrics.js';
import type { LogFn } from '../common/log.js';

export interface AgentMetricsServerOptions {
  /** host:port; port 0 picks one. */
  readonly listen: string;
  readonly metrics: AgentMetrics;
  /** /healthz fails once no scan has ended for this long (ms): the scan loop is stuck. */
  readonly unhealthyAfterMs: number;
  readonly log: LogFn;
}

export interface RunningMetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

function sendText(response: ServerResponse, code: number, text: string, contentType = 'text/plain'): void {
  response.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/**
 * The agent's own HTTP listener: GET /metrics (Prometheus' text format) and /healthz, a
 * liveness probe that fails while the scan loop is stuck (no scan ended for
 * `unhealthyAfterMs`). A losing connection to the aggregator is not unhealthy: the agent
 * reconnects by itself, and a restart would not help.
 */
export async function startAgentMetricsServer(options: AgentMetricsServerOptions): Promise<RunningMetricsServer> {
  const { registry } = options.metrics;
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://agent').pathname;
    if (request.method !== 'GET') return sendText(response, 405, `${request.method} is not supported\n`);
    if (path === '/healthz') {
      const since = options.metrics.sinceLastScanMs();
      return since <= options.unhealthyAfterMs ? sendText(response, 200, 'ok\n') : sendText(response, 503, `no scan ended for ${Math.round(since / 1000)} s\n`);
    }
    if (path !== '/metrics') return sendText(response, 404, `no route ${path}; try /metrics or /healthz\n`);
    registry.metrics().then(
      (text) => sendText(response, 200, text, registry.contentType),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        options.log('metrics failed', { error: message }, 'error');
        sendText(response, 500, `metrics failed: ${message}\n`);
      },
    );
  });
  const { host, port } = splitHostPort(options.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
