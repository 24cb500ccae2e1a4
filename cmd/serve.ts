import { parseArgs } from 'node:util';
import { credentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { z } from 'zod';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { AgentMetrics } from '../agent/metrics.js';
import { startAgentMetricsServer } from '../agent/metrics-server.js';
import { runAgent } from '../agent/runner.js';
import { tuneAggregatorHeap } from '../aggregator/heap.js';
import { startAggregator, type AggregatorOptions, type RunningAggregator } from '../aggregator/server.js';
import { agentSettingsSchema, aggregatorSettingsSchema, DEFAULTS, type AgentSettings, type AggregatorSettings } from '../config/defaults.js';
import type { CommandIo } from '../cli/command-io.js';
import { createLogger, type LogFn } from '../common/log.js';
import { clusterKubeConfig, peerNamesKubeConfig, type ClusterAccess } from './cluster-access.js';
import { applyRules, ruleNames } from '../config/rule-flags.js';
import { UsageError } from '../config/usage-error.js';
import { nodeName as defaultNode } from '../cli/local/pods.js';

export const VERSION = '0.1.0';

/** A value from its flag, else its environment variable, else undefined. */
function pick(values: Record<string, string | boolean | string[] | undefined>, flag: string, env: string): string | undefined {
  const value = values[flag];
  return typeof value === 'string' ? value : process.env[env];
}

function number(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : Number(text.replace(/s$/, ''));
}

function validate<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  // Settings in seconds take flags without the unit: intervalSeconds is --interval; findings' thresholds are --rule's.
  const flag = (path: readonly PropertyKey[]): string => {
    const name = path.map(String).join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/-seconds(?=\.|$)/g, '');
    return name === 'findings.evaluate-every' || name === 'findings.events' ? name.slice('findings.'.length) : name === 'history.max-pods' ? 'history-max-pods' : name.replace(/^findings\./, 'rule ');
  };
  throw new UsageError(result.error.issues.map((issue) => `--${flag(issue.path)}: ${issue.message}`).join('; '));
}

