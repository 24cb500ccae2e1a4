import { CoreV1Api, Watch, type KubeConfig, type V1Pod, type V1PodList } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { podMetaFromApi } from './pod-meta.js';
import type { PodStore } from './pod-store.js';

export interface PodInformerOptions {
  readonly kubeConfig: KubeConfig;
  /** Watch only this node's pods (`fieldSelector=spec.nodeName=<node>`); all pods when undefined. */
  readonly nodeName?: string;
  readonly store: PodStore;
  /** Items per list page (`limit`/`continue`), so a large node never arrives as one response. */
  readonly pageSize?: number;
  /** First and longest wait after a failure (ms); doubled per consecutive failure, with jitter. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Injected for tests. */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  /** Told about every failure and relist, for logs and metrics. */
  readonly onEvent?: (event: InformerEvent) => void;
}

export type InformerEvent =
  | { readonly kind: 'listed'; readonly pods: number; readonly resourceVersion: string }
  | { readonly kind: 'expired'; readonly resourceVersion: string }
  | { readonly kind: 'failed'; readonly error: Error; readonly retryInMs: number };

const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 };
const DEFAULT_PAGE_SIZE = 500;

/** A watch ended: normally (server timeout, connection closed) or because its version expired. */
interface WatchEnd {
  readonly resourceVersion: string;
  readonly expired: boolean;
}

/** An HTTP status carried by client-node errors: ApiException.code, or statusCode on watch errors. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = (error as { code?: unknown; statusCode?: unknown }).code ?? (error as { statusCode?: unknown }).statusCode;
  return typeof candidate === 'number' ? candidate : undefined;
}

/**
 * A node-scoped pod informer speaking the list/watch protocol directly: a paged list, then a
 * watch from its resourceVersion with bookmarks; a 410 Gone (on the list's continue token, as a
 * watch ERROR event, or as a status) relists; every other failure backs off exponentially
 * with jitter and retries — it never stops on its own (client-node's ListWatch stops for good
 * on a plain 500). Only PodMeta is kept, never whole pod objects.
 */
export class PodInformer {
  private readonly abort = new AbortController();
  private readonly api: CoreV1Api;
  private readonly watcher: Watch;
  private resolveSynced!: () => void;
  private readonly syncedPromise = new Promise<void>((resolve) => (this.resolveSynced = resolve));
  private running: Promise<void> | undefined;
  private currentWatch: AbortController | undefined;

  constructor(private readonly options: PodInformerOptions) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watcher = new Watch(options.kubeConfig);
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves once the first complete list is in the store. */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.currentWatch?.abort();
    await this.running;
  }

  private get fieldSelector(): string | undefined {
    return this.options.nodeName === undefined ? undefined : `spec.nodeName=${this.options.nodeName}`;
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
        const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (failures - 1));
        const retryInMs = Math.round(ceiling / 2 + (random() * ceiling) / 2);
        this.options.onEvent?.({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)), retryInMs });
        await delay(retryInMs, this.abort.signal).catch(() => undefined);
      }
    }
  }

  /** A paged list; the store becomes exactly what was listed. Returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const pods: V1Pod[] = [];
    let continueToken: string | undefined;
    let list: V1PodList;
    do {
      list = await this.api.listPodForAllNamespaces({
        ...(this.fieldSelector !== undefined && { fieldSelector: this.fieldSelector }),
        limit: this.options.pageSize ?? DEFAULT_PAGE_SIZE,
        ...(continueToken !== undefined && { _continue: continueToken }),
      });
      pods.push(...list.items);
      continueToken = list.metadata?._continue || undefined;
    } while (continueToken !== undefined && !this.abort.signal.aborted);
    const resourceVersion = list.metadata?.resourceVersion ?? '';
    this.options.store.replaceAll(pods.flatMap((pod) => podMetaFromApi(pod) ?? []));
    this.options.onEvent?.({ kind: 'listed', pods: pods.length, resourceVersion });
    this.resolveSynced();
    return resourceVersion;
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
        const pod = object as V1Pod;
        latest = pod.metadata?.resourceVersion ?? latest;
        if (type === 'BOOKMARK') return;
        const meta = podMetaFromApi(pod);
        if (!meta) return;
        if (type === 'DELETED') this.options.store.markDeleted(meta.uid);
        else this.options.store.upsert(meta);
      };
      const onDone = (error: unknown): void => {
        this.currentWatch = undefined;
        if (error && !this.abort.signal.aborted && statusOf(error) !== 410) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve({ resourceVersion: latest, expired: expired || statusOf(error) === 410 });
      };
      this.watcher
        .watch(
          '/api/v1/pods',
          {
            allowWatchBookmarks: true,
            resourceVersion,
            ...(this.fieldSelector !== undefined && { fieldSelector: this.fieldSelector }),
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
