import { hostname } from 'node:os';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import { labelsMatch, parseLabelSelector, SelectorError } from '../../kube/label-selector.js';
import { UsageError } from '../../config/usage-error.js';
import type { KubeFlags } from './flags.js';

export function nodeName(flags: Pick<KubeFlags, 'node'>): string {
  return flags.node ?? process.env.NODE_NAME ?? hostname();
}

/** Whether the pods' names are known, and why not (a warning printed once). */
export interface PodNames {
  readonly apiAvailable: boolean;
  readonly warning?: string;
}

/** -n, -l and --pod as kubectl users expect them; they need names, so the API. */
export function podFilter(flags: KubeFlags, names: PodNames): ((socket: Socket) => boolean) | undefined {
  const wanted = flags.namespace !== undefined || flags.selector !== undefined || flags.pod !== undefined;
  if (!wanted) return undefined;
  if (!names.apiAvailable) throw new UsageError(`-n/--namespace, -l/--selector and --pod need pod names from the Kubernetes API (${names.warning ?? 'unavailable'})`);
  let requirements: ReturnType<typeof parseLabelSelector> = [];
  try {
    requirements = parseLabelSelector(flags.selector ?? '');
  } catch (error) {
    if (error instanceof SelectorError) throw new UsageError(`invalid selector '${flags.selector}': ${error.message}`);
    throw error;
  }
  const namespace = flags.allNamespaces ? undefined : flags.namespace;
  return (socket) => {
    // A pod known by UID only (its name not in the API's answer) matches no name.
    const pod = socket.pod;
    if (!pod?.name) return false;
    if (namespace !== undefined && pod.namespace !== namespace) return false;
    if (flags.pod !== undefined && pod.name !== flags.pod) return false;
    return labelsMatch(requirements, pod.labels);
  };
}
