import { FindingsResponse, HistoryResponse, type UnavailableNode } from '../../gen/kubenetstat/v1/query.js';
import { findingList, podHistoryObject } from '../../model/json/finding-list.js';
import type { HistoryStore } from '../history/history-store.js';
import type { NodeStore } from '../store/index.js';
import { compileSelection, orderedNodes, QueryError } from '../query/index.js';
import type { FindingsEngine } from './engine.js';
import { findingsQueryOfParams, selectFindings, type FindingsQuery } from './select.js';
import { findingMessage, podHistoryMessage } from './wire.js';

/** What the query API answers findings and histories from. */
export interface FindingsApi {
  readonly engine: FindingsEngine;
  readonly history: HistoryStore;
  readonly store: NodeStore;
}

/** What is asked for is not there (a pod without history): HTTP 404, gRPC NOT_FOUND. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** An answer in both of the HTTP face's formats. */
export interface Answer {
  readonly json: object;
  readonly protobuf: Uint8Array;
}

function unavailableNodes(store: NodeStore): UnavailableNode[] {
  const unavailable: UnavailableNode[] = [];
  orderedNodes(store, compileSelection({}), unavailable);
  return unavailable;
}

export function findingsResponse(api: FindingsApi, query: FindingsQuery): FindingsResponse {
  return {
    items: selectFindings(api.engine.all(), query).map(findingMessage),
    unavailableNodes: unavailableNodes(api.store),
    evaluatedUnixMs: BigInt(api.engine.lastEvaluation?.atMs ?? 0),
  };
}

/** A pod's history; QueryError without namespace and pod, NotFoundError when the pod is not tracked. */
export function historyResponse(api: FindingsApi, namespace: string, pod: string): HistoryResponse {
  if (!namespace || !pod) throw new QueryError('a history is of one pod: give namespace and pod');
  const view = api.history.get(namespace, pod);
  if (!view) throw new NotFoundError(`no history of pod ${namespace}/${pod}: it had no sockets since the aggregator started (or longer ago than the history keeps), or the history is full (--history-max-pods)`);
  return { history: podHistoryMessage(view) };
}

/** `GET /api/v1/findings?namespace=&pod=&rule=&severity=&state=&limit=`: a FindingList, or a FindingsResponse. */
export function findingsAnswer(api: FindingsApi, params: URLSearchParams): Answer {
  const response = findingsResponse(api, findingsQueryOfParams(params));
  return { json: findingList(response.items, response.unavailableNodes, response.evaluatedUnixMs), protobuf: FindingsResponse.encode(response).finish() };
}

/** `GET /api/v1/history?namespace=NS&pod=NAME`: a PodHistory, or a HistoryResponse. */
export function historyAnswer(api: FindingsApi, params: URLSearchParams): Answer {
  const response = historyResponse(api, params.get('namespace') ?? '', params.get('pod') ?? '');
  return { json: podHistoryObject(response.history!), protobuf: HistoryResponse.encode(response).finish() };
}
