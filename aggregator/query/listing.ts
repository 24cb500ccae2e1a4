import { buildViewFilter, type FilterView, type SocketFilterSpec } from '../../model/filter.js';
import { labelsMatch, parseLabelSelector } from '../../kube/label-selector.js';
import type { SocketProto } from '../../model/socket.js';
import { PROTO_TO_WIRE } from '../../model/wire.js';
import { ListResponse, type UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import { Socket } from '../../gen/kubenetstat/v1/socket.js';
import type { NodeState, NodeStore } from '../store/node-store.js';
import type { PeerResolver } from '../peers/types.js';
import { inPod, type NodeSockets, type PodIndex, type SlotView } from '../store/node-sockets.js';
import { varintBytes, varintLength, writeVarint } from '../wire/varint.js';
import { WIRE } from '../../model/wire-fields.js';
import { SORT_FIELDS, sortEntries, sortOrder, type SortEntry } from './sort.js';

export interface QuerySpec extends SocketFilterSpec {
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  readonly protos?: readonly SocketProto[];
  readonly nodes?: readonly string[];
  readonly pod?: string;
  /** Container names (the pod's container the socket belongs to). */
  readonly containers?: readonly string[];
  /** Workloads: a name (`web`), or kind and name (`deployment/web`, kind case-insensitive). */
  readonly workloads?: readonly string[];
  /** Only sockets with at least this many bytes queued. */
  readonly minRecvQ?: number;
  readonly minSendQ?: number;
  /** Only sockets first seen at least this long ago (seconds). */
  readonly minAgeSeconds?: number;
  /** At most this many items; 0 or absent for all. */
  readonly limit?: number;
  /** From a previous answer's continueToken. */
  readonly continueToken?: string;
  /** A SocketList item field (recvQ, firstSeen, ...; aggregator/sort.ts), '-' in front for descending. */
  readonly sortBy?: string;
}

export interface QueryResult {
  readonly items: Socket[];
  /** Nodes the answer cannot vouch for: disconnected, stale, or still sending their first snapshot. */
  readonly unavailable: UnavailableNode[];
  /** Set when `limit` cut the answer short. */
  readonly continueToken: string;
  /** Matching sockets left out because their bytes did not decode. */
  readonly undecodable: number;
}

/** A query that cannot run as given (bad selector, state, address, token): the caller's mistake. */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

/**
 * A stored socket as the answer carries it: decoded, with its pod, always labelled with the
 * node that holds it, and with its peer when `peers` names one. Ingest indexes sockets without
 * decoding their nested messages, so a socket whose bytes do not decode is left out of answers
 * (and counted) instead of failing them.
 */
export function decodeStored(sockets: NodeSockets, slot: number, node: string, peers?: PeerResolver): Socket | undefined {
  return decodeSocket(sockets.bytesOf(slot), sockets.pod(slot), node, peers);
}

/** decodeStored for bytes and a pod kept apart from the store (a watcher's last known socket). */
export function decodeSocket(bytes: Uint8Array, pod: PodIndex | undefined, node: string, peers?: PeerResolver): Socket | undefined {
  try {
    const socket = Socket.decode(bytes);
    if (pod) socket.pod = pod.ref();
    // Agents send pods by ref on their stream; answers carry the pod itself.
    socket.podRef = 0;
    socket.node = node;
    // Shared by every answer naming the same peer: callers must not mutate it.
    socket.peer = peers?.peerOf(socket.foreignAddress, socket.foreignPort)?.message;
    return socket;
  } catch (error) {
    if (error instanceof Error) return undefined;
    throw error;
  }
}

/**
 * Visits the sockets of a node a query looks at, in an order that only depends on the query
 * and the node's contents: every slot, or the buckets of the asked namespaces in name order.
 * `position` numbers them in that order (continue tokens resume from one); the walk starts at
 * `from` and stops when `visit` returns false. Nothing is allocated per socket or per node.
 */
export function walkCandidates(sockets: NodeSockets, namespaces: readonly string[] | undefined, from: number, visit: (slot: number, position: number) => boolean): void {
  if (!namespaces) {
    const limit = sockets.slotLimit;
    for (let slot = from; slot < limit; slot++) if (sockets.isLive(slot) && !visit(slot, slot)) return;
    return;
  }
  let base = 0;
  for (const namespace of namespaces) {
    const slots = sockets.bucketView(namespace);
    for (let i = Math.max(0, from - base); i < slots.length; i++) if (!visit(slots[i]!, base + i)) return;
    base += slots.length;
  }
}

interface Position {
  readonly node: string;
  readonly offset: number;
  /** Set in the tokens of sorted listings: the offset is into that order. */
  readonly sortBy?: string;
}

function encodeToken(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeToken(token: string): Position {
  try {
    const position = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Position>;
    if (typeof position.node === 'string' && Number.isInteger(position.offset) && (position.offset ?? -1) >= 0 && (position.sortBy === undefined || typeof position.sortBy === 'string')) return position as Position;
  } catch {
    // Not base64 JSON: reported as a bad token below.
  }
  throw new QueryError('invalid continue token');
}

/** A query's selection, compiled once and applied slot by slot. */
export interface Selection {
  readonly nodes: ReadonlySet<string> | undefined;
  /** The asked namespaces, sorted (the candidates' order), or undefined for all. */
  readonly namespaces: readonly string[] | undefined;
  /** Whether the socket in `slot` (the view pointed at it) is selected. */
  matches(sockets: NodeSockets, view: SlotView, slot: number): boolean;
}

function workloadMatcher(workloads: readonly string[]): (pod: PodIndex) => boolean {
  const wanted = workloads.map((text) => {
    const at = text.indexOf('/');
    return at < 0 ? { kind: undefined, name: text } : { kind: text.slice(0, at).toLowerCase(), name: text.slice(at + 1) };
  });
  return (pod) => wanted.some((w) => w.name === pod.workloadName && (w.kind === undefined || w.kind === pod.workloadKind.toLowerCase()));
}

/** Compiles a spec; a bad selector, state or address is the caller's mistake (QueryError). */
export function compileSelection(spec: QuerySpec, nowMs = Date.now()): Selection {
  let filter: (view: FilterView) => boolean;
  let selector: ReturnType<typeof parseLabelSelector>;
  try {
    filter = buildViewFilter(spec);
    selector = parseLabelSelector(spec.labelSelector ?? '');
  } catch (error) {
    throw new QueryError(error instanceof Error ? error.message : String(error));
  }
  for (const [name, value] of [['minRecvQ', spec.minRecvQ], ['minSendQ', spec.minSendQ], ['minAgeSeconds', spec.minAgeSeconds]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new QueryError(`${name} must be a non-negative number, got ${value}`);
  }
  const protos = spec.protos?.length ? new Set(spec.protos.map((proto) => PROTO_TO_WIRE[proto])) : undefined;
  const containers = spec.containers?.length ? new Set(spec.containers) : undefined;
  const workload = spec.workloads?.length ? workloadMatcher(spec.workloads) : undefined;
  const minRecvQ = spec.minRecvQ ?? 0;
  const minSendQ = spec.minSendQ ?? 0;
  const seenBefore = spec.minAgeSeconds ? nowMs - spec.minAgeSeconds * 1000 : undefined;
  // The namespace filter is the index (candidates); these need the socket's pod.
  const podFilters = selector.length > 0 || spec.pod !== undefined || containers !== undefined || workload !== undefined;
  return {
    nodes: spec.nodes?.length ? new Set(spec.nodes) : undefined,
    namespaces: spec.namespaces?.length ? [...new Set(spec.namespaces)].sort() : undefined,
    matches(sockets, view, slot) {
      if (protos && !protos.has(sockets.proto(slot))) return false;
      if (podFilters) {
        const pod = inPod(sockets.pod(slot));
        if (!pod) return false;
        if (spec.pod !== undefined && pod.name !== spec.pod) return false;
        if (containers && !containers.has(pod.container)) return false;
        if (workload && !workload(pod)) return false;
        if (!labelsMatch(selector, pod.labels)) return false;
      }
      if (sockets.recvQ(slot) < minRecvQ || sockets.sendQ(slot) < minSendQ) return false;
      if (seenBefore !== undefined && !(sockets.firstSeenMs(slot) > 0 && sockets.firstSeenMs(slot) <= seenBefore)) return false;
      view.at = slot;
      return filter(view);
    },
  };
}

/** Nodes in name order, each with why it cannot be vouched for (if so): every answer says. */
export function orderedNodes(store: NodeStore, selection: Selection, unavailable: UnavailableNode[]): NodeState[] {
  store.sweep();
  const ordered: NodeState[] = [];
  for (const node of [...store.all()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (selection.nodes && !selection.nodes.has(node.name)) continue;
    const reason = store.unavailability(node);
    if (reason !== undefined) unavailable.push({ node: node.name, reason, lastSeenUnixMs: BigInt(node.lastSeenMs) });
    ordered.push(node);
  }
  return ordered;
}

/** Calls `visit` for every selected socket of every node, node by node (for summaries). */
export function forEachSelected(store: NodeStore, selection: Selection, visit: (node: NodeState, slot: number) => void): UnavailableNode[] {
  const unavailable: UnavailableNode[] = [];
  for (const node of orderedNodes(store, selection, unavailable)) {
    const sockets = node.sockets;
    const view = sockets.view();
    walkCandidates(sockets, selection.namespaces, 0, (slot) => {
      if (selection.matches(sockets, view, slot)) visit(node, slot);
      return true;
    });
  }
  return unavailable;
}

/** How a listing emits one selected socket; false when its bytes do not decode (left out, counted). */
type Emit = (sockets: NodeSockets, slot: number, node: string) => boolean;

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
function list(store: NodeStore, spec: QuerySpec, emit: Emit): Listing {
  const selection = compileSelection(spec);
  const limit = spec.limit && spec.limit > 0 ? spec.limit : Number.POSITIVE_INFINITY;
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

/** Field tags an answer adds to a stored socket's bytes (socket.proto), and ListResponse.items, as their varints. */
const NODE_TAG = varintBytes(WIRE.Socket.node.tag);
const POD_TAG = varintBytes(WIRE.Socket.pod.tag);
/** pod_ref with the value 0. */
const POD_REF_ZERO = Uint8Array.of(...varintBytes(WIRE.Socket.podRef.tag), 0);
const PEER_TAG = varintBytes(WIRE.Socket.peer.tag);
const LIST_ITEMS_TAG = WIRE.ListResponse.items.tag;

/** Bytes a length-delimited field takes: its tag, its length's varint, its payload. */
function fieldLength(tag: Uint8Array, payload: number): number {
  return tag.length + varintLength(payload) + payload;
}

/** A node's listed sockets: its store and name, and where its items start in the answer's order. */
interface Run {
  readonly sockets: NodeSockets;
  readonly node: Buffer;
  readonly from: number;
}

/**
 * The listing as an encoded ListResponse, built from the stored bytes without decoding them:
 * each item is the agent's encoding followed by the fields an answer sets — its pod, pod_ref 0,
 * its node (a later occurrence of a field wins in protobuf) and its peer (which agents cannot
 * send: wire-index.ts rejects it, so it is never merged with one). A socket's bytes are decoded
 * once, the first time an answer copies them, to keep undecodable input out of answers. The
 * answer is one buffer of the exact size, written after the walk measured every item: a
 * protobuf writer's fork and join made several small buffers per item, tens of thousands of
 * them for a large answer, each for the collector to free.
 */
export function listSocketsEncoded(store: NodeStore, spec: QuerySpec): { bytes: Buffer; undecodable: number } {
  // Measured as the walk goes (numbers only: objects per item would outlive young collections), written after.
  const runs: Run[] = [];
  const slots: number[] = [];
  const lengths: number[] = [];
  const peers = new Map<number, Uint8Array>();
  let size = 0;
  const listing = list(store, spec, (sockets, slot, node) => {
    if (!sockets.isValidated(slot)) {
      if (!decodeStored(sockets, slot, node)) return false;
      sockets.markValidated(slot);
    }
    let run = runs[runs.length - 1];
    if (run?.sockets !== sockets) runs.push((run = { sockets, node: Buffer.from(node, 'utf8'), from: slots.length }));
    const pod = sockets.pod(slot);
    // The foreign address is read from where the store keeps its text: nothing is decoded.
    const peer = store.peers?.peerOf(sockets.foreignAddress(slot), sockets.foreignPort(slot))?.bytes;
    if (peer) peers.set(slots.length, peer);
    const length = sockets.bytesOf(slot).length + (pod ? fieldLength(POD_TAG, pod.bytes.length) : 0) + (peer ? fieldLength(PEER_TAG, peer.length) : 0) + POD_REF_ZERO.length + fieldLength(NODE_TAG, run.node.length);
    slots.push(slot);
    lengths.push(length);
    size += varintLength(LIST_ITEMS_TAG) + varintLength(length) + length;
    return true;
  });
  const tail = ListResponse.encode({ items: [], unavailableNodes: listing.unavailable, continueToken: listing.continueToken }).finish();
  const bytes = Buffer.allocUnsafe(size + tail.length);
  let at = 0;
  const field = (tag: Uint8Array, payload: Uint8Array): void => {
    bytes.set(tag, at);
    at = writeVarint(bytes, at + tag.length, payload.length);
    bytes.set(payload, at);
    at += payload.length;
  };
  runs.forEach(({ sockets, node, from }, r) => {
    const to = runs[r + 1]?.from ?? slots.length;
    for (let i = from; i < to; i++) {
      const slot = slots[i]!;
      at = writeVarint(bytes, at, LIST_ITEMS_TAG);
      at = writeVarint(bytes, at, lengths[i]!);
      const stored = sockets.bytesOf(slot);
      bytes.set(stored, at);
      at += stored.length;
      const pod = sockets.pod(slot);
      if (pod) field(POD_TAG, pod.bytes);
      const peer = peers.get(i);
      if (peer) field(PEER_TAG, peer);
      bytes.set(POD_REF_ZERO, at);
      at += POD_REF_ZERO.length;
      field(NODE_TAG, node);
    }
  });
  bytes.set(tail, at);
  return { bytes, undecodable: listing.undecodable };
}
