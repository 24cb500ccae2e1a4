import { z } from 'zod';

/**
 * Every tunable of the agent and the aggregator, with its unit and sensible range, validated at
 * start-up. Flags override these; so do environment variables, as a DaemonSet sets them.
 */
export const DEFAULTS = {
  agent: {
    /** Seconds between scans (0.2–60). */
    intervalSeconds: 1,
    /**
     * Longest seconds between two full reads of a namespace's tables, and between two fd walks
     * of a process (1–600; at most once per scan, spread so that each scan does its share).
     * Between them a namespace is read again only when its counters move or its processes
     * change; this bounds how late a change that moves no counter shows (a partly read Recv-Q,
     * UDP connect, unix listen/accept, TCP accept, fd passing: README, "Change detection").
     * Each full read walks the host-wide socket hash (~2–3 ms per table here, ~80 ms on a host
     * with 200k sockets), so the cost is namespaces / this many reads per second. Measured with
     * 10k idle sockets in 11 namespaces at a 1 s interval on a shared 2-vCPU machine, the agent
     * uses ~2.3–2.8% of a core at 10 s, ~1.7–2.1% at 20 s, ~1.6–2.3% at 30 s (~1.0–1.5% with
     * no full reads at all, ~0.5% for Node alone). 30 s keeps the agent at about the design's
     * 2% budget (within that noise); denser nodes gain more from a longer one.
     */
    fullReadEverySeconds: 30,
    /** Seconds without any other message before a heartbeat (1–60). */
    heartbeatSeconds: 5,
    /**
     * Sockets per snapshot chunk and delta message (100–10000). Small messages (~250 sockets,
     * 50–120 KiB) because the aggregator holds every agent's partly received message at once:
     * a thousand agents sending their snapshots together would otherwise pin ~0.5 GiB there.
     */
    chunkSize: 250,
    /** Seconds a pod deleted from the API keeps its name (0–600): TIME_WAIT lingers 60 s. */
    deletedPodGraceSeconds: 120,
    /** First and longest reconnect wait in seconds (0.05–5, 1–300). */
    backoffInitialSeconds: 0.2,
    backoffMaxSeconds: 30,
    /**
     * host:port of the agent's own HTTP listener for Prometheus (/metrics) and a liveness probe
     * (/healthz); empty for none. Off by default: a bare `kube-netstat agent` opens no port,
     * and agents sharing a host (tests, simulations) would fight over one; a DaemonSet sets
     * 0.0.0.0:9102. Standalone needs none: its agent's series are on the aggregator's /metrics.
     */
    metricsListen: '',
    /** The projected service-account token sent to the aggregator (re-read when it changes); empty for none. */
    tokenFile: '',
  },
  aggregator: {
    /**
     * Agent authentication (aggregator/auth/agent-auth.ts): `tokenreview` verifies each agent's
     * projected token and binds its stream to the node of the token's pod; `none` trusts any
     * agent; `auto` is tokenreview with cluster credentials, none without.
     */
    agentAuth: 'auto',
    /** The audience agents' tokens must be issued for (the chart's projected token has kube-netstat). */
    agentAudience: 'kube-netstat',
    /** `namespace/name` of the agents' service account; empty accepts any service account whose token is bound to a pod on the node. */
    agentServiceAccount: '',
    /**
     * Query authentication (aggregator/auth/query-auth.ts): `tokenreview` requires a bearer token
     * and answers only namespaces whose pods the caller may list; `none` leaves it to whoever
     * reaches the port (through the service proxy: the proxy's RBAC). Not `auto` by default: the
     * service proxy strips the user's token, so tokenreview refuses every proxied query.
     */
    queryAuth: 'none',
    /** Seconds a successful review (TokenReview, SubjectAccessReview) is reused (1–300); agents' never beyond their token's expiry. */
    authCacheSeconds: 30,
    /** Queries per second per client (0.1–10000; a user when authenticated, else an address) and the burst (1–100000): beyond, HTTP 429 / RESOURCE_EXHAUSTED. */
    queryRate: { perSecond: 200, burst: 1_000 },
    /** Values one filter may list (1–10000: namespaces, states, ports, addresses, label requirements, ...) and characters in one value (16–65536). */
    filterLimits: { maxValues: 100, maxTextLength: 1024 },
    grpcListen: '0.0.0.0:9100',
    httpListen: '0.0.0.0:9101',
    /** Seconds of silence after which a node is stale (3–600); 3 heartbeats by default. */
    staleAfterSeconds: 15,
    /** Seconds a stale or disconnected node is kept before it is forgotten (10–86400). */
    evictAfterSeconds: 300,
    /**
     * Peer names (aggregator/peers: the pod, Service or node behind each foreign address, from
     * cluster-wide informers): `auto` names them when a kubeconfig or in-cluster credentials are
     * found, `on` requires them, `off` never asks the API.
     */
    peerNames: 'auto',
    /** Largest accepted gRPC message in MiB (1–256). */
    maxMessageMiB: 16,
    /** Sockets in one snapshot chunk or delta (100–100000). */
    maxSocketsPerMessage: 20_000,
    /** Sockets one node may hold (1000–10000000). */
    maxSocketsPerNode: 2_000_000,
    /**
     * Seconds between two looks for changes by every open watch (0.05–10): how late a watch
     * reports a change beyond its arrival. Each look re-walks only the nodes that changed.
     */
    watchPollSeconds: 0.5,
    /** Watches open at once (1–10000); one more is refused (HTTP 429, gRPC RESOURCE_EXHAUSTED). */
    maxWatches: 100,
    /**
     * Watches one client may hold open (1–10000): an authenticated user (--query-auth), else a
     * remote address. Behind the API server's service proxy every client has the proxy's
     * address, so there this bounds the proxied watches of all users together.
     */
    maxWatchesPerClient: 10,
    /**
     * Pods with socket series of their own on /metrics (0–100000): the cardinality cap. Beyond
     * it, the pods with the fewest CLOSE-WAIT and sockets are summed per namespace into
     * pod="<other>" (kubenetstat_metrics_folded_pods counts them). A pod makes a series per
     * state it has sockets in, typically 2–5, so 2000 pods are ~10k series.
     */
    metricsMaxPods: 2_000,
    /**
     * Leak rules (aggregator/findings): every evaluateEverySeconds one pass over every socket
     * (no decoding) feeds the history and these rules. Thresholds are set with
     * `--rule NAME=VALUE` (kebab-case paths below, seconds without their unit:
     * `--rule close-wait.max-age=10m`) or $KUBE_NETSTAT_RULES (comma-separated).
     */
    findings: {
      /** Seconds between two evaluations (1–300): how late a finding opens or resolves. */
      evaluateEverySeconds: 10,
      /** Kubernetes Events on the pod when a finding opens: `auto` with cluster access, `on` requires it, `off`. */
      events: 'auto',
      closeWait: {
        /** Window (10–86400 s) over which the floor of a pod's CLOSE_WAIT count must rise by minGrowth (1–100000). */
        windowSeconds: 600,
        minGrowth: 10,
        /** A CLOSE_WAIT older than this (10–86400 s) is a leak by itself: healthy code closes within ms of EOF. */
        maxAgeSeconds: 600,
        /** From this many CLOSE_WAIT sockets (1–10000000) a leak is critical. */
        criticalCount: 500,
      },
      stuckQueue: {
        /**
         * A Recv-Q / Send-Q non-empty and not shrinking this long (5–3600 s) is stuck. Above the
         * agent's --full-read-every (30 s): a partly read queue moves no counter, so it shows late.
         */
        afterSeconds: 60,
        /** Smaller queues (1–1e9 bytes) are not judged. */
        minBytes: 1,
      },
      /** A listener's accept queue non-empty and not shrinking this long (5–3600 s): nobody accepts. */
      listenQueue: { afterSeconds: 60 },
      /** This many SYN_RECV on one port (1–1000000), for this long (0–3600 s), are a flood. */
      synRecv: { minCount: 128, forSeconds: 30 },
      socketGrowth: {
        /** Window (10–86400 s) over which a process's socket count's floor must rise by minGrowth (1–1000000)… */
        windowSeconds: 900,
        minGrowth: 200,
        /** …for a process holding at least this many sockets (1–10000000). */
        minSockets: 500,
      },
      /** FIN_WAIT2 / LAST_ACK longer than this (10–86400 s). FIN_WAIT2 above tcp_fin_timeout (60 s): orphans never count. */
      lingering: { finWait2Seconds: 300, lastAckSeconds: 120 },
      /** Share (0.01–1) of the ephemeral port range in use towards one destination: warning, critical. */
      portPressure: { warnShare: 0.5, criticalShare: 0.8 },
      /** Seconds a resolved finding stays listed (0–604800). */
      resolvedRetentionSeconds: 3_600,
      /** Findings kept (100–1000000), resolved ones dropped first: ~2–4 KiB each. */
      maxFindings: 10_000,
      /**
       * Sockets decoded per finding for process names (1–100000), and how often (10–3600 s)
       * evidence is gathered again (on the timer, a share of the open findings per evaluation,
       * oldest evidence first: findings opened together are not all re-read at once).
       */
      evidenceSockets: 200,
      evidenceRefreshSeconds: 60,
    },
    /**
     * Per-pod counts by state (aggregator/history): one fine sample per fineSeconds kept for
     * fineRetentionSeconds, one coarse sample (the highest fine one) per coarseSeconds kept for
     * coarseRetentionSeconds. A state's series costs a byte per sample while its counts stay
     * below 256 (2 bytes below 65,536, 4 beyond): 648 bytes with these values; a pod ~0.5 KiB
     * plus ~0.75 KiB per state it had sockets in, 2–4 KiB typically, 9 KiB at most. maxPods
     * (100–1000000, the --history-max-pods flag) bounds the total: 20,000 pods ≈ 40–80 MiB.
     */
    history: {
      fineSeconds: 10,
      fineRetentionSeconds: 3_600,
      coarseSeconds: 300,
      coarseRetentionSeconds: 86_400,
      maxPods: 20_000,
    },
  },
} as const;

