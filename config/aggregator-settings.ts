import { formatDuration } from './duration.js';
import { choice, count, defaultsOf, duration, number, optionalText, text, type Program, type Values } from './setting.js';

/** `kube-netstat aggregator`: every setting of the aggregator, declared once (setting.ts). */

const LISTEN = { regex: /^.*:\d+$/, expected: 'expected host:port' };
const AUTH_MODES = ['auto', 'tokenreview', 'none'] as const;
const CLUSTER_MODES = ['auto', 'on', 'off'] as const;

/**
 * Leak rules (aggregator/findings): every evaluateEverySeconds one pass over every socket (no
 * decoding) feeds the history and these rules; thresholds by --rule NAME=VALUE.
 */
const findings = {
  evaluateEverySeconds: duration({ flag: 'evaluate-every', env: 'KUBE_NETSTAT_EVALUATE_EVERY', default: 10, min: 1, max: 300, help: 'Time between two evaluations of the leak rules: how late a finding opens or resolves.' }),
  events: choice({
    flag: 'events',
    env: 'KUBE_NETSTAT_EVENTS',
    choices: CLUSTER_MODES,
    default: 'auto',
    help: 'Post a Kubernetes Event on the pod when a finding opens: auto when a kubeconfig or in-cluster credentials are found (it needs create on events; refused, it stops), on requires them, off never.',
  }),
  closeWait: {
    windowSeconds: duration({ rule: 'close-wait.window', default: 600, min: 10, max: 86_400, help: "Window over which the floor of a pod's CLOSE_WAIT count must rise by close-wait.min-growth to be a leak." }),
    minGrowth: count({ rule: 'close-wait.min-growth', default: 10, min: 1, max: 100_000, unit: 'sockets', help: "Rise of a pod's CLOSE_WAIT floor over close-wait.window that is a leak." }),
    /** Healthy code closes within milliseconds of EOF. */
    maxAgeSeconds: duration({ rule: 'close-wait.max-age', default: 600, min: 10, max: 86_400, help: 'A CLOSE_WAIT socket older than this is a leak by itself.' }),
    criticalCount: count({ rule: 'close-wait.critical-count', default: 500, min: 1, max: 10_000_000, unit: 'sockets', help: "From this many CLOSE_WAIT sockets in a pod a leak is critical." }),
  },
  stuckQueue: {
    /** Above the agent's --full-read-every: a partly read queue moves no counter, so it shows late. */
    afterSeconds: duration({ rule: 'stuck-queue.after', default: 60, min: 5, max: 3_600, help: 'A Recv-Q or Send-Q non-empty and not shrinking this long is stuck.' }),
    minBytes: count({ rule: 'stuck-queue.min-bytes', default: 1, min: 1, max: 1e9, unit: 'bytes', help: 'Smaller queues are not judged.' }),
  },
  listenQueue: {
    afterSeconds: duration({ rule: 'listen-queue.after', default: 60, min: 5, max: 3_600, help: "A listener's accept queue non-empty and not shrinking this long: nobody accepts." }),
  },
  synRecv: {
    minCount: count({ rule: 'syn-recv.min-count', default: 128, min: 1, max: 1_000_000, unit: 'sockets', help: 'This many SYN_RECV on one port, for syn-recv.for, are a flood.' }),
    forSeconds: duration({ rule: 'syn-recv.for', default: 30, min: 0, max: 3_600, help: 'How long syn-recv.min-count must hold to be a flood.' }),
  },
  socketGrowth: {
    windowSeconds: duration({ rule: 'socket-growth.window', default: 900, min: 10, max: 86_400, help: "Window over which the floor of a process's socket count must rise by socket-growth.min-growth to be a leak." }),
    minGrowth: count({ rule: 'socket-growth.min-growth', default: 200, min: 1, max: 1_000_000, unit: 'sockets', help: "Rise of a process's socket floor over socket-growth.window that is a leak." }),
    minSockets: count({ rule: 'socket-growth.min-sockets', default: 500, min: 1, max: 10_000_000, unit: 'sockets', help: 'Only a process holding at least this many sockets is judged.' }),
  },
  /** FIN_WAIT2 above tcp_fin_timeout (60 s): orphans never count. */
  lingering: {
    finWait2Seconds: duration({ rule: 'lingering.fin-wait2', default: 300, min: 10, max: 86_400, help: 'A FIN_WAIT2 socket older than this lingers.' }),
    lastAckSeconds: duration({ rule: 'lingering.last-ack', default: 120, min: 10, max: 86_400, help: 'A LAST_ACK socket older than this lingers.' }),
  },
  portPressure: {
    warnShare: number({ rule: 'port-pressure.warn-share', default: 0.5, min: 0.01, max: 1, help: 'Share of the ephemeral port range in use towards one destination that is a warning.' }),
    criticalShare: number({ rule: 'port-pressure.critical-share', default: 0.8, min: 0.01, max: 1, help: 'Share of the ephemeral port range in use towards one destination that is critical.' }),
  },
  resolvedRetentionSeconds: duration({ rule: 'resolved-retention', default: 3_600, min: 0, max: 604_800, help: 'How long a resolved finding stays listed.' }),
  maxFindings: count({ rule: 'max-findings', default: 10_000, min: 100, max: 1_000_000, unit: 'findings', help: 'Findings kept (~2–4 KiB each), resolved ones dropped first.' }),
  evidenceSockets: count({ rule: 'evidence-sockets', default: 200, min: 1, max: 100_000, unit: 'sockets', help: 'Sockets decoded per finding for its evidence (process names).' }),
  /** A share of the open findings per evaluation, oldest evidence first: findings opened together are not all re-read at once. */
  evidenceRefreshSeconds: duration({ rule: 'evidence-refresh', default: 60, min: 10, max: 3_600, help: "How often a finding's evidence is gathered again." }),
};

