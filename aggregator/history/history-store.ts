import { runThrough, Slice } from '../slice.js';
import { SERIES_COUNT, SERIES_NAMES, type HistorySettings, type PodHistoryView, type PodSample, type ResolutionView, type SeriesName } from './types.js';

/**
 * Per-pod counts by state over time, in two ring buffers sharing one clock: fine samples (by
 * default one per 10 s for 1 h: 360) and coarse ones (one per 5 min for 24 h: 288, each the
 * highest fine sample of its 5 minutes, so a short spike still shows). 5 minutes rather than 1
 * because a day of history is drawn as a sparkline of a terminal's width, and memory: a series
 * costs a byte per sample, (360 + 288) = 648 bytes, as long as its counts stay below 256 (2
 * bytes per sample below 65,536, 4 beyond; only that series widens), and exists only for states
 * the pod had sockets in during the last day (`npm run bench` measures what a pod costs; README,
 * Performance). `maxPods` bounds the total. A pod
 * without sockets keeps its history for the coarse retention, then is dropped; at the cap, a
 * new pod replaces the one gone longest (or is not tracked while every tracked pod is present).
 */

/** What one tracked pod's record costs beyond its series (object, map entry, key, arrays): an estimate for bytes(). */
const POD_BYTES = 400;
/** A typed array's own object and backing-store header, beyond its elements. */
const ARRAY_BYTES = 100;

/** Where one sample is written: its time, sequence number and cells. */
interface SampleAt {
  readonly nowMs: number;
  /** This sample's number (HistoryStore.samples): pods written in it carry it. */
  readonly sample: number;
  readonly fineCell: number;
  readonly coarseCell: number;
  /** The sample opens a coarse bucket (its cell is overwritten, not maxed). */
  readonly newBucket: boolean;
}

const keyOf = (sample: PodSample): string => sample.key ?? `${sample.namespace}/${sample.name}`;

/** A series' counts: one byte each until a count needs more (then 2, then 4; only that series widens). */
type Counts = Uint8Array | Uint16Array | Uint32Array;

/** The same counts in an array wide enough for `count`. */
function widened(values: Counts, count: number): Counts {
  if (count <= 0xff || (count <= 0xffff && !(values instanceof Uint8Array))) return values;
  return count <= 0xffff ? Uint16Array.from(values) : Uint32Array.from(values);
}

/** One pod's series: fine ring then coarse ring in one array; undefined for states never seen. */
class PodHistory {
  node = '';
  uid = '';
  lastPresentMs = 0;
  /** The sample (HistoryStore.samples) this pod was last written in, present or not. */
  sampled = -1;
  readonly series: Array<Counts | undefined> = new Array<undefined>(SERIES_COUNT).fill(undefined);
  /** When each series last had a non-zero count (ms): an all-zero series is freed after the coarse retention. */
  readonly lastNonZeroMs = new Float64Array(SERIES_COUNT);

  constructor(
    /** Its key in HistoryStore.pods. */
    readonly key: string,
    readonly namespace: string,
    readonly name: string,
    readonly firstSampleMs: number,
    /** The first fine and coarse samples that counted this pod. */
    readonly firstFineSeq: number,
    readonly firstCoarseSeq: number,
  ) {}
}

/** A ring of sample times; a sample's sequence number picks its cell. */
class TimeRing {
  readonly times: Float64Array;
  /** Sequence number of the latest sample; -1 before the first. */
  seq = -1;
  /** A sample is being written into the cell after `seq`'s, which readers no longer see. */
  writing = false;

  constructor(readonly length: number) {
    this.times = new Float64Array(length);
  }

  /** The cell of sample `seq`. */
  cell(seq: number): number {
    return seq % this.length;
  }

  /** The oldest sequence number still held (and not being overwritten). */
  get oldest(): number {
    return Math.max(0, this.seq - this.length + (this.writing ? 2 : 1));
  }
}

