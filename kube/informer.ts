import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs, type Backoff } from '../common/backoff.js';

/** The part of every API object the informer itself reads. */
export interface ApiObject {
  readonly metadata?: { readonly uid?: string; readonly resourceVersion?: string };
}

/** What one list page asks for (client-node's list request fields). */
export interface ListOptions {
  readonly fieldSelector?: string;
  readonly limit: number;
  readonly _continue?: string;
}

export interface ObjectList<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

/** A kind an informer follows: its cluster-wide collection path (watched) and its list call. */
export interface ResourceSource<T extends ApiObject> {
  /** `/api/v1/pods`, `/apis/discovery.k8s.io/v1/endpointslices`, ... */
  readonly path: string;
  list(options: ListOptions): Promise<ObjectList<T>>;
}

/**
 * Where an informer puts what it keeps of each object. Objects are told apart by metadata.uid,
 * so an object deleted and created again under its name is a remove and an upsert.
 */
export interface InformerSink<K> {
  /** A new or changed object; `previous` is what was kept of it before, if anything. */
  upsert(next: K, previous: K | undefined): void;
  /** The object is gone: deleted, missing from a relist, or no longer worth keeping. */
  remove(previous: K): void;
}

export type InformerEvent =
  | { readonly kind: 'listed'; readonly objects: number; readonly resourceVersion: string }
  | { readonly kind: 'expired'; readonly resourceVersion: string }
  | { readonly kind: 'failed'; readonly error: Error; readonly retryInMs: number };

/** How an informer pages, backs off and reports; the same for every kind. */
export interface InformerTuning {
  /** Items per list page (`limit`/`continue`), so a large cluster never arrives as one response. */
  readonly pageSize?: number;
  /** First and longest wait after a failure (ms); doubled per consecutive failure, with jitter. */
  readonly backoff?: Backoff;
  /** Injected for tests. */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Told about every failure and relist, for logs and metrics. */
  readonly onEvent?: (event: InformerEvent) => void;
}

export interface InformerOptions<T extends ApiObject, K> extends InformerTuning {
  readonly kubeConfig: KubeConfig;
  readonly source: ResourceSource<T>;
  /** The small part of an object worth keeping; undefined to keep nothing of it. */
  readonly keep: (object: T) => K | undefined;
  readonly sink: InformerSink<K>;
  /** Sent with every list and watch (`spec.nodeName=<node>`); everything when undefined. */
  readonly fieldSelector?: string;
}

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 };
const DEFAULT_PAGE_SIZE = 500;

/** A watch ended: normally (server timeout, connection closed) or because its version expired. */
interface WatchEnd {
  readonly resourceVersion: string;
  readonly expired: boolean;
}

/** An HTTP status carried by client-node errors: ApiException.code, or statusCode on watch errors. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = (error as { code?: unknown; statusCode?: unknown }).code ?? (error as { statusCode?: unknown }).statusCode;
  return typeof candidate === 'number' ? candidate : undefined;
}

/**
 * An informer speaking the list/watch protocol directly: a paged list, then a watch from its
 * resourceVersion with bookmarks; a 410 Gone (on the list's continue token, as a watch ERROR
 * event, or as a status) relists; every other failure backs off exponentially with jitter and
 * retries — it never stops on its own (client-node's ListWatch stops for good on a plain 500,
 * and makeInformer drops field selectors). Only what `keep` returns is held, never whole objects.
 */
export class Informer<T extends ApiObject, K> {
  private readonly abort = new AbortController();
  private readonly watcher: Watch;
  /** What was kept of each object, by metadata.uid: a relist tells the sink what went missing. */
  private readonly kept = new Map<string, K>();
  private resolveSynced!: () => void;
  private readonly syncedPromise = new Promise<void>((resolve) => (this.resolveSynced = resolve));
  private running: Promise<void> | undefined;
  private currentWatch: AbortController | undefined;