/**
 * Per-pod counts by state (aggregator/history): a fine sample per fineSeconds kept for
 * fineRetentionSeconds, a coarse one (the highest fine one) per coarseSeconds kept for
 * coarseRetentionSeconds. A state's series costs a byte per sample while its counts stay below
 * 256 (2 below 65,536, 4 beyond).
 */
const history = {
  fineSeconds: duration({ default: 10, min: 1, max: 3_600, help: 'Time between two fine samples.' }),
  fineRetentionSeconds: duration({ default: 3_600, min: 60, max: 86_400, help: 'How long fine samples are kept.' }),
  coarseSeconds: duration({ default: 300, min: 10, max: 86_400, help: 'Time between two coarse samples.' }),
  coarseRetentionSeconds: duration({ default: 86_400, min: 3_600, max: 2_592_000, help: 'How long coarse samples are kept.' }),
  maxPods: count({ flag: 'history-max-pods', env: 'KUBE_NETSTAT_HISTORY_MAX_PODS', default: 20_000, min: 100, max: 1_000_000, unit: 'pods', help: 'Pods whose counts by state are kept (2–4 KiB each, typically).' }),
};

const settings = {
  /** aggregator/auth/agent-auth.ts. */
  agentAuth: choice({
    flag: 'agent-auth',
    env: 'KUBE_NETSTAT_AGENT_AUTH',
    choices: AUTH_MODES,
    default: 'auto',
    help: "tokenreview verifies each agent's token (TokenReview, audience --agent-audience, service account --agent-service-account) and lets its stream write only the node its pod runs on (PERMISSION_DENIED otherwise; bad tokens UNAUTHENTICATED); auto does when a kubeconfig or in-cluster credentials are found; none trusts every agent.",
  }),
  agentAudience: text({ flag: 'agent-audience', env: 'KUBE_NETSTAT_AGENT_AUDIENCE', default: 'kube-netstat', placeholder: 'AUDIENCE', nonEmpty: 'an audience', maxLength: 253, help: "The audience agents' tokens must be issued for (the chart's projected token has kube-netstat)." }),
  agentServiceAccount: text({
    flag: 'agent-service-account',
    env: 'KUBE_NETSTAT_AGENT_SERVICE_ACCOUNT',
    default: '',
    placeholder: 'NAMESPACE/NAME',
    pattern: { regex: /^([a-z0-9][-a-z0-9]*\/[a-z0-9][-.a-z0-9]*)?$/, expected: 'expected NAMESPACE/NAME, or empty for any' },
    help: "The agents' service account; empty accepts any service account whose token is bound to a pod on the node.",
  }),
  /** aggregator/auth/query-auth.ts. Not auto by default: the service proxy strips the user's token, so tokenreview would refuse every proxied query. */
  queryAuth: choice({
    flag: 'query-auth',
    env: 'KUBE_NETSTAT_QUERY_AUTH',
    choices: AUTH_MODES,
    default: 'none',
    help: "tokenreview requires a bearer token on queries (HTTP 401 / UNAUTHENTICATED) and answers only namespaces whose pods the caller may list (SubjectAccessReview; sockets outside pods need list pods and nodes cluster-wide); none leaves it to whoever reaches the port: behind the service proxy, which strips the user's token, keep none and grant services/proxy.",
  }),
  authCacheSeconds: duration({ flag: 'auth-cache', env: 'KUBE_NETSTAT_AUTH_CACHE', default: 30, min: 1, max: 300, help: "How long a successful review (TokenReview, SubjectAccessReview) is reused; an agent's never beyond its token's expiry." }),
  queryRate: {
    perSecond: number({ flag: 'query-rate', env: 'KUBE_NETSTAT_QUERY_RATE', default: 200, min: 0.1, max: 10_000, unit: 'per second', help: 'Queries per second per client (a user when authenticated, else an address); beyond, HTTP 429 / RESOURCE_EXHAUSTED.' }),
    burst: count({ flag: 'query-burst', env: 'KUBE_NETSTAT_QUERY_BURST', default: 1_000, min: 1, max: 100_000, unit: 'queries', help: 'The burst of queries a client may make beyond --query-rate.' }),
  },
  filterLimits: {
    maxValues: count({ flag: 'max-filter-values', env: 'KUBE_NETSTAT_MAX_FILTER_VALUES', default: 100, min: 1, max: 10_000, unit: 'values', help: 'Values one filter may list (namespaces, states, ports, addresses, label requirements, ...); more is HTTP 400.' }),
    maxTextLength: count({ default: 1024, min: 16, max: 65_536, unit: 'characters', help: 'Characters in one filter value.' }),
  },
  grpcListen: text({ flag: 'grpc-listen', env: 'KUBE_NETSTAT_GRPC_LISTEN', default: '0.0.0.0:9100', placeholder: 'HOST:PORT', pattern: LISTEN, help: 'Where agents stream to and gRPC queries come ([::1]:9100 for IPv6; port 0 picks one).' }),
  httpListen: text({ flag: 'http-listen', env: 'KUBE_NETSTAT_HTTP_LISTEN', default: '0.0.0.0:9101', placeholder: 'HOST:PORT', pattern: LISTEN, help: 'Where HTTP queries, /metrics, /healthz and /readyz are served.' }),
  staleAfterSeconds: duration({ flag: 'stale-after', env: 'KUBE_NETSTAT_STALE_AFTER', default: 15, min: 3, max: 600, help: "Silence after which a node is stale (3 of the agents' heartbeats by default)." }),
  evictAfterSeconds: duration({ flag: 'evict-after', env: 'KUBE_NETSTAT_EVICT_AFTER', default: 300, min: 10, max: 86_400, help: 'How long a stale or disconnected node is kept before it is forgotten.' }),
  peerNames: choice({
    flag: 'peer-names',
    env: 'KUBE_NETSTAT_PEER_NAMES',
    choices: CLUSTER_MODES,
    default: 'auto',
    help: "Name each socket's peer (the pod, Service or node behind its foreign address, else local or external) from cluster-wide informers on pods, services, endpointslices and nodes: auto when a kubeconfig or in-cluster credentials are found, on requires them, off never asks the API. Until the informers have listed once, peers are null.",
  }),
  kubeconfig: optionalText({ flag: 'kubeconfig', env: 'KUBE_NETSTAT_KUBECONFIG', placeholder: 'FILE', help: 'The kubeconfig for peer names, events and token reviews; by default one found as kubectl finds it, else in-cluster credentials.' }),
  context: optionalText({ flag: 'context', placeholder: 'NAME', help: "The kubeconfig's context to use." }),
  maxMessageMiB: number({ default: 16, min: 1, max: 256, unit: 'MiB', help: 'Largest accepted gRPC message.' }),
  maxSocketsPerMessage: count({ default: 20_000, min: 100, max: 100_000, unit: 'sockets', help: 'Sockets in one snapshot chunk or delta.' }),
  maxSocketsPerNode: count({ default: 2_000_000, min: 1_000, max: 10_000_000, unit: 'sockets', help: 'Sockets one node may hold.' }),
  watchPollSeconds: duration({ flag: 'watch-poll', env: 'KUBE_NETSTAT_WATCH_POLL', default: 0.5, min: 0.05, max: 10, help: 'Time between two looks for changes by every open watch (each re-walks only the nodes that changed): how late a watch reports a change.' }),
  maxWatches: count({ flag: 'max-watches', env: 'KUBE_NETSTAT_MAX_WATCHES', default: 100, min: 1, max: 10_000, unit: 'watches', help: 'Watches open at once; one more is refused (HTTP 429, gRPC RESOURCE_EXHAUSTED).' }),
  maxWatchesPerClient: count({ flag: 'max-watches-per-client', env: 'KUBE_NETSTAT_MAX_WATCHES_PER_CLIENT', default: 10, min: 1, max: 10_000, unit: 'watches', help: 'Watches one client (an authenticated user, else a remote address) may hold open.' }),
  /**
   * Behind the API server's service proxy (`kubectl netstat`'s default way in) every user has
   * the proxy's address and no credentials reach the aggregator: those watches share one budget.
   */
  maxProxiedWatches: count({
    flag: 'max-proxied-watches',
    env: 'KUBE_NETSTAT_MAX_PROXIED_WATCHES',
    default: 80,
    min: 1,
    max: 10_000,
    unit: 'watches',
    help: "Watches open through the API server's service proxy (requests carrying X-Forwarded-For), all users together: behind it the aggregator cannot tell users apart.",
  }),
  /** The cardinality cap: a pod makes a series per state it has sockets in, typically 2–5. */
  metricsMaxPods: count({
    flag: 'metrics-max-pods',
    env: 'KUBE_NETSTAT_METRICS_MAX_PODS',
    default: 2_000,
    min: 0,
    max: 100_000,
    unit: 'pods',
    help: 'Pods with socket series of their own on /metrics, those with the most CLOSE-WAIT and sockets first; the others are summed per namespace under pod="<other>".',
  }),
  findings,
  history,
  tls: {
    cert: optionalText({ flag: 'tls-cert', env: 'KUBE_NETSTAT_TLS_CERT', placeholder: 'FILE', help: 'Serve gRPC over TLS with this certificate (PEM), with --tls-key.' }),
    key: optionalText({ flag: 'tls-key', env: 'KUBE_NETSTAT_TLS_KEY', placeholder: 'FILE', help: "The certificate's key (PEM)." }),
    clientCa: optionalText({ flag: 'tls-client-ca', env: 'KUBE_NETSTAT_TLS_CLIENT_CA', placeholder: 'FILE', help: 'Require client certificates signed by this CA (PEM): mutual TLS.' }),
  },
};

