import type { KubeConfig } from '@kubernetes/client-node';
import type { PodInformer } from './pods/pod-informer.js';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { VersionedPodResolver } from '../model/pod.js';
import { PodStore } from './pods/pod-store.js';
import { NodeScanner } from './snapshot/node-scanner.js';
import { LocalHostFs } from './procfs/hostfs.js';
import { ListenCounters } from './procfs/listen-overflows.js';
import { PortRanges, SysctlPortRangeReader } from './procfs/port-range.js';
import type { ScanProblems } from '../model/scan-problems.js';
import { AgentStream, type StreamEvent } from './stream/client.js';
import type { SentListener } from './stream/counting-client.js';
import { SocketTable } from './stream/socket-table.js';
import { TokenFile } from './stream/token.js';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Backoff } from '../common/backoff.js';
import type { LogFn } from '../common/log.js';
import { effectiveCapabilities, privilegeExplanation } from './privileges.js';

function tokenReader(file: TokenFile): () => string {
  return () => file.read();
}

export interface AgentRunOptions {
  readonly aggregator: string;
  readonly nodeName: string;
  readonly procRoot: string;
  readonly intervalMs: number;
  /** Longest time between two full reads of a namespace's tables (the change-detection safety net). */
  readonly fullReadEveryMs: number;
  readonly heartbeatMs: number;
  readonly chunkSize: number;
  readonly deletedPodGraceMs: number;
  readonly backoff: Backoff;
  readonly kubeConfig: KubeConfig | undefined;
  readonly version: string;
  /** The projected service-account token file sent to the aggregator (agent/stream/token.ts); none when absent. */
  readonly tokenFile?: string;
  /** TLS (or mutual TLS) to the aggregator; plain TCP when absent. */
  readonly credentials?: ChannelCredentials;
  readonly log: LogFn;
  /** For tests and metrics: every scan's figures. */
  readonly onScan?: (figures: ScanFigures) => void;
  readonly onStreamEvent?: (event: StreamEvent) => void;
  /** For metrics: every message the stream sends, by kind, with its encoded size. */
  readonly onSent?: SentListener;
}

export interface ScanFigures {
  readonly sockets: number;
  readonly upserted: number;
  readonly removed: number;
  readonly ms: number;
  /** Namespaces whose tables were read, and whose wire sockets were rebuilt, out of all there are. */
  readonly namespacesRead: number;
  readonly namespacesRebuilt: number;
  readonly namespaces: number;
  /** Processes whose fds were walked. */
  readonly processesWalked: number;
  /** What this scan could not read, counted (vanished processes are normal churn). */
  readonly problems: ScanProblems;
  /** Lines of the tables held now that do not parse (skipped). */
  readonly unparsedLines: number;
}

const NO_API: VersionedPodResolver = { byUid: () => undefined, version: 0 };

/** Each namespace's ip_local_port_range is read when it appears, then every 5 minutes; at most 4 reads per scan. */
const PORT_RANGE_REFRESH = { refreshMs: 300_000, perUpdate: 4 } as const;

/** The kernel's boot ID: socket and namespace inodes are only unique within one boot. */
function bootId(procRoot: string): string {
  try {
    return readFileSync(`${procRoot}/sys/kernel/random/boot_id`, 'utf8').trim();
  } catch {
    // A fixture proc tree has none; the aggregator only compares it.
    return 'unknown';
  }
}

/**
 * The agent: scan every interval, diff against the last scan, stream the changes. Stops
 * (saying goodbye to the aggregator) when the signal aborts.
 */
