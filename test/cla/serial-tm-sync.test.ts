// The core's TM synchronisation kernels that the serial link stands on, on both builds: the
// CCSDS pseudo-randomiser against the sequence CCSDS publishes, and the sync marker search.
import { describe, expect, it } from 'vitest';
import { Core, TM_ASM } from '../../flight/core/wasm.js';
import { Prng } from '../support/prng.js';

// CCSDS 131.0-B-3 10.4: the sequence of h(x) = x^8 + x^7 + x^5 + x^3 + 1 from all ones.
const PUBLISHED_HEAD = [0xff, 0x48, 0x0e, 0xc0, 0x9a, 0x0d, 0x70, 0xbc, 0x8e, 0x2c, 0x93, 0xad, 0xa7, 0xb7, 0x46, 0xce];
const PUBLISHED_LAST = 0x58;

describe.each(['simd', 'scalar'] as const)('TM sync kernels (%s build)', (variant) => {
  const core = new Core(variant);

  it('randomises with the published sequence, period 255, and is its own inverse', () => {
    const zeros = new Uint8Array(255 * 9 + 7);
    core.tmRandomise(zeros);
    expect([...zeros.subarray(0, 16)]).toEqual(PUBLISHED_HEAD);
    expect(zeros[254]).toBe(PUBLISHED_LAST);
    for (let i = 255; i < zeros.length; i++) expect(zeros[i], `byte ${i}`).toBe(zeros[i - 255]);
    const data = new Prng(1).bytes(5000);
    const copy = Uint8Array.from(data);
    core.tmRandomise(copy);
    expect(copy).not.toEqual(data);
    core.tmRandomise(copy);
    expect(copy).toEqual(data);
  });

  it('finds the marker at any offset, with up to maxErrors bits wrong and not more', () => {
    const rng = new Prng(2);
    for (let trial = 0; trial < 200; trial++) {
      const stream = new Uint8Array(600);
      // Bytes far from the marker (0x00 is 4+ bits from each marker byte in a run of four).
      stream.fill(0x00);
      const at = rng.below(590);
      stream.set(TM_ASM, at);
      const errors = rng.below(6);
      for (const bit of rng.distinct(errors, 32)) stream[at + (bit >> 3)]! ^= 0x80 >> (bit & 7);
      const found = core.tmFindSync(stream, 0, 4);
      expect(found, `trial ${trial}: marker at ${at} with ${errors} bits wrong`).toBe(errors <= 4 ? at : -1);
      expect(core.tmFindSync(stream, 0, errors)).toBe(at);
    }
    expect(core.tmFindSync(Uint8Array.of(1, 2, 0x1a, 0xcf, 0xfc), 0, 0)).toBe(-1); // a marker cut short
    expect(core.tmFindSync(Uint8Array.of(1, 2, 0x1a, 0xcf, 0xfc, 0x1d), 3, 0)).toBe(-1); // before `from`
    expect(core.tmFindSync(Uint8Array.of(1, 2, 0x1a, 0xcf, 0xfc, 0x1d), 2, 0)).toBe(2);
  });
});
