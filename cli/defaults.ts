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
  },
  aggregator: {
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
  },
} as const;

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
});
export type AgentSettings = z.infer<typeof agentSettingsSchema>;

export const aggregatorSettingsSchema = z.object({
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
});
export type AggregatorSettings = z.infer<typeof aggregatorSettingsSchema>;
