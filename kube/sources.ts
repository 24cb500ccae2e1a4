import { CoreV1Api, DiscoveryV1Api, type ApiConstructor, type ApiType, type KubeConfig, type V1EndpointSlice, type V1Node, type V1Pod, type V1Service } from '@kubernetes/client-node';
import type { ApiObject, ListOptions, ObjectList, ResourceSource } from './informer.js';

/** The kinds informers follow, cluster-wide: where each is watched and how it is listed. */

/** A kind watched at `path` and listed by `list` through one client of its API group. */
function source<T extends ApiObject, Api extends ApiType>(kubeConfig: KubeConfig, group: ApiConstructor<Api>, path: string, list: (api: Api, options: ListOptions) => Promise<ObjectList<T>>): ResourceSource<T> {
  const api = kubeConfig.makeApiClient(group);
  return { path, list: (options) => list(api, options) };
}

export function podSource(kubeConfig: KubeConfig): ResourceSource<V1Pod> {
  return source(kubeConfig, CoreV1Api, '/api/v1/pods', (api, options) => api.listPodForAllNamespaces(options));
}

export function serviceSource(kubeConfig: KubeConfig): ResourceSource<V1Service> {
  return source(kubeConfig, CoreV1Api, '/api/v1/services', (api, options) => api.listServiceForAllNamespaces(options));
}

export function nodeSource(kubeConfig: KubeConfig): ResourceSource<V1Node> {
  return source(kubeConfig, CoreV1Api, '/api/v1/nodes', (api, options) => api.listNode(options));
}

export function endpointSliceSource(kubeConfig: KubeConfig): ResourceSource<V1EndpointSlice> {
  return source(kubeConfig, DiscoveryV1Api, '/apis/discovery.k8s.io/v1/endpointslices', (api, options) => api.listEndpointSliceForAllNamespaces(options));
}
