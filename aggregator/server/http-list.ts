import type { ServerResponse } from 'node:http';
import { socketItem, socketList, unavailableItems } from '../../model/json/socket-list.js';
import type { NodeStore } from '../store/index.js';
import { forEachListed, type QuerySpec } from '../query/index.js';
import type { LogFn } from '../../common/log.js';

/** Answer text gathered before each write (UTF-16 code units; ~64 KiB of JSON). */
const WRITE_CHARS = 64 * 1024;

/** The SocketList's fields before its items (`{"apiVersion":…,"kind":"SocketList"`), as socketList makes them. */
const LIST_HEAD = JSON.stringify(socketList([])).split(',"items":')[0]!;

/**
 * GET /api/v1/sockets as JSON: the design's SocketList, written while the store is walked.
 * Each selected socket is decoded, made an item and turned into text on its own, so an answer
 * never holds all its sockets as objects: under load those would outlive young-generation
 * collections and swell the V8 heap with the answer's size. The text is exactly JSON.stringify
 * of the whole list (items, unavailableNodes, then metadata.continue when a limit cut it).
 * Nothing is written before the walk starts, so a query that cannot run still gets its 400
 * from the caller; a failure after the first write (a bug) ends the connection and is logged.
 */
export function sendSocketList(store: NodeStore, spec: QuerySpec, response: ServerResponse, log: LogFn): void {
  let text = `${LIST_HEAD},"items":[`;
  let written = false;
  let items = 0;
  const write = (): void => {
    if (!written) response.writeHead(200, { 'content-type': 'application/json' });
    written = true;
    response.write(text);
    text = '';
  };
  // Every timer counted down to the answer's instant: the store holds each as its agent read it.
  const asOfMs = Date.now();
  try {
    const listing = forEachListed(store, spec, (socket) => {
      text += `${items++ === 0 ? '' : ','}${JSON.stringify(socketItem(socket, asOfMs))}`;
      if (text.length >= WRITE_CHARS) write();
    });
    if (listing.undecodable > 0) log('sockets left out of an answer: their bytes do not decode', { count: listing.undecodable }, 'error');
    const rest = { unavailableNodes: unavailableItems(listing.unavailable), ...(listing.continueToken && { metadata: { continue: listing.continueToken } }) };
    text += `],${JSON.stringify(rest).slice(1)}\n`;
  } catch (error) {
    if (!written) throw error;
    log('socket list failed after its first bytes were sent', { error: error instanceof Error ? error.message : String(error) }, 'error');
    response.destroy();
    return;
  }
  if (!written) response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
