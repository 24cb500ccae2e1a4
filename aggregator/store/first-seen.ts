import { WIRE } from '../../model/wire-fields.js';
import { varintBytes, varintLength } from '../wire/index.js';

/** Socket.first_seen_unix_ms's tag as a varint. */
const FIRST_SEEN_TAG = varintBytes(WIRE.Socket.firstSeenUnixMs.tag);

/** Bytes a firstSeen field appended to a socket's bytes takes: its tag and its varint. */
export function firstSeenFieldLength(ms: number): number {
  return FIRST_SEEN_TAG.length + varintLength(ms);
}

/**
 * Writes firstSeen (with its tag when `tagged`) at `at`, its varint spread over exactly
 * `length` bytes (with the tag, when tagged). An earlier time never needs more bytes than the
 * one it replaces; fewer are padded with continuation bytes, which protobuf decoders accept.
 */
export function writeFirstSeen(buf: Buffer, at: number, ms: number, length: number, tagged: boolean): void {
  let pos = at;
  if (tagged) {
    buf.set(FIRST_SEEN_TAG, pos);
    pos += FIRST_SEEN_TAG.length;
  }
  const last = at + length - 1;
  let value = ms;
  for (; pos < last; pos++) {
    buf[pos] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[last] = value;
}
