import { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { socketItem, unavailableItems } from '../../model/json/socket-list.js';
import { WatchEvent, WatchEventType } from '../../gen/kubenetstat/v1/query.js';
import type { QuerySpec, WatchHub } from '../query/index.js';

const TYPE_NAMES: Readonly<Record<WatchEventType, string>> = {
  [WatchEventType.WATCH_EVENT_TYPE_UNSPECIFIED]: 'UNSPECIFIED',
  [WatchEventType.WATCH_EVENT_TYPE_ADDED]: 'ADDED',
  [WatchEventType.WATCH_EVENT_TYPE_MODIFIED]: 'MODIFIED',
  [WatchEventType.WATCH_EVENT_TYPE_DELETED]: 'DELETED',
  [WatchEventType.WATCH_EVENT_TYPE_BOOKMARK]: 'BOOKMARK',
  [WatchEventType.UNRECOGNIZED]: 'UNRECOGNIZED',
};

/**
 * One event as a JSON line, as the Kubernetes API streams a watch: `{"type", "object"}`, the
 * object a SocketList item, or for a BOOKMARK a WatchStatus naming the unavailable nodes.
 */
export function jsonWatchLine(event: WatchEvent): string {
  const object = event.socket
    ? socketItem(event.socket, Date.now())
    : { apiVersion: 'kubenetstat.io/v1', kind: 'WatchStatus', unavailableNodes: unavailableItems(event.unavailableNodes) };
  return `${JSON.stringify({ type: TYPE_NAMES[event.type], object })}\n`;
}

/** One event in protobuf's delimited form: its length as a varint, then the WatchEvent. */
export function delimitedWatchEvent(event: WatchEvent): Uint8Array {
  return new BinaryWriter().bytes(WatchEvent.encode(event).finish()).finish();
}

/**
 * Answers `GET /api/v1/sockets?watch=1&...`: a chunked stream of events, newline-delimited
 * JSON or (`protobuf`) delimited WatchEvent messages, until the client goes away or the
 * aggregator shuts down. Throws before anything is written when the watch cannot open
 * (QueryError, WatchLimitError: in all, or of this `client`'s), for the caller to answer with a Status.
 */
export function serveWatch(hub: WatchHub, spec: QuerySpec, protobuf: boolean, response: ServerResponse<IncomingMessage>, client: string): void {
  const watch = hub.open(spec, {
    send: (event) => response.write(protobuf ? delimitedWatchEvent(event) : jsonWatchLine(event)),
    end: () => response.end(),
  }, client);
  response.writeHead(200, { 'content-type': protobuf ? 'application/x-protobuf' : 'application/json', 'cache-control': 'no-store' });
  // The client knows the watch is open before the first event (a long wait on an empty cluster).
  response.flushHeaders();
  response.on('drain', () => watch.resume());
  response.on('close', () => watch.close());
}
