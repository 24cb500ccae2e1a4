import { ALL_PROTOS, type SocketProto } from '../../model/socket.js';
import { QueryError, type QuerySpec } from './spec.js';

/** The HTTP API's query parameters (/api/v1/sockets, summary, top), as the query they ask. */

/** A non-negative number parameter, or undefined when absent. */
function numberParam(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new QueryError(`invalid ${name} '${text}': expected a non-negative number`);
  return value;
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
  const limitText = params.get('limit');
  const limit = limitText === null ? 0 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) throw new QueryError(`invalid limit '${limitText}'`);
  const pod = params.get('pod');
  const labelSelector = params.get('labelSelector');
  const continueToken = params.get('continue');
  const sortBy = params.get('sortBy');
  const minRecvQ = numberParam(params, 'minRecvQ');
  const minSendQ = numberParam(params, 'minSendQ');
  const minAgeSeconds = numberParam(params, 'minAge');
  return {
    containers: list('container'),
    workloads: list('workload'),
    ...(minRecvQ !== undefined && { minRecvQ }),
    ...(minSendQ !== undefined && { minSendQ }),
    ...(minAgeSeconds !== undefined && { minAgeSeconds }),
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
  const value = params.get('watch');
  if (value === null || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new QueryError(`invalid watch '${value}': expected true or false`);
}
