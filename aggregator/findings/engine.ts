import { createHash } from 'node:crypto';
import type { HistoryStore } from '../history/history-store.js';
import type { NodeStore } from '../store/index.js';
import { collectEvidence } from './evidence.js';
import { PassMemory, passOver, type Pass } from './pass.js';
import { runThrough, Slice } from '../slice.js';
import { closeWaitLeak } from './rules/close-wait.js';
import { finWait2Lingering, lastAckLingering } from './rules/lingering.js';
import { listenOverflow, synFlood } from './rules/listen-queue.js';
import { portPressure } from './rules/port-pressure.js';
import { socketGrowth } from './rules/socket-growth.js';
import { stuckRecvQueue, stuckSendQueue } from './rules/stuck-queues.js';
import { FloorTrends } from './trend.js';
import type { Candidate, Evidence, Finding, FindingsSettings, FindingText, PassPart, PortRangeOf, Rule, RuleContext } from './types.js';
import type { LogFn } from '../../common/log.js';

/** Every rule, in the order their findings are made: when maxFindings are kept, the later ones are left out first. */
const ALL_RULES: readonly Rule[] = [closeWaitLeak, portPressure, stuckRecvQueue, stuckSendQueue, listenOverflow, synFlood, socketGrowth, finWait2Lingering, lastAckLingering];

/** Pods (or processes) a rule judges between two looks at the clock: few enough that the costliest rule's part stays well inside a slice. */
const PART_SIZE = 500;

/** A pass's pods and processes in parts of PART_SIZE (at least one part, maybe empty). */
function partsOf(pass: Pass): PassPart[] {
  const pods = [...pass.pods.values()];
  const parts: PassPart[] = [];
  for (let at = 0; at === 0 || at < pods.length || at < pass.processes.length; at += PART_SIZE) {
    parts.push({ pods: pods.slice(at, at + PART_SIZE), processes: pass.processes.slice(at, at + PART_SIZE) });
  }
  return parts;
}

/** Pods and processes whose counts are followed for trends, at most (~100 bytes each). */
const MAX_TREND_SUBJECTS = 200_000;
/**
 * On its timer an evaluation gives the event loop back every this many ms (between nodes of
 * the pass, between findings it gathers evidence for): queries and ingest wait at most this
 * long behind it instead of the whole evaluation, which grows with the cluster's sockets.
 */
const SLICE_MS = 10;

export interface FindingsEngineOptions {
  readonly settings: FindingsSettings;
  /** Fed with every pass's per-pod counts. */
  readonly history: HistoryStore;
  /** Each namespace's ephemeral port range; the kernel's default is assumed without it. */
  readonly portRangeOf?: PortRangeOf;
  /** Default: the node store's clock. */
  readonly now?: () => number;
  readonly log: LogFn;
  /** A finding opened (not one reopening while still listed as resolved): Kubernetes Events. */
  readonly onOpened?: (finding: Finding) => void;
  /**
   * How often the engine is evaluated (ms), when on a timer: open findings' evidence is then
   * gathered again a share at a time, so that each evaluation refreshes about as many as
   * fall due per interval instead of all those opened together at once. Without it, every
   * finding whose evidence is due is refreshed in the evaluation that finds it due.
   */
  readonly evaluateEveryMs?: number;
}

/** What the last evaluation cost and found. */
export interface EvaluationStats {
  readonly atMs: number;
  readonly durationMs: number;
  readonly sockets: number;
  readonly pods: number;
  readonly processes: number;
  readonly open: number;
  readonly resolved: number;
}

/** `<rule>-<16 hex>`: the same rule and subject always make the same id. */
export function findingId(candidate: Pick<Candidate, 'rule' | 'subject'>): string {
  return `${candidate.rule}-${createHash('sha256').update(candidate.subject).digest('hex').slice(0, 16)}`;
}

/**
 * The finding with its text written when first read: an open finding is made again on every
 * evaluation, and its text (three sentences) is read only when it is served, logged or posted.
 * `describe` must close over values, not over tallies a later pass changes.
 */
function withText(finding: Omit<Finding, 'text'>, describe: (evidence: Evidence) => FindingText): Finding {
  let text: FindingText | undefined;
  return Object.defineProperty(finding, 'text', { enumerable: true, get: () => (text ??= describe(finding.evidence)) }) as Finding;
}

/**
 * Runs the rules over the store on a timer: one pass (pass.ts) feeds the history and every
 * rule; what rules return opens or keeps findings open, what they no longer return resolves
 * (except on nodes that cannot be vouched for now, whose findings stay as they were). Resolved
 * findings are listed for settings.resolvedRetentionSeconds; a finding that comes back within
 * that time reopens under the same id and first-seen time.
 */
