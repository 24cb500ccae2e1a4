import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1EndpointSlice, type V1Node, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { ResourceSource } from './informer.js';

/** The kinds informers follow, cluster-wide: where each is watched and how it is listed. */

export function podSource(kubeConfig: KubeConfig): ResourceSource<V1Pod> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return { path: '/api/v1/pods', list: (options) => api.listPodForAllNamespaces(options) };
}

export function serviceSource(kubeConfig: KubeConfig): ResourceSource<V1Service> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return { path: '/api/v1/services', list: (options) => api.listServiceForAllNamespaces(options) };
}

export function nodeSource(kubeConfig: KubeConfig): ResourceSource<V1Node> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  return { path: '/api/v1/nodes', list: (options) => api.listNode(options) };
}

export function endpointSliceSource(kubeConfig: KubeConfig): ResourceSource<V1EndpointSlice> {
  const api = kubeConfig.makeApiClient(DiscoveryV1Api);
  return { path: '/apis/discovery.k8s.io/v1/endpointslices', list: (options) => api.listEndpointSliceForAllNamespaces(options) };
}
