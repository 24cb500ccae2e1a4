/**
 * Contracts of the test Kubernetes API server: the JSON shapes it stores and serves, the resource
 * table's row type, and what the request log records. Implementations live in the sibling
 * modules; `index.ts` is the folder's public face.
 */

/** The part of metav1.ObjectMeta the store reads or sets; anything else passes through unchanged. */
export interface ObjectMeta {
  name: string;
  /** Required for namespaced resources, absent for cluster-scoped ones. */
  namespace?: string;
  uid?: string;
  /** Set by the store on every write: the global revision of that write, as a decimal string. */
  resourceVersion?: string;
  /** RFC 3339 with second precision, as the API server writes it. */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Any API object, as JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** meta/v1 Status, the body of every error response and of a watch's ERROR event. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason: string; message: string; field?: string }[] };
  code: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** A BOOKMARK event's object: the resource's kind with nothing but the revision the watcher is now at. */
export interface BookmarkObject {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string };
}

/** One line of a watch stream. */
export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject | Status | BookmarkObject;
}

/** Reads the value a field selector compares against; a missing field reads as "". */
export type FieldGetter = (object: KubeObject) => string;

/** One row of the resource table: everything the store, the router and discovery need to know. */
export interface ResourceType {
  /** "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural, lower case, as in URLs: "pods". */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  /** Field selectors this resource supports beyond metadata.name (and metadata.namespace if namespaced). */
  readonly fields: Readonly<Record<string, FieldGetter>>;
}

/** Names one stored object; `apiVersion` only disambiguates kinds that two groups share. */
export interface ObjectRef {
  kind: string;
  apiVersion?: string;
  namespace?: string;
  name: string;
}

export type Verb = 'get' | 'list' | 'watch';

/** What the request log keeps of each request, in arrival order. */
export interface RecordedRequest {
  readonly method: string;
  /** The URL path without the query. */
  readonly path: string;
  /** The request target exactly as sent, query encoding included. */
  readonly url: string;
  readonly query: URLSearchParams;
  /** Set when the path named a known resource. */
  readonly resource?: string;
  readonly namespace?: string;
  readonly verb?: Verb;
  /** The HTTP status sent (200 for a watch, even one that then reports an ERROR event). */
  statusCode?: number;
}

/** Makes matching requests fail with a plain HTTP error (a Status body), `times` times. */
export interface FailureRule {
  readonly status: number;
  /** Which requests fail; every request when absent. */
  readonly matching?: (request: RecordedRequest) => boolean;
  /** How many matching requests fail before the rule is used up; default 1. */
  readonly times?: number;
  readonly message?: string;
}
