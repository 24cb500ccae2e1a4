import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { PodMeta } from '../../model/pod.js';
import { Informer, type InformerTuning } from '../../kube/informer.js';
import { podMetaFromApi } from '../../kube/pod-meta.js';
import type { PodStore } from './pod-store.js';
import { podSource } from '../../kube/sources.js';

export type { InformerEvent } from '../../kube/informer.js';

export interface PodInformerOptions extends InformerTuning {
  readonly kubeConfig: KubeConfig;
  /** Watch only this node's pods (`fieldSelector=spec.nodeName=<node>`); all pods when undefined. */
  readonly nodeName?: string;
  readonly store: PodStore;
}

/**
 * A node-scoped pod informer (the generic Informer over pods): only PodMeta is kept, in the
 * PodStore; a pod deleted from the API, or missing from a relist, keeps its name there for
 * the store's grace period.
 */
export class PodInformer extends Informer<V1Pod, PodMeta> {
  constructor({ kubeConfig, nodeName, store, ...tuning }: PodInformerOptions) {
    super({
      ...tuning,
      kubeConfig,
      source: podSource(kubeConfig),
      ...(nodeName !== undefined && { fieldSelector: `spec.nodeName=${nodeName}` }),
      keep: (pod) => podMetaFromApi(pod),
      sink: { upsert: (pod) => store.upsert(pod), remove: (pod) => store.markDeleted(pod.uid) },
    });
  }
}
