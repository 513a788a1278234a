import { describe, expect, it } from 'vitest';
import { TmrDisagreementError } from '../../flight/ecc/errors.js';
import { COPY_SPACING } from '../../flight/ecc/tmr.js';
import { eccHarness } from './support.js';

describe('TMR scalars', () => {
  it('reads the majority and repairs the outvoted copy, for any bits of any one copy', () => {
    const h = eccHarness();
    const bank = h.memory.tmrBank('exec', 4, true);
    const mode = bank.cell('mode', 1);
    const frames = bank.cell('frameCounter', 2 ** 40 + 3);
    for (let bit = 0; bit < 192; bit++) {
      bank.flip(1, bit);
      bank.flip(1, (bit + 7) % 64 + (bit & ~63)); // a second bit of the same copy
      expect(frames.get(), `bit ${bit}`).toBe(2 ** 40 + 3);
    }
    expect(mode.get()).toBe(1);
    expect(bank.counts).toEqual({ corrected: 192, noMajority: 0 });
    expect(h.value('ecc.tmr.exec.corrected')).toBe(192);
    // Repaired: reading again corrects nothing more.
    expect(frames.get()).toBe(2 ** 40 + 3);
    expect(bank.counts.corrected).toBe(192);
    frames.set(12);
    expect(frames.get()).toBe(12);
    // Each repair is real: damage to copy 0, then (after a read) to copy 1, still has a majority.
    for (const [first, second] of [[3, 64 + 5], [40, 128 + 33], [130, 20]]) {
      bank.flip(1, first!);
      expect(frames.get()).toBe(12);
      bank.flip(1, second!);
      expect(frames.get()).toBe(12);
    }
  });

  it('raises a typed error, a counter, an event and SAFE when all three copies differ', () => {
    const h = eccHarness();
    const bank = h.memory.tmrBank('cmd', 2, true);
    const head = bank.cell('replayHead', 77);
    bank.flip(0, 3);
    bank.flip(0, 64 + 9);
    expect(() => head.get()).toThrow(TmrDisagreementError);
    expect(bank.counts.noMajority).toBe(1);
    expect(h.named('ECC_TMR_NO_MAJORITY')[0]!.message).toBe('TMR scalar cmd.replayHead: the three copies all differ');
    expect(h.safe).toEqual([{ what: 'tmr.cmd.replayHead', reason: 'no majority' }]);
  });

  it('keeps the copies of one scalar at least COPY_SPACING bytes apart in core memory', () => {
    const h = eccHarness();
    const bank = h.memory.tmrBank('spacing', 2, false);
    const marker = 1234567.891011;
    bank.cell('x', marker);
    const heap = new Float64Array(h.core.reserve(8).bytes().buffer);
    const at: number[] = [];
    heap.forEach((v, i) => v === marker && at.push(i * 8));
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(COPY_SPACING);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(COPY_SPACING);
  });
});
