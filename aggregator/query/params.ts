import { parseDuration } from '../../config/duration.js';
import { UsageError } from '../../config/usage-error.js';
import { ALL_PROTOS, type SocketProto } from '../../model/socket.js';
import { MAX_LIMIT, QueryError, type QuerySpec } from './spec.js';

/** The HTTP API's query parameters (/api/v1/sockets, summary, top), as the query they ask. */

/** What selects sockets, on every route that takes sockets (listing, watch, summary, top). */
export const FILTER_PARAMS = ['namespace', 'labelSelector', 'pod', 'container', 'workload', 'node', 'proto', 'state', 'listening', 'port', 'address', 'localPort', 'foreignPort', 'localAddress', 'foreignAddress', 'minRecvQ', 'minSendQ', 'minAge'] as const;
/** /api/v1/sockets: the filters, paging and order, or a watch of them. */
export const LIST_PARAMS = [...FILTER_PARAMS, 'limit', 'continue', 'sortBy', 'watch'] as const;

/**
 * Refuses a parameter the route does not take: a misspelled filter (`states=`) would otherwise
 * match everything, silently.
 */
export function checkKnownParams(params: URLSearchParams, known: readonly string[]): void {
  const unknown = [...new Set(params.keys())].filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const names = unknown.map((name) => `'${name}'`).join(', ');
  throw new QueryError(`unknown parameter${unknown.length === 1 ? '' : 's'} ${names}: this route takes ${known.join(', ')}`);
}

/** A non-negative number parameter, or undefined when absent. */
function numberParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new QueryError(`invalid ${name} '${text}': expected a non-negative number`);
  return value;
}

/** A duration parameter (the CLI's: `90s`, `10m`, `1h30m`, or a number of seconds), in seconds. */
function durationParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  try {
    return parseDuration(text.trim(), name);
  } catch (error) {
    if (error instanceof UsageError) throw new QueryError(error.message);
    throw error;
  }
}

/** `true`/`1` or `false`/`0`; undefined when absent. */
function booleanParam(params: URLSearchParams, name: string): boolean | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new QueryError(`invalid ${name} '${value}': expected true or false`);
}

/** `limit`: `absent` when absent, else a whole number (0: no limit). */
export function limitParam(params: URLSearchParams, absent: number): number {
  const text = params.get('limit');
  if (text === null) return absent;
  const limit = Number(text);
  if (text.trim() === '' || !Number.isInteger(limit) || limit < 0) throw new QueryError(`invalid limit '${text}': expected a whole number, 0 for no limit`);
  return limit;
}

/** A Kubernetes-style warning (the `Warning` header, which kubectl prints) when `limit` was cut to MAX_LIMIT; undefined otherwise. */
export function limitWarning(params: URLSearchParams): string | undefined {
  const text = params.get('limit');
  if (text === null || !(Number(text) > MAX_LIMIT)) return undefined;
  return `limit ${text} is above the most one answer holds: cut to ${MAX_LIMIT}, follow metadata.continue for the rest`;
}

/** Query parameters, repeatable or comma-separated, as the gRPC ListRequest has them. */
export function querySpec(params: URLSearchParams): QuerySpec {
  const list = (name: string): string[] => params.getAll(name).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
  const protos = list('proto');
  for (const proto of protos) if (!(ALL_PROTOS as readonly string[]).includes(proto)) throw new QueryError(`unknown proto '${proto}': expected one of ${ALL_PROTOS.join(', ')}`);
  const portList = (name: string): number[] =>
    list(name).map((text) => {
      const port = Number(text);
      if (!/^\d+$/.test(text) || port > 65535) throw new QueryError(`invalid ${name} '${text}'`);
      return port;
    });
  const ports = portList('port');
  const limit = limitParam(params, 0);
  const pod = params.get('pod');
  const labelSelector = params.get('labelSelector');
  const continueToken = params.get('continue');
  const sortBy = params.get('sortBy');
  const listening = booleanParam(params, 'listening');
  const minRecvQ = numberParam(params, 'minRecvQ');
  const minSendQ = numberParam(params, 'minSendQ');
  const minAgeSeconds = durationParam(params, 'minAge');
  return {
    containers: list('container'),
    workloads: list('workload'),
    ...(minRecvQ !== undefined && { minRecvQ }),
    ...(minSendQ !== undefined && { minSendQ }),
    ...(minAgeSeconds !== undefined && { minAgeSeconds }),
    ...(listening !== undefined && { listening }),
    namespaces: list('namespace'),
    protos: protos as SocketProto[],
    states: list('state'),
    ports,
    addresses: list('address'),
    localPorts: portList('localPort'),
    foreignPorts: portList('foreignPort'),
    localAddresses: list('localAddress'),
    foreignAddresses: list('foreignAddress'),
    nodes: list('node'),
    limit,
    ...(pod && { pod }),
    ...(labelSelector && { labelSelector }),
    ...(continueToken && { continueToken }),
    ...(sortBy && { sortBy }),
  };
}

/** `watch=1` or `watch=true` turns a listing into a watch; `0`, `false` or absent do not. */
export function isWatch(params: URLSearchParams): boolean {
  return booleanParam(params, 'watch') ?? false;
}
