/**
 * A small Kubernetes API server for tests: HTTPS on 127.0.0.1 port 0 with a throw-away CA,
 * serving the resource table's kinds from an `ObjectStore` with the real list/watch protocol,
 * legacy discovery and /version, Status errors, and optional bearer-token authentication.
 * Tests seed and change state through `server.store`, point clients at `writeKubeconfig()`,
 * and reach for the request log and fault hooks to assert what clients sent and to break things.
 */
import { EventEmitter, once } from 'node:events';
import { createServer } from 'node:https';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BOOKMARK_INTERVAL_MS, inRange } from './defaults.js';
import { coreVersions, group, groupList, resourceList, versionInfo } from './discovery.js';
import { writeKubeconfig } from './kubeconfig.js';
import type { KubeconfigOptions } from './kubeconfig.js';
import { getObject, listObjects } from './list.js';
import type { ReadRequest } from './list.js';
import { parseApiPath } from './request-path.js';
import type { ApiPath } from './request-path.js';
import { ApiError, methodNotAllowed, notFoundPath, statusOf, unauthorized } from './status.js';
import { ObjectStore } from './store.js';
import { makeServingCertificate } from './tls.js';
import type { FailureRule, RecordedRequest, ResourceType, Verb } from './types.js';
import { CREATABLE, createObject, readBody } from './create.js';
import { proxyToService } from './service-proxy.js';
import { ACCESS_REVIEWS_PATH, Reviews, TOKEN_REVIEWS_PATH } from './reviews.js';
import { serveWatch } from './watch.js';
import type { WatchStream } from './watch.js';

export interface TestApiServerOptions {
  /** When set, every request must carry `Authorization: Bearer <token>` or gets 401; when absent, none is checked. */
  readonly token?: string;
  /** Milliseconds between BOOKMARK events on watches with allowWatchBookmarks (defaults.ts BOOKMARK_INTERVAL_MS). */
  readonly bookmarkIntervalMs?: number;
  /** Writes kept for watch resumption before older revisions answer 410 Gone (defaults.ts HISTORY_SIZE). */
  readonly historySize?: number;
  /** More subjectAltName entries for its certificate (`IP:…`, `DNS:…`), for clients that reach it through a forwarder. */
  readonly altNames?: readonly string[];
}

interface OpenWatch {
  readonly request: RecordedRequest;
  readonly stream: WatchStream;
}

export class TestApiServer {
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** TokenReview and SubjectAccessReview: tests register tokens and access rules here. */
  readonly reviews = new Reviews();
  private readonly failures: { rule: FailureRule; left: number }[] = [];
  /** Keyed by response: a stream leaves the set when its response closes. */
  private readonly watches = new Map<ServerResponse, OpenWatch>();
  private readonly watchOpened = new EventEmitter();

  private constructor(
    /** The objects served; write to it to change what clients see. */
    readonly store: ObjectStore,
    private readonly server: Server,
    /** `https://127.0.0.1:<port>` */
    readonly url: string,
    /** PEM of the CA that issued the serving certificate. */
    readonly caCert: string,
    private readonly token: string | undefined,
    private readonly bookmarkIntervalMs: number,
  ) {}

  static async start(options: TestApiServerOptions = {}): Promise<TestApiServer> {
    const bookmarkIntervalMs = inRange('bookmarkIntervalMs', options.bookmarkIntervalMs, BOOKMARK_INTERVAL_MS);
    const store = new ObjectStore(options.historySize === undefined ? {} : { historySize: options.historySize });
    const tls = await makeServingCertificate(options.altNames);
    const server = createServer({ cert: tls.cert, key: tls.key });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const apiServer = new TestApiServer(store, server, `https://127.0.0.1:${port}`, tls.caCert, options.token, bookmarkIntervalMs);
    server.on('request', (request: IncomingMessage, response: ServerResponse) => apiServer.handle(request, response));
    return apiServer;
  }

