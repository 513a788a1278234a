import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FecInputError } from '../../flight/core/errors.js';
import { Core, rsBlockLength, rsDataLength, type RsBasis, type RsCode } from '../../flight/core/wasm.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { createRootLogger } from '../../flight/log.js';
import { Prng } from '../support/prng.js';
import * as reference from './rs-reference.js';

interface VectorCase {
  basis: RsBasis;
  n: number;
  k: number;
  virtual_fill: number;
  codeword: string;
  received: string;
  erasures: number[];
  symbol_errors: number;
  corrected: number;
}
interface Vectors {
  fixed: { data_hex: string; parity_conventional_hex: string; parity_dual_hex: string; error_mask_hex: string };
  cases: VectorCase[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../shared/vectors/ccsds-rs/rs255-223.json', import.meta.url), 'utf8'),
) as Vectors;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const DEPTHS = [1, 2, 3, 4, 5, 8];

/** Interleaves I codewords (each n symbols) into one code block: symbol t is codeword t mod I. */
function interleave(words: readonly (readonly number[])[]): Uint8Array {
  const I = words.length;
  const n = words[0]!.length;
  const block = new Uint8Array(I * n);
  words.forEach((w, c) => w.forEach((x, s) => (block[s * I + c] = x)));
  return block;
}

/** A random reference codeword (data then parity) of the given code. */
function referenceCodeword(rng: Prng, fill: number, basis: RsBasis): number[] {
  const data = [...rng.bytes(223 - fill)];
  return [...data, ...reference.encode(data, fill, basis)];
}

/** Damages `word` with e errors and f erasures (erased symbols also changed), returns erasures. */
function damage(rng: Prng, word: number[], e: number, f: number): number[] {
  const positions = rng.distinct(e + f, word.length);
  for (const p of positions) word[p]! ^= 1 + rng.below(255);
  return positions.slice(0, f);
}

describe('the test reference RS implementation', () => {
  it('reproduces the published parity of the fixed codeword in both bases', () => {
    const data = [...hex(vectors.fixed.data_hex)];
    expect(toHex(Uint8Array.from(reference.encode(data, 0)))).toBe(vectors.fixed.parity_conventional_hex);
    expect(toHex(Uint8Array.from(reference.encode(data, 0, 'dual')))).toBe(vectors.fixed.parity_dual_hex);
  });

  it('decodes every vector case as libfec did', () => {
    for (const c of vectors.cases) {
      const out = reference.decode([...hex(c.received)], c.virtual_fill, c.erasures, c.basis);
      expect(out && toHex(Uint8Array.from(out.word))).toBe(c.codeword);
      expect(out!.corrected).toBe(c.corrected);
    }
  });
});

describe.each(['simd', 'scalar'] as const)('CCSDS RS(255,223) in the WASM core (%s build)', (variant) => {
  const core = new Core(variant);
  const plain = (basis: RsBasis, fill = 0, interleave = 1): RsCode => ({ basis, interleave, fill });

  it('encodes the fixed codeword (data 0x00..0xDE) to the published parity in both bases', () => {
    const data = hex(vectors.fixed.data_hex);
    expect(toHex(core.rsEncode(data, plain('conventional')).subarray(223))).toBe(vectors.fixed.parity_conventional_hex);
    expect(toHex(core.rsEncode(data, plain('dual')).subarray(223))).toBe(vectors.fixed.parity_dual_hex);
  });

  it.each(['conventional', 'dual'] as const)('corrects the fixed 16-error mask in the %s basis, reporting 16', (basis) => {
    const codeword = core.rsEncode(hex(vectors.fixed.data_hex), plain(basis));
    const mask = hex(vectors.fixed.error_mask_hex);
    const received = codeword.map((x, i) => x ^ mask[i]!);
    expect(received.filter((x, i) => x !== codeword[i]).length).toBe(16);
    const out = core.rsDecode(received, plain(basis));
    expect(toHex(out.codewords)).toBe(toHex(codeword));
    expect([...out.corrected]).toEqual([16]);
    expect(toHex(out.data)).toBe(vectors.fixed.data_hex);
  });

  it.each(vectors.cases.map((c, i) => [i, c] as const))('decodes vector case %i as libfec did', (_, c) => {
    const code = plain(c.basis, c.virtual_fill);
    const out = core.rsDecode(hex(c.received), code, c.erasures);
    expect(toHex(out.codewords)).toBe(c.codeword);
    expect([...out.corrected]).toEqual([c.corrected]);
    expect(out.uncorrectable).toEqual([]);
    // The encoder gives the same codeword from its data symbols.
    const codeword = hex(c.codeword);
    expect(toHex(core.rsEncode(codeword.subarray(0, c.k), code))).toBe(c.codeword);
  });

  it('matches the reference encoder for every interleave depth, basis and a range of fills', () => {
    const rng = new Prng(0x5eed0001);
    for (const I of DEPTHS) {
      for (const basis of ['conventional', 'dual'] as const) {
        const fill = rng.pick([0, 1, 33, 100, 222]);
        const words = Array.from({ length: I }, () => referenceCodeword(rng, fill, basis));
        const block = interleave(words);
        const code: RsCode = { basis, interleave: I, fill };
        const data = block.subarray(0, rsDataLength(code));
        expect(toHex(core.rsEncode(data, code)), `I=${I} ${basis} Q=${fill}`).toBe(toHex(block));
      }
    }
  });

  it('corrects random errors and erasures with 2e + f <= 32 exactly as the reference does', () => {
    const rng = new Prng(0x5eed0002);
    for (let trial = 0; trial < 150; trial++) {
      const basis = rng.pick(['conventional', 'dual'] as const);
      const fill = rng.pick([0, 0, 5, 64, 150, 200]);
      const f = rng.below(33);
      const e = rng.below(Math.floor((32 - f) / 2) + 1);
      const word = referenceCodeword(rng, fill, basis);
      const received = [...word];
      const erasures = damage(rng, received, e, f);
      const expected = reference.decode(received, fill, erasures, basis);
      const out = core.rsDecode(Uint8Array.from(received), plain(basis, fill), erasures);
      const what = `trial ${trial}: ${basis} Q=${fill} e=${e} f=${f}`;
      expect(expected?.word, what).toEqual(word);
      expect(toHex(out.codewords), what).toBe(toHex(Uint8Array.from(word)));
      expect(out.corrected[0], what).toBe(expected!.corrected);
      expect(out.corrected[0], what).toBe(e + f);
    }
  });

  it('agrees with the reference beyond capacity and never returns a word that fails its syndromes', () => {
    const rng = new Prng(0x5eed0003);
    let refused = 0;
    for (let trial = 0; trial < 60; trial++) {
      const basis = rng.pick(['conventional', 'dual'] as const);
      const fill = rng.pick([0, 100]);
      const f = rng.below(12);
      const e = Math.floor((32 - f) / 2) + 1 + rng.below(4); // 2e + f >= 33
      const received = referenceCodeword(rng, fill, basis);
      const erasures = damage(rng, received, e, f);
      const expected = reference.decode(received, fill, erasures, basis);
      const out = core.rsDecode(Uint8Array.from(received), plain(basis, fill), erasures);
      const what = `trial ${trial}: ${basis} Q=${fill} e=${e} f=${f}`;
      if (expected === null) {
        refused++;
        expect(out.uncorrectable, what).toEqual([0]);
        expect(out.corrected[0], what).toBe(-1);
        expect(toHex(out.codewords), what).toBe(toHex(Uint8Array.from(received)));
      } else {
        // A rare miscorrection to another codeword within the radius: both must find the same one.
        expect(toHex(out.codewords), what).toBe(toHex(Uint8Array.from(expected.word)));
        expect(reference.decode([...out.codewords], fill, [], basis)?.corrected, what).toBe(0);
      }
    }
    expect(refused).toBeGreaterThan(50);
  });

  it('decodes interleaved blocks, erasures given as byte indexes of the blocks, codewords numbered block * I + w', () => {
    const rng = new Prng(0x5eed0004);
    for (const I of DEPTHS) {
      const basis = rng.pick(['conventional', 'dual'] as const);
      const fill = rng.pick([0, 20]);
      const code: RsCode = { basis, interleave: I, fill };
      const blocks = 3;
      const words = Array.from({ length: blocks * I }, () => referenceCodeword(rng, fill, basis));
      const clean = new Uint8Array(blocks * rsBlockLength(code));
      for (let b = 0; b < blocks; b++) clean.set(interleave(words.slice(b * I, (b + 1) * I)), b * rsBlockLength(code));
      const received = clean.slice();
      const erasures: number[] = [];
      const expected: number[] = [];
      words.forEach((_, c) => {
        const b = Math.floor(c / I);
        const w = c % I;
        const f = rng.below(10);
        const e = rng.below(12);
        const positions = rng.distinct(e + f, 255 - fill);
        for (const s of positions) received[b * rsBlockLength(code) + s * I + w]! ^= 1 + rng.below(255);
        for (const s of positions.slice(0, f)) erasures.push(b * rsBlockLength(code) + s * I + w);
        expected.push(e + f);
      });
      // Codeword 1 of the last block (or 0 if I = 1) gets 17 errors: uncorrectable, left as received.
      const bad = (blocks - 1) * I + (I > 1 ? 1 : 0);
      const badStart = (blocks - 1) * rsBlockLength(code);
      const badPositions = rng.distinct(17, 255 - fill);
      for (const s of badPositions) received[badStart + s * I + (bad % I)]! ^= 0x5a;
      const out = core.rsDecode(received, code, erasures.filter((x) => Math.floor(x / rsBlockLength(code)) * I + (x % rsBlockLength(code)) % I !== bad));
      expected[bad] = -1;
      expect([...out.corrected], `I=${I}`).toEqual(expected);
      expect(out.uncorrectable).toEqual([bad]);
      for (let c = 0; c < blocks * I; c++) {
        const b = Math.floor(c / I);
        const w = c % I;
        const symbols = (bytes: Uint8Array): number[] =>
          Array.from({ length: 255 - fill }, (_, s) => bytes[b * rsBlockLength(code) + s * I + w]!);
        expect(symbols(out.codewords), `I=${I} codeword ${c}`).toEqual(symbols(c === bad ? received : clean));
      }
      expect(out.data.length).toBe(blocks * rsDataLength(code));
      expect(toHex(out.data.subarray(0, rsDataLength(code)))).toBe(toHex(clean.subarray(0, rsDataLength(code))));
    }
  });

  it('decodes more blocks than fit in one call to the core with the same results as one at a time', () => {
    const rng = new Prng(0x5eed0005);
    const code: RsCode = { basis: 'dual', interleave: 5, fill: 0 };
    const blocks = 80; // 80 x 1275 bytes: two scratch chunks
    const data = rng.bytes(blocks * rsDataLength(code));
    const received = core.rsEncode(data, code);
    for (let i = 0; i < 3000; i++) received[rng.below(received.length)]! ^= 1 + rng.below(255);
    const all = core.rsDecode(received, code);
    for (let b = 0; b < blocks; b++) {
      const one = core.rsDecode(received.subarray(b * rsBlockLength(code), (b + 1) * rsBlockLength(code)), code);
      expect([...one.corrected]).toEqual([...all.corrected.subarray(b * 5, b * 5 + 5)]);
      expect(toHex(one.codewords)).toBe(toHex(all.codewords.subarray(b * rsBlockLength(code), (b + 1) * rsBlockLength(code))));
    }
    expect(all.uncorrectable).toEqual([]);
    expect(toHex(all.data)).toBe(toHex(data));
  });

  it('refuses malformed arguments with FecInputError naming the field', () => {
    const code = plain('conventional');
    const bad = (f: () => unknown, field: string): void => {
      try {
        f();
        expect.fail('no error');
      } catch (error) {
        expect(error).toBeInstanceOf(FecInputError);
        expect((error as FecInputError).field).toBe(field);
        expect((error as FecInputError).code).toBe('FEC_BAD_INPUT');
      }
    };
    bad(() => core.rsEncode(new Uint8Array(222), code), 'data');
    bad(() => core.rsEncode(new Uint8Array(0), code), 'data');
    bad(() => core.rsDecode(new Uint8Array(254), code), 'received');
    bad(() => core.rsDecode(new Uint8Array(255), { ...code, interleave: 6 }), 'interleave');
    bad(() => core.rsDecode(new Uint8Array(255), { ...code, fill: 223 }), 'fill');
    bad(() => core.rsDecode(new Uint8Array(255), { ...code, fill: 1.5 }), 'fill');
    bad(() => core.rsDecode(new Uint8Array(255), { ...code, basis: 'gray' as RsBasis }), 'basis');
    bad(() => core.rsDecode(new Uint8Array(255), code, [255]), 'erasures');
    bad(() => core.rsDecode(new Uint8Array(255), code, [3, 3]), 'erasures');
    bad(() => core.rsDecode(new Uint8Array(255), code, Array.from({ length: 33 }, (_, i) => i)), 'erasures');
  });

  it('counts codewords, corrections and uncorrectable words in telemetry, with a throttled event', () => {
    const counted = new Core(variant);
    const tlm = new TelemetryRegistry();
    const seen: EventRecord[] = [];
    const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
    events.onEvent((e) => seen.push(e));
    counted.bindTelemetry(tlm, events);
    const codeword = counted.rsEncode(hex(vectors.fixed.data_hex), plain('conventional'));
    const twoWords = new Uint8Array(510);
    twoWords.set(codeword);
    twoWords.set(codeword, 255);
    for (let i = 0; i < 5; i++) twoWords[i * 7]! ^= 1;
    for (let i = 0; i < 17; i++) twoWords[255 + i * 3]! ^= 0xff;
    const out = counted.rsDecode(twoWords, plain('conventional'));
    expect([...out.corrected]).toEqual([5, -1]);
    expect(tlm.get('core.rsCodewords')!.value).toBe(2);
    expect(tlm.get('core.rsCorrectedSymbols')!.value).toBe(5);
    expect(tlm.get('core.rsUncorrectable')!.value).toBe(1);
    expect(seen.map((e) => e.name)).toEqual(['CORE_RS_UNCORRECTABLE']);
    expect(seen[0]!.message).toBe('1 of 2 Reed-Solomon codewords uncorrectable (conventional basis, I=1, Q=0)');
  });
});

describe('the SIMD and scalar builds', () => {
  it('give identical bytes and counts on the same random damaged blocks', () => {
    const simd = new Core('simd');
    const scalar = new Core('scalar');
    const rng = new Prng(0x5eed0006);
    for (const I of DEPTHS) {
      const code: RsCode = { basis: rng.pick(['conventional', 'dual'] as const), interleave: I, fill: rng.below(50) };
      const data = rng.bytes(4 * rsDataLength(code));
      const encoded = simd.rsEncode(data, code);
      expect(toHex(scalar.rsEncode(data, code))).toBe(toHex(encoded));
      for (let i = 0; i < I * 4 * 20; i++) encoded[rng.below(encoded.length)]! ^= 1 + rng.below(255);
      const a = simd.rsDecode(encoded, code);
      const b = scalar.rsDecode(encoded, code);
      expect(toHex(a.codewords)).toBe(toHex(b.codewords));
      expect([...a.corrected]).toEqual([...b.corrected]);
    }
  });
});
