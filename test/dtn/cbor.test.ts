import { decode as cborxDecode, encode as cborxEncode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { CborReader, cborHead, cborHeadLength, encodeCbor, int, uint } from '../../flight/dtn/cbor.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { expectBundleError, fromHex, hex } from './helpers.js';

const reader = (h: string): CborReader => {
  const bytes = fromHex(h);
  return new CborReader(bytes, 0, bytes.length);
};

describe('CBOR writer (cbor-x, configured for BPv7)', () => {
  it('writes integers in preferred form, above 2^32 as 8-byte integers, never floats', () => {
    expect(hex(encodeCbor(uint(23)))).toBe('17');
    expect(hex(encodeCbor(uint(0xffffffff)))).toBe('1affffffff');
    expect(hex(encodeCbor(uint(2 ** 40)))).toBe('1b0000010000000000');
    expect(hex(encodeCbor(uint(Number.MAX_SAFE_INTEGER)))).toBe('1b001fffffffffffff');
    expect(hex(encodeCbor(int(-5)))).toBe('24');
    expect(hex(encodeCbor(int(-(2 ** 40))))).toBe('3b000000ffffffffff');
  });

  it('writes Uint8Arrays as plain byte strings (no tag 64) and arrays as definite arrays', () => {
    expect(hex(encodeCbor([Uint8Array.of(1, 2), 'a', [true]]))).toBe('834201026161' + '81f5');
  });

  it('heads agree with cbor-x and with their stated lengths', () => {
    for (const n of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const head = cborHead(0, n);
      expect(hex(head)).toBe(hex(encodeCbor(uint(n))));
      expect(head.length).toBe(cborHeadLength(n));
      expect(Number(cborxDecode(head))).toBe(n);
    }
  });
});

describe('CBOR reader accepts only what RFC 9171 bundles use, in preferred form', () => {
  it('reads integers, byte and text strings, arrays, booleans', () => {
    const r = reader('1b001fffffffffffff' + '3903e7' + '43010203' + '6574c3a97374' + '82' + 'f5' + 'f4');
    expect(r.uint('a')).toBe(Number.MAX_SAFE_INTEGER);
    expect(r.int('b')).toBe(-1000);
    expect(hex(r.bytes('c'))).toBe('010203');
    expect(r.text('d', 10)).toBe('tést');
    expect(r.array('e')).toBe(2);
    expect([r.bool('f'), r.bool('g')]).toEqual([true, false]);
    expect(() => r.done('end')).not.toThrow();
  });

  it.each([
    ['a non-shortest integer', '1817', 'preferred'],
    ['a non-shortest 8-byte integer', '1b00000000ffffffff', 'preferred'],
    ['an integer above 2^53-1', '1b0020000000000000', '2^53'],
    ['a half float', 'f93c00', 'float'],
    ['a double float', 'fb3ff0000000000000', 'float'],
    ['a tag', 'c11a5f5e1000', 'tag'],
    ['a map', 'a0', 'map'],
    ['an indefinite-length byte string', '5f41014102ff', 'byte string'],
    ['reserved additional information', '1c', 'reserved'],
    ['a truncated integer', '1a0001', 'truncated'],
    ['nothing at all', '', 'truncated'],
  ])('rejects %s where an unsigned integer is expected', (_name, h, reason) => {
    const err = expectBundleError(() => reader(h).uint('x'), 'BUNDLE_CBOR', 'x');
    expect(err.reason).toContain(reason);
  });

  it('rejects strings and arrays longer than the input without allocating for them', () => {
    expectBundleError(() => reader('5b00000000ffffffff00').bytes('b'), 'BUNDLE_CBOR', 'b');
    expectBundleError(() => reader('7a7fffffff').text('t', 1 << 30), 'BUNDLE_CBOR', 't');
    expectBundleError(() => reader('9a7fffffff00').array('a'), 'BUNDLE_CBOR', 'a');
    expectBundleError(() => reader('9f01ff').array('a'), 'BUNDLE_CBOR', 'a');
    expectBundleError(() => reader('6461626364').text('t', 3), 'BUNDLE_CBOR', 't');
    expectBundleError(() => reader('62c328').text('t', 10), 'BUNDLE_CBOR', 't');
  });

  it('skips any well-formed item for opaque values, with bounded depth', () => {
    const r = reader('a2' + '01' + '8201f93c00' + '02' + 'c1' + '6161' + '07');
    r.skip('v');
    expect(r.uint('next')).toBe(7);
    expectBundleError(() => reader('81'.repeat(40) + '00').skip('deep'), 'BUNDLE_CBOR', 'deep');
    expectBundleError(() => reader('ff').skip('brk'), 'BUNDLE_CBOR', 'brk');
    expectBundleError(() => reader('82 01').skip('short'), 'BUNDLE_CBOR', 'short');
  });
});

describe('sharing cbor-x with the rest of the process', () => {
  it('leaves encodings other modules still hold intact while bundles are encoded', () => {
    const held = cborxEncode(['a command envelope', 1, 2, 3]);
    const expected = Uint8Array.from(held);
    for (let i = 0; i < 50; i++) {
      createBundle({ destination: ipn(1, 1), source: ipn(2, 1), creationTime: 1, lifetime: 1000, payload: new Uint8Array(100).fill(i) });
    }
    expect(Buffer.from(held).equals(Buffer.from(expected))).toBe(true);
  });
});
