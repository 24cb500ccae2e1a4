/**
 * A minimal HTTPS client for asserting the test API server's wire protocol directly: one
 * request → status, headers and parsed JSON; or a watch stream read event by event with a
 * bounded wait for each.
 */
import { request as httpsRequest } from 'node:https';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { WatchEvent } from './types.js';

export interface RawTarget {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly caCert: string;
  readonly token?: string;
}

export interface RawResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

function send(target: RawTarget, method: string, path: string, onResponse: (response: IncomingMessage) => void, onError: (error: Error) => void): ClientRequest {
  // A connection of its own (no keep-alive pool), so closing one watch can never cut another request.
  const request = httpsRequest(new URL(path, target.url), { method, ca: target.caCert, agent: false, headers: { ...(target.token !== undefined && { authorization: `Bearer ${target.token}` }) } }, onResponse);
  request.on('error', onError);
  request.end();
  return request;
}

/** One request, its whole body parsed as JSON. */
export function rawRequest(target: RawTarget, path: string, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    send(target, method, path, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        try {
          resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    }, reject);
  });
}

/** A watch stream: events queue up until read; `next` waits a bounded time for one. */
export class RawWatch {
  private readonly events: WatchEvent[] = [];
  private readonly waiters: (() => void)[] = [];
  private ended = false;
  private constructor(
    private readonly request: ClientRequest,
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
  ) {}

  /** Opens `path` (which must carry watch=1) and resolves once the response headers arrived. */
  static open(target: RawTarget, path: string): Promise<RawWatch> {
    return new Promise((resolve, reject) => {
      const request = send(target, 'GET', path, (response) => {
        const watch = new RawWatch(request, response.statusCode ?? 0, response.headers);
        const lines = createInterface({ input: response });
        lines.on('line', (line) => watch.push(JSON.parse(line) as WatchEvent));
        // readline re-emits its input's errors ("aborted" when close() cuts the stream); both end the watch.
        response.on('error', () => watch.finish());
        lines.on('error', () => watch.finish());
        lines.on('close', () => watch.finish());
        resolve(watch);
      }, reject);
    });
  }

  /** The next event; rejects if none arrives within timeoutMs or the stream ends first. */
  async next(timeoutMs: number): Promise<WatchEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length === 0) {
      if (this.ended) throw new Error('watch stream ended');
      if (!(await this.wait(deadline - Date.now()))) throw new Error(`no watch event within ${timeoutMs} ms`);
    }
    return this.events.shift()!;
  }

  /** Events until the server ends the stream; rejects if it is still open after timeoutMs. */
  async rest(timeoutMs: number): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (!(await this.wait(deadline - Date.now()))) throw new Error(`watch stream still open after ${timeoutMs} ms`);
    }
    return this.events.splice(0);
  }

  /** Events received and not yet read. */
  get pending(): readonly WatchEvent[] {
    return this.events;
  }

  close(): void {
    this.request.destroy();
  }

  private push(event: WatchEvent): void {
    this.events.push(event);
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    this.waiters.splice(0).forEach((wake) => wake());
  }

  /** Resolves true when something happened, false when `ms` passed first. */
  private wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
