/**
 * Discovery documents built from the resource table, in the legacy (unaggregated) shapes.
 * kubectl first asks for aggregated discovery (apidiscovery.k8s.io/v2); answering plain
 * `application/json` makes it fall back to these, as it does against older servers.
 */
import { RESOURCES, groupVersionOf } from './resources.js';
import type { Verb } from './types.js';

/** What every resource here answers; anything else is 405. */
const VERBS: readonly Verb[] = ['get', 'list', 'watch'];

/** Reported by /version; kept within kubectl's supported skew of the installed v1.32 client. */
export const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-kube-netstat-test' } as const;

export function versionInfo(): object {
  return { ...SERVER_VERSION, gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2024-12-11T00:00:00Z', goVersion: 'go1.23.3', compiler: 'gc', platform: 'linux/amd64' };
}

/** `/api`. */
export function coreVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupDocument(group: string): object {
  const versions = [...new Set(RESOURCES.filter((resource) => resource.group === group).map((resource) => resource.version))].map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** `/apis`. */
export function groupList(): object {
  const groups = [...new Set(RESOURCES.map((resource) => resource.group).filter((group) => group !== ''))];
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDocument) };
}

/** `/apis/<group>`. */
export function group(name: string): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(name) };
}

/** `/api/v1`, `/apis/<group>/<version>`. */
export function resourceList(group: string, version: string): object {
  const resources = RESOURCES.filter((resource) => resource.group === group && resource.version === version);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersionOf(resources[0]!),
    resources: resources.map((resource) => ({
      name: resource.resource,
      singularName: resource.singular,
      namespaced: resource.namespaced,
      kind: resource.kind,
      verbs: VERBS,
      ...(resource.shortNames.length > 0 && { shortNames: resource.shortNames }),
      ...(resource.categories.length > 0 && { categories: resource.categories }),
    })),
  };
}
