import { HEX_VALUE } from './address.js';

/**
 * Byte-level scanning shared by the table parsers. Tables of 100k sockets are 16 MB of text,
 * so lines are never split into JS strings: a Tokens object records where each
 * space-separated token of the current line starts and ends.
 */
export class Tokens {
  /** Upper bound on tokens recorded per line; the kernel prints at most 17 (tcp). */
  static readonly MAX = 32;
  readonly starts = new Int32Array(Tokens.MAX);
  readonly ends = new Int32Array(Tokens.MAX);
  count = 0;

  /** Splits buf[from, to) on runs of spaces (and tabs); returns the token count. */
  split(buf: Uint8Array, from: number, to: number): number {
    let n = 0;
    let i = from;
    while (i < to && n < Tokens.MAX) {
      while (i < to && (buf[i] === 32 || buf[i] === 9)) i++;
      if (i >= to) break;
      this.starts[n] = i;
      while (i < to && buf[i] !== 32 && buf[i] !== 9) i++;
      this.ends[n] = i;
      n++;
    }
    this.count = n;
    return n;
  }
}

/** Hex number in buf[start, end), or -1 when empty or not hex. Exact up to 2^53. */
export function parseHex(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = HEX_VALUE[buf[i]!]!;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Unsigned decimal in buf[start, end), or -1 when empty or not decimal. */
export function parseDec(buf: Uint8Array, start: number, end: number): number {
  if (end <= start) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

/** Signed decimal (ssthresh may print -1), or NaN. */
export function parseSignedDec(buf: Uint8Array, start: number, end: number): number {
  if (buf[start] === 45) {
    const magnitude = parseDec(buf, start + 1, end);
    return magnitude < 0 ? Number.NaN : -magnitude;
  }
  const value = parseDec(buf, start, end);
  return value < 0 ? Number.NaN : value;
}

/** Position of `byte` within buf[start, end), or -1. */
export function indexOfByte(buf: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

export function latin1(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, end);
}

/** The parsers' input as a Buffer; a Uint8Array (e.g. cloned from a worker) is viewed, not copied. */
export function toBytes(input: Uint8Array | string): Buffer {
  if (typeof input === 'string') return Buffer.from(input, 'latin1');
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Calls onLine(start, end, lineNumber) for each line; a trailing newline ends the file. */
export function forEachLine(
  buf: Uint8Array,
  onLine: (start: number, end: number, lineNumber: number) => void,
): void {
  let start = 0;
  let lineNumber = 1;
  const length = buf.length;
  while (start < length) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = length;
    onLine(start, end, lineNumber);
    start = end + 1;
    lineNumber++;
  }
}
