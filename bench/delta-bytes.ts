import { tagsOf, WIRE } from '../model/wire-fields.js';
import { varintLength, writeVarint } from '../aggregator/wire/index.js';

/** A socket's encoding without its pod field and podRef, and the ref to append (0: none). */
export interface PreparedSocket {
  readonly bytes: Uint8Array;
  readonly podRef: number;
}

/** Socket.pod_ref: the last field, so appending it is the generated encoding. */
const POD_REF_TAG = WIRE.Socket.podRef.tag;
const DELTA_TAG = WIRE.StreamRequest.delta.tag;
const DELTA = tagsOf(WIRE.Delta);

/**
 * A StreamRequest carrying a delta, assembled from already encoded sockets in one buffer of
 * the exact size: the bytes StreamRequest.encode writes (fields in number order: sequence,
 * upserted, removed_keys, pods), without the generated writer's per-field fork/join copies.
 */
export function deltaRequestBytes(sequence: bigint, upserted: readonly PreparedSocket[], removedKeys: readonly string[], pods: readonly Uint8Array[]): Buffer {
  // Lengths, not Buffers: a burst removes most of a node's keys, and a Buffer each would be garbage.
  const keyLengths = removedKeys.map((key) => Buffer.byteLength(key, 'utf8'));
  const delimitedSize = (tag: number, length: number): number => varintLength(tag) + varintLength(length) + length;
  const socketSize = (socket: PreparedSocket): number => socket.bytes.length + (socket.podRef > 0 ? varintLength(POD_REF_TAG) + varintLength(socket.podRef) : 0);
  let size = sequence > 0n ? varintLength(DELTA.sequence) + varintLength(Number(sequence)) : 0;
  for (const socket of upserted) size += delimitedSize(DELTA.upserted, socketSize(socket));
  for (const length of keyLengths) size += delimitedSize(DELTA.removedKeys, length);
  for (const pod of pods) size += delimitedSize(DELTA.pods, pod.length);
  const out = Buffer.allocUnsafe(delimitedSize(DELTA_TAG, size));
  let at = 0;
  const varint = (value: number): void => {
    at = writeVarint(out, at, value);
  };
  const field = (tag: number, bytes: Uint8Array): void => {
    varint(tag);
    varint(bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  };
  varint(DELTA_TAG);
  varint(size);
  if (sequence > 0n) {
    varint(DELTA.sequence);
    varint(Number(sequence));
  }
  for (const socket of upserted) {
    varint(DELTA.upserted);
    varint(socketSize(socket));
    out.set(socket.bytes, at);
    at += socket.bytes.length;
    if (socket.podRef > 0) {
      varint(POD_REF_TAG);
      varint(socket.podRef);
    }
  }
  removedKeys.forEach((key, i) => {
    varint(DELTA.removedKeys);
    varint(keyLengths[i]!);
    at += out.write(key, at, 'utf8');
  });
  for (const pod of pods) field(DELTA.pods, pod);
  return out;
}