  constructor(private readonly options: InformerOptions<T, K>) {
    this.watcher = new Watch(options.kubeConfig);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves once the first complete list is in the sink. */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.currentWatch?.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    const delay = this.options.delay ?? ((ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }));
    const random = this.options.random ?? Math.random;
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        resourceVersion ??= await this.relist();
        const end = await this.watch(resourceVersion);
        if (end.expired) {
          this.options.onEvent?.({ kind: 'expired', resourceVersion: end.resourceVersion });
          resourceVersion = undefined;
        } else {
          resourceVersion = end.resourceVersion;
        }
        failures = 0;
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (statusOf(error) === 410) resourceVersion = undefined;
        failures++;
        const retryInMs = backoffDelayMs(backoff, failures, random);
        this.options.onEvent?.({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)), retryInMs });
        await delay(retryInMs, this.abort.signal).catch(() => undefined);
      }
    }
  }

  /** A paged list; the sink then holds exactly what was listed. Returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const objects: T[] = [];
    let continueToken: string | undefined;
    let list: ObjectList<T>;
    do {
      list = await this.options.source.list({
        ...(this.options.fieldSelector !== undefined && { fieldSelector: this.options.fieldSelector }),
        limit: this.options.pageSize ?? DEFAULT_PAGE_SIZE,
        ...(continueToken !== undefined && { _continue: continueToken }),
      });
      objects.push(...list.items);
      continueToken = list.metadata?._continue || undefined;
    } while (continueToken !== undefined && !this.abort.signal.aborted);
    const resourceVersion = list.metadata?.resourceVersion ?? '';
    const listed = new Set<string>();
    for (const object of objects) {
      const uid = object.metadata?.uid;
      if (uid === undefined) continue;
      listed.add(uid);
      this.apply(uid, object);
    }
    for (const uid of [...this.kept.keys()]) if (!listed.has(uid)) this.forget(uid);
    this.options.onEvent?.({ kind: 'listed', objects: objects.length, resourceVersion });
    this.resolveSynced();
    return resourceVersion;
  }

  /** An object as listed or watched (added or modified): kept, replaced, or dropped when nothing of it is worth keeping. */
  private apply(uid: string, object: T): void {
    const previous = this.kept.get(uid);
    const next = this.options.keep(object);
    if (next !== undefined) {
      this.kept.set(uid, next);
      this.options.sink.upsert(next, previous);
    } else if (previous !== undefined) {
      this.kept.delete(uid);
      this.options.sink.remove(previous);
    }
  }

  /** The object is gone: the sink forgets what it kept. */
  private forget(uid: string): void {
    const previous = this.kept.get(uid);
    if (previous === undefined) return;
    this.kept.delete(uid);
    this.options.sink.remove(previous);
  }

  /** One watch stream from resourceVersion until it ends. */
  private watch(resourceVersion: string): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve, reject) => {
      let latest = resourceVersion;
      let expired = false;
      const onEvent = (type: string, object: unknown): void => {
        if (type === 'ERROR') {
          if ((object as { code?: unknown } | undefined)?.code === 410) expired = true;
          return;
        }
        // Watch events are the API's JSON, whose field names are those of client-node's types.
        const apiObject = object as T;
        latest = apiObject.metadata?.resourceVersion ?? latest;
        const uid = apiObject.metadata?.uid;
        if (type === 'BOOKMARK' || uid === undefined) return;
        if (type === 'DELETED') this.forget(uid);
        else this.apply(uid, apiObject);
      };
      const onDone = (error: unknown): void => {
        this.currentWatch = undefined;
        if (error && !this.abort.signal.aborted && statusOf(error) !== 410) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve({ resourceVersion: latest, expired: expired || statusOf(error) === 410 });
      };
      this.watcher
        .watch(
          this.options.source.path,
          {
            allowWatchBookmarks: true,
            resourceVersion,
            ...(this.options.fieldSelector !== undefined && { fieldSelector: this.options.fieldSelector }),
          },
          onEvent,
          onDone,
        )
        .then((controller) => {
          this.currentWatch = controller;
          if (this.abort.signal.aborted) controller.abort();
        }, reject);
    });
  }
}
