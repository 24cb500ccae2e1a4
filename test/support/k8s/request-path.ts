/**
 * Routing: what an API server URL path names. Pure, so the URL rules (core group under /api,
 * named groups under /apis, namespaced paths under namespaces/<ns>/) are tested on their own.
 */
import { RESOURCES, resourceAt } from './resources.js';
import type { ResourceType } from './types.js';

export type ApiPath =
  | { readonly kind: 'version' }
  /** `/api`: the core group's versions. */
  | { readonly kind: 'core-versions' }
  /** `/apis`: the named groups. */
  | { readonly kind: 'groups' }
  | { readonly kind: 'group'; readonly group: string }
  /** `/api/v1` or `/apis/<group>/<version>`: that version's resources. */
  | { readonly kind: 'resources'; readonly group: string; readonly version: string }
  | {
      readonly kind: 'resource';
      readonly resource: ResourceType;
      /** From the path (namespaces/<ns>/...); undefined means all namespaces, or a cluster-scoped resource. */
      readonly namespace?: string;
      readonly name?: string;
      /** Path segments after the name ("status", "proxy", ...); empty for the object itself. */
      readonly subresource: readonly string[];
    }
  | { readonly kind: 'unknown' };

function servesGroupVersion(group: string, version: string): boolean {
  return RESOURCES.some((resource) => resource.group === group && resource.version === version);
}

export function parseApiPath(path: string): ApiPath {
  let segments: string[];
  try {
    segments = path.split('/').filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
  } catch {
    return { kind: 'unknown' };
  }
  const [root, ...rest] = segments;
  if (root === 'version' && rest.length === 0) return { kind: 'version' };
  let group: string;
  let version: string | undefined;
  let tail: string[];
  if (root === 'api') {
    if (rest.length === 0) return { kind: 'core-versions' };
    [group, version, tail] = ['', rest[0], rest.slice(1)];
  } else if (root === 'apis') {
    if (rest.length === 0) return { kind: 'groups' };
    if (rest.length === 1) return RESOURCES.some((resource) => resource.group === rest[0]) ? { kind: 'group', group: rest[0]! } : { kind: 'unknown' };
    [group, version, tail] = [rest[0]!, rest[1], rest.slice(2)];
  } else {
    return { kind: 'unknown' };
  }
  if (version === undefined || !servesGroupVersion(group, version)) return { kind: 'unknown' };
  if (tail.length === 0) return { kind: 'resources', group, version };

  // namespaces/<ns>/<resource>/... when <resource> is namespaced; otherwise namespaces/<name>/... is the Namespace itself.
  const namespacedResource = tail[0] === 'namespaces' && tail.length >= 3 ? resourceAt(group, version, tail[2]!) : undefined;
  if (namespacedResource?.namespaced) {
    return { kind: 'resource', resource: namespacedResource, namespace: tail[1]!, ...(tail[3] !== undefined && { name: tail[3] }), subresource: tail.slice(4) };
  }
  const resource = resourceAt(group, version, tail[0]!);
  if (!resource) return { kind: 'unknown' };
  // A namespaced object is only reachable under its namespace.
  if (resource.namespaced && tail.length > 1) return { kind: 'unknown' };
  return { kind: 'resource', resource, ...(tail[1] !== undefined && { name: tail[1] }), subresource: tail.slice(2) };
}
