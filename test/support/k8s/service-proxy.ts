/**
 * The service proxy (`/api/v1/namespaces/NS/services/NAME[:PORT]/proxy/PATH`) as the real API
 * server runs it: the Service must exist, its port is picked by name or number, a ready
 * endpoint comes from the Service's EndpointSlices, and the request (method GET, path, query,
 * Accept, the caller's address in X-Forwarded-For) is forwarded there with the answer streamed
 * back unchanged (its end-to-end headers too). Errors are the Status
 * objects kubectl users see: 404 for a missing Service, 503 when no endpoint is ready or the
 * endpoint cannot be reached. Endpoints must be loopback addresses: tests never leave the host.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { resourceForKind } from './resources.js';
import { ApiError, notFoundObject, statusOf } from './status.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';

interface ServicePort {
  readonly name?: string;
  readonly port: number;
  readonly targetPort?: number | string;
}

interface SliceEndpoint {
  readonly addresses?: readonly string[];
  readonly conditions?: { readonly ready?: boolean };
}

interface Slice {
  readonly endpoints?: readonly SliceEndpoint[];
  readonly ports?: readonly { readonly name?: string; readonly port?: number }[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** RFC 7230 §6.1's hop-by-hop headers, which a proxy does not pass on. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function unavailable(message: string): ApiError {
  return new ApiError(statusOf(503, message));
}

function isLoopback(address: string): boolean {
  return (isIP(address) === 4 && address.startsWith('127.')) || address === '::1';
}

/** The service port a `NAME:PORT` segment names (by port name or number; the only port when absent). */
function servicePort(service: KubeObject, spec: string | undefined): ServicePort | undefined {
  const ports = ((service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? []);
  if (spec === undefined || spec === '') return ports.length === 1 ? ports[0] : undefined;
  return ports.find((port) => port.name === spec || String(port.port) === spec);
}

/** A ready endpoint address and port for the service port, from the Service's EndpointSlices. */
function pickEndpoint(store: ObjectStore, namespace: string, name: string, port: ServicePort): { address: string; port: number } | undefined {
  for (const object of store.list('EndpointSlice', namespace)) {
    if (object.metadata.labels?.[SERVICE_NAME_LABEL] !== name) continue;
    const slice = object as unknown as Slice;
    const slicePort = slice.ports?.find((candidate) => (port.name ? candidate.name === port.name : true));
    const target = slicePort?.port ?? (typeof port.targetPort === 'number' ? port.targetPort : undefined);
    if (target === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      const address = endpoint.addresses?.[0];
      if (address !== undefined && endpoint.conditions?.ready !== false) return { address, port: target };
    }
  }
  return undefined;
}

/**
 * Proxies one request. `serviceSegment` is the path segment after services/ (NAME or
 * NAME:PORT); `rest` is the path after /proxy, still percent-encoded, with the query.
 * `done` gets the status code sent.
 */
export function proxyToService(
  store: ObjectStore,
  target: { readonly namespace: string; readonly serviceSegment: string; readonly rest: string },
  request: IncomingMessage,
  response: ServerResponse,
  done: (statusCode: number) => void,
): void {
  const [name = '', portSpec] = target.serviceSegment.split(':', 2);
  const service = store.get({ kind: 'Service', namespace: target.namespace, name });
  if (!service) throw notFoundObject(resourceForKind('Service'), name);
  const port = servicePort(service, portSpec);
  if (!port) throw unavailable(`no endpoints available for service "${target.serviceSegment}"`);
  const endpoint = pickEndpoint(store, target.namespace, name, port);
  if (!endpoint) throw unavailable(`no endpoints available for service "${name}"`);
  if (!isLoopback(endpoint.address)) throw new Error(`test API server: refusing to proxy to ${endpoint.address}: tests only reach loopback`);
  // As Go's ReverseProxy, which the API server's proxy is: the caller's address appended to
  // X-Forwarded-For (the credentials were consumed by authentication and are not passed on).
  const forwardedFor = [request.headers['x-forwarded-for'], request.socket.remoteAddress].filter(Boolean).join(', ');
  const upstream = httpRequest({ host: endpoint.address, port: endpoint.port, path: target.rest || '/', method: request.method ?? 'GET', headers: { ...(request.headers.accept && { accept: request.headers.accept }), 'x-forwarded-for': forwardedFor } });
  upstream.once('response', (answer) => {
    // Every end-to-end header of the answer comes back (hop-by-hop ones are the connection's own).
    const headers = Object.fromEntries(Object.entries(answer.headers).filter(([header]) => !HOP_BY_HOP.has(header)));
    response.writeHead(answer.statusCode ?? 502, headers);
    response.flushHeaders();
    answer.pipe(response);
    done(answer.statusCode ?? 502);
  });
  upstream.once('error', (error: NodeJS.ErrnoException) => {
    if (response.headersSent) return void response.destroy();
    const status = statusOf(503, `error trying to reach service: dial tcp ${endpoint.address}:${endpoint.port}: connect: ${error.code === 'ECONNREFUSED' ? 'connection refused' : error.message}`);
    const text = JSON.stringify(status);
    response.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    response.end(text);
    done(503);
  });
  // The client going away ends the proxied request too (a watch the user interrupted).
  response.once('close', () => upstream.destroy());
  upstream.end();
}
