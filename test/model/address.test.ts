import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeAddressBytes, formatIpv4, formatIpv6 } from '../../agent/procfs/address.js';
import { netstatAddress } from '../../model/address.js';

const decode = (hex: string, littleEndian: boolean): string => {
  const out = new Uint8Array(16);
  const words = hex.length === 8 ? 1 : 4;
  assert.ok(decodeAddressBytes(Buffer.from(hex, 'latin1'), 0, words, out, littleEndian));
  return words === 1 ? formatIpv4(out) : formatIpv6(out);
};

describe('address decoding (reference §1.10)', () => {
  const cases: Array<{ name: string; hex: string; littleEndian: boolean; text: string }> = [
    { name: 'loopback on little-endian', hex: '0100007F', littleEndian: true, text: '127.0.0.1' },
    { name: '10.0.2.15', hex: '0F02000A', littleEndian: true, text: '10.0.2.15' },
    { name: '192.168.1.20', hex: '1401A8C0', littleEndian: true, text: '192.168.1.20' },
    { name: 'loopback on big-endian (s390x) prints in network order', hex: '7F000001', littleEndian: false, text: '127.0.0.1' },
    { name: '::1', hex: '00000000000000000000000001000000', littleEndian: true, text: '::1' },
    { name: '2001:db8::1', hex: 'B80D0120000000000000000001000000', littleEndian: true, text: '2001:db8::1' },
    { name: 'v4-mapped', hex: '0000000000000000FFFF00000100007F', littleEndian: true, text: '::ffff:127.0.0.1' },
    { name: 'fe80::1', hex: '000080FE000000000000000001000000', littleEndian: true, text: 'fe80::1' },
    { name: 'the unspecified address', hex: '00000000000000000000000000000000', littleEndian: true, text: '::' },
    { name: 'v6 on big-endian', hex: '20010DB8000000000000000000000001', littleEndian: false, text: '2001:db8::1' },
  ];
  for (const { name, hex, littleEndian, text } of cases) test(name, () => assert.equal(decode(hex, littleEndian), text));

  test('a non-hex digit is refused', () => {
    assert.equal(decodeAddressBytes(Buffer.from('0100007G'), 0, 1, new Uint8Array(16), true), false);
  });
});

describe('formatIpv6 follows glibc inet_ntop', () => {
  const bytes = (...groups: number[]) => new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));
  const cases: Array<{ name: string; groups: number[]; text: string }> = [
    { name: 'a single zero group is not compressed', groups: [0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], text: '2001:db8:0:1:1:1:1:1' },
    { name: 'the first of two equal runs is compressed', groups: [1, 0, 0, 1, 0, 0, 1, 1], text: '1::1:0:0:1:1' },
    { name: 'the longest run wins', groups: [1, 0, 0, 1, 0, 0, 0, 1], text: '1:0:0:1::1' },
    { name: 'a trailing run', groups: [0xfe80, 0, 0, 0, 0, 0, 0, 0], text: 'fe80::' },
    { name: 'IPv4-compatible keeps dotted form', groups: [0, 0, 0, 0, 0, 0, 0x0a00, 0x0001], text: '::10.0.0.1' },
    { name: 'IPv4-mapped keeps dotted form', groups: [0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001], text: '::ffff:10.0.0.1' },
  ];
  for (const { name, groups, text } of cases) test(name, () => assert.equal(formatIpv6(bytes(...groups)), text));

  test('property: agrees with the WHATWG serializer (RFC 5952) outside the embedded-IPv4 forms', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }), (groups) => {
        const text = formatIpv6(bytes(...groups));
        assert.ok(isIPv6(text), text);
        if (text.includes('.')) return;
        assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
      }),
      { numRuns: 1000 },
    );
  });
});

test('netstatAddress strips ::ffff: as fix_v4_address does, and nothing else', () => {
  assert.equal(netstatAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(netstatAddress('::ffff:1:2'), '::ffff:1:2');
  assert.equal(netstatAddress('::1'), '::1');
  assert.equal(netstatAddress('10.0.0.1'), '10.0.0.1');
});
