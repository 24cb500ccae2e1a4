import { inPod, type NodeSockets } from '../store/index.js';

/** A sort key read from a stored slot without decoding it. */
type SortKey = (sockets: NodeSockets, slot: number, node: string) => number | string;

const podField = (pick: (pod: NonNullable<ReturnType<typeof inPod>>) => string): SortKey => (sockets, slot) => {
  const pod = inPod(sockets.pod(slot));
  return pod ? pick(pod) : '';
};

/**
 * The fields a listing can be sorted by, named as the SocketList item names them (what
 * `--sort-by` takes). Addresses sort as text; sockets outside pods sort first by pod fields.
 */
const SORT_KEYS: Readonly<Record<string, SortKey>> = {
  recvQ: (sockets, slot) => sockets.recvQ(slot),
  sendQ: (sockets, slot) => sockets.sendQ(slot),
  firstSeen: (sockets, slot) => sockets.firstSeenMs(slot),
  localPort: (sockets, slot) => sockets.localPort(slot),
  foreignPort: (sockets, slot) => sockets.foreignPort(slot),
  localAddress: (sockets, slot) => sockets.localAddress(slot),
  foreignAddress: (sockets, slot) => sockets.foreignAddress(slot),
  state: (sockets, slot) => sockets.stateCode(slot),
  proto: (sockets, slot) => sockets.proto(slot),
  node: (_sockets, _slot, node) => node,
  namespace: podField((pod) => pod.namespace),
  pod: podField((pod) => pod.name),
  container: podField((pod) => pod.container),
  workload: podField((pod) => pod.workloadName),
};

export const SORT_FIELDS: readonly string[] = Object.keys(SORT_KEYS);

export interface SortOrder {
  readonly field: string;
  readonly key: SortKey;
  readonly descending: boolean;
}

/** `field` or `-field` (descending); undefined when the name is not a sort field. */
export function sortOrder(sortBy: string): SortOrder | undefined {
  const descending = sortBy.startsWith('-');
  const field = descending ? sortBy.slice(1) : sortBy;
  const key = Object.hasOwn(SORT_KEYS, field) ? SORT_KEYS[field] : undefined;
  return key && { field, key, descending };
}

/** A selected socket with its key, in the listing's unsorted order. */
export interface SortEntry<N> {
  readonly node: N;
  readonly slot: number;
  readonly value: number | string;
}

/** Sorts in place by value (ties keep their listing order: Array.prototype.sort is stable). */
export function sortEntries<N>(entries: SortEntry<N>[], descending: boolean): void {
  const sign = descending ? -1 : 1;
  entries.sort((a, b) => (a.value < b.value ? -sign : a.value > b.value ? sign : 0));
}
