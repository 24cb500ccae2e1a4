/**
 * An in-memory object store with etcd's revision model: one global, monotonically increasing
 * revision stamped on every write as metadata.resourceVersion, and a bounded history of writes
 * from which watches resume and past lists are rebuilt. History older than the bound (or than
 * the last `compact()`) is gone, and asking for it throws `TooOldResourceVersionError` — the
 * API server turns that into 410 Gone.
 */
import { randomUUID } from 'node:crypto';
import { HISTORY_SIZE, inRange } from './defaults.js';
import { RESOURCES, resourceForKind } from './resources.js';
import type { KubeObject, ObjectRef, ResourceType } from './types.js';

export class TooOldResourceVersionError extends Error {
  override readonly name = 'TooOldResourceVersionError';
  constructor(
    readonly requested: number,
    /** The oldest revision still servable. */
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

export type WriteType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, as the store's watchers see it. */
export interface StoredEvent {
  readonly revision: number;
  readonly type: WriteType;
  readonly resource: ResourceType;
  /** The object after the write; for DELETED, its last state stamped with the deletion's revision. */
  readonly object: KubeObject;
  /** The object before the write; undefined for ADDED. */
  readonly previous: KubeObject | undefined;
}

export type StoreListener = (event: StoredEvent) => void;

export interface Snapshot {
  /** The revision the objects are as of. */
  readonly revision: number;
  /** Sorted by namespace, then name — etcd's key order. */
  readonly objects: readonly KubeObject[];
}

export interface StoreOptions {
  /** Writes kept for resumption (defaults.ts HISTORY_SIZE); older revisions answer 410 Gone. */
  readonly historySize?: number;
  readonly now?: () => Date;
}

/** The store key, `namespace/name`; sorts like etcd's /registry/<resource>/<namespace>/<name>. */
export function keyOf(object: Pick<KubeObject, 'metadata'>): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function isObject(target: ObjectRef | KubeObject): target is KubeObject {
  return 'metadata' in target;
}

export class ObjectStore {
  private revision = 0;
  /** Revisions at or below this one can no longer be replayed. */
  private compactedRevision = 0;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>(RESOURCES.map((resource) => [resource, new Map()]));
  private readonly history: StoredEvent[] = [];
  private readonly watchers = new Set<{ resource: ResourceType; listener: StoreListener }>();
  private readonly historySize: number;
  private readonly now: () => Date;

  constructor(options: StoreOptions = {}) {
    this.historySize = inRange('historySize', options.historySize, HISTORY_SIZE);
    this.now = options.now ?? (() => new Date());
  }

  /** The revision of the latest write ("0" before any). */
  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Creates or replaces the object; stamps resourceVersion, and uid and creationTimestamp when missing. Returns a copy of what was stored. */
  upsert(object: KubeObject): KubeObject {
    const resource = resourceForKind(object.kind, object.apiVersion);
    this.checkScope(resource, object.metadata);
    const objects = this.objectsOf(resource);
    const key = keyOf(object);
    const previous = objects.get(key);
    this.revision += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.revision);
    stored.metadata.uid ??= previous?.metadata.uid ?? randomUUID();
    stored.metadata.creationTimestamp ??= previous?.metadata.creationTimestamp ?? this.now().toISOString().replace(/\.\d+Z$/, 'Z');
    objects.set(key, stored);
    this.record({ revision: this.revision, type: previous ? 'MODIFIED' : 'ADDED', resource, object: stored, previous });
    return structuredClone(stored);
  }

  /** Removes the object; throws if there is none. Returns its last state, stamped with the deletion's revision. */
  delete(target: ObjectRef | KubeObject): KubeObject {
    const { resource, key } = this.locate(target);
    const objects = this.objectsOf(resource);
    const previous = objects.get(key);
    if (!previous) throw new Error(`test API server: cannot delete ${resource.resource} ${key}: not found`);
    objects.delete(key);
    this.revision += 1;
    const object: KubeObject = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(this.revision) } };
    this.record({ revision: this.revision, type: 'DELETED', resource, object, previous });
    return structuredClone(object);
  }

  /** A copy of the object, or undefined when there is none. */
  get(target: ObjectRef): KubeObject | undefined {
    const { resource, key } = this.locate(target);
    const object = this.objectsOf(resource).get(key);
    return object && structuredClone(object);
  }

  /** Copies of the objects of a kind, in one namespace or all, in key order. */
  list(kind: string, namespace?: string): KubeObject[] {
    return this.snapshot(resourceForKind(kind)).objects.filter((object) => namespace === undefined || object.metadata.namespace === namespace).map((object) => structuredClone(object));
  }

  /** Forgets all history up to the current revision, like etcd compaction: older resourceVersions now answer 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.compactedRevision = this.revision;
  }

  /**
   * The resource's objects as of `atRevision` (the latest when undefined), rebuilt by undoing
   * later writes. Throws TooOldResourceVersionError for a compacted revision. The objects are the
   * store's own; callers must not mutate them.
   */
  snapshot(resource: ResourceType, atRevision?: number): Snapshot {
    const objects = this.objectsOf(resource);
    if (atRevision === undefined || atRevision >= this.revision) return { revision: this.revision, objects: sortByKey(objects) };
    this.checkReplayable(atRevision);
    const past = new Map(objects);
    for (let index = this.history.length - 1; index >= 0 && this.history[index]!.revision > atRevision; index -= 1) {
      const event = this.history[index]!;
      if (event.resource !== resource) continue;
      if (event.previous) past.set(keyOf(event.previous), event.previous);
      else past.delete(keyOf(event.object));
    }
    return { revision: atRevision, objects: sortByKey(past) };
  }

  /**
   * Calls `listener` with the resource's writes after `fromRevision`: first those still in
   * history, synchronously, then each new one as it happens. Without `fromRevision`, first a
   * synthetic ADDED for every current object (etcd's "get state and start at most recent").
   * Throws TooOldResourceVersionError when the history needed is gone. Returns the unsubscribe.
   */
  watch(resource: ResourceType, fromRevision: number | undefined, listener: StoreListener): () => void {
    if (fromRevision === undefined) {
      for (const object of sortByKey(this.objectsOf(resource))) {
        listener({ revision: Number(object.metadata.resourceVersion), type: 'ADDED', resource, object, previous: undefined });
      }
    } else {
      this.checkReplayable(fromRevision);
      for (const event of this.history) {
        if (event.revision > fromRevision && event.resource === resource) listener(event);
      }
    }
    const watcher = { resource, listener };
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  private record(event: StoredEvent): void {
    this.history.push(event);
    while (this.history.length > this.historySize) this.compactedRevision = this.history.shift()!.revision;
    for (const watcher of [...this.watchers]) {
      if (watcher.resource === event.resource) watcher.listener(event);
    }
  }

  private checkReplayable(revision: number): void {
    if (revision < this.compactedRevision) throw new TooOldResourceVersionError(revision, this.compactedRevision + 1);
  }

  private locate(target: ObjectRef | KubeObject): { resource: ResourceType; key: string } {
    const ref = isObject(target) ? { kind: target.kind, apiVersion: target.apiVersion, namespace: target.metadata.namespace, name: target.metadata.name } : target;
    const resource = resourceForKind(ref.kind, ref.apiVersion);
    this.checkScope(resource, ref);
    return { resource, key: `${ref.namespace ?? ''}/${ref.name}` };
  }

  private checkScope(resource: ResourceType, ref: { namespace?: string | undefined; name: string }): void {
    if (!ref.name) throw new Error(`test API server: a ${resource.kind} needs a name`);
    if (resource.namespaced !== (ref.namespace !== undefined && ref.namespace !== '')) {
      throw new Error(`test API server: ${resource.kind} ${ref.name} is ${resource.namespaced ? 'namespaced and needs' : 'cluster-scoped and takes no'} metadata.namespace`);
    }
  }

  private objectsOf(resource: ResourceType): Map<string, KubeObject> {
    const objects = this.objects.get(resource);
    if (!objects) throw new Error(`test API server: ${resource.resource} is not in the resource table`);
    return objects;
  }
}

function sortByKey(objects: ReadonlyMap<string, KubeObject>): KubeObject[] {
  return [...objects.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, object]) => object);
}