export class FindingsEngine {
  private readonly findings = new Map<string, Finding>();
  /** Candidates waiting out their holdMs: when each was first returned. */
  private readonly pending = new Map<string, number>();
  private readonly trends: RuleContext['trends'];
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private stats: EvaluationStats | undefined;
  /** An evaluation on the timer is under way (they never overlap). */
  private evaluating = false;
  /** The last evaluation left candidates out: maxFindings findings were kept already. */
  private overCap = false;
  /** The pass's tallies, kept from one evaluation to the next (pass.ts). */
  private readonly memory = new PassMemory();
  /** Finding ids by rule and subject, for the findings kept and pending: hashed once, not on every evaluation. */
  private readonly ids = new Map<string, Map<string, string>>();

  constructor(
    private readonly store: NodeStore,
    private readonly options: FindingsEngineOptions,
  ) {
    this.now = options.now ?? store.now;
    this.trends = {
      closeWait: new FloorTrends(options.settings.closeWait.windowSeconds * 1000, MAX_TREND_SUBJECTS),
      processSockets: new FloorTrends(options.settings.socketGrowth.windowSeconds * 1000, MAX_TREND_SUBJECTS),
    };
  }

  get lastEvaluation(): EvaluationStats | undefined {
    return this.stats;
  }

  /** Evaluates every `intervalMs` until stop(), in slices (SLICE_MS); a failing evaluation is logged, never thrown. */
  start(intervalMs: number): void {
    this.timer ??= setInterval(() => {
      if (this.evaluating) return;
      this.evaluating = true;
      this.evaluateInSlices()
        .catch((error: unknown) => this.options.log('findings evaluation failed', { error: error instanceof Error ? error.message : String(error) }, 'error'))
        .finally(() => (this.evaluating = false));
    }, intervalMs).unref();
  }

  /** Runs an evaluation slice by slice; one that stop() interrupts is dropped. */
  private async evaluateInSlices(): Promise<void> {
    const evaluation = this.steps(SLICE_MS);
    while (!evaluation.next().done) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.timer) return;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One evaluation at once: a pass, the history sample, the rules, and the findings' lifecycle. */
  evaluate(): EvaluationStats {
    return runThrough(this.steps(Infinity));
  }

  /**
   * One evaluation as steps: it yields whenever `sliceMs` went by since it started or last
   * yielded (the timer lets queries and ingest run at each yield; evaluate() runs it through).
   * Driven by one caller at a time, never two evaluations at once.
   */
  *steps(sliceMs: number): Generator<void, EvaluationStats> {
    const started = performance.now();
    const { settings } = this.options;
    const nowMs = this.now();
    // One slice clock for every step, so that no step starts a fresh slice on top of what the
    // last one used. The history's sample and the rules yield too: run in one go, each would
    // hold the event loop for many slices on a large cluster (a query arriving then waits it
    // out). Rules yield between parts of PART_SIZE pods or processes.
    const slice = new Slice(sliceMs);
    const pass = yield* passOver(this.store, settings, nowMs, this.options.portRangeOf, slice, this.memory);
    yield* this.options.history.sample(nowMs, pass.pods.values(), slice);
    const context: RuleContext = { settings, nowMs, trends: this.trends };
    this.trends.closeWait.beginPass();
    this.trends.processSockets.beginPass();
    const candidates: Candidate[] = [];
    const parts = partsOf(pass);
    for (const rule of ALL_RULES) {
      for (const part of parts) {
        if (slice.due()) yield* slice.rest();
        for (const candidate of rule(part, context)) candidates.push(candidate);
      }
    }
    this.trends.closeWait.endPass();
    this.trends.processSockets.endPass();

    const seen = new Set<string>();
    let evictable: Finding[] | undefined;
    let left = 0;
    const refresh = this.evidenceRefresh(nowMs);
    for (const candidate of candidates) {
      if (slice.due()) yield* slice.rest();
      const id = this.idOf(candidate);
      if (seen.has(id)) continue;
      seen.add(id);
      // A node that cannot be vouched for ages its last known sockets: nothing is judged on them.
      if (pass.unavailable.has(candidate.pod.node)) continue;
      const existing = this.findings.get(id);
      if (candidate.holdMs > 0 && existing?.state !== 'open') {
        const since = this.pending.get(id) ?? nowMs;
        this.pending.set(id, since);
        if (nowMs - since < candidate.holdMs) continue;
      }
      if (!existing && this.findings.size >= settings.maxFindings) {
        // Full: a new finding takes the place of the resolved one resolved longest ago, or is left out.
        evictable ??= [...this.findings.values()].filter((finding) => finding.resolvedMs !== null).sort((a, b) => b.resolvedMs! - a.resolvedMs!);
        const gone = evictable.pop();
        if (!gone) {
          left++;
          continue;
        }
        this.findings.delete(gone.id);
      }
      this.open(id, candidate, existing, nowMs, refresh);
    }
    if ((left > 0) !== this.overCap) this.options.log(left > 0 ? 'findings left out: max-findings are kept already (--rule max-findings)' : 'findings no longer left out', { left, kept: this.findings.size });
    this.overCap = left > 0;
    for (const id of this.pending.keys()) if (!seen.has(id)) this.pending.delete(id);
    if (slice.due()) yield* slice.rest();
    for (const finding of this.findings.values()) {
      if (slice.due()) yield* slice.rest();
      const { id } = finding;
      if (finding.state === 'open' && !seen.has(id) && !pass.unavailable.has(finding.node)) {
        this.findings.set(id, { ...finding, state: 'resolved', resolvedMs: nowMs });
        this.options.log('finding resolved', { id, rule: finding.rule, namespace: finding.namespace, pod: finding.pod });
      }
    }
    if (slice.due()) yield* slice.rest();
    this.prune(nowMs);
    this.forgetIds();
    let open = 0;
    for (const finding of this.findings.values()) if (finding.state === 'open') open++;
    this.stats = { atMs: nowMs, durationMs: performance.now() - started, sockets: pass.sockets, pods: pass.pods.size, processes: pass.processes.length, open, resolved: this.findings.size - open };
    return this.stats;
  }