  /** Ends every watch, closes every connection and stops listening. */
  async stop(): Promise<void> {
    this.dropWatches();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    this.watchOpened.removeAllListeners();
  }

  /** Writes a kubeconfig for this server; the token defaults to the one the server requires. */
  writeKubeconfig(path: string, options: KubeconfigOptions = {}): void {
    const token = options.token ?? this.token;
    writeKubeconfig(path, this.url, this.caCert, { ...options, ...(token !== undefined && { token }) });
  }

  /** Makes the next matching request(s) fail with a plain HTTP error carrying a Status. Rules are tried in the order added. */
  injectFailure(rule: FailureRule): void {
    this.failures.push({ rule, left: rule.times ?? 1 });
  }

  /**
   * Ends the open watches that `matching` selects (all when absent) and returns how many. By
   * default each response ends cleanly (what clients see when the server's watch timeout
   * fires); with `reset` the connections are destroyed mid-stream (a crash or a broken network).
   */
  dropWatches(options: { matching?: (request: RecordedRequest) => boolean; reset?: boolean } = {}): number {
    const dropped = [...this.watches].filter(([, watch]) => options.matching?.(watch.request) ?? true);
    for (const [response, watch] of dropped) {
      this.watches.delete(response);
      if (options.reset) watch.stream.destroy();
      else watch.stream.end();
    }
    return dropped.length;
  }

  /** Requests for this exact path (no query), any method. */
  requestCount(path: string): number {
    return this.requests.filter((request) => request.path === path).length;
  }

  /** The requests of watches now streaming. */
  get openWatches(): RecordedRequest[] {
    return [...this.watches.values()].map((watch) => watch.request);
  }

