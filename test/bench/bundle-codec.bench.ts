// Bundle codec speed against bare cbor-x, in the same run. Decode: decodeBundle (structure, EIDs,
// extension blocks, CRC-32C checks) against cbor-x decode of the same bytes. Encode: createBundle
// (CBOR via cbor-x, CRC-32C, one owned buffer) against cbor-x encode of the same primary and
// canonical blocks as plain arrays. Bundles carry previous node, bundle age and hop count blocks.
// Two CRC layouts: CRC-32C on every block, and on the primary block only (the RFC 9171 minimum;
// the payload then relies on the convergence layer or BPSec). Target: >= 0.5 of the cbor-x rate.
// TERN_BENCH_ROUNDS / TERN_BENCH_ROUND_MS lengthen the run (see throughput.ts).
import { Decoder, Encoder } from 'cbor-x';
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import { bundleAgeBlock, hopCountBlock, previousNodeBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, CRC_32C, CRC_NONE, type Bundle } from '../../flight/dtn/bundle.js';
import { uint, type CborValue } from '../../flight/dtn/cbor.js';
import type { NewBundle } from '../../flight/dtn/codec.js';
import { eidValue, ipn, parseEid } from '../../flight/dtn/eid.js';
import { writeResult } from './results.js';
import { compare } from './throughput.js';

// vitest runs test code, and the TypeScript it imports, through its module runner, which turns
// every cross-module reference into a property lookup on a module object (measured: the codec
// ran about 1.5x slower that way); packages in node_modules, cbor-x among them, stay native. So
// the codec is loaded from dist/ (`npm run bench` builds it) with require(), which loads ES
// modules natively on Node >= 20.19: measured as a flight node runs it, on equal terms with cbor-x.
const native = createRequire(import.meta.url);
const { createBundle, decodeBundle } = native('../../dist/flight/dtn/codec.js') as typeof import('../../flight/dtn/codec.js');

const SIZES = [64, 1024, 16 * 1024];
const T0 = Date.UTC(2025, 5, 1) - 946_684_800_000;

type Layout = 'crcAllBlocks' | 'crcPrimaryOnly';

function spec(size: number, layout: Layout): NewBundle {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
  const blocks = [previousNodeBlock(ipn(11, 0)), bundleAgeBlock(1500), hopCountBlock({ limit: 30, count: 2 })];
  return {
    destination: ipn(20, 1),
    source: ipn(10, 0),
    reportTo: parseEid('dtn://ground/reports'),
    flags: BundleFlag.reportDelivery,
    crcType: CRC_32C,
    creationTime: T0,
    sequence: 7,
    lifetime: 3_600_000,
    blocks: layout === 'crcAllBlocks' ? blocks : blocks.map((b) => ({ ...b, crcType: CRC_NONE })),
    payload,
    ...(layout === 'crcAllBlocks' ? {} : { payloadCrcType: CRC_NONE }),
  };
}

/** The same bundle as nested arrays, for cbor-x to encode without any codec logic. */
function plainArrays(b: Bundle): CborValue {
  const p = b.primary;
  const crc = new Uint8Array(4);
  const primary = [7, uint(p.flags), p.crcType, eidValue(p.destination), eidValue(p.source), eidValue(p.reportTo),
    [uint(p.creationTime), uint(p.sequence)], uint(p.lifetime), crc];
  return [primary, ...b.blocks.map((x) => (x.crcType === CRC_NONE ? [x.type, x.number, x.flags, x.crcType, x.data] : [x.type, x.number, x.flags, x.crcType, x.data, crc]))];
}

it('decode + validate and encode against bare cbor-x', async () => {
  // The codec's own cbor-x settings, so both sides write the same CBOR.
  const cborx = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false });
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: false });
  const results: Record<string, unknown> = {};
  const ratios: Record<string, { decode: number; encode: number }> = {};
  const round = (x: number): number => Math.round(x * 100) / 100;
  for (const layout of ['crcAllBlocks', 'crcPrimaryOnly'] as const) {
    for (const size of SIZES) {
      const s = spec(size, layout);
      const bundle = createBundle(s);
      const bytes = Uint8Array.from(bundle.bytes);
      const arrays = plainArrays(bundle);
      expect(decodeBundle(bytes).bytes).toEqual(bytes);
      expect(decoder.decode(bytes)).toHaveLength(5);
      const rates = await compare({
        decodeBundle: { run: () => decodeBundle(bytes), bytes: bytes.length },
        cborxDecode: { run: () => decoder.decode(bytes), bytes: bytes.length },
        createBundle: { run: () => createBundle(s), bytes: bytes.length },
        cborxEncode: { run: () => cborx.encode(arrays), bytes: bytes.length },
      });
      const key = `${layout} ${size}B`;
      ratios[key] = {
        decode: round(rates.cborxDecode.opUs / rates.decodeBundle.opUs),
        encode: round(rates.cborxEncode.opUs / rates.createBundle.opUs),
      };
      results[key] = { bundleBytes: bytes.length, ...Object.fromEntries(Object.entries(rates).map(([k, r]) => [k, { opUs: round(r.opUs), gbps: round(r.gbps) }])) };
    }
  }
  writeResult('bundle-codec', {
    command: 'npm run bench -- test/bench/bundle-codec.bench.ts',
    note: 'ratio = codec rate / bare cbor-x rate on the same bundle (>= 0.5 is the target); codec loaded natively from dist/',
    ratios,
    rates: results,
    targets: { decodeRatio: 0.5, encodeRatio: 0.5 },
  });
});