const AGENT_OPTIONS = {
  aggregator: { type: 'string' },
  'node-name': { type: 'string' },
  'proc-root': { type: 'string' },
  interval: { type: 'string' },
  'full-read-every': { type: 'string' },
  heartbeat: { type: 'string' },
  kubeconfig: { type: 'string' },
  'metrics-listen': { type: 'string' },
  'token-file': { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const AGGREGATOR_OPTIONS = {
  'agent-auth': { type: 'string' },
  'agent-audience': { type: 'string' },
  'agent-service-account': { type: 'string' },
  'query-auth': { type: 'string' },
  'auth-cache': { type: 'string' },
  'query-rate': { type: 'string' },
  'query-burst': { type: 'string' },
  'max-filter-values': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
  'grpc-listen': { type: 'string' },
  'http-listen': { type: 'string' },
  'stale-after': { type: 'string' },
  'evict-after': { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  'peer-names': { type: 'string' },
  'watch-poll': { type: 'string' },
  'max-watches': { type: 'string' },
  'max-watches-per-client': { type: 'string' },
  'metrics-max-pods': { type: 'string' },
  'evaluate-every': { type: 'string' },
  events: { type: 'string' },
  rule: { type: 'string', multiple: true },
  'history-max-pods': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** PEM files for TLS, by flag: read at start-up so a missing file is a usage error. */
export interface TlsFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

function tlsFiles(values: Record<string, string | boolean | string[] | undefined>, names: { ca: string; cert: string; key: string }, envPrefix: string): TlsFiles | undefined {
  const ca = pick(values, names.ca, `${envPrefix}_${names.ca.toUpperCase().replace(/-/g, '_')}`);
  const cert = pick(values, names.cert, `${envPrefix}_${names.cert.toUpperCase().replace(/-/g, '_')}`);
  const key = pick(values, names.key, `${envPrefix}_${names.key.toUpperCase().replace(/-/g, '_')}`);
  if (!ca && !cert && !key) return undefined;
  if (Boolean(cert) !== Boolean(key)) throw new UsageError(`--${names.cert} and --${names.key} go together`);
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`--${flag} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function agentSettings(argv: readonly string[]): AgentSettings & { kubeconfig?: string; tls?: TlsFiles } {
  const { values } = parseArgs({ args: [...argv], options: AGENT_OPTIONS, strict: true });
  const a = DEFAULTS.agent;
  const settings = validate(agentSettingsSchema, {
    aggregator: pick(values, 'aggregator', 'KUBE_NETSTAT_AGGREGATOR') ?? '',
    nodeName: pick(values, 'node-name', 'NODE_NAME') ?? '',
    procRoot: pick(values, 'proc-root', 'KUBE_NETSTAT_PROC_ROOT') ?? '/proc',
    intervalSeconds: number(pick(values, 'interval', 'KUBE_NETSTAT_INTERVAL'), a.intervalSeconds),
    fullReadEverySeconds: number(pick(values, 'full-read-every', 'KUBE_NETSTAT_FULL_READ_EVERY'), a.fullReadEverySeconds),
    heartbeatSeconds: number(pick(values, 'heartbeat', 'KUBE_NETSTAT_HEARTBEAT'), a.heartbeatSeconds),
    chunkSize: a.chunkSize,
    deletedPodGraceSeconds: a.deletedPodGraceSeconds,
    backoffInitialSeconds: a.backoffInitialSeconds,
    backoffMaxSeconds: a.backoffMaxSeconds,
    metricsListen: pick(values, 'metrics-listen', 'KUBE_NETSTAT_METRICS_LISTEN') ?? a.metricsListen,
    tokenFile: pick(values, 'token-file', 'KUBE_NETSTAT_TOKEN_FILE') ?? a.tokenFile,
  });
  const kubeconfig = pick(values, 'kubeconfig', 'KUBE_NETSTAT_KUBECONFIG');
  const tls = tlsFiles(values, { ca: 'tls-ca', cert: 'tls-cert', key: 'tls-key' }, 'KUBE_NETSTAT');
  return { ...settings, ...(kubeconfig && { kubeconfig }), ...(tls && { tls }) };
}

export function aggregatorSettings(argv: readonly string[]): AggregatorSettings & ClusterAccess & { tls?: TlsFiles } {
  const { values } = parseArgs({ args: [...argv], options: AGGREGATOR_OPTIONS, strict: true });
  const g = DEFAULTS.aggregator;
  const settings = validate(aggregatorSettingsSchema, {
    agentAuth: pick(values, 'agent-auth', 'KUBE_NETSTAT_AGENT_AUTH') ?? g.agentAuth,
    agentAudience: pick(values, 'agent-audience', 'KUBE_NETSTAT_AGENT_AUDIENCE') ?? g.agentAudience,
    agentServiceAccount: pick(values, 'agent-service-account', 'KUBE_NETSTAT_AGENT_SERVICE_ACCOUNT') ?? g.agentServiceAccount,
    queryAuth: pick(values, 'query-auth', 'KUBE_NETSTAT_QUERY_AUTH') ?? g.queryAuth,
    authCacheSeconds: number(pick(values, 'auth-cache', 'KUBE_NETSTAT_AUTH_CACHE'), g.authCacheSeconds),
    queryRate: { perSecond: number(pick(values, 'query-rate', 'KUBE_NETSTAT_QUERY_RATE'), g.queryRate.perSecond), burst: number(pick(values, 'query-burst', 'KUBE_NETSTAT_QUERY_BURST'), g.queryRate.burst) },
    filterLimits: { ...g.filterLimits, maxValues: number(pick(values, 'max-filter-values', 'KUBE_NETSTAT_MAX_FILTER_VALUES'), g.filterLimits.maxValues) },
    grpcListen: pick(values, 'grpc-listen', 'KUBE_NETSTAT_GRPC_LISTEN') ?? g.grpcListen,
    httpListen: pick(values, 'http-listen', 'KUBE_NETSTAT_HTTP_LISTEN') ?? g.httpListen,
    staleAfterSeconds: number(pick(values, 'stale-after', 'KUBE_NETSTAT_STALE_AFTER'), g.staleAfterSeconds),
    evictAfterSeconds: number(pick(values, 'evict-after', 'KUBE_NETSTAT_EVICT_AFTER'), g.evictAfterSeconds),
    peerNames: pick(values, 'peer-names', 'KUBE_NETSTAT_PEER_NAMES') ?? g.peerNames,
    maxMessageMiB: g.maxMessageMiB,
    maxSocketsPerMessage: g.maxSocketsPerMessage,
    maxSocketsPerNode: g.maxSocketsPerNode,
    watchPollSeconds: number(pick(values, 'watch-poll', 'KUBE_NETSTAT_WATCH_POLL'), g.watchPollSeconds),
    maxWatches: number(pick(values, 'max-watches', 'KUBE_NETSTAT_MAX_WATCHES'), g.maxWatches),
    maxWatchesPerClient: number(pick(values, 'max-watches-per-client', 'KUBE_NETSTAT_MAX_WATCHES_PER_CLIENT'), g.maxWatchesPerClient),
    metricsMaxPods: number(pick(values, 'metrics-max-pods', 'KUBE_NETSTAT_METRICS_MAX_PODS'), g.metricsMaxPods),
    findings: {
      ...applyRules([...(process.env.KUBE_NETSTAT_RULES ?? '').split(',').filter((rule) => rule.trim()), ...(values.rule ?? [])]),
      evaluateEverySeconds: number(pick(values, 'evaluate-every', 'KUBE_NETSTAT_EVALUATE_EVERY'), g.findings.evaluateEverySeconds),
      events: pick(values, 'events', 'KUBE_NETSTAT_EVENTS') ?? g.findings.events,
    },
    history: { ...g.history, maxPods: number(pick(values, 'history-max-pods', 'KUBE_NETSTAT_HISTORY_MAX_PODS'), g.history.maxPods) },
  });
  const kubeconfig = pick(values, 'kubeconfig', 'KUBE_NETSTAT_KUBECONFIG');
  const tls = tlsFiles(values, { ca: 'tls-client-ca', cert: 'tls-cert', key: 'tls-key' }, 'KUBE_NETSTAT');
  if (tls && !tls.cert) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key');
  return { ...settings, ...(kubeconfig && { kubeconfig }), ...(values.context && { context: values.context }), ...(tls && { tls }) };
}

/** --help is answered before the other flags are checked: a required one may not be given yet. */
function asksForHelp(argv: readonly string[], options: typeof AGENT_OPTIONS | typeof AGGREGATOR_OPTIONS): boolean {
  return parseArgs({ args: [...argv], options, strict: true }).values.help === true;
}

const AUTH_MODES = { auto: 'auto', tokenreview: 'on', none: 'off' } as const;

export async function startAggregatorWith(settings: AggregatorSettings & ClusterAccess & { tls?: TlsFiles }, log: LogFn): Promise<RunningAggregator> {
  tuneAggregatorHeap();
  const kubeConfig = await peerNamesKubeConfig(settings, log);
  const eventsKubeConfig = await clusterKubeConfig({ flag: 'events', feature: 'kubernetes events', mode: settings.findings.events }, settings, log, kubeConfig);
  const agentKubeConfig = await clusterKubeConfig({ flag: 'agent-auth', feature: 'agent authentication (TokenReview)', mode: AUTH_MODES[settings.agentAuth] }, settings, log, kubeConfig ?? eventsKubeConfig);
  const queryKubeConfig = await clusterKubeConfig({ flag: 'query-auth', feature: 'query authentication (TokenReview, SubjectAccessReview)', mode: AUTH_MODES[settings.queryAuth] }, settings, log, kubeConfig ?? eventsKubeConfig ?? agentKubeConfig);
  // The auth module brings the Kubernetes client library (~40 MiB more heap for every major GC
  // to mark, ~110 MiB more RSS): loaded only when there is a cluster to review tokens against.
  const reviews = agentKubeConfig || queryKubeConfig ? await import('../aggregator/auth/start.js') : undefined;
  if (!agentKubeConfig) log('agent authentication off: any agent may write any node', { agentAuth: settings.agentAuth }, 'warn');
  const tls = settings.tls && {
    cert: readPem(settings.tls.cert!, 'tls-cert'),
    key: readPem(settings.tls.key!, 'tls-key'),
    ...(settings.tls.ca && { clientCa: readPem(settings.tls.ca, 'tls-client-ca') }),
  };
  const auth = {
    ...(agentKubeConfig && reviews && { agentAuth: reviews.agentAuthenticator(agentKubeConfig, settings) }),
    ...(queryKubeConfig && reviews && { queryAuth: reviews.queryAuthorizer(queryKubeConfig, settings) }),
    ...(tls && { tls }),
  };
  try {
    return await startAggregatorOn(settings, kubeConfig, eventsKubeConfig, log, auth);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new UsageError(`cannot listen on ${settings.httpListen} / ${settings.grpcListen} (${String(code)}): choose other ports (--http-listen/--grpc-listen, or --http-port for standalone)`);
    }
    throw error;
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
    metricsMaxPods: settings.metricsMaxPods,
    findings: settings.findings,
    history: settings.history,
    ...(kubeConfig && { kubeConfig }),
    ...(eventsKubeConfig && { eventsKubeConfig }),
    log,
  });
}

/**
 * Runs the agent until the signal aborts. Its metrics go to `metrics` when given (standalone:
 * the aggregator's registry), else to a listener of their own on --metrics-listen, if set.
 */
export async function runAgentWith(settings: AgentSettings & { kubeconfig?: string; tls?: TlsFiles }, log: LogFn, signal: AbortSignal, metrics?: AgentMetrics): Promise<void> {
  const kubeConfig = await loadKubeConfig(settings.kubeconfig ? { kubeconfig: settings.kubeconfig } : {});
  const served = !metrics && settings.metricsListen ? new AgentMetrics() : undefined;
  // A scan loop silent for 10 intervals (at least a minute: a first scan of a dense node is slow) is stuck.
  const server =
    served &&
    (await startAgentMetricsServer({ listen: settings.metricsListen, metrics: served, unhealthyAfterMs: Math.max(60_000, settings.intervalSeconds * 10_000), log }).catch((error: unknown) => {
      const code = error instanceof Error && 'code' in error ? error.code : undefined;
      throw code === 'EADDRINUSE' || code === 'EACCES' ? new UsageError(`cannot listen on ${settings.metricsListen} (${String(code)}): choose another --metrics-listen`) : error;
    }));
  if (server) log('agent metrics listening', { port: server.port });
  const hooks = metrics ?? served;
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
      ...(settings.tls && { credentials: credentials.createSsl(settings.tls.ca ? readPem(settings.tls.ca, 'tls-ca') : null, settings.tls.key ? readPem(settings.tls.key, 'tls-key') : null, settings.tls.cert ? readPem(settings.tls.cert, 'tls-cert') : null) }),
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

const AGENT_USAGE = `usage: kube-netstat agent --aggregator HOST:PORT --node-name NAME [--interval 1s]
                          [--full-read-every ${DEFAULTS.agent.fullReadEverySeconds}s] [--heartbeat 5s] [--proc-root /host/proc]
                          [--kubeconfig FILE] [--metrics-listen HOST:PORT] [--token-file PATH]
                          [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]

Scans this node's sockets every interval and streams the changes to the aggregator.
A namespace's tables are read again only when its socket counters (snmp, sockstat) move or
its processes change, and in full at least every --full-read-every seconds: changes that
move no counter show within that time.
--metrics-listen (default: none) serves the agent's own Prometheus metrics on /metrics there
(scan duration, sockets, namespaces read and skipped, errors, wire bytes, reconnects) and
/healthz, which fails while no scan ends for ten intervals (at least a minute).
--token-file (default: none) sends that projected service-account token to the aggregator
(authorization: Bearer), read again at every reconnect when the file changed (rotation).
--tls-ca trusts that CA for the aggregator's gRPC port (TLS); --tls-cert/--tls-key present a
client certificate (mutual TLS).
Each flag can come from the environment instead, as a DaemonSet sets them:
KUBE_NETSTAT_AGGREGATOR, NODE_NAME, KUBE_NETSTAT_INTERVAL, KUBE_NETSTAT_FULL_READ_EVERY,
KUBE_NETSTAT_HEARTBEAT, KUBE_NETSTAT_PROC_ROOT, KUBE_NETSTAT_KUBECONFIG (default: in-cluster
credentials), KUBE_NETSTAT_METRICS_LISTEN, KUBE_NETSTAT_TOKEN_FILE, KUBE_NETSTAT_TLS_CA,
KUBE_NETSTAT_TLS_CERT, KUBE_NETSTAT_TLS_KEY.
`;

const AGGREGATOR_USAGE = `usage: kube-netstat aggregator [--grpc-listen ${DEFAULTS.aggregator.grpcListen}] [--http-listen ${DEFAULTS.aggregator.httpListen}]
                               [--stale-after ${DEFAULTS.aggregator.staleAfterSeconds}s] [--evict-after ${DEFAULTS.aggregator.evictAfterSeconds}s]
                               [--watch-poll ${DEFAULTS.aggregator.watchPollSeconds}s] [--max-watches ${DEFAULTS.aggregator.maxWatches}] [--max-watches-per-client ${DEFAULTS.aggregator.maxWatchesPerClient}]
                               [--peer-names ${DEFAULTS.aggregator.peerNames}|on|off] [--kubeconfig FILE] [--context NAME]
                               [--metrics-max-pods ${DEFAULTS.aggregator.metricsMaxPods}]
                               [--evaluate-every ${DEFAULTS.aggregator.findings.evaluateEverySeconds}s] [--rule NAME=VALUE ...] [--events ${DEFAULTS.aggregator.findings.events}|on|off]
                               [--history-max-pods ${DEFAULTS.aggregator.history.maxPods}]
                               [--agent-auth ${DEFAULTS.aggregator.agentAuth}|tokenreview|none] [--agent-audience ${DEFAULTS.aggregator.agentAudience}] [--agent-service-account NS/NAME]
                               [--query-auth ${DEFAULTS.aggregator.queryAuth}|tokenreview|auto] [--auth-cache ${DEFAULTS.aggregator.authCacheSeconds}s]
                               [--query-rate ${DEFAULTS.aggregator.queryRate.perSecond}] [--query-burst ${DEFAULTS.aggregator.queryRate.burst}] [--max-filter-values ${DEFAULTS.aggregator.filterLimits.maxValues}]
                               [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]

Receives agents' streams and answers queries: gRPC QueryService (List, Summary, Top, Watch) and
HTTP GET /api/v1/sockets (SocketList JSON; with watch=1 the listing, then its changes, as
one JSON event per line), /api/v1/summary?by=namespace|workload|pod|node,
/api/v1/top?by=close-wait|recv-q|send-q|<state>, /healthz, /readyz, and /metrics for Prometheus:
socket counts by state per pod (kubenetstat_sockets), per namespace and for nodes' own
sockets, and the aggregator's health (nodes, ingest, query latency, watches). At most
--metrics-max-pods pods get series of their own, those with the most CLOSE-WAIT and sockets
first; the others are summed per namespace under pod="<other>".
Open watches look for changes every --watch-poll seconds; at most --max-watches are open,
at most --max-watches-per-client of one client (an authenticated user, else an address).
Every --evaluate-every seconds the leak rules look at every socket: GET /api/v1/findings
(FindingList: CLOSE_WAIT leaks, stuck queues, listen-queue overflow, SYN floods, socket
growth, lingering FIN_WAIT2/LAST_ACK, ephemeral-port pressure; ?namespace=&pod=&rule=
&severity=&state=open|resolved|all) and /api/v1/history?namespace=NS&pod=NAME (PodHistory:
counts by state, 10 s for 1 h and 5 min for 24 h, for at most --history-max-pods pods).
Thresholds: --rule NAME=VALUE, repeatable (KUBE_NETSTAT_RULES=NAME=VALUE,...); the names
and their defaults:
  ${ruleNames().join('\n  ')}
--events posts a Kubernetes Event on the pod when a finding opens: auto when a kubeconfig or
in-cluster credentials are found (it needs create on events; refused, it stops), on requires
them, off never.
Answers name each socket's peer (the pod, Service or node behind its foreign address, else
local or external) from cluster-wide informers on pods, services, endpointslices and nodes:
--peer-names auto does when a kubeconfig or in-cluster credentials are found, on requires
them, off never asks the API. Until the informers have listed once, peers are null.
--agent-auth tokenreview verifies each agent's token (TokenReview, audience --agent-audience),
requires the service account --agent-service-account (empty: any), and lets the stream write
only the node its pod runs on (PERMISSION_DENIED otherwise; bad tokens UNAUTHENTICATED); auto
does when a kubeconfig or in-cluster credentials are found, none trusts every agent.
--query-auth tokenreview requires a bearer token on queries (HTTP 401 / UNAUTHENTICATED) and
answers only namespaces whose pods the caller may list (SubjectAccessReview; sockets outside
pods need list pods and nodes cluster-wide); reviews are reused for --auth-cache seconds.
The service proxy strips the user's token: behind it, keep none and grant services/proxy.
Each client (user, else address) gets --query-rate queries per second, bursts of --query-burst
(beyond: 429 / RESOURCE_EXHAUSTED); a filter lists at most --max-filter-values values (400).
--tls-cert/--tls-key serve gRPC over TLS; --tls-client-ca requires client certificates.
Flags also come from the environment: KUBE_NETSTAT_AGENT_AUTH, KUBE_NETSTAT_AGENT_AUDIENCE,
KUBE_NETSTAT_AGENT_SERVICE_ACCOUNT, KUBE_NETSTAT_QUERY_AUTH, KUBE_NETSTAT_AUTH_CACHE,
KUBE_NETSTAT_QUERY_RATE, KUBE_NETSTAT_QUERY_BURST, KUBE_NETSTAT_MAX_FILTER_VALUES,
KUBE_NETSTAT_TLS_CERT, KUBE_NETSTAT_TLS_KEY, KUBE_NETSTAT_TLS_CLIENT_CA, KUBE_NETSTAT_GRPC_LISTEN, KUBE_NETSTAT_HTTP_LISTEN,
KUBE_NETSTAT_STALE_AFTER, KUBE_NETSTAT_EVICT_AFTER, KUBE_NETSTAT_WATCH_POLL, KUBE_NETSTAT_MAX_WATCHES,
KUBE_NETSTAT_MAX_WATCHES_PER_CLIENT, KUBE_NETSTAT_PEER_NAMES, KUBE_NETSTAT_KUBECONFIG, KUBE_NETSTAT_METRICS_MAX_PODS,
KUBE_NETSTAT_EVALUATE_EVERY, KUBE_NETSTAT_EVENTS, KUBE_NETSTAT_HISTORY_MAX_PODS.
`;

export async function runAgentCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  if (asksForHelp(argv, AGENT_OPTIONS)) {
    io.stdout(AGENT_USAGE);
    return 0;
  }
  const settings = agentSettings(argv);
  const { log } = createLogger('agent');
  log('agent starting', { node: settings.nodeName, aggregator: settings.aggregator, intervalSeconds: settings.intervalSeconds });
  await runAgentWith(settings, log, io.signal ?? new AbortController().signal);
  log('agent stopped', {});
  return 0;
}

export async function runAggregatorCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  if (asksForHelp(argv, AGGREGATOR_OPTIONS)) {
    io.stdout(AGGREGATOR_USAGE);
    return 0;
  }
  const settings = aggregatorSettings(argv);
  const { log } = createLogger('aggregator');
  const aggregator = await startAggregatorWith(settings, log);
  await waitForAbort(io.signal);
  log('aggregator draining', {});
  await aggregator.stop();
  return 0;
}

/**
 * Agent and aggregator for this host in one process, over the same gRPC protocol on
 * loopback: the embedded default, no cluster needed.
 */
export async function runStandaloneCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { 'http-port': { type: 'string' }, 'proc-root': { type: 'string' }, interval: { type: 'string' }, kubeconfig: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    io.stdout(`usage: kube-netstat standalone [--http-port 9101] [--interval 1s] [--proc-root /proc] [--kubeconfig FILE]\n\nAgent and aggregator for this host in one process; query it over HTTP.\nIts /metrics has the aggregator's series and the agent's (kubenetstat_agent_*).\nWith a kubeconfig (or one found as kubectl finds it), pods and peers are named.\n`);
    return 0;
  }
  const { log } = createLogger('standalone');
  const httpPort = values['http-port'] ?? String(DEFAULTS.aggregator.httpListen.split(':')[1]);
  // Both halves use the kubeconfig given: the agent for pod names, the aggregator for peer names.
  const kubeconfig = values.kubeconfig ? ['--kubeconfig', values.kubeconfig] : [];
  const aggregator = await startAggregatorWith(
    { ...aggregatorSettings(kubeconfig), agentAuth: 'none', grpcListen: '127.0.0.1:0', httpListen: `127.0.0.1:${httpPort}` },
    log,
  );
  // Kubernetes node names are lower-case DNS names; a host name may not be.
  const node = defaultNode({ node: undefined });
  const agent = agentSettings(['--aggregator', `127.0.0.1:${aggregator.grpcPort}`, '--node-name', node.toLowerCase(), ...(values['proc-root'] ? ['--proc-root', values['proc-root']] : []), ...(values.interval ? ['--interval', values.interval] : []), ...kubeconfig]);
  const base = `http://127.0.0.1:${aggregator.httpPort}`;
  const self = selfCommand(process.argv[1]);
  io.stdout(
    `kube-netstat standalone: watching this host (node "${agent.nodeName}"), refreshed every ${agent.intervalSeconds}s.\n` +
      `Query it:\n` +
      ([
        [`'${base}/api/v1/sockets?state=close-wait'`, 'CLOSE_WAIT sockets, SocketList JSON'],
        [`'${base}/api/v1/sockets?proto=tcp&state=listening&limit=20'`, ''],
        [`'${base}/api/v1/sockets?namespace=shop&labelSelector=app%3Dcart'`, ''],
        [`'${base}/api/v1/summary?by=namespace'`, 'counts by state'],
        [`'${base}/api/v1/top?by=close-wait&limit=10'`, 'pods with the most CLOSE_WAIT'],
        [`${base}/metrics`, 'Prometheus: the aggregator\'s and the agent\'s'],
        [`${base}/healthz`, ''],
      ] as const)
        .map(([url, what]) => (what ? `  curl -s ${url.padEnd(64)}  # ${what}\n` : `  curl -s ${url}\n`))
        .join('') +
      `or with netstat's flags and columns (the kubectl-netstat plugin, pointed at it):\n` +
      `  ${self} query --server ${base} -A -tanp\n` +
      `  ${self} query --server ${base} -A summary\n` +
      `  ${self} query --server ${base} -A watch --state close-wait\n` +
      `Stop with Ctrl-C.\n`,
  );
  const signal = io.signal ?? new AbortController().signal;
  // One process, one /metrics: the agent's series go on the aggregator's registry (it has the process metrics already).
  await runAgentWith(agent, log, signal, new AgentMetrics({ registry: aggregator.metrics.registry, processMetrics: false }));
  await aggregator.stop();
  return 0;
}

/**
 * How the user ran this binary, for commands to copy: `kube-netstat` when installed (npm's bin
 * link on PATH), `node bin/kube-netstat.js` from a checkout (`npm start`).
 */
export function selfCommand(script: string | undefined): string {
  if (script === undefined || basename(script) === 'kube-netstat') return 'kube-netstat';
  const path = relative(process.cwd(), script);
  return `node ${path.startsWith('..') ? script : path}`;
}

function waitForAbort(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
