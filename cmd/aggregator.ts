import type { KubeConfig } from '@kubernetes/client-node';
import { tuneAggregatorHeap } from '../aggregator/server/heap.js';
import { startAggregator, type AggregatorOptions, type RunningAggregator } from '../aggregator/server/index.js';
import type { LogFn } from '../common/log.js';
import { AGGREGATOR, type AggregatorSettings } from '../config/aggregator-settings.js';
import { readPemFile } from '../config/pem-file.js';
import { readSettings } from '../config/read-settings.js';
import { clusterKubeConfig, peerNamesKubeConfig } from './cluster-access.js';
import { listenError } from './listen-error.js';
import { serviceCommand } from './service-command.js';

const FLAGS = AGGREGATOR.settings;

/** The aggregator's settings from its flags and the environment. */
export function aggregatorSettings(argv: readonly string[]): AggregatorSettings {
  return readSettings(AGGREGATOR, argv);
}

export const runAggregatorCommand = serviceCommand(AGGREGATOR, async (settings, log, signal) => {
  const aggregator = await startAggregatorWith(settings, log);
  await waitForAbort(signal);
  log('aggregator draining', {});
  await aggregator.stop();
});

/** --agent-auth and --query-auth as the cluster-access modes of cluster-access.ts. */
const AUTH_MODES = { auto: 'auto', tokenreview: 'on', none: 'off' } as const;

export async function startAggregatorWith(settings: AggregatorSettings, log: LogFn): Promise<RunningAggregator> {
  tuneAggregatorHeap();
  const kubeConfig = await peerNamesKubeConfig(settings, log);
  const eventsKubeConfig = await clusterKubeConfig({ flag: FLAGS.findings.events.flag, feature: 'kubernetes events', mode: settings.findings.events }, settings, log, kubeConfig);
  const agentKubeConfig = await clusterKubeConfig({ flag: FLAGS.agentAuth.flag, feature: 'agent authentication (TokenReview)', mode: AUTH_MODES[settings.agentAuth] }, settings, log, kubeConfig ?? eventsKubeConfig);
  const queryKubeConfig = await clusterKubeConfig({ flag: FLAGS.queryAuth.flag, feature: 'query authentication (TokenReview, SubjectAccessReview)', mode: AUTH_MODES[settings.queryAuth] }, settings, log, kubeConfig ?? eventsKubeConfig ?? agentKubeConfig);
  // The auth module brings the Kubernetes client library (a large heap for every major GC to
  // mark, and resident memory): loaded only when there is a cluster to review tokens against.
  const reviews = agentKubeConfig || queryKubeConfig ? await import('../aggregator/auth/start.js') : undefined;
  if (!agentKubeConfig) log('agent authentication off: any agent may write any node', { agentAuth: settings.agentAuth }, 'warn');
  const { tls } = settings;
  const auth = {
    ...(agentKubeConfig && reviews && { agentAuth: reviews.agentAuthenticator(agentKubeConfig, settings) }),
    ...(queryKubeConfig && reviews && { queryAuth: reviews.queryAuthorizer(queryKubeConfig, settings) }),
    ...(tls.cert && tls.key && { tls: { cert: readPemFile(tls.cert, FLAGS.tls.cert), key: readPemFile(tls.key, FLAGS.tls.key), ...(tls.clientCa && { clientCa: readPemFile(tls.clientCa, FLAGS.tls.clientCa) }) } }),
  };
  try {
    return await startAggregatorOn(settings, kubeConfig, eventsKubeConfig, log, auth);
  } catch (error) {
    throw listenError(error, `${settings.httpListen} / ${settings.grpcListen}`, `choose other ports (--${FLAGS.httpListen.flag}/--${FLAGS.grpcListen.flag}, or --http-port for standalone)`);
  }
}

function startAggregatorOn(settings: AggregatorSettings, kubeConfig: KubeConfig | undefined, eventsKubeConfig: KubeConfig | undefined, log: LogFn, auth: Pick<AggregatorOptions, 'agentAuth' | 'queryAuth' | 'tls'>): Promise<RunningAggregator> {
  return startAggregator({
    ...auth,
    queryRate: settings.queryRate,
    filterLimits: settings.filterLimits,
    grpcListen: settings.grpcListen,
    httpListen: settings.httpListen,
    staleAfterMs: settings.staleAfterSeconds * 1000,
    evictAfterMs: settings.evictAfterSeconds * 1000,
    maxMessageBytes: settings.maxMessageMiB * 1024 * 1024,
    maxSocketsPerMessage: settings.maxSocketsPerMessage,
    maxSocketsPerNode: settings.maxSocketsPerNode,
    watchPollMs: settings.watchPollSeconds * 1000,
    maxWatches: settings.maxWatches,
    maxWatchesPerClient: settings.maxWatchesPerClient,
    maxProxiedWatches: settings.maxProxiedWatches,
    metricsMaxPods: settings.metricsMaxPods,
    findings: settings.findings,
    history: settings.history,
    ...(kubeConfig && { kubeConfig }),
    ...(eventsKubeConfig && { eventsKubeConfig }),
    log,
  });
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
