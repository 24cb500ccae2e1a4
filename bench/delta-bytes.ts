/** Bytes a varint takes. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/**
 * A StreamRequest carrying a delta, assembled from already encoded sockets in one buffer of
 * the exact size: the bytes StreamRequest.encode writes (fields in number order: sequence,
 * upserted, removed_keys), without the generated writer's per-field fork/join copies.
 */
export function deltaRequestBytes(sequence: bigint, upserted: readonly Uint8Array[], removedKeys: readonly string[]): Buffer {
  const keys = removedKeys.map((key) => Buffer.from(key, 'utf8'));
  const delimitedSize = (bytes: Uint8Array): number => 1 + varintSize(bytes.length) + bytes.length;
  let size = sequence > 0n ? 1 + varintSize(Number(sequence)) : 0;
  for (const bytes of upserted) size += delimitedSize(bytes);
  for (const key of keys) size += delimitedSize(key);
  const out = Buffer.allocUnsafe(1 + varintSize(size) + size);
  let at = 0;
  const varint = (value: number): void => {
    while (value >= 0x80) {
      out[at++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    out[at++] = value;
  };
  const field = (tag: number, bytes: Uint8Array): void => {
    out[at++] = tag;
    varint(bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  };
  out[at++] = 0x1a; // StreamRequest.delta = 3
  varint(size);
  if (sequence > 0n) {
    out[at++] = 0x08; // DeltaBatch.sequence = 1
    varint(Number(sequence));
  }
  for (const bytes of upserted) field(0x12, bytes); // DeltaBatch.upserted = 2
  for (const key of keys) field(0x1a, key); // DeltaBatch.removed_keys = 3
  return out;
}
