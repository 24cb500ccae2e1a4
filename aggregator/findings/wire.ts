import type { Finding as FindingMessage, PodHistory } from '../../gen/kubenetstat/v1/query.js';
import type { PodHistoryView } from '../history/types.js';
import type { Finding } from './types.js';

/** Findings and pod histories as the query API sends them (query.proto); JSON is made from these (model/json/finding-list.ts). */

const big = (value: number): bigint => BigInt(Math.max(0, Math.round(value)));

export function findingMessage(finding: Finding): FindingMessage {
  const { details, evidence, trend } = finding;
  return {
    id: finding.id,
    rule: finding.rule,
    severity: finding.severity,
    state: finding.state,
    namespace: finding.namespace,
    pod: finding.pod,
    podUid: finding.podUid,
    node: finding.node,
    workload: finding.workload ?? undefined,
    containers: [...evidence.containers],
    processes: evidence.processes.map((process) => ({ pid: process.pid, name: process.name, comm: process.comm, sockets: big(process.sockets) })),
    peers: evidence.peers.map((peer) => ({
      address: peer.address,
      port: peer.port ?? 0,
      direction: peer.direction,
      peer: peer.peer ? { ...peer.peer, services: [...peer.peer.services] } : undefined,
      sockets: big(peer.sockets),
    })),
    sockets: big(finding.sockets),
    trend: trend ? { windowSeconds: trend.windowSeconds, from: big(trend.from), to: big(trend.to) } : undefined,
    details: {
      ...(details.oldestSeconds !== undefined && { oldestSeconds: big(details.oldestSeconds) }),
      ...(details.queuedBytes !== undefined && { queuedBytes: big(details.queuedBytes) }),
      ...(details.localPort !== undefined && { localPort: details.localPort }),
      ...(details.acceptQueue !== undefined && { acceptQueue: big(details.acceptQueue) }),
      ...(details.backlog !== undefined && { backlog: big(details.backlog) }),
      ...(details.pid !== undefined && { pid: details.pid }),
      ...(details.source !== undefined && { source: details.source }),
      destination: details.destination && { ...details.destination },
      ...(details.share !== undefined && { share: details.share }),
      portRange: details.portRange && { low: details.portRange.low, high: details.portRange.high, assumed: details.portRange.assumed === true },
      ...(details.timeWait !== undefined && { timeWait: big(details.timeWait) }),
      ...(details.listenOverflows !== undefined && { listenOverflows: big(details.listenOverflows) }),
    },
    summary: finding.text.summary,
    explanation: finding.text.explanation,
    nextStep: finding.text.nextStep,
    firstSeenUnixMs: BigInt(finding.firstSeenMs),
    lastSeenUnixMs: BigInt(finding.lastSeenMs),
    resolvedUnixMs: BigInt(finding.resolvedMs ?? 0),
    evidence: { sockets: big(evidence.sockets), decoded: big(evidence.decoded), collectedUnixMs: BigInt(evidence.collectedMs) },
  };
}

export function podHistoryMessage(view: PodHistoryView): PodHistory {
  return {
    namespace: view.namespace,
    pod: view.name,
    podUid: view.uid,
    node: view.node,
    firstSampleUnixMs: BigInt(view.firstSampleMs),
    lastPresentUnixMs: BigInt(view.lastPresentMs),
    resolutions: view.resolutions.map((resolution) => ({
      name: resolution.name,
      stepSeconds: resolution.stepSeconds,
      retentionSeconds: resolution.retentionSeconds,
      aggregate: resolution.aggregate,
      timesUnixMs: resolution.timesMs.map((ms) => BigInt(ms)),
      series: Object.fromEntries(Object.entries(resolution.series).map(([state, counts]) => [state, { counts: counts.map((count) => BigInt(count)) }])),
    })),
  };
}
