/**
 * What a store's table is keyed by: an FNV-style hash of a key's bytes taken four at a time,
 * with their number (never 0, which marks a free slot). Little-endian words, the CPU's own
 * order on x86 and arm64 (no byte swap).
 */
export function hashKey(view: DataView, start: number, end: number): number {
  let hash = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    hash = Math.imul(hash ^ view.getInt32(i, true), 0x01000193);
    hash ^= hash >>> 15;
  }
  for (; i < end; i++) hash = Math.imul(hash ^ view.getUint8(i), 0x01000193);
  return hash | 1;
}
