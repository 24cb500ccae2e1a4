import type { UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { NodeSockets, NodeState, NodeStore } from '../store/index.js';
import { decodeStored } from './decode.js';
import { compileSelection, forEachSelected, orderedNodes, walkCandidates, type Selection } from './selection.js';
import { SORT_FIELDS, sortEntries, sortOrder, type SortEntry } from './sort.js';
import { MAX_LIMIT, QueryError, type QueryResult, type QuerySpec } from './spec.js';
import { decodeToken, encodeToken, type Position } from './token.js';

/** How a listing emits one selected socket; false when its bytes do not decode (left out, counted). */
export type Emit = (sockets: NodeSockets, slot: number, node: string) => boolean;

export interface Listing {
  readonly unavailable: UnavailableNode[];
  readonly continueToken: string;
  readonly undecodable: number;
}

/**
 * A filtered listing across every node the aggregator holds, with the nodes it cannot vouch
 * for. Items come node by node (nodes in name order); a continue token resumes after the
 * last item returned. The token is a position, not a snapshot: sockets that change between
 * pages may be skipped or repeated, as with any paged live view.
 */
export function list(store: NodeStore, spec: QuerySpec, emit: Emit): Listing {
  const selection = compileSelection(spec);
  const limit = spec.limit && spec.limit > 0 ? Math.min(spec.limit, MAX_LIMIT) : Number.POSITIVE_INFINITY;
  const start = spec.continueToken ? decodeToken(spec.continueToken) : undefined;
  if (spec.sortBy) return sortedList(store, spec.sortBy, selection, limit, start, emit);
  if (start?.sortBy !== undefined) throw new QueryError('this continue token belongs to a sorted listing: ask with the same sortBy');
  const unavailable: UnavailableNode[] = [];
  let continueToken = '';
  let emitted = 0;
  let undecodable = 0;
  for (const node of orderedNodes(store, selection, unavailable)) {
    if ((start && node.name < start.node) || continueToken) continue;
    const sockets = node.sockets;
    const view = sockets.view();
    walkCandidates(sockets, selection.namespaces, start && node.name === start.node ? start.offset : 0, (slot, position) => {
      if (!selection.matches(sockets, view, slot)) return true;
      if (emitted >= limit) {
        continueToken = encodeToken({ node: node.name, offset: position });
        return false;
      }
      if (emit(sockets, slot, node.name)) emitted++;
      else undecodable++;
      return true;
    });
  }
  return { unavailable, continueToken, undecodable };
}

/**
 * A listing in the order of one field: every selected socket's key is read (no decoding), the
 * keys are sorted, and the page is cut from the sorted order. Its continue token is an offset
 * into that order, so pages of a changing cluster may skip or repeat sockets, as unsorted ones.
 */
function sortedList(store: NodeStore, sortBy: string, selection: Selection, limit: number, start: Position | undefined, emit: Emit): Listing {
  const order = sortOrder(sortBy);
  if (!order) throw new QueryError(`cannot sort by '${sortBy}': expected one of ${SORT_FIELDS.join(', ')} (with '-' in front for descending)`);
  if (start && start.sortBy !== sortBy) throw new QueryError(`this continue token does not belong to a listing sorted by '${sortBy}'`);
  const entries: SortEntry<NodeState>[] = [];
  const unavailable = forEachSelected(store, selection, (node, slot) => entries.push({ node, slot, value: order.key(node.sockets, slot, node.name) }));
  sortEntries(entries, order.descending);
  const from = start?.offset ?? 0;
  const end = Math.min(entries.length, from + limit);
  let undecodable = 0;
  for (let i = from; i < end; i++) {
    const { node, slot } = entries[i]!;
    if (!emit(node.sockets, slot, node.name)) undecodable++;
  }
  return { unavailable, continueToken: end < entries.length ? encodeToken({ node: '', offset: end, sortBy }) : '', undecodable };
}

/**
 * The listing, one decoded socket at a time, in answer order: a caller that turns each into
 * text at once (http-list.ts) never holds the whole answer as objects.
 */
export function forEachListed(store: NodeStore, spec: QuerySpec, visit: (socket: Socket) => void): Listing {
  return list(store, spec, (sockets, slot, node) => {
    const decoded = decodeStored(sockets, slot, node, store.peers);
    if (decoded) visit(decoded);
    return decoded !== undefined;
  });
}

/** The listing as decoded sockets. */
export function listSockets(store: NodeStore, spec: QuerySpec): QueryResult {
  const items: Socket[] = [];
  const listing = forEachListed(store, spec, (socket) => items.push(socket));
  return { items, ...listing };
}

