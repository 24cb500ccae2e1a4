import { credentials } from '@grpc/grpc-js';
import { AgentMetrics } from '../agent/metrics.js';
import { startAgentMetricsServer } from '../agent/metrics-server.js';
import { runAgent } from '../agent/runner.js';
import type { LogFn } from '../common/log.js';
import { AGENT, type AgentSettings } from '../config/agent-settings.js';
import { readPemFile } from '../config/pem-file.js';
import type { Setting } from '../config/setting.js';
import { readSettings } from '../config/read-settings.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { listenError } from './listen-error.js';
import { serviceCommand } from './service-command.js';

const VERSION = '0.1.0';
const { tls } = AGENT.settings;

/** The agent's settings from its flags and the environment. */
export function agentSettings(argv: readonly string[]): AgentSettings {
  return readSettings(AGENT, argv);
}

export const runAgentCommand = serviceCommand(AGENT, async (settings, log, signal) => {
  log('agent starting', { node: settings.nodeName, aggregator: settings.aggregator, intervalSeconds: settings.intervalSeconds });
  await runAgentWith(settings, log, signal);
  log('agent stopped', {});
});

/**
 * Runs the agent until the signal aborts. Its metrics go to `metrics` when given (standalone:
 * the aggregator's registry), else to a listener of their own on --metrics-listen, if set.
 */
export async function runAgentWith(settings: AgentSettings, log: LogFn, signal: AbortSignal, metrics?: AgentMetrics): Promise<void> {
  const kubeConfig = await loadKubeConfig(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {});
  const served = !metrics && settings.metricsListen ? new AgentMetrics() : undefined;
  // A scan loop silent for 10 intervals (at least a minute: a first scan of a dense node is slow) is stuck.
  const server =
    served &&
    (await startAgentMetricsServer({ listen: settings.metricsListen, metrics: served, unhealthyAfterMs: Math.max(60_000, settings.intervalSeconds * 10_000), log }).catch((error: unknown) => {
      throw listenError(error, settings.metricsListen, `choose another --${AGENT.settings.metricsListen.flag}`);
    }));
  if (server) log('agent metrics listening', { port: server.port });
  const hooks = metrics ?? served;
  const pem = (path: string | undefined, setting: Pick<Setting, 'flag'>) => (path ? readPemFile(path, setting) : null);
  const running = runAgent(
    {
      aggregator: settings.aggregator,
      nodeName: settings.nodeName,
      procRoot: settings.procRoot,
      intervalMs: settings.intervalSeconds * 1000,
      fullReadEveryMs: settings.fullReadEverySeconds * 1000,
      heartbeatMs: settings.heartbeatSeconds * 1000,
      chunkSize: settings.chunkSize,
      deletedPodGraceMs: settings.deletedPodGraceSeconds * 1000,
      backoff: { initialMs: settings.backoffInitialSeconds * 1000, maxMs: settings.backoffMaxSeconds * 1000 },
      kubeConfig,
      version: VERSION,
      ...(settings.tokenFile && { tokenFile: settings.tokenFile }),
      ...((settings.tls.ca || settings.tls.cert) && { credentials: credentials.createSsl(pem(settings.tls.ca, tls.ca), pem(settings.tls.key, tls.key), pem(settings.tls.cert, tls.cert)) }),
      log,
      ...(hooks && { onScan: hooks.onScan, onStreamEvent: hooks.onStreamEvent, onSent: hooks.onSent }),
    },
    signal,
  );
  try {
    await running;
  } finally {
    await server?.close();
  }
}