export type AggregatorSettings = Values<typeof settings>;

const { tls } = settings;
const h = defaultsOf(history);

export const AGGREGATOR: Program<typeof settings> = {
  command: 'aggregator',
  description: `Receives agents' streams and answers queries: gRPC QueryService (List, Summary, Top, Watch) and
HTTP GET /api/v1/sockets (SocketList JSON; with watch=1 the listing, then its changes, as
one JSON event per line), /api/v1/summary?by=namespace|workload|pod|node,
/api/v1/top?by=close-wait|recv-q|send-q|<state>, /healthz, /readyz, and /metrics for Prometheus:
socket counts by state per pod (kubenetstat_sockets), per namespace and for nodes' own
sockets, and the aggregator's health (nodes, ingest, query latency, watches).
Every --evaluate-every the leak rules look at every socket: GET /api/v1/findings
(FindingList: CLOSE_WAIT leaks, stuck queues, listen-queue overflow, SYN floods, socket
growth, lingering FIN_WAIT2/LAST_ACK, ephemeral-port pressure; ?namespace=&pod=&rule=
&severity=&state=open|resolved|all) and /api/v1/history?namespace=NS&pod=NAME (PodHistory:
counts by state, ${formatDuration(h.fineSeconds)} for ${formatDuration(h.fineRetentionSeconds)} and ${formatDuration(h.coarseSeconds)} for ${formatDuration(h.coarseRetentionSeconds)}, for at most --history-max-pods pods).`,
  settings,
  rules: { flag: 'rule', env: 'KUBE_NETSTAT_RULES', help: "Sets a leak rule's threshold (the names below); later ones win, the flags' over the environment's." },
  checks: [
    { holds: (s) => s.findings.portPressure.warnShare <= s.findings.portPressure.criticalShare, message: '--rule port-pressure.warn-share must not be above port-pressure.critical-share' },
    { holds: (s) => s.history.fineRetentionSeconds >= s.history.fineSeconds && s.history.coarseRetentionSeconds >= s.history.coarseSeconds && s.history.coarseSeconds >= s.history.fineSeconds, message: 'history: each retention must hold a step, and a coarse step a fine one' },
    { holds: (s) => Boolean(s.tls.cert) === Boolean(s.tls.key), message: `--${tls.cert.flag} and --${tls.key.flag} go together` },
    { holds: (s) => !s.tls.clientCa || Boolean(s.tls.cert), message: `--${tls.clientCa.flag} needs --${tls.cert.flag} and --${tls.key.flag}` },
  ],
};

export const AGGREGATOR_DEFAULTS: AggregatorSettings = defaultsOf(settings);
