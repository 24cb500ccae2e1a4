/** Protobuf varints of numbers below 2^53, for answers assembled from stored bytes (query/encoded-list.ts), times rewritten in them (store/first-seen.ts) and tags written ahead of fields. */

/** Bytes the varint of `value` takes. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/** Writes the varint of `value` at `at`; returns where it ends. */
export function writeVarint(buf: Uint8Array, at: number, value: number): number {
  while (value >= 128) {
    buf[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[at++] = value;
  return at;
}

/** The varint of `value` as bytes of its own: a field's tag, written ahead of its payload. */
export function varintBytes(value: number): Uint8Array {
  const bytes = new Uint8Array(varintLength(value));
  writeVarint(bytes, 0, value);
  return bytes;
}