const seconds = (min: number, max: number) => z.number().min(min).max(max);
const count = (min: number, max: number) => z.number().int().min(min).max(max);

export const findingsSettingsSchema = z
  .object({
    evaluateEverySeconds: seconds(1, 300),
    events: z.enum(['auto', 'on', 'off']),
    closeWait: z.object({ windowSeconds: seconds(10, 86_400), minGrowth: count(1, 100_000), maxAgeSeconds: seconds(10, 86_400), criticalCount: count(1, 10_000_000) }),
    stuckQueue: z.object({ afterSeconds: seconds(5, 3_600), minBytes: count(1, 1e9) }),
    listenQueue: z.object({ afterSeconds: seconds(5, 3_600) }),
    synRecv: z.object({ minCount: count(1, 1_000_000), forSeconds: seconds(0, 3_600) }),
    socketGrowth: z.object({ windowSeconds: seconds(10, 86_400), minGrowth: count(1, 1_000_000), minSockets: count(1, 10_000_000) }),
    lingering: z.object({ finWait2Seconds: seconds(10, 86_400), lastAckSeconds: seconds(10, 86_400) }),
    portPressure: z.object({ warnShare: z.number().min(0.01).max(1), criticalShare: z.number().min(0.01).max(1) }).refine((shares) => shares.warnShare <= shares.criticalShare, 'warn-share must not be above critical-share'),
    resolvedRetentionSeconds: seconds(0, 604_800),
    maxFindings: count(100, 1_000_000),
    evidenceSockets: count(1, 100_000),
    evidenceRefreshSeconds: seconds(10, 3_600),
  });