export class HistoryStore {
  private readonly pods = new Map<string, PodHistory>();
  private readonly fine: TimeRing;
  private readonly coarse: TimeRing;
  private readonly fineMs: number;
  private readonly coarseMs: number;
  private lastFineSlot = -1;
  private lastCoarseSlot = -1;
  /**
   * Samples begun, their number marking the pods written in each (one that stop() abandoned
   * half-way leaves marks no later sample takes for its own).
   */
  private samples = 0;
  /** Pods the latest sample left untracked: the cap was reached with every tracked pod present. */
  private untrackedPods = 0;

  constructor(readonly settings: HistorySettings) {
    this.fineMs = settings.fineSeconds * 1000;
    this.coarseMs = settings.coarseSeconds * 1000;
    this.fine = new TimeRing(Math.max(1, Math.round(settings.fineRetentionSeconds / settings.fineSeconds)));
    this.coarse = new TimeRing(Math.max(1, Math.round(settings.coarseRetentionSeconds / settings.coarseSeconds)));
  }

  get podCount(): number {
    return this.pods.size;
  }

  /** Pods the latest sample could not track (the cap was full of present pods). */
  get untracked(): number {
    return this.untrackedPods;
  }

  /**
   * Records the pods present now (every pod with sockets). At most one sample per fine step:
   * a call within the step of the previous one does nothing and returns false.
   */
  record(nowMs: number, present: Iterable<PodSample>): boolean {
    return runThrough(this.sample(nowMs, present, new Slice(Infinity)));
  }

  /**
   * record() in steps: yields whenever `slice` is due (a large cluster's sample, above all the
   * first one of many new pods, would otherwise hold the event loop). Meanwhile readers see the samples taken before this
   * one: the ring cell being written is hidden (TimeRing.writing) and the sample's time is
   * published at the end. Only the coarse bucket still open may show this sample's counts
   * early (its maximum so far). Driven by one caller at a time.
   */
  *sample(nowMs: number, present: Iterable<PodSample>, slice: Slice): Generator<void, boolean> {
    const fineSlot = Math.floor(nowMs / this.fineMs);
    if (fineSlot === this.lastFineSlot) return false;
    this.lastFineSlot = fineSlot;
    const coarseSlot = Math.floor(nowMs / this.coarseMs);
    const newBucket = coarseSlot !== this.lastCoarseSlot;
    this.lastCoarseSlot = coarseSlot;
    const fineSeq = this.fine.seq + 1;
    const coarseSeq = newBucket ? this.coarse.seq + 1 : this.coarse.seq;
    this.fine.writing = true;
    this.coarse.writing = newBucket;
    const at: SampleAt = { nowMs, sample: ++this.samples, fineCell: this.fine.cell(fineSeq), coarseCell: this.fine.length + this.coarse.cell(coarseSeq), newBucket };

    // Pods tracked already first, so that a new pod at the cap never replaces one present now.
    const newcomers: PodSample[] = [];
    for (const sample of present) {
      if (slice.tick()) yield* slice.rest();
      const pod = this.pods.get(keyOf(sample));
      if (pod) this.writePresent(pod, sample, at);
      else newcomers.push(sample);
    }
    let evictable: PodHistory[] | undefined;
    this.untrackedPods = 0;
    for (const sample of newcomers) {
      // A new pod's record and series cost far more than a tracked pod's write: the clock is read every time.
      if (slice.due()) yield* slice.rest();
      const key = keyOf(sample);
      let pod = this.pods.get(key);
      if (!pod) {
        if (this.pods.size >= this.settings.maxPods) {
          evictable ??= this.evictionOrder(at.sample);
          const gone = evictable.pop();
          if (!gone) {
            this.untrackedPods++;
            continue;
          }
          this.pods.delete(gone.key);
        }
        pod = new PodHistory(key, sample.namespace, sample.name, nowMs, fineSeq, coarseSeq);
        this.pods.set(key, pod);
      }
      this.writePresent(pod, sample, at);
    }
    const forgetBefore = nowMs - this.settings.coarseRetentionSeconds * 1000 - this.coarseMs;
    for (const pod of this.pods.values()) {
      if (slice.tick()) yield* slice.rest();
      if (pod.sampled === at.sample) continue;
      if (pod.lastPresentMs < forgetBefore) {
        this.pods.delete(pod.key);
        continue;
      }
      pod.sampled = at.sample;
      for (let state = 0; state < SERIES_COUNT; state++) if (pod.series[state]) this.write(pod, state, 0, at);
    }

    this.fine.times[at.fineCell] = nowMs;
    this.fine.seq = fineSeq;
    this.fine.writing = false;
    if (newBucket) this.coarse.times[this.coarse.cell(coarseSeq)] = coarseSlot * this.coarseMs;
    this.coarse.seq = coarseSeq;
    this.coarse.writing = false;
    return true;
  }

