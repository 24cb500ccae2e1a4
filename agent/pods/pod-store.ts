import { isDeepStrictEqual } from 'node:util';
import type { PodMeta, VersionedPodResolver } from '../../model/pod.js';

/**
 * The pods of a node as attribution sees them, fed by an informer. Deleted pods stay
 * resolvable for a grace period — their TIME_WAIT sockets linger in the namespace for up to
 * 60 s, and a namespace can outlive its pod object — then are dropped, so memory is bounded by
 * the node's pods plus those deleted within the grace period.
 */
export class PodStore implements VersionedPodResolver {
  private readonly byUidMap = new Map<string, PodMeta>();
  /** Static pods: config hash (the UID in their cgroups) → metadata.uid of the mirror pod. */
  private readonly byConfigHash = new Map<string, string>();
  private changes = 0;

  constructor(
    /** How long a deleted pod keeps its name (ms). */
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts every change a lookup could see; a deleted pod's grace period ending is one. */
  get version(): number {
    this.prune();
    return this.changes;
  }

  byUid(uid: string): PodMeta | undefined {
    const pod = this.byUidMap.get(uid) ?? this.byUidMap.get(this.byConfigHash.get(uid) ?? '');
    if (!pod) return undefined;
    if (pod.deletedAt && this.now() - pod.deletedAt.getTime() > this.graceMs) {
      this.remove(pod);
      return undefined;
    }
    return pod;
  }

  upsert(pod: PodMeta): void {
    const previous = this.byUidMap.get(pod.uid);
    // A relist or a status-only update repeats what is known: not a change for attribution.
    if (isDeepStrictEqual(previous, pod)) return;
    this.changes++;
    if (previous?.configHash && previous.configHash !== pod.configHash) this.byConfigHash.delete(previous.configHash);
    this.byUidMap.set(pod.uid, pod);
    if (pod.configHash) this.byConfigHash.set(pod.configHash, pod.uid);
    this.prune();
  }

  markDeleted(uid: string): void {
    const pod = this.byUidMap.get(uid);
    if (pod && !pod.deletedAt) {
      this.byUidMap.set(uid, { ...pod, deletedAt: new Date(this.now()) });
      this.changes++;
    }
    this.prune();
  }

  /** Live pods and those still in their grace period. */
  list(): PodMeta[] {
    this.prune();
    return [...this.byUidMap.values()];
  }

  private prune(): void {
    const now = this.now();
    for (const pod of this.byUidMap.values()) if (pod.deletedAt && now - pod.deletedAt.getTime() > this.graceMs) this.remove(pod);
  }

  private remove(pod: PodMeta): void {
    this.changes++;
    this.byUidMap.delete(pod.uid);
    if (pod.configHash && this.byConfigHash.get(pod.configHash) === pod.uid) this.byConfigHash.delete(pod.configHash);
  }
}
