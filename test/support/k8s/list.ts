/**
 * The read verbs' semantics, independent of HTTP: which objects a request selects (namespace,
 * labelSelector, fieldSelector, name), get, and list with resourceVersion /
 * resourceVersionMatch and limit/continue pagination, following the API server's rules
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
 */
import { groupVersionOf, selectableFields } from './resources.js';
import { fieldMatcher, labelsMatch, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { ApiError, badRequest, expired, notFoundObject, statusOf } from './status.js';
import { keyOf, TooOldResourceVersionError } from './store.js';
import type { ObjectStore, Snapshot } from './store.js';
import type { KubeObject, ResourceType } from './types.js';

/** A request for a resource's objects, as the router hands it over. */
export interface ReadRequest {
  readonly resource: ResourceType;
  readonly namespace?: string;
  readonly name?: string;
  readonly query: URLSearchParams;
}

export type ObjectFilter = (object: KubeObject) => boolean;

/** The request's selection as one predicate; malformed selectors are 400 BadRequest. */
export function filterOf(request: ReadRequest): ObjectFilter {
  try {
    const labels = parseLabelSelector(request.query.get('labelSelector') ?? '');
    const fields = fieldMatcher(parseFieldSelector(request.query.get('fieldSelector') ?? ''), selectableFields(request.resource));
    const { namespace, name } = request;
    return (object) => (namespace === undefined || object.metadata.namespace === namespace) && (name === undefined || object.metadata.name === name) && labelsMatch(labels, object.metadata.labels) && fields(object);
  } catch (error) {
    if (error instanceof SelectorError) throw badRequest(error.message);
    throw error;
  }
}

/** A resourceVersion query parameter: undefined when absent or empty; 400 when not a revision. */
export function parseResourceVersion(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: ${text}`);
  return Number(text);
}

export function getObject(store: ObjectStore, request: ReadRequest & { name: string }): KubeObject {
  const { resource, namespace, name } = request;
  const object = store.get({ kind: resource.kind, apiVersion: groupVersionOf(resource), ...(namespace !== undefined && { namespace }), name });
  if (!object) throw notFoundObject(resource, name);
  return object;
}

interface ContinueToken {
  /** The revision of the first page: later pages are cut from the same snapshot. */
  readonly rv: number;
  /** Items with keys at or after this one remain. */
  readonly start: string;
}

// The real token is base64 JSON of this shape (apiserver/pkg/storage/continue.go).
function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start })).toString('base64');
}

function decodeContinue(text: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data or JSON');
  }
  const token = parsed as { v?: unknown; rv?: unknown; start?: unknown } | null;
  if (token?.v !== 'meta.k8s.io/v1' || typeof token.rv !== 'number' || token.rv < 1 || typeof token.start !== 'string') throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  return { rv: token.rv, start: token.start };
}

const CONTINUE_TOO_OLD =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

function tooLarge(requested: number, store: ObjectStore): ApiError {
  return new ApiError(statusOf(504, `Too large resource version: ${requested}, current: ${store.resourceVersion}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }] }));
}

/** Which revision to list at, from resourceVersion, resourceVersionMatch and continue. */
function listRevision(store: ObjectStore, query: URLSearchParams): { revision: number | undefined; start: string; tooOldMessage: string } {
  const requested = parseResourceVersion(query.get('resourceVersion'));
  const match = query.get('resourceVersionMatch') ?? '';
  const continueText = query.get('continue') ?? '';
  if (continueText !== '') {
    if (requested !== undefined && requested !== 0) throw badRequest('specifying resource version is not allowed when using continue');
    const token = decodeContinue(continueText);
    return { revision: token.rv, start: token.start, tooOldMessage: CONTINUE_TOO_OLD };
  }
  if (match !== '' && requested === undefined) throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  if (match !== '' && match !== 'Exact' && match !== 'NotOlderThan') throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
  if (match === 'Exact' && requested === 0) throw badRequest('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  if (requested !== undefined && requested > Number(store.resourceVersion)) throw tooLarge(requested, store);
  // Without Exact, any state at least as new as the one asked for will do: the latest.
  return { revision: match === 'Exact' ? requested : undefined, start: '', tooOldMessage: 'The resourceVersion for the provided list is too old.' };
}

function parseLimit(text: string | null): number | undefined {
  if (text === null || text === '' || text === '0') return undefined;
  if (!/^\d+$/.test(text)) throw badRequest(`limit: Invalid value: "${text}": must be a non-negative integer`);
  return Number(text);
}

/** The <Kind>List document for a list request. */
export function listObjects(store: ObjectStore, request: ReadRequest): object {
  const matches = filterOf(request);
  const limit = parseLimit(request.query.get('limit'));
  const { revision, start, tooOldMessage } = listRevision(store, request.query);
  let snapshot: Snapshot;
  try {
    snapshot = store.snapshot(request.resource, revision);
  } catch (error) {
    if (error instanceof TooOldResourceVersionError) throw expired(tooOldMessage);
    throw error;
  }
  const selected = snapshot.objects.filter((object) => keyOf(object) >= start && matches(object));
  const page = limit === undefined ? selected : selected.slice(0, limit);
  const remaining = selected.length - page.length;
  const hasSelectors = (request.query.get('labelSelector') ?? '') !== '' || (request.query.get('fieldSelector') ?? '') !== '';
  const metadata = {
    resourceVersion: String(snapshot.revision),
    ...(remaining > 0 && { continue: encodeContinue({ rv: snapshot.revision, start: `${keyOf(page.at(-1)!)}\u0000` }) }),
    // The real server only knows the count when it need not filter.
    ...(remaining > 0 && !hasSelectors && { remainingItemCount: remaining }),
  };
  // Items of a typed list carry no kind or apiVersion of their own, as on the wire from a real server.
  const items = page.map(({ apiVersion: _apiVersion, kind: _kind, ...item }) => item);
  return { kind: `${request.resource.kind}List`, apiVersion: groupVersionOf(request.resource), metadata, items };
}
