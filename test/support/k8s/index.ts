/**
 * The test Kubernetes API server: start it, seed `server.store`, point clients at
 * `writeKubeconfig()`, assert on `server.requests`, break things with `injectFailure`,
 * `dropWatches` and `store.compact()`, and `stop()` it in an after hook.
 *
 *   const server = await TestApiServer.start({ token: 't' });
 *   server.store.upsert(pod({ name: 'cart-1', namespace: 'shop', nodeName: 'node-a' }));
 *   server.writeKubeconfig(join(dir, 'kubeconfig'), { namespace: 'shop' });
 *   await server.waitForWatch((request) => request.resource === 'pods', 10_000);
 *   server.store.delete({ kind: 'Pod', namespace: 'shop', name: 'cart-1' });
 *   await server.stop();
 *
 * Serving a new kind is one row in `resources.ts`.
 */
export { TestApiServer } from './api-server.js';
export type { TestApiServerOptions } from './api-server.js';
export type { KubeconfigOptions } from './kubeconfig.js';
export { ObjectStore, TooOldResourceVersionError } from './store.js';
export type { StoreOptions, StoredEvent } from './store.js';
export { RESOURCES } from './resources.js';
export { endpointSlice, namespace, node, pod, service } from './fixtures.js';
export type { ContainerPortFixture, EndpointFixture, EndpointSliceFixture, NodeAddressFixture, PodFixture, PodPhase, ServiceFixture, ServicePortFixture } from './fixtures.js';
export type { FailureRule, KubeObject, ObjectMeta, ObjectRef, RecordedRequest, Status, Verb, WatchEvent } from './types.js';
export { RawWatch, rawRequest } from './raw-client.js';
export type { RawResponse, RawTarget } from './raw-client.js';
export { Reviews, API_AUDIENCE } from './reviews.js';
export type { AccessRule, RegisteredToken } from './reviews.js';