  private idOf(candidate: Candidate): string {
    let byRule = this.ids.get(candidate.rule);
    if (!byRule) this.ids.set(candidate.rule, (byRule = new Map()));
    let id = byRule.get(candidate.subject);
    if (id === undefined) byRule.set(candidate.subject, (id = findingId(candidate)));
    return id;
  }

  /** Keeps the ids of findings kept and pending only. */
  private forgetIds(): void {
    for (const byRule of this.ids.values()) {
      byRule.forEach((id, subject) => {
        if (!this.findings.has(id) && !this.pending.has(id)) byRule.delete(subject);
      });
    }
  }

  /**
   * Which open findings' evidence this evaluation gathers again: those whose evidence is older
   * than evidenceRefreshSeconds, and on a timer (evaluateEveryMs) at most the share of open
   * findings that falls due per interval (oldest evidence first), so that findings opened
   * together do not all decode their sockets again in one evaluation.
   */
  private evidenceRefresh(nowMs: number): (finding: Finding) => boolean {
    const refreshMs = this.options.settings.evidenceRefreshSeconds * 1000;
    const due = (finding: Finding): boolean => nowMs - finding.evidence.collectedMs >= refreshMs;
    const everyMs = this.options.evaluateEveryMs;
    if (everyMs === undefined) return due;
    const open = [...this.findings.values()].filter((finding) => finding.state === 'open');
    const budget = Math.ceil((open.length * everyMs) / refreshMs);
    const dueFindings = open.filter(due);
    if (dueFindings.length <= budget) return due;
    const chosen = new Set(dueFindings.sort((a, b) => a.evidence.collectedMs - b.evidence.collectedMs).slice(0, budget));
    return (finding) => chosen.has(finding);
  }

  private open(id: string, candidate: Candidate, existing: Finding | undefined, nowMs: number, refresh: (finding: Finding) => boolean): void {
    const { settings } = this.options;
    const fresh = existing?.state === 'open' && !refresh(existing);
    const evidence = fresh ? existing.evidence : collectEvidence(candidate.pod, candidate.match, { decodeLimit: settings.evidenceSockets, nowMs, peers: this.store.peers });
    const { pod } = candidate;
    const finding = withText({
      id,
      rule: candidate.rule,
      severity: candidate.severity,
      state: 'open',
      namespace: pod.namespace,
      pod: pod.name,
      podUid: pod.uid,
      node: pod.node,
      workload: pod.workload,
      sockets: candidate.sockets,
      trend: candidate.trend,
      details: candidate.details,
      evidence,
      firstSeenMs: existing?.firstSeenMs ?? nowMs,
      lastSeenMs: nowMs,
      resolvedMs: null,
    }, candidate.describe);
    this.findings.set(id, finding);
    if (existing?.state === 'open') return;
    this.options.log(existing ? 'finding reopened' : 'finding opened', { id, rule: finding.rule, severity: finding.severity, namespace: finding.namespace, pod: finding.pod, summary: finding.text.summary });
    if (!existing) this.options.onOpened?.(finding);
  }

  /** Forgets resolved findings past their retention. */
  private prune(nowMs: number): void {
    const retentionMs = this.options.settings.resolvedRetentionSeconds * 1000;
    for (const finding of this.findings.values()) if (finding.resolvedMs !== null && nowMs - finding.resolvedMs > retentionMs) this.findings.delete(finding.id);
  }

  /** Every finding kept, newest (first seen) first. */
  all(): Finding[] {
    return [...this.findings.values()].sort((a, b) => b.firstSeenMs - a.firstSeenMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get size(): number {
    return this.findings.size;
  }
}
