import { decode as cborxDecode, encode as cborxEncode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { CborReader, CborRefused, checkCborBounds, cborHead, cborHeadLength, encodeCbor, int, uint, type CborBounds } from '../../flight/dtn/cbor.js';
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

  it('skips at most 64 items in all the opaque values of one reader (one security block), so skipping costs a bounded time', () => {
    const flat = (n: number): string => hex(cborHead(4, n)) + '00'.repeat(n);
    const r = reader(flat(63) + '07');
    r.skip('v');
    expect(r.uint('next')).toBe(7);
    expectBundleError(() => reader(flat(64)).skip('wide'), 'BUNDLE_CBOR', 'wide');
    // The count is over every skip() of the reader.
    const two = reader(flat(31) + flat(31) + flat(0));
    two.skip('a');
    two.skip('b');
    expectBundleError(() => two.skip('c'), 'BUNDLE_CBOR', 'c');
  });
});

describe('checkCborBounds: what cbor-x may be given from a link', () => {
  const bounds: CborBounds = { maxDepth: 2, maxItems: 8, maxStringBytes: 16, maps: false };
  const refusal = (h: string, b: CborBounds = bounds): string => {
    try {
      checkCborBounds(fromHex(h), b);
    } catch (error) {
      expect(error).toBeInstanceOf(CborRefused);
      return (error as CborRefused).reason;
    }
    return 'accepted';
  };

  it('accepts items within the bounds: arrays, integers, strings, floats, booleans, null', () => {
    expect(refusal('83 01 8220f93c00 43010203')).toBe('accepted');
    expect(refusal('84 f4 f5 f6 f7')).toBe('accepted');
    expect(refusal('80')).toBe('accepted');
    expect(refusal('a1 6161 01', { ...bounds, maps: true })).toBe('accepted');
    expect(refusal('01 02 03', { ...bounds, maxTopItems: 3 })).toBe('accepted');
  });

  it('refuses tags (the bignum of issue 9 first), indefinite lengths, breaks and unassigned simple values', () => {
    expect(refusal('c2 59 9c40' + 'ff'.repeat(8))).toMatch(/a tag \(2, a bignum\)/);
    expect(refusal('81 c3 41 01')).toMatch(/a tag \(3, a bignum\)/);
    expect(refusal('d8 40 40')).toMatch(/a tag \(64\)/);
    expect(refusal('9f ff')).toMatch(/indefinite length/);
    expect(refusal('5f 41 00 ff')).toMatch(/indefinite length/);
    expect(refusal('ff')).toMatch(/a break/);
    expect(refusal('f0')).toMatch(/unassigned simple value/);
    expect(refusal('f8 20')).toMatch(/unassigned simple value/);
    expect(refusal('1c')).toMatch(/reserved additional information 28/);
  });

  it('refuses what exceeds depth, items, string size, maps, the sequence length, or the bytes there are', () => {
    expect(refusal('81 81 81 00')).toMatch(/nesting deeper than 2/);
    expect(refusal('89 000000000000000000')).toMatch(/exceeds the bytes or items left/);
    expect(refusal('82 86000000000000 00')).toMatch(/more than 8 items/);
    expect(refusal('51' + '00'.repeat(17))).toMatch(/a string of 17 bytes \(at most 16\)/);
    expect(refusal('a1 01 02')).toMatch(/a map/);
    expect(refusal('01 02')).toMatch(/bytes after the item/);
    expect(refusal('43 0102')).toMatch(/runs past the end/);
    expect(refusal('82 01')).toMatch(/exceeds the bytes or items left|truncated/);
    expect(refusal('1a 0001')).toMatch(/truncated head/);
    expect(refusal('')).toMatch(/no item/);
  });

  it('takes at most maxItems steps: an array claiming 2^32 items is refused at its head', () => {
    const huge = fromHex('9b 0000000100000000 00');
    expect(() => checkCborBounds(huge, { ...bounds, maxItems: 1 << 20 })).toThrow(/exceeds the bytes or items left/);
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
