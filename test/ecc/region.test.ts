import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RegionAccessError, RegionLostError } from '../../flight/ecc/errors.js';
import { GoldenCopy } from '../../flight/ecc/golden.js';
import { flipFileBits, Prng } from '../../flight/ecc/injector.js';
import { eccHarness, type EccHarness } from './support.js';

function contents(n: number, seed: number): Uint8Array {
  const rng = new Prng(seed);
  return Uint8Array.from({ length: n }, () => rng.u32() & 0xff);
}

// Columns of the (72,64) parity-check matrix as flight/core/DESIGN.md documents them.
const U = [3, 5, 6, 7, 9, 10, 11, 12];
const column = (q: number): number => (q < 64 ? 0x80 | (U[q >> 3]! << 3) | (q & 7) : q === 71 ? 0x80 : 0x80 | (1 << (q - 64)));

function region(h: EccHarness, name: string, size: number, options: { critical?: boolean; golden?: boolean; blockBytes?: number } = {}) {
  const golden = options.golden ? new GoldenCopy(h.core, join(h.dir, `${name}.gold`)) : undefined;
  const r = h.memory.region({ name, size, critical: options.critical ?? false, golden, blockBytes: options.blockBytes });
  const data = contents(size, size);
  r.load(data);
  if (golden) r.commit();
  return { r, data, golden };
}

