// SEU injection: flips bits in protected memory (regions, TMR scalars) or in files, from a seeded
// PRNG so that a run is reproducible. Upsets land uniformly over the bits of all targets (a
// bigger region is hit more often), or on one named target.
//   single  one bit of one codeword
//   double  two distinct bits of one word: a region's 72-bit codeword (what SEC-DED must
//           detect), or one copy of a TMR scalar (which the vote outvotes)
//   burst   2..8 adjacent bits of one 64-bit segment (a multiple-cell upset)
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import type { UpsetTarget } from './target.js';

export type UpsetPattern = 'single' | 'double' | 'burst';
export const UPSET_PATTERNS: readonly UpsetPattern[] = ['single', 'double', 'burst'];

export interface Upset {
  readonly target: UpsetTarget;
  readonly pattern: UpsetPattern;
  readonly codeword: number;
  readonly bits: readonly number[];
}

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  u32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.u32() / 2 ** 32;
  }

  /** Integer in [0, n), n <= 2^32 (no modulo bias worth measuring for the n used here). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Waiting time to the next event of a Poisson process of `ratePerS`, microseconds. */
  intervalUs(ratePerS: number): number {
    return (-Math.log(1 - this.uniform()) / ratePerS) * 1e6;
  }
}

export class SeuInjector {
  readonly prng: Prng;

  constructor(seed: number) {
    this.prng = new Prng(seed);
  }

  /** Picks a target weighted by its bits, a codeword and bits by `pattern`, and flips them. */
  inject(targets: readonly UpsetTarget[], pattern: UpsetPattern): Upset {
    return this.injectInto(this.pick(targets), pattern);
  }

  /** A target drawn with probability proportional to its bits. */
  pick(targets: readonly UpsetTarget[]): UpsetTarget {
    let total = 0;
    for (const t of targets) total += t.codewords * t.bitsPerCodeword;
    if (total === 0) throw new Error('SEU injector: no target bits');
    let pick = this.prng.below(total);
    for (const t of targets) {
      const bits = t.codewords * t.bitsPerCodeword;
      if (pick < bits) return t;
      pick -= bits;
    }
    throw new Error('SEU injector: unreachable');
  }

  /** As inject(), on one target. */
  injectInto(target: UpsetTarget, pattern: UpsetPattern): Upset {
    const codeword = this.prng.below(target.codewords);
    const bits = this.bitsFor(target, pattern);
    for (const bit of bits) target.flip(codeword, bit);
    return { target, pattern, codeword, bits };
  }

  private bitsFor(target: UpsetTarget, pattern: UpsetPattern): number[] {
    const n = target.bitsPerCodeword;
    if (pattern === 'single') return [this.prng.below(n)];
    if (pattern === 'double') {
      // One word: a region's whole 72-bit codeword, or one 64-bit copy of a TMR scalar.
      const span = target.segments > 1 ? 64 : n;
      const base = target.segments > 1 ? this.prng.below(target.segments) * 64 : 0;
      const first = this.prng.below(span);
      return [base + first, base + ((first + 1 + this.prng.below(span - 1)) % span)];
    }
    const length = 2 + this.prng.below(7);
    const start = this.prng.below(target.segments) * 64 + this.prng.below(64 - length + 1);
    return Array.from({ length }, (_, i) => start + i);
  }

  /** Flips bits of a random byte of `file` (durably); returns where. */
  injectFile(file: string, size: number): { offset: number; mask: number } {
    const offset = this.prng.below(size);
    const mask = 1 << this.prng.below(8);
    flipFileBits(file, offset, mask);
    return { offset, mask };
  }
}

/** XORs `mask` into the byte at `offset` of `file` and fsyncs it: an upset in stored data. */
export function flipFileBits(file: string, offset: number, mask: number): void {
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`flipFileBits: offset ${offset} is not a byte offset`);
  if (!Number.isInteger(mask) || mask <= 0 || mask > 0xff) throw new RangeError(`flipFileBits: mask ${mask} is not a byte mask 1..255`);
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    if (readSync(fd, byte, 0, 1, offset) !== 1) throw new RangeError(`flipFileBits: offset ${offset} is past the end of ${file}`);
    byte[0]! ^= mask;
    writeSync(fd, byte, 0, 1, offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
