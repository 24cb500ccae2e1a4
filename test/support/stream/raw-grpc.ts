import { Metadata, status as grpcStatus, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import type { AgentServiceClient, StreamRequest, StreamResponse } from '../../../gen/kubenetstat/v1/agent.js';

export const STREAM_PATH = '/kubenetstat.v1.AgentService/Stream';

/** gRPC's length-prefixed message framing: a compressed flag, a 32-bit big-endian length, the bytes. */
export function grpcFrame(message: Uint8Array, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(options.compressed ? 1 : 0, 0);
  header.writeUInt32BE(options.declaredLength ?? message.length, 1);
  return Buffer.concat([header, message]);
}

export interface RawOutcome {
  /** grpc-status from the trailers (or a trailers-only response); undefined if none came. */
  readonly code: number | undefined;
  readonly message: string;
  readonly httpStatus: number | undefined;
}

/**
 * One AgentService.Stream call made by hand over HTTP/2: whatever bytes the caller wants in the
 * request body (a step may instead wait for something, between writes), then the request is
 * ended. Resolves with the status the server sent, or with code undefined if the deadline
 * passed (then the stream is cancelled).
 */
export function rawStreamCall(session: ClientHttp2Session, body: Buffer | ReadonlyArray<Buffer | (() => Promise<void>)>, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const request = session.request({
      ':method': 'POST',
      ':path': STREAM_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...options.headers,
    });
    let httpStatus: number | undefined;
    let code: number | undefined;
    let message = '';
    const take = (headers: Record<string, unknown>) => {
      if (headers['grpc-status'] !== undefined) code = Number(headers['grpc-status']);
      if (typeof headers['grpc-message'] === 'string') message = decodeURIComponent(headers['grpc-message']);
    };
    const timer = setTimeout(() => request.close(constants.NGHTTP2_CANCEL), options.timeoutMs ?? 5_000);
    request.on('response', (headers) => {
      httpStatus = Number(headers[':status']);
      take(headers);
    });
    request.on('trailers', (trailers) => take(trailers));
    request.on('data', () => undefined);
    request.on('error', () => undefined);
    request.on('close', () => {
      clearTimeout(timer);
      resolve({ code, message, httpStatus });
    });
    const steps = Buffer.isBuffer(body) ? [body] : body;
    void (async () => {
      for (const step of steps) {
        if (Buffer.isBuffer(step)) request.write(step);
        else await step();
      }
      request.end();
    })().catch((error: unknown) => {
      request.close(constants.NGHTTP2_CANCEL);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

export function rawSession(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export interface Conversation {
  /** The status the call ended with, if it ended. */
  readonly status: StatusObject | undefined;
  readonly responses: StreamResponse[];
}

/**
 * Writes `messages` on a fresh AgentService.Stream call and waits until the server ends the
 * call, or until `until` holds for the responses so far (then the call is cancelled), or the
 * deadline passes (then status is undefined).
 */
export function converse(
  client: AgentServiceClient,
  messages: readonly StreamRequest[],
  options: { until?: (responses: readonly StreamResponse[]) => boolean; timeoutMs?: number; halfClose?: boolean } = {},
): Promise<Conversation> {
  return new Promise((resolve) => {
    const call: ClientDuplexStream<StreamRequest, StreamResponse> = client.stream(new Metadata());
    const responses: StreamResponse[] = [];
    let settled = false;
    const finish = (status: StatusObject | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, responses });
    };
    const timer = setTimeout(() => {
      finish(undefined);
      call.cancel();
    }, options.timeoutMs ?? 5_000);
    call.on('data', (response: StreamResponse) => {
      responses.push(response);
      if (options.until?.(responses)) {
        finish(undefined);
        call.cancel();
      }
    });
    call.on('status', (status: StatusObject) => finish(status));
    call.on('error', (error: ServiceError) => finish({ code: error.code, details: error.details, metadata: error.metadata }));
    for (const message of messages) call.write(message);
    if (options.halfClose) call.end();
  });
}

export const statusName = (code: number | undefined): string => (code === undefined ? 'none' : (grpcStatus[code] ?? String(code)));