  private writePresent(pod: PodHistory, sample: PodSample, at: SampleAt): void {
    pod.node = sample.node;
    pod.uid = sample.uid;
    pod.lastPresentMs = at.nowMs;
    pod.sampled = at.sample;
    for (let state = 0; state < SERIES_COUNT; state++) {
      const count = sample.counts[state] ?? 0;
      if (count > 0 && !pod.series[state]) pod.series[state] = new Uint8Array(this.fine.length + this.coarse.length);
      if (pod.series[state]) this.write(pod, state, count, at);
    }
  }

  /** Pods that may make room for a new one, the one gone longest last (popped first); pods in this sample never. */
  private evictionOrder(sample: number): PodHistory[] {
    return [...this.pods.values()].filter((pod) => pod.sampled !== sample).sort((a, b) => b.lastPresentMs - a.lastPresentMs);
  }

  private write(pod: PodHistory, state: number, count: number, { nowMs, fineCell, coarseCell, newBucket }: SampleAt): void {
    let values = pod.series[state]!;
    if (count > 0) pod.lastNonZeroMs[state] = nowMs;
    else if (nowMs - pod.lastNonZeroMs[state]! > this.settings.coarseRetentionSeconds * 1000 + this.coarseMs) {
      // Zero in every sample either ring still holds.
      pod.series[state] = undefined;
      return;
    }
    if (count > 0xff && !(values instanceof Uint32Array)) pod.series[state] = values = widened(values, count);
    const value = Math.min(count, 0xffffffff);
    values[fineCell] = value;
    values[coarseCell] = newBucket ? value : Math.max(values[coarseCell]!, value);
  }

  /** A pod's history, oldest sample first; undefined when the pod is not tracked. */
  get(namespace: string, name: string): PodHistoryView | undefined {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) return undefined;
    return {
      namespace: pod.namespace,
      name: pod.name,
      uid: pod.uid,
      node: pod.node,
      firstSampleMs: pod.firstSampleMs,
      lastPresentMs: pod.lastPresentMs,
      resolutions: [
        this.view(pod, 'fine', this.fine, pod.firstFineSeq, 0, this.settings.fineSeconds, this.settings.fineRetentionSeconds),
        this.view(pod, 'coarse', this.coarse, pod.firstCoarseSeq, this.fine.length, this.settings.coarseSeconds, this.settings.coarseRetentionSeconds),
      ],
    };
  }

  private view(pod: PodHistory, name: ResolutionView['name'], ring: TimeRing, firstSeq: number, offset: number, stepSeconds: number, retentionSeconds: number): ResolutionView {
    const from = Math.max(firstSeq, ring.oldest);
    const timesMs: number[] = [];
    for (let seq = from; seq <= ring.seq; seq++) timesMs.push(ring.times[ring.cell(seq)]!);
    const series: Partial<Record<SeriesName, number[]>> = {};
    pod.series.forEach((values, state) => {
      if (!values) return;
      const counts: number[] = [];
      for (let seq = from; seq <= ring.seq; seq++) counts.push(values[offset + ring.cell(seq)]!);
      if (counts.some((count) => count > 0)) series[SERIES_NAMES[state]!] = counts;
    });
    return { name, stepSeconds, retentionSeconds, aggregate: name === 'fine' ? 'sample' : 'max', timesMs, series };
  }

  /** An estimate of the memory held (bytes): every pod's record and series, and the rings of times. */
  bytes(): number {
    let total = (this.fine.length + this.coarse.length) * 8;
    for (const pod of this.pods.values()) {
      total += POD_BYTES + pod.namespace.length + pod.name.length;
      for (const values of pod.series) if (values) total += ARRAY_BYTES + values.byteLength;
    }
    return total;
  }
}
