import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipFileBits, Prng, SeuInjector } from '../../flight/ecc/injector.js';
import type { UpsetTarget } from '../../flight/ecc/target.js';
import { eccHarness } from './support.js';

/** A target that records flips instead of making them. */
function recorder(name: string, codewords: number, bitsPerCodeword: number, segments: number) {
  const flips: Array<[number, number]> = [];
  const target: UpsetTarget = { name, codewords, bitsPerCodeword, segments, flip: (w, b) => flips.push([w, b]) };
  return { target, flips };
}

describe('SEU injector', () => {
  it('gives the same upsets for the same seed and different ones for another', () => {
    const run = (seed: number) => {
      const a = recorder('a', 100, 72, 1);
      const injector = new SeuInjector(seed);
      for (let i = 0; i < 50; i++) injector.inject([a.target], 'burst');
      return a.flips;
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('flips one bit (single), two distinct bits of one word (double) or 2..8 adjacent bits of one segment (burst)', () => {
    const injector = new SeuInjector(11);
    const region = recorder('r', 10, 72, 1);
    const tmr = recorder('t', 3, 192, 3);
    for (let i = 0; i < 400; i++) {
      for (const { target, flips } of [region, tmr]) {
        for (const pattern of ['single', 'double', 'burst'] as const) {
          flips.length = 0;
          const upset = injector.injectInto(target, pattern);
          expect(flips.every(([w]) => w === upset.codeword)).toBe(true);
          const bits = flips.map(([, b]) => b);
          expect(bits).toEqual(upset.bits);
          expect(new Set(bits).size).toBe(bits.length);
          expect(Math.max(...bits)).toBeLessThan(target.bitsPerCodeword);
          if (pattern === 'single') expect(bits).toHaveLength(1);
          if (pattern === 'double') {
            expect(bits).toHaveLength(2);
            if (target.segments > 1) expect(bits[0]! >> 6).toBe(bits[1]! >> 6);
          }
          if (pattern === 'burst') {
            expect(bits.length).toBeGreaterThanOrEqual(2);
            expect(bits.length).toBeLessThanOrEqual(8);
            bits.forEach((b, k) => expect(b).toBe(bits[0]! + k));
            expect(bits[0]! >> 6).toBe(bits[bits.length - 1]! >> 6);
          }
        }
      }
    }
  });

  it('hits targets in proportion to their bits, and every bit of a codeword', () => {
    const injector = new SeuInjector(5);
    const small = recorder('small', 10, 72, 1);
    const big = recorder('big', 90, 72, 1);
    for (let i = 0; i < 20_000; i++) injector.inject([small.target, big.target], 'single');
    expect(small.flips.length / 20_000).toBeGreaterThan(0.08);
    expect(small.flips.length / 20_000).toBeLessThan(0.12);
    expect(new Set(big.flips.map(([, b]) => b)).size).toBe(72);
  });

  it('draws Poisson intervals with the requested mean', () => {
    const prng = new Prng(9);
    let sum = 0;
    for (let i = 0; i < 50_000; i++) sum += prng.intervalUs(100);
    expect(sum / 50_000).toBeGreaterThan(9_700);
    expect(sum / 50_000).toBeLessThan(10_300);
  });

  it('flips bits of a stored file in place, durably, and refuses an offset past its end', () => {
    const h = eccHarness();
    const file = join(h.dir, 'segment.log');
    const original = Buffer.from('the bundle store keeps this record');
    writeFileSync(file, original);
    flipFileBits(file, 4, 0x21);
    const changed = readFileSync(file);
    expect(changed[4]).toBe(original[4]! ^ 0x21);
    expect(changed.subarray(5).equals(original.subarray(5))).toBe(true);
    const where = new SeuInjector(1).injectFile(file, original.length);
    expect(readFileSync(file)[where.offset]).toBe(changed[where.offset]! ^ where.mask);
    expect(() => flipFileBits(file, original.length, 1)).toThrow(/past the end/);
  });
});
