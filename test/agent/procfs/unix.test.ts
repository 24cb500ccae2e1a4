import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { UnixSocketRecord } from '../../../model/socket.js';
import { ParseError } from '../../../agent/procfs/errors.js';
import { parseUnixTable } from '../../../agent/procfs/unix.js';
import { sample, sampleText } from '../../support/samples.js';

const HEADER = 'Num       RefCount Protocol Flags    Type St Inode Path';

const record = (fields: Omit<UnixSocketRecord, 'proto' | 'protocol'>): UnixSocketRecord => ({ proto: 'unix', protocol: 0, ...fields });

describe('parseUnixTable over the real demo capture', () => {
  const { records, errors } = parseUnixTable(sample('demo.proc-net-unix.txt'));

  test('every record, whole, including the name split over two lines', () => {
    assert.deepEqual(errors, []);
    assert.deepEqual(records, [
      record({ pointer: '00000000b94d24c4', refCount: 2, flags: 0x10000, type: 1, st: 1, inode: '3660167', path: 'demo.sock' }),
      record({ pointer: '000000002d654992', refCount: 3, flags: 0, type: 1, st: 3, inode: '3660165', path: null }),
      record({ pointer: '00000000ae9cf618', refCount: 2, flags: 0, type: 2, st: 1, inode: '3660168', path: 'with space.sock' }),
      record({ pointer: '00000000b8352d20', refCount: 2, flags: 0, type: 2, st: 1, inode: '3660169', path: 'new\nline.sock' }),
      record({ pointer: '000000003a2f15d0', refCount: 3, flags: 0, type: 1, st: 3, inode: '3660166', path: '@inventory-demo' }),
      record({ pointer: '0000000045e31cca', refCount: 3, flags: 0, type: 1, st: 3, inode: '3660172', path: null }),
      record({ pointer: '0000000074e630e9', refCount: 3, flags: 0, type: 1, st: 3, inode: '3660171', path: null }),
      record({ pointer: '000000009658395f', refCount: 2, flags: 0, type: 2, st: 1, inode: '3660170', path: '@inv@nul' }),
      record({ pointer: '0000000047c8c084', refCount: 2, flags: 0x10000, type: 1, st: 1, inode: '3660164', path: '@inventory-demo' }),
      record({ pointer: '0000000072403764', refCount: 2, flags: 0x10000, type: 5, st: 1, inode: '3660173', path: '@inventory-seqpacket' }),
    ]);
  });

  test('an accept-queue embryo: St 02, right-aligned inode 0, the listener\'s name', () => {
    const text = sampleText('unix-accept-queue-embryo.txt').split('\n').slice(1).join('\n');
    const parsed = parseUnixTable(text);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.records[0], record({ pointer: '00000000b71c1c54', refCount: 3, flags: 0, type: 1, st: 2, inode: '0', path: '@embryo-test' }));
  });
});

describe('parseUnixTable edge cases', () => {
  test('non-UTF-8 bytes in a name survive as latin1', () => {
    const bytes = Buffer.concat([Buffer.from(`${HEADER}\n0000000000000001: 00000002 00000000 00000000 0001 01 77 caf`), Buffer.from([0xe9, 0xff]), Buffer.from('\n')]);
    const [parsed] = parseUnixTable(bytes).records;
    assert.deepEqual(Buffer.from(parsed?.path ?? '', 'latin1'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff]));
  });

  test('a name ending in a newline keeps it', () => {
    const { records } = parseUnixTable(`${HEADER}\n0000000000000001: 00000002 00000000 00000000 0002 01 77 tail\n\n0000000000000002: 00000002 00000000 00000000 0002 01 78\n`);
    assert.deepEqual(records.map((r) => r.path), ['tail\n', null]);
  });

  test('kptr_restrict=2: every Num is zeros and records are still distinct', () => {
    const line = (inode: number) => `0000000000000000: 00000002 00000000 00000000 0001 01 ${inode}`;
    assert.deepEqual(parseUnixTable(`${HEADER}\n${line(1)}\n${line(2)}\n`).records.map((r) => r.inode), ['1', '2']);
  });

  const good = '00000000b94d24c4: 00000002 00000000 00010000 0001 01 3660167 demo.sock';
  const malformed: Array<{ name: string; line: string; reason: RegExp }> = [
    { name: 'too few fields', line: '00000000b94d24c4: 00000002 00000000', reason: /at least 7/ },
    { name: 'RefCount not hex', line: good.replace(' 00000002 ', ' 0000000Z '), reason: /RefCount/ },
    { name: 'Protocol not hex', line: good.replace(' 00000000 00010000', ' x 00010000'), reason: /Protocol/ },
    { name: 'Flags not hex', line: good.replace('00010000', '0001000G'), reason: /Flags/ },
    { name: 'Type not hex', line: good.replace(' 0001 01 ', ' 00T1 01 '), reason: /Type/ },
    { name: 'St not hex', line: good.replace(' 0001 01 ', ' 0001 0x '), reason: /St/ },
    { name: 'Inode not decimal', line: good.replace('3660167', '36601a7'), reason: /Inode/ },
  ];
  for (const { name, line, reason } of malformed) {
    test(`malformed: ${name} → ParseError; neighbours still parse`, () => {
      const { records, errors } = parseUnixTable(`${HEADER}\n${line}\n${good}\n`, '/proc/7/net/unix');
      assert.equal(records.length, 1);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof ParseError);
      assert.equal(errors[0].file, '/proc/7/net/unix');
      assert.equal(errors[0].lineNumber, 2);
      assert.equal(errors[0].text, line);
      assert.match(errors[0].reason, reason);
    });
  }

  test('a continuation line with no record before it is an error', () => {
    const { errors } = parseUnixTable(`${HEADER}\nstray\n`);
    assert.equal(errors.length, 1);
  });

  test('property: arbitrary bytes never throw anything but ParseError entries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        for (const error of parseUnixTable(bytes).errors) assert.ok(error instanceof ParseError);
      }),
      { numRuns: 500 },
    );
  });
});
