import { endianness } from 'node:os';

/**
 * Decoding of the kernel's address columns. `/proc/net/{tcp,udp,raw}` print each `__be32`
 * word with `%08X`, i.e. as a host-endian integer (reference §1.10): on little-endian hosts the
 * hex pairs come out reversed, on big-endian hosts (s390x) in network order. Ports are plain hex.
 */

const LITTLE_ENDIAN = endianness() === 'LE';

/** Value of an ASCII hex digit, or -1. Upper and lower case, as sscanf("%X") accepts. */
export const HEX_VALUE: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) table[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    table[65 + i] = 10 + i;
    table[97 + i] = 10 + i;
  }
  return table;
})();

/** Byte `index` (0..3) of the 32-bit word printed at buf[start..start+8), in memory order. */
function wordByte(buf: Uint8Array, start: number, index: number, littleEndian: boolean): number {
  const pair = littleEndian ? 3 - index : index;
  const hi = HEX_VALUE[buf[start + pair * 2]!]!;
  const lo = HEX_VALUE[buf[start + pair * 2 + 1]!]!;
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/** Reads `words` host-endian 32-bit words into network-order bytes; false on a non-hex digit. */
export function decodeAddressBytes(
  buf: Uint8Array,
  start: number,
  words: 1 | 4,
  out: Uint8Array,
  littleEndian = LITTLE_ENDIAN,
): boolean {
  for (let w = 0; w < words; w++) {
    for (let b = 0; b < 4; b++) {
      const value = wordByte(buf, start + w * 8, b, littleEndian);
      if (value < 0) return false;
      out[w * 4 + b] = value;
    }
  }
  return true;
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

/**
 * IPv6 text exactly as glibc's inet_ntop prints it: the longest run (first on ties) of two or
 * more zero groups becomes `::`, lower-case hex, and `::ffff:a.b.c.d` / `::a.b.c.d` keep the
 * embedded IPv4 in dotted form (inet_ntop6 in resolv/inet_ntop.c).
 */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);

  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (groups[i] === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
    } else {
      curBase = -1;
      curLen = 0;
    }
  }
  if (bestLen < 2) bestBase = -1;

  let text = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    // Encapsulated IPv4: ::a.b.c.d (IPv4-compatible) or ::ffff:a.b.c.d (IPv4-mapped).
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
      text += formatIpv4(bytes, 12);
      break;
    }
    text += groups[i]!.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) text += ':';
  return text;
}