describe('protected region', () => {
  it('reads back what was written, across blocks and at any offset; refuses out-of-range access', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'params', 10_003, { blockBytes: 1024 });
    expect(r.blocks).toBe(10);
    expect(r.read(0, 10_003)).toEqual(data);
    expect(r.read(1020, 9)).toEqual(data.subarray(1020, 1029));
    r.write(1021, Uint8Array.of(1, 2, 3, 4, 5));
    data.set([1, 2, 3, 4, 5], 1021);
    expect(r.read(0, 10_003)).toEqual(data);
    r.writeF64(2048, Math.PI);
    expect(r.readF64(2048)).toBe(Math.PI);
    expect(() => r.read(10_000, 4)).toThrow(RegionAccessError);
    expect(() => r.write(-1, Uint8Array.of(1))).toThrow(/bytes \[-1, 0\) outside its 10003 bytes/);
  });

  it('corrects every single-bit error, in data and check bits, on read; counts it; changes nothing else', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'keys', 4096, { blockBytes: 512 });
    for (let q = 0; q < 72; q++) {
      const word = (q * 37) % r.codewords;
      r.flip(word, q);
      expect(r.read(word * 8, 8), `bit ${q}`).toEqual(data.subarray(word * 8, word * 8 + 8));
    }
    expect(r.unverified()).toEqual(data);
    expect(r.counts).toEqual({ corrected: 72, uncorrectable: 0, crcMismatches: 0, reloads: 0, lost: 0 });
    expect(h.value('ecc.region.keys.corrected')).toBe(72);
  });

  it('reports a double-bit error as lost when there is no golden copy (typed error, counter, event, no SAFE)', () => {
    const h = eccHarness();
    const { r } = region(h, 'scratch', 256);
    r.flip(3, 5);
    r.flip(3, 40);
    expect(() => r.read(0, 256)).toThrow(RegionLostError);
    expect(r.isLost).toBe(true);
    expect(() => r.read(0, 8)).toThrow(/lost earlier/);
    expect(r.counts).toMatchObject({ uncorrectable: 1, lost: 1 });
    expect(h.named('ECC_UNCORRECTABLE')[0]!.args).toMatchObject({ region: 'scratch', words: 1, kind: 'double', by: 'read' });
    expect(h.named('ECC_RELOAD_FAILED')[0]!.message).toBe('Region scratch cannot be reloaded: no golden copy');
    expect(h.safe).toEqual([]);
    const fresh = contents(256, 1);
    r.load(fresh);
    expect(r.read(0, 256)).toEqual(fresh);
  });

  it('reloads from the golden copy on an uncorrectable word, with an event, and the read returns the committed data', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'schedule', 3000, { golden: true, blockBytes: 1024 });
    r.flip(200, 1);
    r.flip(200, 70);
    r.flip(10, 9); // a single-bit error elsewhere: the reload repairs it too
    expect(r.read(1600, 8)).toEqual(data.subarray(1600, 1608));
    expect(r.unverified()).toEqual(data);
    expect(r.counts).toEqual({ corrected: 0, uncorrectable: 1, crcMismatches: 0, reloads: 1, lost: 0 });
    expect(h.named('ECC_REGION_RELOADED')[0]!.args).toEqual({ region: 'schedule', symbols: 0, uncommittedWritesLost: false });
  });

  it('says when a reload discards writes not yet committed', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'params', 512, { golden: true });
    r.write(0, Uint8Array.of(9));
    r.flip(5, 0);
    r.flip(5, 1);
    expect(r.read(0, 1)).toEqual(data.subarray(0, 1));
    expect(h.named('ECC_REGION_RELOADED')[0]!.args).toMatchObject({ uncommittedWritesLost: true });
  });

  it('repairs a damaged golden copy while reloading from it', () => {
    const h = eccHarness();
    const { r, data, golden } = region(h, 'weights', 2000, { golden: true });
    for (let i = 0; i < 10; i++) flipFileBits(golden!.file, 20 + i, 0x81);
    r.flip(0, 0);
    r.flip(0, 1);
    expect(r.read(0, 2000)).toEqual(data);
    expect(h.named('ECC_GOLDEN_REPAIRED')[0]!.args).toEqual({ region: 'weights', symbols: 10 });
    expect(golden!.load().repairedSymbols).toBe(0);
  });

  it('sends a critical region whose golden copy is beyond repair to SAFE', () => {
    const h = eccHarness();
    const { r, golden } = region(h, 'operator-keys', 600, { golden: true, critical: true });
    for (let i = 0; i < 40; i++) flipFileBits(golden!.file, i, 0xff);
    r.flip(1, 2);
    r.flip(1, 3);
    expect(() => r.read(0, 600)).toThrow(RegionLostError);
    expect(h.safe).toEqual([{ what: 'operator-keys', reason: expect.stringMatching(/RS codeword\(s\) uncorrectable/) }]);
    expect(h.named('ECC_GO_SAFE')).toHaveLength(1);
  });

  it('corrects a latent single-bit error before a write instead of sealing it into new check bits', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'params', 1024);
    r.flip(100, 13);
    r.write(0, Uint8Array.of(0xaa));
    data[0] = 0xaa;
    expect(r.unverified()).toEqual(data);
    expect(r.counts.corrected).toBe(1);
  });

  it('catches a three-bit miscorrection on read and a four-bit zero-syndrome error on scrub with the block CRC', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'routes', 2048, { golden: true, blockBytes: 512 });
    // Three data bits whose syndrome is the column of a fourth: SEC-DED "corrects" the wrong bit.
    let triple: number[] | undefined;
    for (let a = 0; a < 64 && !triple; a++) for (let b = a + 1; b < 64 && !triple; b++) for (let c = b + 1; c < 64 && !triple; c++) {
      const s = column(a) ^ column(b) ^ column(c);
      if ([...Array(64).keys()].some((q) => ![a, b, c].includes(q) && column(q) === s)) triple = [a, b, c];
    }
    for (const q of triple!) r.flip(7, q);
    expect(r.read(56, 8)).toEqual(data.subarray(56, 64));
    expect(h.named('ECC_UNCORRECTABLE')[0]!.args).toMatchObject({ kind: 'crc', by: 'read' });

    // Bits 0..3 of one byte: their columns cancel, SEC-DED sees a clean word.
    for (const q of [8, 9, 10, 11]) r.flip(100, q);
    r.scrubBlock(Math.floor((100 * 8) / 512));
    expect(h.named('ECC_UNCORRECTABLE')[1]!.args).toMatchObject({ kind: 'crc', by: 'scrub', block: 1 });
    expect(r.unverified()).toEqual(data);
    expect(r.counts).toMatchObject({ crcMismatches: 2, reloads: 2 });
  });

  it('keeps working after core memory grows (views are renewed)', () => {
    const h = eccHarness();
    const { r, data } = region(h, 'params', 800);
    h.core.reserve(8 * 1024 * 1024);
    r.flip(1, 1);
    expect(r.read(0, 800)).toEqual(data);
  });
});