export type FindingsSettingsInput = z.infer<typeof findingsSettingsSchema>;

export const historySettingsSchema = z
  .object({
    fineSeconds: seconds(1, 3_600),
    fineRetentionSeconds: seconds(60, 86_400),
    coarseSeconds: seconds(10, 86_400),
    coarseRetentionSeconds: seconds(3_600, 2_592_000),
    maxPods: count(100, 1_000_000),
  })
  .refine((history) => history.fineRetentionSeconds >= history.fineSeconds && history.coarseRetentionSeconds >= history.coarseSeconds && history.coarseSeconds >= history.fineSeconds, 'each retention must hold a step, and a coarse step a fine one');

export const agentSettingsSchema = z.object({
  aggregator: z.string().regex(/^.+:\d+$/, 'expected host:port'),
  nodeName: z.string().min(1, 'a node name is required (--node-name or $NODE_NAME)').max(253),
  procRoot: z.string().min(1),
  intervalSeconds: z.number().min(0.2).max(60),
  fullReadEverySeconds: z.number().min(1).max(600),
  heartbeatSeconds: z.number().min(1).max(60),
  chunkSize: z.number().int().min(100).max(10_000),
  deletedPodGraceSeconds: z.number().min(0).max(600),
  backoffInitialSeconds: z.number().min(0.05).max(5),
  backoffMaxSeconds: z.number().min(1).max(300),
  metricsListen: z.string().regex(/^(.*:\d+)?$/, 'expected host:port, or empty for none'),
  tokenFile: z.string(),
});
export type AgentSettings = z.infer<typeof agentSettingsSchema>;

const authMode = z.enum(['auto', 'tokenreview', 'none']);

export const aggregatorSettingsSchema = z.object({
  agentAuth: authMode,
  agentAudience: z.string().min(1).max(253),
  agentServiceAccount: z.string().regex(/^([a-z0-9][-a-z0-9]*\/[a-z0-9][-.a-z0-9]*)?$/, 'expected NAMESPACE/NAME, or empty for any'),
  queryAuth: authMode,
  authCacheSeconds: seconds(1, 300),
  queryRate: z.object({ perSecond: z.number().min(0.1).max(10_000), burst: count(1, 100_000) }),
  filterLimits: z.object({ maxValues: count(1, 10_000), maxTextLength: count(16, 65_536) }),
  grpcListen: z.string().regex(/^.*:\d+$/, 'expected host:port'),
  httpListen: z.string().regex(/^.*:\d+$/, 'expected host:port'),
  staleAfterSeconds: z.number().min(3).max(600),
  evictAfterSeconds: z.number().min(10).max(86_400),
  peerNames: z.enum(['auto', 'on', 'off']),
  maxMessageMiB: z.number().min(1).max(256),
  maxSocketsPerMessage: z.number().int().min(100).max(100_000),
  maxSocketsPerNode: z.number().int().min(1_000).max(10_000_000),
  watchPollSeconds: z.number().min(0.05).max(10),
  maxWatches: z.number().int().min(1).max(10_000),
  maxWatchesPerClient: z.number().int().min(1).max(10_000),
  metricsMaxPods: z.number().int().min(0).max(100_000),
  findings: findingsSettingsSchema,
  history: historySettingsSchema,
});
export type AggregatorSettings = z.infer<typeof aggregatorSettingsSchema>;
