import { describe, expect, it } from 'vitest';
import { BlockFlag, BlockType, BundleFlag, payloadBlock, type Bundle } from '../../flight/dtn/bundle.js';
import { concatBytes, encodeCbor, type CborValue } from '../../flight/dtn/cbor.js';
import { assembleBundle, createBundle, decodeBundle, encodeBlock, encodePrimary } from '../../flight/dtn/codec.js';
import { DTN_NONE, eidToString, ipn } from '../../flight/dtn/eid.js';
import { crc16X25Reference, crc32cReference } from '../support/crc-reference.js';
import { T0, expectBundleError, hex, sampleBundle } from './helpers.js';
import { rfc9173Vectors } from './vectors.js';

/** Re-encodes every block from its typed fields alone (no kept bytes). */
function reencodeFromFields(b: Bundle): Uint8Array {
  const primary = encodePrimary(b.primary);
  const blocks = b.blocks.map((x) => encodeBlock({ type: x.type, number: x.number, flags: x.flags, crcType: x.crcType, data: Uint8Array.from(x.data) }));
  return assembleBundle(primary, blocks).bytes;
}

const PRIMARY: CborValue[] = [7, 0, 0, [2, [1, 2]], [2, [2, 1]], [2, [2, 1]], [0, 40], 1_000_000];
const PAYLOAD: CborValue[] = [1, 1, 0, 0, Uint8Array.of(1, 2, 3)];

/** A bundle from hand-made parts; an item given as Uint8Array is spliced in as raw bytes. */
function handMade(primary: CborValue[] | Uint8Array, ...blocks: Array<CborValue[] | Uint8Array>): Uint8Array {
  const enc = (x: CborValue[] | Uint8Array): Uint8Array => (x instanceof Uint8Array ? x : Uint8Array.from(encodeCbor(x)));
  return concatBytes([Uint8Array.of(0x9f), enc(primary), ...blocks.map(enc), Uint8Array.of(0xff)]);
}

/** The encoding of `value` with the bytes `find` replaced by `replace` (exactly once). */
function splice(value: CborValue[], find: string, replace: string): Uint8Array {
  const text = hex(Uint8Array.from(encodeCbor(value)));
  expect(text.split(find)).toHaveLength(2);
  return Uint8Array.from(Buffer.from(text.replace(find, replace), 'hex'));
}

describe('decodeBundle on the RFC 9173 Appendix A bundles', () => {
  const vectors = rfc9173Vectors();

  it('reads the primary block fields the RFC lists', () => {
    for (const v of vectors) {
      const b = decodeBundle(v.bytes);
      const p = b.primary;
      expect([eidToString(p.destination), eidToString(p.source), eidToString(p.reportTo)]).toEqual(['ipn:1.2', 'ipn:2.1', 'ipn:2.1']);
      expect([p.version, p.flags, p.crcType, p.creationTime, p.sequence, p.lifetime]).toEqual([7, 0, 0, 0, 40, 1_000_000]);
      expect(payloadBlock(b).type).toBe(BlockType.payload);
    }
    const a3 = decodeBundle(vectors[2]!.bytes);
    expect(a3.blocks.map((x) => [x.type, x.number])).toEqual([[11, 3], [12, 4], [7, 2], [1, 1]]);
    expect(a3.bundleAge).toBe(300);
  });

  it('re-encodes each of them byte for byte, from kept bytes and from typed fields alone', () => {
    for (const v of vectors) {
      const b = decodeBundle(v.bytes);
      expect(hex(assembleBundle(b.primary, b.blocks).bytes)).toBe(v.hex);
      expect(hex(reencodeFromFields(b))).toBe(v.hex);
    }
  });
});

