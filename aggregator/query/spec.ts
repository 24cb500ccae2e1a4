import type { SocketFilterSpec } from '../../model/filter.js';
import type { SocketProto } from '../../model/socket.js';
import type { UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import type { Socket } from '../../gen/kubenetstat/v1/socket.js';

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
  /** At most this many items (and never more than MAX_LIMIT); 0 or absent for all. */
  readonly limit?: number;
  /** From a previous answer's continueToken. */
  readonly continueToken?: string;
  /** A SocketList item field (recvQ, firstSeen, ...; sort.ts), '-' in front for descending. */
  readonly sortBy?: string;
}

/**
 * The most items one answer holds: a larger limit is cut to it and the answer carries a
 * continue token. A limit of 0 (or none) is no limit, as in the Kubernetes API.
 */
export const MAX_LIMIT = 100_000;

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

