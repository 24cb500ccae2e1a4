import { ParseError } from './errors.js';
import type { TableParse } from './inet.js';
import { Tokens, forEachLine, latin1, parseDec, parseHex, toBytes } from './tokens.js';
import type { UnixSocketRecord } from '../../model/socket.js';

/** Num (pointer + ':'), RefCount, Protocol, Flags, Type, St, Inode; Path is optional. */
const MIN_TOKENS = 7;

/**
 * Parses /proc/net/unix (unix_seq_show in net/unix/af_unix.c). A name containing a newline
 * spans several physical lines: any line that does not start with `<hex pointer>:` continues
 * the previous record's path. Names are kept byte for byte (latin1).
 */
export function parseUnixTable(input: Uint8Array | string, file = 'unix'): TableParse<UnixSocketRecord> {
  const buf = toBytes(input);
  const tokens = new Tokens();
  const records: UnixSocketRecord[] = [];
  const errors: ParseError[] = [];
  let previous: { record: UnixSocketRecord; path: string } | undefined;

  const flush = (): void => {
    if (previous) records.push(previous.record.path === null ? previous.record : { ...previous.record, path: previous.path });
    previous = undefined;
  };

  forEachLine(buf, (start, end, lineNumber) => {
    if (lineNumber === 1) return;
    const count = tokens.split(buf, start, end);
    const s = tokens.starts;
    const e = tokens.ends;
    const startsRecord = count > 0 && buf[e[0]! - 1] === 58 && parseHex(buf, s[0]!, e[0]! - 1) >= 0;
    if (!startsRecord) {
      if (previous && previous.record.path !== null) {
        previous.path += `\n${latin1(buf, start, end)}`;
      } else if (start !== end) {
        errors.push(new ParseError(file, lineNumber, latin1(buf, start, end), 'line is neither a record nor the continuation of a path'));
      }
      return;
    }
    flush();
    const fail = (reason: string): void => {
      errors.push(new ParseError(file, lineNumber, latin1(buf, start, end), reason));
    };
    if (count < MIN_TOKENS) return fail(`expected at least ${MIN_TOKENS} fields, got ${count}`);
    const refCount = parseHex(buf, s[1]!, e[1]!);
    const protocol = parseHex(buf, s[2]!, e[2]!);
    const flags = parseHex(buf, s[3]!, e[3]!);
    const type = parseHex(buf, s[4]!, e[4]!);
    const st = parseHex(buf, s[5]!, e[5]!);
    if (refCount < 0) return fail('bad RefCount');
    if (protocol < 0) return fail('bad Protocol');
    if (flags < 0) return fail('bad Flags');
    if (type < 0) return fail('bad Type');
    if (st < 0) return fail('bad St');
    if (parseDec(buf, s[6]!, e[6]!) < 0) return fail('bad Inode');
    // The path follows the inode after exactly one space and runs to the end of the line.
    const pathStart = e[6]! + 1;
    const path = pathStart <= end && buf[e[6]!] === 32 ? latin1(buf, pathStart, end) : null;
    const record: UnixSocketRecord = {
      proto: 'unix',
      pointer: latin1(buf, s[0]!, e[0]! - 1),
      refCount,
      protocol,
      flags,
      type,
      st,
      inode: latin1(buf, s[6]!, e[6]!),
      path,
    };
    previous = { record, path: path ?? '' };
  });
  flush();
  return { records, errors };
}