describe('createBundle and decodeBundle', () => {
  it.each([0, 1, 2] as const)('round-trips every field and extension block with CRC type %i', (crcType) => {
    const made = sampleBundle({}, crcType);
    const back = decodeBundle(made.bytes);
    const { bytes: _a, ...madePrimary } = made.primary;
    const { bytes: _b, ...backPrimary } = back.primary;
    expect(backPrimary).toEqual(madePrimary);
    expect(eidToString(back.primary.reportTo)).toBe('dtn://ground/reports');
    expect(back.previousNode).toEqual(ipn(11, 0));
    expect(back.bundleAge).toBe(1500);
    expect(back.hopCount).toEqual({ limit: 30, count: 2 });
    expect(back.qos).toMatchObject({ priority: 2, ordinal: 9 });
    expect(back.blocks.map((b) => [b.type, b.number, b.crcType])).toEqual(
      [[6, 2], [7, 3], [10, 4], [193, 5], [200, 6], [1, 1]].map(([t, n]) => [t, n, crcType]));
    expect(hex(reencodeFromFields(back))).toBe(hex(made.bytes));
  });

  it('writes CRCs that an independent bitwise CRC-16/X.25 and CRC-32C reproduce', () => {
    for (const [crcType, width, reference] of [[1, 2, crc16X25Reference], [2, 4, crc32cReference]] as const) {
      const b = sampleBundle({}, crcType);
      for (const block of [b.primary, ...b.blocks]) {
        const zeroed = Uint8Array.from(block.bytes);
        zeroed.fill(0, zeroed.length - width);
        const stored = Buffer.from(block.bytes.subarray(block.bytes.length - width)).readUIntBE(0, width);
        expect(stored).toBe(reference(zeroed));
      }
    }
  });

  it('encodes times above 2^32 ms as 8-byte integers, not floats', () => {
    const b = sampleBundle();
    expect(T0).toBeGreaterThan(2 ** 32);
    expect(hex(b.primary.bytes)).toContain(`1b${T0.toString(16).padStart(16, '0')}`);
    expect(decodeBundle(b.bytes).primary.creationTime).toBe(T0);
  });

  it('refuses to build what it would refuse to decode', () => {
    expectBundleError(() => createBundle({ destination: ipn(1, 1), source: DTN_NONE, creationTime: T0, lifetime: 1, payload: new Uint8Array(1) }), 'BUNDLE_FLAGS');
    expectBundleError(() => createBundle({
      destination: ipn(1, 1), source: ipn(2, 0), flags: BundleFlag.adminRecord | BundleFlag.reportDelivery,
      creationTime: T0, lifetime: 1, payload: new Uint8Array(1),
    }), 'BUNDLE_FLAGS', 'primary.flags');
  });
});