export async function runAgent(options: AgentRunOptions, signal: AbortSignal): Promise<void> {
  const table = new SocketTable();
  const stream = new AgentStream({
    address: options.aggregator,
    node: options.nodeName,
    bootId: bootId(options.procRoot),
    epoch: BigInt(Date.now()),
    version: options.version,
    table,
    heartbeatMs: options.heartbeatMs,
    chunkSize: options.chunkSize,
    backoff: options.backoff,
    ...(options.tokenFile && { token: tokenReader(new TokenFile(options.tokenFile)) }),
    ...(options.credentials && { credentials: options.credentials }),
    ...(options.onSent && { onSent: options.onSent }),
    onEvent: (event) => {
      options.onStreamEvent?.(event);
      if (event.kind === 'disconnected') {
        if (event.refused) options.log('the aggregator refused this agent: check its service account token and the aggregator\'s --agent-auth', { error: event.error, retryInMs: event.retryInMs }, 'warn');
        else options.log('aggregator unreachable', { error: event.error, retryInMs: event.retryInMs }, 'warn');
      }
      else if (event.kind === 'snapshot') options.log('snapshot sent', { sockets: event.sockets, chunks: event.chunks, reason: event.reason });
      else if (event.kind === 'resync-requested') options.log('resync requested', { reason: event.reason });
    },
  });

  let resolver: VersionedPodResolver = NO_API;
  let informer: PodInformer | undefined;
  if (options.kubeConfig) {
    const store = new PodStore(options.deletedPodGraceMs);
    const { PodInformer } = await import('./pods/pod-informer.js');
    informer = new PodInformer({
      kubeConfig: options.kubeConfig,
      nodeName: options.nodeName,
      store,
      onEvent: (event) => {
        if (event.kind === 'failed') options.log('pod informer failed', { error: event.error.message, retryInMs: event.retryInMs }, 'warn');
      },
    });
    informer.start();
    resolver = store;
  }

  const scanner = new NodeScanner({
    hostFs: new LocalHostFs(options.procRoot),
    node: options.nodeName,
    resolver,
    fullReadEvery: Math.max(1, Math.round(options.fullReadEveryMs / options.intervalMs)),
  });
  const ranges = new PortRanges(new SysctlPortRangeReader(options.procRoot), PORT_RANGE_REFRESH);
  const listenCounters = new ListenCounters(new LocalHostFs(options.procRoot));
  let warnedAssumed = false;
  let explainedPrivileges = false;
  const scanOnce = async (): Promise<void> => {
    const started = Date.now();
    const { rebuilt, present, scan } = await scanner.scan(started);
    const changes = table.updateNamespaces(rebuilt, present);
    stream.offer(changes);
    const rangesChanged = await ranges.update(scan.namespaces);
    if (listenCounters.update(scan.namespaces) || rangesChanged) {
      const namespaces = ranges.table((netns) => listenCounters.get(netns));
      stream.offerNamespaces(namespaces);
      if (!warnedAssumed && namespaces.some((namespace) => namespace.portRangeAssumed)) {
        warnedAssumed = true;
        options.log('ip_local_port_range of some network namespaces cannot be read (entering them needs CAP_SYS_ADMIN): the kernel default 32768-60999 is assumed for them', { namespaces: namespaces.filter((namespace) => namespace.portRangeAssumed).length });
      }
    }
    if (!explainedPrivileges) {
      // Once: the counts of every scan are in the metrics (kubenetstat_agent_scan_errors_total).
      const explanation = privilegeExplanation(scan.problems, effectiveCapabilities());
      if (explanation) {
        explainedPrivileges = true;
        options.log(explanation, { namespaceDenied: scan.problems.namespaceDenied, fdDenied: scan.problems.fdDenied, refusals: scan.problems.refusals }, 'warn');
      }
    }
    options.onScan?.({
      sockets: table.size,
      upserted: changes.upserted.length,
      removed: changes.removed.length,
      ms: Date.now() - started,
      namespacesRead: scan.stats.read,
      namespacesRebuilt: rebuilt.size,
      namespaces: present.size,
      processesWalked: scan.stats.walked,
      problems: scan.problems,
      unparsedLines: scan.namespaces.reduce((sum, namespace) => sum + namespace.parseErrors.length, 0),
    });
    await sleep(Math.max(0, options.intervalMs - (Date.now() - started)), undefined, { signal }).catch(() => undefined);
  };
  // The first snapshot must be the node's real state: the aggregator vouches for a node once
  // its snapshot is complete, so the table is filled before the stream starts.
  let streaming: Promise<void> | undefined;
  try {
    await scanOnce();
    streaming = stream.run(signal);
    while (!signal.aborted) await scanOnce();
  } finally {
    await streaming;
    await informer?.stop();
    scanner.close();
  }
}
