/**
 * Bytes read four at a time through DataViews: a socket's key is hashed and compared, and its
 * bytes copied into the store, without the Uint8Array view Buffer.copy and Buffer.compare make
 * of a range that does not start at its buffer's first byte (garbage for every socket stored).
 */

/** A DataView over exactly `buf`'s bytes. */
export function bytesView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Copies from[start, end) to into[at...]. */
export function copyBytes(from: DataView, start: number, end: number, into: DataView, at: number): void {
  let i = start;
  for (; i + 4 <= end; i += 4, at += 4) into.setInt32(at, from.getInt32(i, true), true);
  for (; i < end; i++, at++) into.setUint8(at, from.getUint8(i));
}

/** Whether a[aAt, aAt + length) and b[bAt, bAt + length) hold the same bytes. */
export function sameBytes(a: DataView, aAt: number, b: DataView, bAt: number, length: number): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) if (a.getInt32(aAt + i, true) !== b.getInt32(bAt + i, true)) return false;
  for (; i < length; i++) if (a.getUint8(aAt + i) !== b.getUint8(bAt + i)) return false;
  return true;
}