  /** Resolves with the first open watch that matches, waiting for one to open for at most timeoutMs. */
  waitForWatch(matches: (request: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest> {
    const open = this.openWatches.find(matches);
    if (open) return Promise.resolve(open);
    return new Promise((resolve, reject) => {
      const onOpen = (request: RecordedRequest): void => {
        if (!matches(request)) return;
        clearTimeout(timer);
        this.watchOpened.off('open', onOpen);
        resolve(request);
      };
      const timer = setTimeout(() => {
        this.watchOpened.off('open', onOpen);
        reject(new Error(`no matching watch opened within ${timeoutMs} ms; open: ${this.openWatches.map((request) => request.url).join(', ') || 'none'}`));
      }, timeoutMs);
      this.watchOpened.on('open', onOpen);
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const target = request.url ?? '/';
    const url = new URL(target, this.url);
    const route = parseApiPath(url.pathname);
    const verb: Verb | undefined = route.kind !== 'resource' || request.method !== 'GET' ? undefined : isWatch(url.searchParams) ? 'watch' : route.name === undefined ? 'list' : 'get';
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      url: target,
      query: url.searchParams,
      ...(route.kind === 'resource' && { resource: route.resource.resource, ...(route.namespace !== undefined && { namespace: route.namespace }) }),
      ...(verb && { verb }),
    };
    this.requests.push(recorded);
    this.dispatch(request, response, url, route, verb, recorded);
    // Every answer starts synchronously, so the status is known here.
    recorded.statusCode = response.statusCode;
  }

  private dispatch(request: IncomingMessage, response: ServerResponse, url: URL, route: ApiPath, verb: Verb | undefined, recorded: RecordedRequest): void {
    try {
      if (this.token !== undefined && request.headers.authorization !== `Bearer ${this.token}`) throw unauthorized();
      this.injectedFailure(recorded);
      if (request.method === 'POST' && (url.pathname === TOKEN_REVIEWS_PATH || url.pathname === ACCESS_REVIEWS_PATH)) {
        const review = url.pathname === TOKEN_REVIEWS_PATH ? (text: string) => this.reviews.tokenReview(text) : (text: string) => this.reviews.accessReview(text);
        readBody(request)
          .then((text) => sendJson(response, 201, review(text)))
          .catch((error: unknown) => this.fail(response, error))
          .finally(() => (recorded.statusCode = response.statusCode));
        return;
      }
      switch (route.kind) {
        case 'version':
          return sendJson(response, 200, versionInfo());
        case 'core-versions':
          return sendJson(response, 200, coreVersions(url.host));
        case 'groups':
          return sendJson(response, 200, groupList());
        case 'group':
          return sendJson(response, 200, group(route.group));
        case 'resources':
          return sendJson(response, 200, resourceList(route.group, route.version));
        case 'unknown':
          throw notFoundPath();
        case 'resource': {
          if (request.method === 'POST' && CREATABLE.has(route.resource.resource) && route.name === undefined && route.subresource.length === 0) return this.create(request, response, route.resource, route.namespace, recorded);
          if (request.method !== 'GET') throw methodNotAllowed();
          if (route.resource.resource === 'services' && route.subresource[0] === 'proxy' && route.name !== undefined && route.namespace !== undefined) {
            const rest = url.pathname.slice(url.pathname.indexOf('/proxy', url.pathname.indexOf('/services/')) + '/proxy'.length);
            return proxyToService(this.store, { namespace: route.namespace, serviceSegment: route.name, rest: `${rest}${url.search}` }, request, response, (code) => (recorded.statusCode = code));
          }
          if (route.subresource.length > 0) throw notFoundPath();
          const read: ReadRequest = { resource: route.resource, ...(route.namespace !== undefined && { namespace: route.namespace }), ...(route.name !== undefined && { name: route.name }), query: url.searchParams };
          // A watch of a named object (…/pods/<name>?watch=1) is a watch of its collection narrowed to that name.
          if (verb === 'watch') return this.startWatch(recorded, read, response);
          if (read.name !== undefined) return sendJson(response, 200, getObject(this.store, { ...read, name: read.name }));
          return sendJson(response, 200, listObjects(this.store, read));
        }
      }
    } catch (error) {
      this.fail(response, error);
    }
  }

  /** POST to a collection: answered once the body has arrived (201 and the object stored). */
  private create(request: IncomingMessage, response: ServerResponse, resource: ResourceType, namespace: string | undefined, recorded: RecordedRequest): void {
    readBody(request)
      .then((body) => sendJson(response, 201, createObject(this.store, resource, namespace, body)))
      .catch((error: unknown) => this.fail(response, error))
      .finally(() => (recorded.statusCode = response.statusCode));
  }

  private startWatch(recorded: RecordedRequest, read: ReadRequest, response: ServerResponse): void {
    const stream = serveWatch(this.store, read, response, { bookmarkIntervalMs: this.bookmarkIntervalMs, onClose: () => this.watches.delete(response) });
    if (response.writableEnded || response.destroyed) return;
    this.watches.set(response, { request: recorded, stream });
    this.watchOpened.emit('open', recorded);
  }

  private injectedFailure(request: RecordedRequest): void {
    const index = this.failures.findIndex(({ rule }) => rule.matching?.(request) ?? true);
    if (index < 0) return;
    const failure = this.failures[index]!;
    failure.left -= 1;
    if (failure.left <= 0) this.failures.splice(index, 1);
    throw new ApiError(statusOf(failure.rule.status, failure.rule.message ?? `injected failure: HTTP ${failure.rule.status}`));
  }

  private fail(response: ServerResponse, error: unknown): void {
    if (response.headersSent) {
      // Too late for a Status: the stream has started. Breaking it is what a real server would do.
      console.error('test API server: failed mid-response:', error);
      response.destroy();
      return;
    }
    if (error instanceof ApiError) return sendJson(response, error.status.code, error.status);
    console.error('test API server: internal error:', error);
    sendJson(response, 500, statusOf(500, error instanceof Error ? error.message : String(error)));
  }
}

function isWatch(query: URLSearchParams): boolean {
  const value = query.get('watch');
  return value === 'true' || value === '1';
}

function sendJson(response: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(statusCode, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}
