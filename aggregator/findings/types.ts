import type { NodeState } from '../store/index.js';
import type { PodTally, ProcessTally } from './pass.js';
import type { FloorTrends } from './trend.js';
import type { FindingDetails } from '../../model/findings.js';
import type { PortRange } from '../../model/port-range.js';

/**
 * Contracts of the leak rules: what a finding says (kept by engine.ts, served by the query API
 * and posted as Kubernetes Events), the thresholds rules take (config/aggregator-settings.ts declares their
 * values), and what a rule returns from one pass over the store.
 */

export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export const RULES = ['close-wait-leak', 'stuck-recv-q', 'stuck-send-q', 'listen-overflow', 'syn-flood', 'socket-growth', 'fin-wait2-lingering', 'last-ack-lingering', 'port-pressure'] as const;
export type RuleName = (typeof RULES)[number];

export interface FindingsSettings {
  readonly closeWait: {
    /** The window a growing CLOSE_WAIT count is judged over (s). */
    readonly windowSeconds: number;
    /** How much the count's floor must rise over the window to be a leak. */
    readonly minGrowth: number;
    /** A CLOSE_WAIT socket older than this (s) is a leak by itself. */
    readonly maxAgeSeconds: number;
    /** From this many CLOSE_WAIT sockets a leak is critical. */
    readonly criticalCount: number;
  };
  readonly stuckQueue: {
    /** A queue non-empty and not shrinking for this long (s) is stuck. */
    readonly afterSeconds: number;
    /** Queues below this many bytes are not judged. */
    readonly minBytes: number;
  };
  /** A listener's accept queue non-empty and not shrinking for this long (s) is not being accepted from. */
  readonly listenQueue: { readonly afterSeconds: number };
  /** This many half-open connections (SYN_RECV) on one port, for this long (s), are a flood. */
  readonly synRecv: { readonly minCount: number; readonly forSeconds: number };
  readonly socketGrowth: {
    readonly windowSeconds: number;
    /** How much a process's socket count's floor must rise over the window. */
    readonly minGrowth: number;
    /** Processes holding fewer sockets are not judged. */
    readonly minSockets: number;
  };
  /** FIN_WAIT2 / LAST_ACK sockets in their state longer than this (s) linger. */
  readonly lingering: { readonly finWait2Seconds: number; readonly lastAckSeconds: number };
  /** Shares of the ephemeral port range in use towards one destination: warning and critical. */
  readonly portPressure: { readonly warnShare: number; readonly criticalShare: number };
  /** Resolved findings are listed this long (s) after they resolve, then forgotten. */
  readonly resolvedRetentionSeconds: number;
  /** Findings kept at most (open and resolved); resolved ones go first. */
  readonly maxFindings: number;
  /** Sockets decoded per finding to name its processes; the rest are counted by pid. */
  readonly evidenceSockets: number;
  /** An open finding's processes and peers are gathered again at most this often (s). */
  readonly evidenceRefreshSeconds: number;
}

/** A node's namespaces' port ranges, by netns inode (decimal text); undefined when unknown. */
export type PortRangeOf = (node: NodeState, netnsInode: string) => PortRange | undefined;

export interface Trend {
  readonly windowSeconds: number;
  /** The count's floor at the start of the window and now. */
  readonly from: number;
  readonly to: number;
}

export interface FindingProcess {
  readonly pid: number;
  /** The program name netstat prints, and the kernel's task name (ss's); empty when none of its sockets was decoded. */
  readonly name: string;
  readonly comm: string;
  readonly sockets: number;
}

/** The far end of a finding's sockets: inbound ones by address, outbound ones by address and port. */
export interface FindingPeer {
  readonly address: string;
  /** null for inbound connections (the peer's port is ephemeral). */
  readonly port: number | null;
  readonly direction: 'inbound' | 'outbound';
  /** What the cluster knows of the address (aggregator/peers); null without cluster access. */
  readonly peer: { readonly kind: string; readonly namespace: string; readonly name: string; readonly services: readonly string[] } | null;
  readonly sockets: number;
}

export interface Evidence {
  readonly containers: readonly string[];
  /** The most involved first, at most EVIDENCE_TOP. */
  readonly processes: readonly FindingProcess[];
  readonly peers: readonly FindingPeer[];
  /** Sockets involved, and how many of them were decoded. */
  readonly sockets: number;
  readonly decoded: number;
  readonly collectedMs: number;
}

export interface FindingText {
  /** One line: what, where, how many. */
  readonly summary: string;
  /** What it means, in plain words. */
  readonly explanation: string;
  readonly nextStep: string;
}

export interface Finding {
  /** Stable for the same rule and subject (pod, port, destination, process): `<rule>-<16 hex>`. */
  readonly id: string;
  readonly rule: RuleName;
  readonly severity: Severity;
  readonly state: 'open' | 'resolved';
  readonly namespace: string;
  readonly pod: string;
  readonly podUid: string;
  readonly node: string;
  readonly workload: { readonly kind: string; readonly name: string } | null;
  /** Sockets involved now (at the last evaluation that saw the condition). */
  readonly sockets: number;
  readonly trend: Trend | null;
  readonly details: FindingDetails;
  readonly evidence: Evidence;
  readonly text: FindingText;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** When the condition was last gone; null while open. */
  readonly resolvedMs: number | null;
}

/** Sockets of a pod a finding is about, for its evidence: a predicate over stored slots. */
export type SocketMatch = (sockets: NodeState['sockets'], slot: number) => boolean;

/** What a rule found in one pass: a finding to open or keep open. */
export interface Candidate {
  readonly rule: RuleName;
  /** What the finding is about, within the rule (the id is made from it). */
  readonly subject: string;
  readonly severity: Severity;
  readonly pod: PodTally;
  readonly sockets: number;
  readonly trend: Trend | null;
  readonly details: FindingDetails;
  /** Which of the pod's sockets are the evidence. */
  readonly match: SocketMatch;
  /** The condition must hold this long before the finding opens (ms); 0 for at once. */
  readonly holdMs: number;
  readonly describe: (evidence: Evidence) => FindingText;
}

/** What rules get besides the pass. */
export interface RuleContext {
  readonly settings: FindingsSettings;
  readonly nowMs: number;
  /** Long-lived per-subject floors (trend.ts), kept by the engine across passes. */
  readonly trends: { readonly closeWait: FloorTrends; readonly processSockets: FloorTrends };
}

/**
 * What a rule is handed at a time: some of a pass's pods and some of its processes. A rule
 * judges each pod and each process on its own, so the engine hands it the pass in parts and
 * lets queries and ingest run between them.
 */
export interface PassPart {
  readonly pods: readonly PodTally[];
  readonly processes: readonly ProcessTally[];
}

export type Rule = (part: PassPart, context: RuleContext) => Candidate[];
