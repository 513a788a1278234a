import { describe, expect, it } from 'vitest';
import { FecInputError } from '../../flight/core/errors.js';
import { Core, type SecdedError } from '../../flight/core/wasm.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { createRootLogger } from '../../flight/log.js';
import { Prng } from '../support/prng.js';

// The parity-check matrix as flight/core/DESIGN.md documents it (the stored format): data bit
// 8b + j has column 0x80 | U[b] << 3 | j, and C = (s & 0x7f) | parity(s) << 7.
const U = [3, 5, 6, 7, 9, 10, 11, 12];
const column = (bit: number): number => 0x80 | (U[bit >> 3]! << 3) | (bit & 7);
function documentedCheckByte(word: Uint8Array): number {
  let s = 0;
  for (let bit = 0; bit < 64; bit++) if (word[bit >> 3]! & (1 << (bit & 7))) s ^= column(bit);
  let parity = 0;
  for (let x = s; x; x &= x - 1) parity ^= 1;
  return (s & 0x7f) | (parity << 7);
}

const SAMPLE_WORDS = ['0000000000000000', 'ffffffffffffffff', '0123456789abcdef', 'aaaaaaaa55555555', '8000000000000001'];

/** Flips bit q of a codeword: 0..63 in the data word, 64..71 in its check byte. */
function flip(data: Uint8Array, check: Uint8Array, word: number, q: number): void {
  if (q < 64) data[word * 8 + (q >> 3)]! ^= 1 << (q & 7);
  else check[word]! ^= 1 << (q - 64);
}

function expectedError(word: number, q: number): SecdedError {
  return q < 64 ? { word, kind: 'data', bit: q } : { word, kind: 'check', bit: q - 64 };
}

