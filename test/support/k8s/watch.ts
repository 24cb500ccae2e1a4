/**
 * The watch verb: a chunked HTTP 200 response carrying one JSON WatchEvent per line, fed by the
 * store from a resourceVersion, filtered by the request's selectors the way the API server's
 * watch cache does it (apiserver/pkg/storage/cacher/cache_watcher.go `convertToWatchEvent`).
 */
import type { ServerResponse } from 'node:http';
import { filterOf, parseResourceVersion } from './list.js';
import type { ObjectFilter, ReadRequest } from './list.js';
import { groupVersionOf } from './resources.js';
import { badRequest, statusOf } from './status.js';
import { TooOldResourceVersionError } from './store.js';
import type { ObjectStore, StoredEvent } from './store.js';
import type { WatchEvent } from './types.js';

/**
 * What a watcher with this filter sees of one write. An object that stops matching is sent as
 * DELETED (its previous state, stamped with the write's revision); one that starts matching as
 * ADDED; writes that match neither before nor after are not sent.
 */
export function toWatchEvent(event: StoredEvent, matches: ObjectFilter): WatchEvent | undefined {
  const matchedBefore = event.previous !== undefined && matches(event.previous);
  if (event.type === 'DELETED') return matchedBefore ? { type: 'DELETED', object: event.object } : undefined;
  const matchesNow = matches(event.object);
  if (matchesNow) return { type: matchedBefore ? 'MODIFIED' : 'ADDED', object: event.object };
  if (matchedBefore) return { type: 'DELETED', object: { ...event.previous!, metadata: { ...event.previous!.metadata, resourceVersion: String(event.revision) } } };
  return undefined;
}

export interface WatchOptions {
  /** Milliseconds between BOOKMARK events on watches that allow them. */
  readonly bookmarkIntervalMs: number;
  /** Called once when the stream has ended, whichever side ended it. */
  readonly onClose: () => void;
}

export interface WatchStream {
  /** Ends the response cleanly, as the API server does at a watch's timeout. */
  end(): void;
  /** Drops the connection without ending the response, as a crashing server or a broken network does. */
  destroy(): void;
}

function parseTimeoutSeconds(text: string | null): number | undefined {
  if (text === null || text === '' || text === '0') return undefined;
  if (!/^\d+$/.test(text)) throw badRequest(`timeoutSeconds: Invalid value: "${text}"`);
  return Number(text);
}

const isTrue = (text: string | null): boolean => text === 'true' || text === '1';

/**
 * Starts a watch: validates the query (throwing ApiError before any byte is sent), sends the
 * headers at once — clients wait for them before reading events — then the backlog and live
 * events. A resourceVersion older than the store's history gets 200 and one ERROR event
 * carrying 410 Expired, then the end of the stream, exactly as from a real server.
 */
export function serveWatch(store: ObjectStore, request: ReadRequest, response: ServerResponse, options: WatchOptions): WatchStream {
  const matches = filterOf(request);
  const requested = parseResourceVersion(request.query.get('resourceVersion'));
  // "0" (any) and unset (most recent) both start with the current state as synthetic ADDED events.
  const fromRevision = requested === 0 ? undefined : requested;
  const timeoutSeconds = parseTimeoutSeconds(request.query.get('timeoutSeconds'));
  const bookmarks = isTrue(request.query.get('allowWatchBookmarks'));

  response.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  response.flushHeaders();
  const send = (event: WatchEvent): void => {
    if (!response.writableEnded && !response.destroyed) response.write(`${JSON.stringify(event)}\n`);
  };

  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = (): void => undefined;
  response.on('close', () => {
    unsubscribe();
    timers.forEach(clearTimeout);
    options.onClose();
  });
  const stream: WatchStream = { end: () => response.end(), destroy: () => response.destroy() };

  try {
    unsubscribe = store.watch(request.resource, fromRevision, (event) => {
      const visible = toWatchEvent(event, matches);
      if (visible) send(visible);
    });
  } catch (error) {
    if (!(error instanceof TooOldResourceVersionError)) throw error;
    send({ type: 'ERROR', object: statusOf(410, error.message) });
    response.end();
    return stream;
  }
  if (bookmarks) {
    const bookmark = (): void => send({ type: 'BOOKMARK', object: { kind: request.resource.kind, apiVersion: groupVersionOf(request.resource), metadata: { resourceVersion: store.resourceVersion } } });
    timers.push(setInterval(bookmark, options.bookmarkIntervalMs));
  }
  if (timeoutSeconds !== undefined) timers.push(setTimeout(() => response.end(), timeoutSeconds * 1000));
  return stream;
}
