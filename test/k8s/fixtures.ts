/**
 * Builders for the objects tests seed the store with, shaped like what a real cluster returns
 * (the fields kubectl prints and the agent reads), with every optional part explicit.
 */
import type { KubeObject } from './types.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodFixture {
  readonly name: string;
  readonly namespace: string;
  /** Unscheduled when absent. */
  readonly nodeName?: string;
  readonly labels?: Record<string, string>;
  /** Default Running. */
  readonly phase?: PodPhase;
  readonly uid?: string;
  readonly hostNetwork?: boolean;
  readonly podIP?: string;
  /** Default one container named "main"; containerID as the kubelet reports it ("containerd://<64 hex>"). */
  readonly containers?: readonly { name: string; containerID?: string }[];
}

export function pod(fixture: PodFixture): KubeObject {
  const containers = fixture.containers ?? [{ name: 'main' }];
  const phase = fixture.phase ?? 'Running';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: fixture.name, namespace: fixture.namespace, ...(fixture.uid !== undefined && { uid: fixture.uid }), ...(fixture.labels && { labels: fixture.labels }) },
    spec: {
      ...(fixture.nodeName !== undefined && { nodeName: fixture.nodeName }),
      ...(fixture.hostNetwork && { hostNetwork: true }),
      containers: containers.map(({ name }) => ({ name, image: `registry.example/${name}:1` })),
    },
    status: {
      phase,
      ...(fixture.podIP !== undefined && { podIP: fixture.podIP }),
      containerStatuses: containers.map(({ name, containerID }) => ({
        name,
        image: `registry.example/${name}:1`,
        ready: phase === 'Running',
        restartCount: 0,
        ...(containerID !== undefined && { containerID }),
      })),
    },
  };
}

export function node(name: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
  };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name } }, spec: {}, status: { phase: 'Active' } };
}
