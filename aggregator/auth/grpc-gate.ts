import { Metadata, status, type handleServerStreamingCall, type handleUnaryCall, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { QueryError, type QuerySpec } from '../query/index.js';
import { admissionHeaders, type QueryGuard } from './guard.js';
import { checkFilterLimits, RateLimitError, type FilterLimits } from './limits.js';
import { AuthError } from './types.js';
import type { LogFn } from '../../common/log.js';

/** Who may ask what, and how much (aggregator/auth): checked before every QueryService call. */
export interface GrpcGate {
  readonly guard: QueryGuard;
  readonly limits: FilterLimits;
}

/** Where a request names its namespaces, and how to narrow it to others; `spec` for the filter's limits. */
export interface NamespaceAccess<Request> {
  readonly requested: (request: Request) => readonly string[];
  readonly narrowed: (request: Request, namespaces: string[]) => Request;
  /** Findings and histories: without cluster-wide access the request must name its namespace(s). */
  readonly mustName?: boolean;
  readonly spec?: (request: Request) => QuerySpec;
}

const AUTH_CODES: Readonly<Record<AuthError['kind'], status>> = { unauthenticated: status.UNAUTHENTICATED, forbidden: status.PERMISSION_DENIED, unavailable: status.UNAVAILABLE };

/** The gRPC status of a refusal by the gate; undefined for any other error. */
export function gateStatus(error: unknown): { code: status; details: string } | undefined {
  if (error instanceof AuthError) return { code: AUTH_CODES[error.kind], details: error.message };
  if (error instanceof RateLimitError) return { code: status.RESOURCE_EXHAUSTED, details: error.message };
  if (error instanceof QueryError) return { code: status.INVALID_ARGUMENT, details: error.message };
  return undefined;
}

/** A server-streaming handler told who the caller counts as for per-client limits (Admission.client). */
export type ClientStreamHandler<Request, Response> = (call: ServerWritableStream<Request, Response>, client: string) => void;

/** The peer is "ipv4:127.0.0.1:5555" or "ipv6:[::1]:5555": the client is its address, not its port. */
const addressOf = (peer: string): string => peer.replace(/:\d+$/, '');

/** The request as the caller may ask it, what was left out (as metadata), and who the caller is; throws what gateStatus maps. */
async function admit<Request>(gate: GrpcGate, access: NamespaceAccess<Request>, metadata: Metadata, peer: string, request: Request): Promise<{ request: Request; said: Record<string, string>; client: string }> {
  if (access.spec) checkFilterLimits(access.spec(request), gate.limits);
  const requested = access.requested(request);
  const authorization = metadata.get('authorization')[0];
  const admission = await gate.guard.admit({ address: addressOf(peer), authorization: typeof authorization === 'string' ? authorization : undefined }, requested);
  const { client } = admission;
  if (admission.namespaces === undefined) return { request, said: admissionHeaders(admission), client };
  if (access.mustName && requested.length === 0) throw new AuthError('forbidden', `${admission.user ?? 'you'} may not list pods in every namespace: name the namespace`);
  return { request: access.narrowed(request, admission.namespaces), said: admissionHeaders(admission), client };
}

function refuse(error: unknown, fallback: (error: unknown) => void): { code: status; details: string } | undefined {
  const refused = gateStatus(error);
  if (!refused) fallback(error);
  return refused;
}

/** A unary handler behind the gate: refused calls end with their status; admitted ones see the narrowed request. */
export function gatedUnary<Request, Response>(gate: GrpcGate | undefined, access: NamespaceAccess<Request>, handler: handleUnaryCall<Request, Response>, log: LogFn): handleUnaryCall<Request, Response> {
  if (!gate) return handler;
  return (call: ServerUnaryCall<Request, Response>, callback) => {
    admit(gate, access, call.metadata, call.getPeer(), call.request).then(
      ({ request, said }) => {
        call.request = request;
        if (Object.keys(said).length > 0) call.sendMetadata(metadataOf(said));
        handler(call, callback);
      },
      (error: unknown) => callback(refuse(error, (other) => log('query admission failed', { error: String(other) }, 'error')) ?? { code: status.INTERNAL, details: String(error) }),
    );
  };
}

/** A server-streaming handler (Watch) behind the gate. */
export function gatedStream<Request, Response>(gate: GrpcGate | undefined, access: NamespaceAccess<Request>, handler: ClientStreamHandler<Request, Response>, log: LogFn): handleServerStreamingCall<Request, Response> {
  if (!gate) return (call: ServerWritableStream<Request, Response>) => handler(call, `address ${addressOf(call.getPeer())}`);
  return (call: ServerWritableStream<Request, Response>) => {
    admit(gate, access, call.metadata, call.getPeer(), call.request).then(
      ({ request, said, client }) => {
        call.request = request;
        if (Object.keys(said).length > 0) call.sendMetadata(metadataOf(said));
        handler(call, client);
      },
      (error: unknown) => call.emit('error', refuse(error, (other) => log('query admission failed', { error: String(other) }, 'error')) ?? { code: status.INTERNAL, details: String(error) }),
    );
  };
}

function metadataOf(said: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(said)) metadata.set(key, value);
  return metadata;
}
