import { z } from 'zod';

/**
 * Every tunable of the agent and the aggregator, with its unit and sensible range, validated at
 * start-up. Flags override these; so do environment variables, as a DaemonSet sets them.
 */
export const DEFAULTS = {
  agent: {
    /** Seconds between scans (0.2–60). */
    intervalSeconds: 1,
    /** Seconds without any other message before a heartbeat (1–60). */
    heartbeatSeconds: 5,
    /** Sockets per snapshot chunk and delta message (100–10000). */
    chunkSize: 1_000,
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
    /** Largest accepted gRPC message in MiB (1–256). */
    maxMessageMiB: 16,
    /** Sockets in one snapshot chunk or delta (100–100000). */
    maxSocketsPerMessage: 20_000,
    /** Sockets one node may hold (1000–10000000). */
    maxSocketsPerNode: 2_000_000,
  },
} as const;

export const agentSettingsSchema = z.object({
  aggregator: z.string().regex(/^.+:\d+$/, 'expected host:port'),
  nodeName: z.string().min(1, 'a node name is required (--node-name or $NODE_NAME)').max(253),
  procRoot: z.string().min(1),
  intervalSeconds: z.number().min(0.2).max(60),
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
  maxMessageMiB: z.number().min(1).max(256),
  maxSocketsPerMessage: z.number().int().min(100).max(100_000),
  maxSocketsPerNode: z.number().int().min(1_000).max(10_000_000),
});
export type AggregatorSettings = z.infer<typeof aggregatorSettingsSchema>;
