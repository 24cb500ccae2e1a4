import { WireType } from '../../model/wire-fields.js';
import { WireFormatError } from './errors.js';

/** A minimal protobuf reader over one buffer: varints and length-delimited fields. */
export class Reader {
  constructor(
    public buf: Buffer,
    public pos = 0,
    public end = buf.length,
  ) {}

  /** The same reader over another range: a reader that reads many messages is allocated once. */
  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    return this;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a number; beyond 2^53 the input is not ours. */
  varint(): number {
    // Tags, lengths and small numbers: one byte (kept small enough to be inlined). At or past
    // the end of the buffer the byte reads as undefined and the checked path throws.
    const byte = this.buf[this.pos]!;
    if (byte < 0x80 && this.pos < this.end) {
      this.pos++;
      return byte;
    }
    return this.longerVarint();
  }

  /**
   * Two to four bytes (tags of fields 16 and above, numbers below 2^28) added up as int32;
   * longer ones, and any near the end of the input, byte by byte with every check.
   */
  private longerVarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos + 4 > this.end) return this.longVarint();
    let byte = buf[pos++]!;
    let value = byte & 0x7f;
    byte = buf[pos++]!;
    value |= (byte & 0x7f) << 7;
    if (byte >= 0x80) {
      byte = buf[pos++]!;
      value |= (byte & 0x7f) << 14;
      if (byte >= 0x80) {
        byte = buf[pos++]!;
        value |= (byte & 0x7f) << 21;
        if (byte >= 0x80) return this.longVarint();
      }
    }
    this.pos = pos;
    return value;
  }

  /**
   * varint() for numbers of more than 28 bits (times in ms, namespace inodes), and near the end
   * of the input: the bits above 28 are gathered as an int of their own (2^53 needs 25 of them).
   */
  private longVarint(): number {
    const buf = this.buf;
    let low = 0;
    let high = 0;
    let beyond = false;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = buf[this.pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) low |= bits << (7 * i);
      else if (i < 8) high |= bits << (7 * (i - 4));
      else if (bits !== 0) beyond = true;
      if (byte < 0x80) {
        const value = low + high * 2 ** 28;
        if (beyond || value > Number.MAX_SAFE_INTEGER) throw new WireFormatError('varint out of range');
        return value;
      }
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** Moves past a varint: one of up to 7 bytes (below 2^49) without adding it up; a longer one is read, and checked, by varint(). */
  private skipVarint(): void {
    const last = Math.min(this.pos + 7, this.end);
    for (let pos = this.pos; pos < last; pos++) {
      if (this.buf[pos]! < 0x80) {
        this.pos = pos + 1;
        return;
      }
    }
    this.varint();
  }

  /** Moves past a length-delimited field and returns where its payload starts (it ends at pos). */
  delimited(): number {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new WireFormatError('field runs past its message');
    this.pos = end;
    return start;
  }

  /** A string field; invalid UTF-8 becomes U+FFFD, as protobuf-es does when not strict. */
  string(): string {
    const start = this.delimited();
    return this.buf.toString('utf8', start, this.pos);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.skipVarint();
        return;
      case WireType.I64:
        this.pos += 8;
        break;
      case WireType.LEN:
        this.delimited();
        return;
      case WireType.I32:
        this.pos += 4;
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireFormatError('field runs past its message');
  }
}
