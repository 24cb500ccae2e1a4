import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ScanFigures } from './runner.js';
import type { ProblemCount } from '../model/scan-problems.js';
import type { StreamEvent } from './stream/client.js';

export interface AgentMetricsOptions {
  /** Where the series go: a registry of the agent's own by default; standalone passes the aggregator's. */
  readonly registry?: Registry;
  /** Node.js process metrics (process_*, nodejs_*) too; default true (false when the registry has them already). */
  readonly processMetrics?: boolean;
  readonly now?: () => number;
}

/** Scan duration buckets (s): from an idle node's rescan to the full read of a host with 100k sockets. */
const SCAN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** ScanProblems' counts as the `kind` label says them. */
const PROBLEM_KINDS: Readonly<Record<ProblemCount, string>> = {
  namespaceDenied: 'namespace_denied',
  fdDenied: 'fd_denied',
  vanished: 'vanished',
  tablesDenied: 'tables_denied',
  duplicatesDropped: 'duplicates_dropped',
};

/**
 * The agent's own Prometheus metrics: what each scan cost and found, what change detection
 * spared, and what the stream sent. Fed by runAgent's onScan, onStreamEvent and onSent hooks.
 */
export class AgentMetrics {
  readonly registry: Registry;
  private readonly scanSeconds: Histogram;
  private readonly sockets: Gauge;
  private readonly namespaces: Gauge;
  private readonly namespaceScans: Counter<'result'>;
  private readonly walked: Counter;
  private readonly problems: Counter<'kind'>;
  private readonly unparsed: Gauge;
  private readonly changes: Counter<'change'>;
  private readonly wireBytes: Counter<'kind'>;
  private readonly wireMessages: Counter<'kind'>;
  private readonly connected: Gauge;
  private readonly reconnects: Counter;
  private readonly snapshots: Counter;
  private readonly resyncs: Counter;
  private readonly now: () => number;
  private lastScanEndMs: number;

  constructor(options: AgentMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.now = options.now ?? Date.now;
    this.lastScanEndMs = this.now();
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.scanSeconds = new Histogram({ name: 'kubenetstat_agent_scan_duration_seconds', help: 'Time of one scan: counters, the tables that moved, fd walks, attribution and diff.', buckets: SCAN_BUCKETS, registers });
    this.sockets = new Gauge({ name: 'kubenetstat_agent_sockets', help: 'Sockets on this node after the last scan.', registers });
    this.namespaces = new Gauge({ name: 'kubenetstat_agent_namespaces', help: 'Network namespaces on this node after the last scan.', registers });
    this.namespaceScans = new Counter({
      name: 'kubenetstat_agent_namespace_scans_total',
      help: 'Namespaces per scan whose tables were read (result="read"), or skipped because their counters did not move (result="skipped"): what change detection spares.',
      labelNames: ['result'],
      registers,
    });
    this.walked = new Counter({ name: 'kubenetstat_agent_processes_walked_total', help: 'Processes whose fd tables were walked to find socket owners.', registers });
    this.problems = new Counter({
      name: 'kubenetstat_agent_scan_errors_total',
      help: 'What scans could not read, by kind: namespace_denied, fd_denied, tables_denied (missing privileges), vanished (processes or files gone mid-scan: normal churn), duplicates_dropped (lines the kernel repeated).',
      labelNames: ['kind'],
      registers,
    });
    this.unparsed = new Gauge({ name: 'kubenetstat_agent_unparsed_lines', help: 'Lines of the socket tables held now that do not parse (skipped, the rest of the table kept).', registers });
    this.changes = new Counter({ name: 'kubenetstat_agent_changes_total', help: 'Socket changes found by scans: change="upserted" (new or changed) or "removed".', labelNames: ['change'], registers });
    this.wireBytes = new Counter({ name: 'kubenetstat_agent_wire_bytes_total', help: 'Bytes of the messages sent to the aggregator (before gRPC framing), by kind.', labelNames: ['kind'], registers });
    this.wireMessages = new Counter({ name: 'kubenetstat_agent_wire_messages_total', help: 'Messages sent to the aggregator, by kind (hello, snapshot chunk, delta, heartbeat, goodbye).', labelNames: ['kind'], registers });
    this.connected = new Gauge({ name: 'kubenetstat_agent_connected', help: '1 while a stream to the aggregator is established, else 0.', registers });
    this.reconnects = new Counter({ name: 'kubenetstat_agent_reconnects_total', help: 'Streams to the aggregator that failed or ended (each followed by a reconnect after backoff).', registers });
    this.snapshots = new Counter({ name: 'kubenetstat_agent_snapshots_sent_total', help: 'Full snapshots sent: one per connection, and one per resync the aggregator asked for.', registers });
    this.resyncs = new Counter({ name: 'kubenetstat_agent_resyncs_requested_total', help: 'Resyncs the aggregator asked for.', registers });
    for (const result of ['read', 'skipped']) this.namespaceScans.inc({ result }, 0);
    for (const kind of Object.values(PROBLEM_KINDS)) this.problems.inc({ kind }, 0);
    for (const change of ['upserted', 'removed']) this.changes.inc({ change }, 0);
  }

  /** runAgent's onScan. */
  readonly onScan = (figures: ScanFigures): void => {
    this.lastScanEndMs = this.now();
    this.scanSeconds.observe(figures.ms / 1000);
    this.sockets.set(figures.sockets);
    this.namespaces.set(figures.namespaces);
    this.namespaceScans.inc({ result: 'read' }, figures.namespacesRead);
    this.namespaceScans.inc({ result: 'skipped' }, Math.max(0, figures.namespaces - figures.namespacesRead));
    this.walked.inc(figures.processesWalked);
    for (const [field, kind] of Object.entries(PROBLEM_KINDS) as Array<[ProblemCount, string]>) {
      if (figures.problems[field] > 0) this.problems.inc({ kind }, figures.problems[field]);
    }
    this.unparsed.set(figures.unparsedLines);
    this.changes.inc({ change: 'upserted' }, figures.upserted);
    this.changes.inc({ change: 'removed' }, figures.removed);
  };

  /** runAgent's onStreamEvent. */
  readonly onStreamEvent = (event: StreamEvent): void => {
    switch (event.kind) {
      case 'connected':
        return this.connected.set(1);
      case 'disconnected':
        this.connected.set(0);
        return this.reconnects.inc();
      case 'snapshot':
        return this.snapshots.inc();
      case 'resync-requested':
        return this.resyncs.inc();
      case 'delta':
        return;
    }
  };

  /** runAgent's onSent. */
  readonly onSent = (kind: string, bytes: number): void => {
    this.wireMessages.inc({ kind });
    this.wireBytes.inc({ kind }, bytes);
  };

  /** Milliseconds since the last scan ended (since start before the first): a stuck scan loop shows here. */
  sinceLastScanMs(): number {
    return this.now() - this.lastScanEndMs;
  }
}
