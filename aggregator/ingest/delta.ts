import type { NamespaceInfo } from '../../gen/kubenetstat/v1/agent.js';
import { tagsOf, WIRE, wireTypeOf } from '../../model/wire-fields.js';
import { Reader } from '../wire/index.js';
import type { Envelope } from './envelope.js';
import type { MessageParts } from './message-parts.js';
import { readNamespaceTable } from './namespace-table.js';
import type { PodCache } from './pod-cache.js';

const DELTA = tagsOf(WIRE.Delta);

/** The Delta at [start, end) of a StreamRequest (`view` over its bytes): its removed keys stay where they are in it. */
export function readDelta(buf: Buffer, view: DataView, start: number, end: number, pods: PodCache, parts: MessageParts): Envelope {
  const reader = new Reader(buf, start, end);
  let sequence = 0;
  const upserted = parts.socketBounds.reset();
  const removed = parts.removedBounds.reset();
  let namespaces: NamespaceInfo[] | undefined;
  while (!reader.done) {
    const tag = reader.varint();
    switch (tag) {
      case DELTA.sequence:
        sequence = reader.varint();
        break;
      case DELTA.upserted:
        upserted.add(reader.delimited(), reader.pos);
        break;
      case DELTA.removedKeys:
        removed.add(reader.delimited(), reader.pos);
        break;
      case DELTA.pods: {
        const defStart = reader.delimited();
        pods.define(buf, defStart, reader.pos);
        break;
      }
      case DELTA.namespaces:
        namespaces = readNamespaceTable(reader);
        break;
      default:
        reader.skip(wireTypeOf(tag));
    }
  }
  return { kind: 'delta', sequence, upserted: parts.readSockets(upserted, buf, view, pods), removed: { source: buf, sourceView: view, bounds: removed.flat() }, namespaces };
}
