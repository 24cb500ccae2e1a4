import type { NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import { tagsOf, WIRE, wireTypeOf } from '../../model/wire-fields.js';
import { Reader } from '../wire/index.js';
import type { Envelope } from './envelope.js';
import type { MessageParts } from './message-parts.js';
import { readNamespaceTable } from './namespace-table.js';
import type { PodCache } from './pod-cache.js';

const SNAPSHOT = tagsOf(WIRE.SnapshotChunk);

/** The SnapshotChunk at [start, end) of a StreamRequest (`view` over its bytes). */
export function readSnapshot(buf: Buffer, view: DataView, start: number, end: number, pods: PodCache, parts: MessageParts): Envelope {
  const reader = new Reader(buf, start, end);
  let sequence = 0;
  let snapshotId = 0;
  let index = 0;
  let last = false;
  let namespaces: NamespaceInfo[] | undefined;
  const sockets = parts.socketBounds.reset();
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case SNAPSHOT.sequence:
        sequence = reader.varint();
        break;
      case SNAPSHOT.snapshotId:
        snapshotId = reader.varint();
        break;
      case SNAPSHOT.index:
        index = reader.varint();
        break;
      case SNAPSHOT.sockets:
        sockets.add(reader.delimited(), reader.pos);
        break;
      case SNAPSHOT.last:
        last = reader.varint() !== 0;
        break;
      case SNAPSHOT.pods: {
        const defStart = reader.delimited();
        pods.define(buf, defStart, reader.pos);
        break;
      }
      case SNAPSHOT.namespaces:
        namespaces = readNamespaceTable(reader);
        break;
      default:
        reader.skip(wireTypeOf(tag));
    }
  }
  return { kind: 'snapshot', sequence, snapshotId, index, sockets: parts.readSockets(sockets, buf, view, pods), last, namespaces };
}
