/** The simulated-pod harness: real namespaces, cgroups and processes shaped like kubelet's. */
export { SimulatedNode, SimulatedPod } from './simulated-node.js';
export { cgroupSkipReason } from './cgroups.js';
export type { ApiPod, ApiContainerStatus, ApiOwnerReference } from './api-object.js';
export type * from './types.js';
