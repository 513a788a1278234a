import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GoldenCopyError } from '../../flight/ecc/errors.js';
import { GoldenCopy } from '../../flight/ecc/golden.js';
import { flipFileBits, Prng } from '../../flight/ecc/injector.js';
import { eccHarness } from './support.js';

describe('golden copy (RS(255,223) + CRC-32C file)', () => {
  const h = eccHarness();
  const data = (n: number, seed: number): Uint8Array => {
    const rng = new Prng(seed);
    return Uint8Array.from({ length: n }, () => rng.u32() & 0xff);
  };

  it('round-trips any length as whole 255-byte codewords', () => {
    for (const n of [1, 207, 208, 5000]) {
      const golden = new GoldenCopy(h.core, join(h.dir, `g${n}.gold`));
      const bytes = data(n, n);
      golden.write(bytes);
      expect(statSync(golden.file).size % 255).toBe(0);
      expect(statSync(golden.file).size).toBe(Math.ceil((16 + n) / 223) * 255);
      expect(golden.load()).toEqual({ data: bytes, repairedSymbols: 0 });
    }
  });

  it('corrects up to 16 damaged bytes per codeword and rewrites the file clean', () => {
    const golden = new GoldenCopy(h.core, join(h.dir, 'repair.gold'));
    const bytes = data(3000, 7);
    golden.write(bytes);
    const clean = readFileSync(golden.file);
    const rng = new Prng(99);
    for (let codeword = 0; codeword < clean.length / 255; codeword++) {
      const offsets = new Set<number>();
      while (offsets.size < 16) offsets.add(codeword * 255 + rng.below(255));
      for (const offset of offsets) flipFileBits(golden.file, offset, 1 + rng.below(255));
    }
    const loaded = golden.load();
    expect(loaded.data).toEqual(bytes);
    expect(loaded.repairedSymbols).toBe(16 * (clean.length / 255));
    expect(readFileSync(golden.file).equals(clean)).toBe(true);
  });

  it('refuses a file damaged beyond RS correction, a truncated file and a missing file, with a typed error', () => {
    const golden = new GoldenCopy(h.core, join(h.dir, 'bad.gold'));
    golden.write(data(500, 3));
    for (let i = 0; i < 17; i++) flipFileBits(golden.file, 255 + i * 3, 0x40);
    expect(() => golden.load()).toThrow(GoldenCopyError);
    expect(() => golden.load()).toThrow(/RS codeword\(s\) uncorrectable, the first 1/);

    writeFileSync(golden.file, readFileSync(golden.file).subarray(0, 300));
    expect(() => golden.load()).toThrow(/300 bytes, not a whole number/);
    expect(() => new GoldenCopy(h.core, join(h.dir, 'none.gold')).load()).toThrow(/unreadable \(ENOENT\)/);
  });

  it('catches a CRC-32C mismatch that RS cannot see', () => {
    const golden = new GoldenCopy(h.core, join(h.dir, 'crc.gold'));
    const bytes = data(100, 4);
    golden.write(bytes);
    // A valid RS file of different data under the same header CRC: forge by re-encoding.
    const other = new GoldenCopy(h.core, join(h.dir, 'crc-other.gold'));
    const changed = bytes.slice();
    changed[50]! ^= 1;
    other.write(changed);
    const forged = readFileSync(other.file);
    const header = readFileSync(golden.file).subarray(0, 16);
    // Put golden's header (its CRC) over other's data and re-encode through RS so RS is clean.
    const payload = h.core.rsDecode(forged, { basis: 'conventional', interleave: 1, fill: 0 }).data;
    payload.set(header, 0);
    writeFileSync(golden.file, h.core.rsEncode(payload, { basis: 'conventional', interleave: 1, fill: 0 }));
    expect(() => golden.load()).toThrow(/CRC-32C of the data does not match/);
  });
});
