// RS(255,223) decoding: 256 codewords per operation, each with 16 symbol errors (the most the
// code corrects), and the check of 256 clean codewords. The Tern core (SIMD and scalar builds)
// against the pure-JS decoder of @zxing/library under the same load. zxing has no CCSDS field;
// the closest setup that it decodes correctly is GenericGF(0x187, 256, 1): the CCSDS field
// polynomial with 32 consecutive roots alpha^1..alpha^32 (its Forney step handles generator base
// 0 or 1 only: with base 112 it returns wrong symbols without an error). The decoding work
// (syndromes, key equation, Chien search, Forney) is the same for any root set.
// Figures are codewords per second and ratios, written to test/bench/results/rs.json.
import { GenericGF, ReedSolomonDecoder, ReedSolomonEncoder } from '@zxing/library';
import { expect, it } from 'vitest';
import { Core, type RsCode } from '../../flight/core/wasm.js';
import { Prng } from '../support/prng.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const CODEWORDS = 256;
const ERRORS = 16;
const N = 255;

it('RS(255,223): decode with 16 errors per codeword and check of clean codewords against @zxing/library', async () => {
  const rng = new Prng(0xbe7c4);
  const code: RsCode = { basis: 'conventional', interleave: 1, fill: 0 };
  const simd = new Core('simd');
  const scalar = new Core('scalar');

  // Tern: a batch of codewords, and the same with 16 errors each.
  const clean = simd.rsEncode(rng.bytes(CODEWORDS * 223), code);
  const damaged = clean.slice();
  const errorPatterns = Array.from({ length: CODEWORDS }, () =>
    rng.distinct(ERRORS, N).map((position) => ({ position, value: 1 + rng.below(255) })));
  errorPatterns.forEach((pattern, c) => pattern.forEach(({ position, value }) => (damaged[c * N + position]! ^= value)));

  // zxing: its own codewords of the same length with the same error patterns.
  const field = new GenericGF(0x187, 256, 1);
  const encoder = new ReedSolomonEncoder(field);
  const decoder = new ReedSolomonDecoder(field);
  const zClean = Array.from({ length: CODEWORDS }, (_, c) => {
    const word = new Int32Array(N);
    word.set(clean.subarray(c * N, c * N + 223));
    encoder.encode(word, 32);
    return word;
  });
  const zDamaged = zClean.map((word, c) => {
    const d = Int32Array.from(word);
    for (const { position, value } of errorPatterns[c]!) d[position]! ^= value;
    return d;
  });
  const zDecodeAll = (words: Int32Array[], copy: boolean): void => {
    for (const w of words) decoder.decode(copy ? Int32Array.from(w) : w, 32);
  };

  // Both decoders really correct (and check) before they are timed.
  const out = simd.rsDecode(damaged, code);
  expect(out.uncorrectable).toEqual([]);
  expect(Buffer.from(out.codewords).equals(clean)).toBe(true);
  expect([...out.corrected].every((n) => n === ERRORS)).toBe(true);
  expect(Buffer.from(scalar.rsDecode(damaged, code).codewords).equals(clean)).toBe(true);
  zDamaged.forEach((d, c) => {
    const w = Int32Array.from(d);
    decoder.decode(w, 32);
    expect(w).toEqual(zClean[c]);
  });

  const rates = await compare({
    ternDecode16: { bytes: CODEWORDS, run: () => simd.rsDecode(damaged, code) },
    ternDecode16Scalar: { bytes: CODEWORDS, run: () => scalar.rsDecode(damaged, code) },
    zxingDecode16: { bytes: CODEWORDS, run: () => zDecodeAll(zDamaged, true) },
    ternCheckClean: { bytes: CODEWORDS, run: () => simd.rsDecode(clean, code) },
    ternCheckCleanScalar: { bytes: CODEWORDS, run: () => scalar.rsDecode(clean, code) },
    zxingCheckClean: { bytes: CODEWORDS, run: () => zDecodeAll(zClean, false) },
  });
  // compare() reports "bytes" per second; here a "byte" is a codeword.
  const perSecond = Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.gbps * 1e9]));
  const usPerCodeword = Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.opUs / CODEWORDS]));
  writeResult('rs', {
    command: 'npm run bench -- test/bench/rs.bench.ts',
    codewordsPerOperation: CODEWORDS, errorsPerCodeword: ERRORS, ...settings,
    zxingField: 'GenericGF(0x187, 256, 1): CCSDS field polynomial, roots alpha^1..alpha^32',
    codewordsPerSecond: perSecond,
    usPerCodeword,
    ratios: {
      decode16VsZxing: perSecond.ternDecode16! / perSecond.zxingDecode16!,
      checkCleanVsZxing: perSecond.ternCheckClean! / perSecond.zxingCheckClean!,
      decode16ScalarVsZxing: perSecond.ternDecode16Scalar! / perSecond.zxingDecode16!,
      checkCleanScalarVsZxing: perSecond.ternCheckCleanScalar! / perSecond.zxingCheckClean!,
    },
    targets: { vsZxing: 30 },
  });
});
