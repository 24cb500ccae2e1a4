/**
 * The resource table: every kind the test API server stores and serves, one row each. The
 * router, discovery, the store and field selectors all read this list; adding a kind is adding
 * a row. Field selectors are those the real API server registers for the kind
 * (pkg/registry/<group>/<resource>/strategy.go, `...ToSelectableFields`).
 */
import type { FieldGetter, KubeObject, ResourceType } from './types.js';

/** Reads a dotted path of plain JSON fields; a missing one or a non-scalar reads as `whenMissing`. */
export function fieldAt(path: string, whenMissing = ''): FieldGetter {
  const steps = path.split('.');
  return (object: KubeObject) => {
    let value: unknown = object;
    for (const step of steps) {
      if (value === null || typeof value !== 'object') return whenMissing;
      value = (value as Record<string, unknown>)[step];
    }
    return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : whenMissing;
  };
}

function fields(...paths: string[]): Record<string, FieldGetter> {
  return Object.fromEntries(paths.map((path) => [path, fieldAt(path)]));
}

/** Go bools are never missing: an absent one is formatted as "false". */
function boolFields(...paths: string[]): Record<string, FieldGetter> {
  return Object.fromEntries(paths.map((path) => [path, fieldAt(path, 'false')]));
}

interface Row {
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  fields?: Record<string, FieldGetter>;
}

/** `groupVersion` as in apiVersion ("v1", "discovery.k8s.io/v1"). */
function row(groupVersion: string, resource: string, kind: string, options: Row): ResourceType {
  const slash = groupVersion.indexOf('/');
  return {
    group: slash < 0 ? '' : groupVersion.slice(0, slash),
    version: slash < 0 ? groupVersion : groupVersion.slice(slash + 1),
    resource,
    singular: kind.toLowerCase(),
    kind,
    namespaced: options.namespaced,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    fields: options.fields ?? {},
  };
}

export const RESOURCES: readonly ResourceType[] = [
  row('v1', 'namespaces', 'Namespace', { namespaced: false, shortNames: ['ns'], fields: fields('status.phase') }),
  row('v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], fields: boolFields('spec.unschedulable') }),
  row('v1', 'pods', 'Pod', {
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    fields: { ...fields('spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'), ...boolFields('spec.hostNetwork') },
  }),
  row('v1', 'services', 'Service', { namespaced: true, shortNames: ['svc'], categories: ['all'], fields: fields('spec.clusterIP', 'spec.type') }),
  row('v1', 'endpoints', 'Endpoints', { namespaced: true, shortNames: ['ep'] }),
  row('discovery.k8s.io/v1', 'endpointslices', 'EndpointSlice', { namespaced: true, fields: fields('addressType') }),
  row('v1', 'events', 'Event', { namespaced: true, shortNames: ['ev'], fields: fields('involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'reason', 'type') }),
];

export function groupVersionOf(resource: ResourceType): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** The resource an object or reference belongs to, by kind (and apiVersion when given); throws if unknown. */
export function resourceForKind(kind: string, apiVersion?: string): ResourceType {
  const found = RESOURCES.filter((resource) => resource.kind === kind && (apiVersion === undefined || groupVersionOf(resource) === apiVersion));
  if (found.length !== 1) {
    throw new Error(found.length === 0 ? `test API server: no resource of kind ${apiVersion ?? '*'}/${kind}` : `test API server: kind ${kind} is ambiguous; give apiVersion`);
  }
  return found[0]!;
}

/** The resource served at /api(s)/<group>/<version>/<plural>, or undefined. */
export function resourceAt(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((resource) => resource.group === group && resource.version === version && resource.resource === plural);
}

/** Every field selector key the resource accepts, with its getter. */
export function selectableFields(resource: ResourceType): Readonly<Record<string, FieldGetter>> {
  return {
    'metadata.name': (object) => object.metadata.name,
    ...(resource.namespaced && { 'metadata.namespace': (object: KubeObject) => object.metadata.namespace ?? '' }),
    ...resource.fields,
  };
}