describe('decodeBundle rejects malformed bundles with a typed error naming the field', () => {
  const good = handMade(PRIMARY, PAYLOAD);

  it('accepts the hand-made baseline', () => {
    expect(decodeBundle(good).blocks).toHaveLength(1);
  });

  const cases: Array<[string, () => Uint8Array, string, string]> = [
    ['empty input', () => new Uint8Array(0), 'BUNDLE_STRUCTURE', 'bundle'],
    ['a definite-length bundle array', () => Uint8Array.from(encodeCbor([PRIMARY, PAYLOAD])), 'BUNDLE_STRUCTURE', 'bundle'],
    ['no break at the end', () => good.subarray(0, good.length - 1), 'BUNDLE_CBOR', 'bundle'],
    ['bytes after the break', () => concatBytes([good, Uint8Array.of(0)]), 'BUNDLE_STRUCTURE', 'bundle'],
    ['version 6', () => handMade([6, ...PRIMARY.slice(1)], PAYLOAD), 'BUNDLE_VERSION', 'primary.version'],
    ['a primary block one element too long', () => handMade([...PRIMARY, 5], PAYLOAD), 'BUNDLE_STRUCTURE', 'primary'],
    ['an unknown CRC type', () => handMade([7, 0, 3, ...PRIMARY.slice(3), new Uint8Array(4)], PAYLOAD), 'BUNDLE_CRC', 'primary.crcType'],
    ['no payload block', () => handMade(PRIMARY), 'BUNDLE_STRUCTURE', 'bundle'],
    ['the payload before another block', () => handMade(PRIMARY, PAYLOAD, [7, 2, 0, 0, Uint8Array.of(0)]), 'BUNDLE_STRUCTURE', 'block.type'],
    ['payload block number 2', () => handMade(PRIMARY, [1, 2, 0, 0, Uint8Array.of(1)]), 'BUNDLE_STRUCTURE', 'block.number'],
    ['a block number used twice', () => handMade(PRIMARY, [7, 1, 0, 0, Uint8Array.of(0)], PAYLOAD), 'BUNDLE_STRUCTURE', 'block.number'],
    ['two hop count blocks', () => handMade(PRIMARY, [10, 2, 0, 0, Uint8Array.of(0x82, 5, 0)], [10, 3, 0, 0, Uint8Array.of(0x82, 5, 0)], PAYLOAD), 'BUNDLE_STRUCTURE', 'block.type'],
    ['hop limit 0', () => handMade(PRIMARY, [10, 2, 0, 0, Uint8Array.of(0x82, 0, 0)], PAYLOAD), 'BUNDLE_BLOCK', 'hopCount.limit'],
    ['a bundle age that is text', () => handMade(PRIMARY, [7, 2, 0, 0, Uint8Array.of(0x61, 0x31)], PAYLOAD), 'BUNDLE_CBOR', 'bundleAge'],
    ['a float lifetime', () => handMade(splice(PRIMARY, '1a000f4240', 'fa49742400'), PAYLOAD), 'BUNDLE_CBOR', 'primary.lifetime'],
    ['a tagged destination', () => handMade(splice(PRIMARY, '8202820102', 'c1' + '8202820102'), PAYLOAD), 'BUNDLE_CBOR', 'primary.destination'],
    ['a map for an EID', () => handMade(splice(PRIMARY, '8202820102', 'a0'), PAYLOAD), 'BUNDLE_CBOR', 'primary.destination'],
    ['a version in non-preferred encoding', () => handMade(splice(PRIMARY, '880700', '88180700'), PAYLOAD), 'BUNDLE_CBOR', 'primary.version'],
    ['an indefinite-length primary block', () => handMade(splice(PRIMARY, '880700', '9f0700'), PAYLOAD), 'BUNDLE_CBOR', 'primary'],
    ['a 3-element (RFC 9758) ipn EID', () => handMade([...PRIMARY.slice(0, 3), [2, [0, 1, 2]], ...PRIMARY.slice(4)], PAYLOAD), 'BUNDLE_EID', 'primary.destination.ssp'],
    ['a dtn SSP without //', () => handMade([...PRIMARY.slice(0, 3), [1, 'node/x'], ...PRIMARY.slice(4)], PAYLOAD), 'BUNDLE_EID', 'primary.destination.ssp'],
    ['an unknown EID scheme', () => handMade([...PRIMARY.slice(0, 3), [3, 1], ...PRIMARY.slice(4)], PAYLOAD), 'BUNDLE_EID', 'primary.destination.scheme'],
    ['a dtn SSP with a byte that is not visible ASCII', () => handMade(splice([...PRIMARY.slice(0, 3), [1, '//a/bc'], ...PRIMARY.slice(4)], '662f2f612f6263', '662f2f612fc328'), PAYLOAD), 'BUNDLE_EID', 'primary.destination.ssp'],
    ['an integer above 2^53', () => handMade(splice(PRIMARY, '1a000f4240', '1b0020000000000000'), PAYLOAD), 'BUNDLE_CBOR', 'primary.lifetime'],
    ['a byte string longer than the bundle', () => handMade(PRIMARY, Uint8Array.of(0x85, 1, 1, 0, 0, 0x5a, 0xff, 0xff, 0xff, 0xf0, 1)), 'BUNDLE_CBOR', 'block.data'],
    ['an array count beyond the input', () => handMade(PRIMARY, Uint8Array.of(0x9b, 0, 0, 0, 1, 0, 0, 0, 0)), 'BUNDLE_CBOR', 'block'],
    ['a fragment running past its ADU', () => handMade([7, BundleFlag.isFragment, 0, ...PRIMARY.slice(3), 2, 4], PAYLOAD), 'BUNDLE_FRAGMENT', 'primary.fragmentOffset'],
    ['status reports on an administrative record', () => handMade([7, BundleFlag.adminRecord | BundleFlag.reportReception, ...PRIMARY.slice(2)], PAYLOAD), 'BUNDLE_FLAGS', 'primary.flags'],
    ['an anonymous bundle that may be fragmented', () => handMade([...PRIMARY.slice(0, 4), [1, 0], ...PRIMARY.slice(5)], PAYLOAD), 'BUNDLE_FLAGS', 'primary.flags'],
    ['report-if-unprocessed in an administrative record', () => handMade([7, BundleFlag.adminRecord, ...PRIMARY.slice(2)], [1, 1, BlockFlag.reportIfUnprocessed, 0, Uint8Array.of(0)]), 'BUNDLE_FLAGS', 'block.flags'],
  ];

  it.each(cases)('%s', (_name, make, code, field) => {
    expectBundleError(() => decodeBundle(make()), code as never, field);
  });

  it('detects a flipped payload bit through the block CRC and names the block', () => {
    const b = sampleBundle();
    const bytes = Uint8Array.from(b.bytes);
    const payload = payloadBlock(b);
    bytes[payload.data.byteOffset - b.bytes.byteOffset + 10]! ^= 0x04;
    const err = expectBundleError(() => decodeBundle(bytes), 'BUNDLE_CRC', 'block.crc');
    expect(err.block).toEqual({ index: 6, type: 1, number: 1 });
  });

  it('enforces the size and block-count limits before decoding further', () => {
    const b = sampleBundle();
    expectBundleError(() => decodeBundle(b.bytes, { maxBundleBytes: b.bytes.length - 1, maxBlocks: 64 }), 'BUNDLE_TOO_LARGE');
    expectBundleError(() => decodeBundle(b.bytes, { maxBundleBytes: 1 << 20, maxBlocks: 5 }), 'BUNDLE_STRUCTURE', 'bundle');
    expect(decodeBundle(b.bytes, { maxBundleBytes: b.bytes.length, maxBlocks: 6 }).blocks).toHaveLength(6);
  });
});
