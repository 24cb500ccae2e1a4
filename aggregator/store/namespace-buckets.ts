import { grown } from './grown.js';
import { inPod, type PodIndex } from './pod-index.js';
import * as record from './record.js';

// This module's own consts, which optimized code folds (node-sockets.ts says why).
const { BUCKET, BUCKET_AT, INTS } = record;

const EMPTY_SLOTS = new Int32Array(0);

/** One namespace's slots, in no particular order (removal swaps the last one in). */
class Bucket {
  slots: Int32Array = new Int32Array(16);
  size = 0;
  constructor(readonly namespace: string) {}
}

/**
 * A store's slots by the namespace of their pod: what a query for some namespaces walks
 * instead of every slot. A slot's bucket and its place in it are in its record (BUCKET,
 * BUCKET_AT), which the store hands in; an emptied bucket stays, to keep ids stable.
 */
export class NamespaceBuckets {
  private readonly buckets: Bucket[] = [];
  private readonly ids = new Map<string, number>();

  /** The pod namespaces present (sockets outside pods are in none). */
  names(): string[] {
    return this.buckets.filter((bucket) => bucket.size > 0).map((bucket) => bucket.namespace);
  }

  /** The slots of one namespace's pods: a view, valid until the next change. */
  view(namespace: string): Int32Array {
    const bucket = this.bucketOf(namespace);
    return bucket ? bucket.slots.subarray(0, bucket.size) : EMPTY_SLOTS;
  }

  /** The bucket (id) of a pod's namespace, made on first sight; -1 outside pods. The pod remembers it: a store asks for every socket it takes. */
  idOf(pod: PodIndex | undefined): number {
    if (pod === undefined) return -1;
    if (pod.buckets === this) return pod.bucketId;
    const namespace = inPod(pod)?.namespace;
    let id = -1;
    if (namespace !== undefined) {
      id = this.ids.get(namespace) ?? -1;
      if (id < 0) {
        id = this.buckets.push(new Bucket(namespace)) - 1;
        this.ids.set(namespace, id);
      }
    }
    pod.buckets = this;
    pod.bucketId = id;
    return id;
  }

  /** Enters `slot` (its record in `ints`) in bucket `id`; -1 enters it in none. */
  add(ints: Int32Array, slot: number, id: number): void {
    const r = slot * INTS;
    ints[r + BUCKET] = id;
    if (id < 0) return;
    const bucket = this.buckets[id]!;
    if (bucket.size === bucket.slots.length) bucket.slots = grown(bucket.slots, bucket.size * 2, (n) => new Int32Array(n));
    bucket.slots[bucket.size] = slot;
    ints[r + BUCKET_AT] = bucket.size++;
  }

  /** Takes `slot` out of its bucket, if it is in one. */
  remove(ints: Int32Array, slot: number): void {
    const r = slot * INTS;
    const id = ints[r + BUCKET]!;
    if (id < 0) return;
    const bucket = this.buckets[id]!;
    const at = ints[r + BUCKET_AT]!;
    const last = bucket.slots[--bucket.size]!;
    bucket.slots[at] = last;
    ints[last * INTS + BUCKET_AT] = at;
  }

  private bucketOf(namespace: string): Bucket | undefined {
    const id = this.ids.get(namespace);
    return id === undefined ? undefined : this.buckets[id];
  }
}
