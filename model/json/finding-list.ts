import type { FindingDetails } from '../findings.js';
import type { Finding, PodHistory, UnavailableNode as WireUnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import type { PeerItem, UnavailableNode, WorkloadItem } from './socket-list.js';
import { unavailableItems } from './socket-list.js';

/**
 * The JSON of leak findings and pod histories (GET /api/v1/findings, /api/v1/history), made
 * from the query API's messages (query.proto Finding, PodHistory) as socketItem makes a
 * SocketList item from a Socket: Kubernetes-style objects, times in RFC 3339.
 */

export interface FindingList {
  readonly apiVersion: 'kubenetstat.io/v1';
  readonly kind: 'FindingList';
  /** When the rules last ran; null before the first evaluation. */
  readonly evaluatedAt: string | null;
  /** Newest (first seen) first. */
  readonly items: FindingItem[];
  /** Nodes whose findings stay as they were last seen. */
  readonly unavailableNodes: UnavailableNode[];
}

export interface FindingItem {
  readonly id: string;
  /** close-wait-leak, stuck-recv-q, stuck-send-q, listen-overflow, syn-flood, socket-growth, fin-wait2-lingering, last-ack-lingering, port-pressure. */
  readonly rule: string;
  /** info, warning or critical. */
  readonly severity: string;
  /** open or resolved. */
  readonly state: string;
  readonly namespace: string;
  readonly pod: string;
  readonly podUID: string;
  readonly node: string;
  readonly workload: WorkloadItem | null;
  /** Sockets involved. */
  readonly sockets: number;
  readonly trend: { readonly windowSeconds: number; readonly from: number; readonly to: number } | null;
  /** Rule-specific figures; only those the rule sets are present. */
  readonly details: FindingDetailsItem;
  readonly containers: string[];
  readonly processes: { readonly pid: number; readonly name: string; readonly comm: string; readonly sockets: number }[];
  /** `port` null for inbound connections; `peer` null without cluster access. */
  readonly peers: { readonly address: string; readonly port: number | null; readonly direction: string; readonly peer: PeerItem | null; readonly sockets: number }[];
  readonly summary: string;
  readonly explanation: string;
  readonly nextStep: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** null while open. */
  readonly resolvedAt: string | null;
  readonly evidence: { readonly sockets: number; readonly decoded: number; readonly collectedAt: string };
}

/** Rule-specific figures (aggregator/findings/types.ts FindingDetails): share 0–1, times in seconds. */
export type FindingDetailsItem = FindingDetails;

export interface PodHistoryObject {
  readonly apiVersion: 'kubenetstat.io/v1';
  readonly kind: 'PodHistory';
  readonly namespace: string;
  readonly pod: string;
  readonly podUID: string;
  readonly node: string;
  readonly firstSample: string;
  /** The last sample in which the pod had sockets. */
  readonly lastPresent: string;
  /** fine, then coarse. */
  readonly resolutions: HistoryResolutionItem[];
}

export interface HistoryResolutionItem {
  readonly name: string;
  readonly stepSeconds: number;
  readonly retentionSeconds: number;
  /** sample (the count at that time) or max (the highest fine sample within the step). */
  readonly aggregate: string;
  /** Oldest first. */
  readonly times: string[];
  /** By ss state name (unix for unix sockets): one count per time; states the pod never had are left out. */
  readonly series: Record<string, number[]>;
}

const rfc3339 = (ms: bigint): string => new Date(Number(ms)).toISOString();

export function findingItem(finding: Finding): FindingItem {
  const details = finding.details;
  const number = (value: bigint | number | undefined): number | undefined => (value === undefined ? undefined : Number(value));
  const detailItem: Record<string, unknown> = {
    oldestSeconds: number(details?.oldestSeconds),
    queuedBytes: number(details?.queuedBytes),
    localPort: details?.localPort,
    acceptQueue: number(details?.acceptQueue),
    backlog: number(details?.backlog),
    pid: details?.pid,
    source: details?.source,
    destination: details?.destination && { address: details.destination.address, port: details.destination.port },
    share: details?.share,
    portRange: details?.portRange && { low: details.portRange.low, high: details.portRange.high, assumed: details.portRange.assumed },
    timeWait: number(details?.timeWait),
    listenOverflows: number(details?.listenOverflows),
  };
  return {
    id: finding.id,
    rule: finding.rule,
    severity: finding.severity,
    state: finding.state,
    namespace: finding.namespace,
    pod: finding.pod,
    podUID: finding.podUid,
    node: finding.node,
    workload: finding.workload ? { kind: finding.workload.kind, name: finding.workload.name } : null,
    sockets: Number(finding.sockets),
    trend: finding.trend ? { windowSeconds: finding.trend.windowSeconds, from: Number(finding.trend.from), to: Number(finding.trend.to) } : null,
    details: Object.fromEntries(Object.entries(detailItem).filter(([, value]) => value !== undefined)) as FindingDetailsItem,
    containers: finding.containers,
    processes: finding.processes.map((process) => ({ pid: process.pid, name: process.name, comm: process.comm, sockets: Number(process.sockets) })),
    peers: finding.peers.map((peer) => ({
      address: peer.address,
      port: peer.direction === 'inbound' ? null : peer.port,
      direction: peer.direction,
      peer: peer.peer ? { kind: peer.peer.kind, namespace: peer.peer.namespace || null, name: peer.peer.name || null, services: peer.peer.services } : null,
      sockets: Number(peer.sockets),
    })),
    summary: finding.summary,
    explanation: finding.explanation,
    nextStep: finding.nextStep,
    firstSeen: rfc3339(finding.firstSeenUnixMs),
    lastSeen: rfc3339(finding.lastSeenUnixMs),
    resolvedAt: finding.resolvedUnixMs > 0n ? rfc3339(finding.resolvedUnixMs) : null,
    evidence: { sockets: Number(finding.evidence?.sockets ?? 0n), decoded: Number(finding.evidence?.decoded ?? 0n), collectedAt: rfc3339(finding.evidence?.collectedUnixMs ?? 0n) },
  };
}

export function findingList(items: readonly Finding[], unavailableNodes: readonly WireUnavailableNode[], evaluatedUnixMs: bigint): FindingList {
  return { apiVersion: 'kubenetstat.io/v1', kind: 'FindingList', evaluatedAt: evaluatedUnixMs > 0n ? rfc3339(evaluatedUnixMs) : null, items: items.map(findingItem), unavailableNodes: unavailableItems(unavailableNodes) };
}

export function podHistoryObject(history: PodHistory): PodHistoryObject {
  return {
    apiVersion: 'kubenetstat.io/v1',
    kind: 'PodHistory',
    namespace: history.namespace,
    pod: history.pod,
    podUID: history.podUid,
    node: history.node,
    firstSample: rfc3339(history.firstSampleUnixMs),
    lastPresent: rfc3339(history.lastPresentUnixMs),
    resolutions: history.resolutions.map((resolution) => ({
      name: resolution.name,
      stepSeconds: resolution.stepSeconds,
      retentionSeconds: resolution.retentionSeconds,
      aggregate: resolution.aggregate,
      times: resolution.timesUnixMs.map(rfc3339),
      series: Object.fromEntries(Object.entries(resolution.series).map(([state, series]) => [state, series.counts.map(Number)])),
    })),
  };
}
