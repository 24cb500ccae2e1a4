import { decodeAddressBytes, formatIpv4, formatIpv6 } from './address.js';
import { ParseError } from './errors.js';
import { Tokens, forEachLine, indexOfByte, latin1, parseDec, parseHex, parseSignedDec, toBytes } from './tokens.js';
import type { InetProto, InetSocketRecord, LineShape, TcpExtras } from '../../model/socket.js';

export interface TableParse<T> {
  readonly records: T[];
  /** One per skipped line; the rest of the table is still parsed. */
  readonly errors: ParseError[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const IPV6_PROTOS: ReadonlySet<InetProto> = new Set(['tcp6', 'udp6', 'raw6']);

/** Tokens of the shortest line any inet table prints (timewait/request: tcp4_seq_show). */
const MIN_TOKENS = 12;
/** Full tcp lines end with rto, ato, quick/pingpong, cwnd and ssthresh (get_tcp4_sock). */
const FULL_TCP_TOKENS = 17;

/**
 * Parses /proc/net/{tcp,tcp6,udp,udp6,raw,raw6}: the header is skipped by position, every
 * other line becomes a record or a ParseError. Pure: no file system access.
 */
export function parseInetTable(input: Uint8Array | string, proto: InetProto, file: string = proto): TableParse<InetSocketRecord> {
  const buf = toBytes(input);
  const parser = new InetLineParser(buf, proto, file);
  const records: InetSocketRecord[] = [];
  const errors: ParseError[] = [];
  forEachLine(buf, (start, end, lineNumber) => {
    if (lineNumber === 1) return;
    const result = parser.parse(start, end, lineNumber);
    if (result instanceof ParseError) errors.push(result);
    else if (result) records.push(result);
  });
  return { records, errors };
}

class InetLineParser {
  private readonly tokens = new Tokens();
  private readonly addressBytes = new Uint8Array(16);
  private readonly isTcp: boolean;
  private readonly addressDigits: number;
  /** IPv4 text by the printed 32-bit value: loopback and pod IPs repeat on every line. */
  private readonly ipv4Cache = new Map<number, string>();
  // Out-values of endpoint() and hexPair(): no temporary objects per line.
  private address = '';
  private port = 0;
  private first = 0;
  private second = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly proto: InetProto,
    private readonly file: string,
  ) {
    this.isTcp = proto === 'tcp' || proto === 'tcp6';
    this.addressDigits = IPV6_PROTOS.has(proto) ? 32 : 8;
  }

  /** A record, a ParseError, or undefined for a blank line. Allocates only what it returns. */
  parse(start: number, end: number, lineNumber: number): InetSocketRecord | ParseError | undefined {
    const { buf, tokens } = this;
    const count = tokens.split(buf, start, end);
    if (count === 0) return undefined;
    if (count < MIN_TOKENS) return this.fail(start, end, lineNumber, `expected at least ${MIN_TOKENS} fields, got ${count}`);

    const s = tokens.starts;
    const e = tokens.ends;
    if (buf[e[0]! - 1] !== 58 || parseDec(buf, s[0]!, e[0]! - 1) < 0) return this.fail(start, end, lineNumber, 'bad sl field');

    if (!this.endpoint(s[1]!, e[1]!)) return this.fail(start, end, lineNumber, 'bad local_address');
    const localAddress = this.address;
    const localPort = this.port;
    if (!this.endpoint(s[2]!, e[2]!)) return this.fail(start, end, lineNumber, 'bad rem_address');
    const foreignAddress = this.address;
    const foreignPort = this.port;

    const stateCode = parseHex(buf, s[3]!, e[3]!);
    if (stateCode < 0) return this.fail(start, end, lineNumber, 'bad st');

    if (!this.hexPair(s[4]!, e[4]!)) return this.fail(start, end, lineNumber, 'bad tx_queue:rx_queue');
    const txQueue = this.first;
    const rxQueue = this.second;
    if (!this.hexPair(s[5]!, e[5]!)) return this.fail(start, end, lineNumber, 'bad tr:tm->when');
    const timerCode = this.first;
    const timerTicks = this.second;

    const retransmits = parseHex(buf, s[6]!, e[6]!);
    if (retransmits < 0) return this.fail(start, end, lineNumber, 'bad retrnsmt');
    const uid = parseDec(buf, s[7]!, e[7]!);
    if (uid < 0) return this.fail(start, end, lineNumber, 'bad uid');
    const probes = parseDec(buf, s[8]!, e[8]!);
    if (probes < 0) return this.fail(start, end, lineNumber, 'bad timeout');
    if (parseDec(buf, s[9]!, e[9]!) < 0) return this.fail(start, end, lineNumber, 'bad inode');
    const inode = buf[s[9]!] === 48 && e[9]! - s[9]! === 1 ? '0' : latin1(buf, s[9]!, e[9]!);
    const refCount = parseDec(buf, s[10]!, e[10]!);
    if (refCount < 0) return this.fail(start, end, lineNumber, 'bad ref');

    let shape: LineShape = 'full';
    let tcp: TcpExtras | undefined;
    let drops = -1;
    if (this.isTcp) {
      if (count >= FULL_TCP_TOKENS) {
        tcp = this.tcpExtras();
        if (tcp === undefined) return this.fail(start, end, lineNumber, 'bad rto/ato/quick/cwnd/ssthresh');
      } else if (timerCode === 3) {
        shape = 'timewait';
      } else if (stateCode === 3 && inode === '0') {
        shape = 'request';
      }
    } else if (count > 12) {
      drops = parseDec(buf, s[12]!, e[12]!);
      if (drops < 0) return this.fail(start, end, lineNumber, 'bad drops');
    }

    const record: Mutable<InetSocketRecord> = {
      proto: this.proto,
      shape,
      localAddress,
      localPort,
      foreignAddress,
      foreignPort,
      stateCode,
      txQueue,
      rxQueue,
      timer: { code: timerCode, ticks: timerTicks, retransmits, probes },
      uid,
      inode,
      refCount,
      pointer: latin1(buf, s[11]!, e[11]!),
    };
    if (tcp) record.tcp = tcp;
    if (drops >= 0) record.drops = drops;
    return record;
  }

  private fail(start: number, end: number, lineNumber: number, reason: string): ParseError {
    return new ParseError(this.file, lineNumber, latin1(this.buf, start, end), reason);
  }

  /** `AAAAAAAA:PPPP` (32 address digits in the v6 tables) into this.address and this.port. */
  private endpoint(start: number, end: number): boolean {
    const colon = start + this.addressDigits;
    if (colon >= end || this.buf[colon] !== 58) return false;
    const port = parseHex(this.buf, colon + 1, end);
    if (port < 0 || port > 0xffff) return false;
    const address = this.addressDigits === 8 ? this.ipv4(start) : this.ipv6(start);
    if (address === undefined) return false;
    this.address = address;
    this.port = port;
    return true;
  }

  private ipv4(start: number): string | undefined {
    const value = parseHex(this.buf, start, start + 8);
    if (value < 0) return undefined;
    let text = this.ipv4Cache.get(value);
    if (text === undefined) {
      decodeAddressBytes(this.buf, start, 1, this.addressBytes);
      text = formatIpv4(this.addressBytes);
      this.ipv4Cache.set(value, text);
    }
    return text;
  }

  private ipv6(start: number): string | undefined {
    return decodeAddressBytes(this.buf, start, 4, this.addressBytes) ? formatIpv6(this.addressBytes) : undefined;
  }

  /** `HHHHHHHH:HHHHHHHH` into this.first and this.second. */
  private hexPair(start: number, end: number): boolean {
    const colon = indexOfByte(this.buf, 58, start, end);
    if (colon < 0) return false;
    this.first = parseHex(this.buf, start, colon);
    this.second = parseHex(this.buf, colon + 1, end);
    return this.first >= 0 && this.second >= 0;
  }

  private tcpExtras(): TcpExtras | undefined {
    const { buf } = this;
    const s = this.tokens.starts;
    const e = this.tokens.ends;
    const rtoTicks = parseDec(buf, s[12]!, e[12]!);
    const atoTicks = parseDec(buf, s[13]!, e[13]!);
    const quickAckPingpong = parseDec(buf, s[14]!, e[14]!);
    const sndCwnd = parseDec(buf, s[15]!, e[15]!);
    const ssthresh = parseSignedDec(buf, s[16]!, e[16]!);
    if (rtoTicks < 0 || atoTicks < 0 || quickAckPingpong < 0 || sndCwnd < 0 || Number.isNaN(ssthresh)) return undefined;
    return { rtoTicks, atoTicks, quickAckPingpong, sndCwnd, ssthresh };
  }
}