describe.each(['simd', 'scalar'] as const)('SEC-DED (72,64) in the WASM core (%s build)', (variant) => {
  const core = new Core(variant);

  it('computes check bytes by the documented parity-check matrix', () => {
    const rng = new Prng(0x5ec0001);
    const data = rng.bytes(8 * 1001);
    const check = new Uint8Array(1001);
    core.secdedEncode(data, check);
    for (let w = 0; w < 1001; w++) expect(check[w], `word ${w}`).toBe(documentedCheckByte(data.subarray(w * 8, w * 8 + 8)));
  });

  it.each(SAMPLE_WORDS)('locates and corrects every one of the 72 single-bit errors of %s', (sample) => {
    const word = Buffer.from(sample, 'hex');
    const data = new Uint8Array(72 * 8);
    for (let q = 0; q < 72; q++) data.set(word, q * 8);
    const check = new Uint8Array(72);
    core.secdedEncode(data, check);
    const clean = { data: data.slice(), check: check.slice() };
    for (let q = 0; q < 72; q++) flip(data, check, q, q);
    const report = core.secdedCheck(data, check);
    expect(report.errors).toEqual(Array.from({ length: 72 }, (_, q) => expectedError(q, q)));
    expect(report.correctable).toBe(72);
    expect(report.uncorrectable).toBe(0);
    core.secdedCorrect(data, check);
    expect(Buffer.from(data).equals(clean.data)).toBe(true);
    expect(Buffer.from(check).equals(clean.check)).toBe(true);
    expect(core.secdedCheck(data, check).errors).toEqual([]);
  });

  it.each(SAMPLE_WORDS)('detects every one of the 2556 double-bit errors of %s and changes nothing', (sample) => {
    const word = Buffer.from(sample, 'hex');
    const pairs: Array<[number, number]> = [];
    for (let a = 0; a < 72; a++) for (let b = a + 1; b < 72; b++) pairs.push([a, b]);
    expect(pairs.length).toBe(2556);
    const data = new Uint8Array(pairs.length * 8);
    pairs.forEach((_, w) => data.set(word, w * 8));
    const check = new Uint8Array(pairs.length);
    core.secdedEncode(data, check);
    pairs.forEach(([a, b], w) => {
      flip(data, check, w, a);
      flip(data, check, w, b);
    });
    const damaged = { data: data.slice(), check: check.slice() };
    const report = core.secdedCorrect(data, check);
    expect(report.errors).toEqual(pairs.map((_, w) => ({ word: w, kind: 'double' })));
    expect(report.uncorrectable).toBe(2556);
    expect(Buffer.from(data).equals(damaged.data)).toBe(true);
    expect(Buffer.from(check).equals(damaged.check)).toBe(true);
  });

  it('reports a three-bit error whose syndrome names no bit as "multiple" and leaves it alone', () => {
    let triple: number[] | undefined;
    for (let a = 0; a < 64 && !triple; a++) {
      for (let b = a + 1; b < 64 && !triple; b++) {
        for (let c = b + 1; c < 64 && !triple; c++) {
          const s = column(a) ^ column(b) ^ column(c);
          const named = [...Array(64).keys()].some((q) => column(q) === s) || s === 0x80 || [...Array(7).keys()].some((i) => s === (0x80 | (1 << i)));
          if (!named) triple = [a, b, c];
        }
      }
    }
    const data = new Uint8Array(8);
    const check = new Uint8Array(1);
    core.secdedEncode(data, check);
    for (const q of triple!) flip(data, check, 0, q);
    const before = data.slice();
    expect(core.secdedCorrect(data, check).errors).toEqual([{ word: 0, kind: 'multiple' }]);
    expect(Buffer.from(data).equals(before)).toBe(true);
  });

  it('corrects random single-bit errors and reports double-bit errors across a large buffer', () => {
    const rng = new Prng(0x5ec0002);
    const words = 131_072 + 5; // 1 MiB and a tail: several scratch chunks and a partial SIMD block
    const data = rng.bytes(words * 8);
    const check = new Uint8Array(words);
    core.secdedEncode(data, check);
    const clean = { data: data.slice(), check: check.slice() };
    const hit = rng.distinct(520, words);
    const singles = hit.slice(0, 500).map((w) => ({ w, q: rng.below(72) }));
    const doubles = hit.slice(500).map((w) => ({ w, pair: rng.distinct(2, 72) }));
    for (const { w, q } of singles) flip(data, check, w, q);
    for (const { w, pair } of doubles) for (const q of pair) flip(data, check, w, q);
    const expected = [
      ...singles.map(({ w, q }) => expectedError(w, q)),
      ...doubles.map(({ w }) => ({ word: w, kind: 'double' })),
    ].sort((a, b) => a.word - b.word);
    const report = core.secdedCorrect(data, check);
    expect(report.errors).toEqual(expected);
    expect(report).toMatchObject({ words, correctable: 500, uncorrectable: 20 });
    for (const { w, pair } of doubles) for (const q of pair) flip(data, check, w, q);
    expect(Buffer.from(data).equals(clean.data)).toBe(true);
    expect(Buffer.from(check).equals(clean.check)).toBe(true);
  });

  it('checks and corrects buffers that live in core memory in place', () => {
    const rng = new Prng(0x5ec0003);
    const data = core.reserve(8 * 5000);
    const check = core.reserve(5000);
    data.bytes().set(rng.bytes(8 * 5000));
    core.secdedEncode(data, check);
    const clean = data.bytes().slice();
    flip(data.bytes(), check.bytes(), 4321, 17);
    flip(data.bytes(), check.bytes(), 17, 70);
    const report = core.secdedCorrect(data, check);
    expect(report.errors).toEqual([expectedError(17, 70), expectedError(4321, 17)]);
    expect(Buffer.from(data.bytes()).equals(clean)).toBe(true);
    expect(core.secdedCheck(data, check).errors).toEqual([]);
  });

  it('refuses a buffer that is not whole words, or check bytes of the wrong length', () => {
    expect(() => core.secdedEncode(new Uint8Array(12), new Uint8Array(1))).toThrow(FecInputError);
    expect(() => core.secdedCheck(new Uint8Array(16), new Uint8Array(3))).toThrow(/check: expected one check byte per word \(2 bytes\), got 3 bytes$/);
  });

  it('counts corrected bits and uncorrectable words in telemetry, with an event', () => {
    const counted = new Core(variant);
    const tlm = new TelemetryRegistry();
    const seen: EventRecord[] = [];
    const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
    events.onEvent((e) => seen.push(e));
    counted.bindTelemetry(tlm, events);
    const data = new Uint8Array(64);
    const check = new Uint8Array(8);
    counted.secdedEncode(data, check);
    flip(data, check, 1, 5);
    flip(data, check, 6, 3);
    flip(data, check, 6, 66);
    counted.secdedCorrect(data, check);
    expect(tlm.get('core.edacCorrected')!.value).toBe(1);
    expect(tlm.get('core.edacUncorrectable')!.value).toBe(1);
    expect(seen.map((e) => e.message)).toEqual(['1 words with uncorrectable errors, the first at word 6 (double)']);
  });
});

describe('the SIMD and scalar SEC-DED kernels', () => {
  it('give identical check bytes and reports', () => {
    const simd = new Core('simd');
    const scalar = new Core('scalar');
    const rng = new Prng(0x5ec0004);
    const data = rng.bytes(8 * 10_007);
    const a = new Uint8Array(10_007);
    const b = new Uint8Array(10_007);
    simd.secdedEncode(data, a);
    scalar.secdedEncode(data, b);
    expect(Buffer.from(a).equals(b)).toBe(true);
    for (const w of rng.distinct(300, 10_007)) for (const q of rng.distinct(1 + rng.below(3), 72)) flip(data, a, w, q);
    expect(simd.secdedCheck(data, a)).toEqual(scalar.secdedCheck(data, a));
  });
});
