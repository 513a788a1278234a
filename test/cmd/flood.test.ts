// A flood of 1,000 invalid signed commands per second: verification is budgeted (per slot) and
// rate-limited (token bucket), and every dropped envelope is counted. Exact bounds on a virtual
// clock here; the real-time half of the acceptance (no frame slip at 100 Hz on the real frame
// timer) is timing, so it is measured in test/bench/mldsa.bench.ts with the same helper.
import { describe, expect, it } from 'vitest';
import { forgeries } from './support/flood.js';
import { envelope, harness, T0_MS, testOperator } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);

describe('flood of invalid signed commands', () => {
  it('virtual clock: per-slot and per-second verification bounds hold exactly, all drops counted', () => {
    const h = harness({ operators: [A, B], dispatch: { queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 2 } });
    const flood = forgeries(A, 3000, T0_MS + 600_000);
    let submitted = 0;
    let maxPerSlot = 0;
    // 3 s of 10 ms slots, 10 envelopes arriving between slots: 1,000 per second.
    for (let slot = 0; slot < 300; slot++) {
      for (let i = 0; i < 10; i++) h.commanding.submit(flood[submitted++]!);
      const before = h.value('cmd.verifications');
      h.run(1, 10);
      maxPerSlot = Math.max(maxPerSlot, h.value('cmd.verifications') - before);
    }
    const verified = h.value('cmd.verifications');
    expect(maxPerSlot).toBeLessThanOrEqual(2);
    // Burst of 10, then 20 per second (cmd.verifyPerSecond), over 3 s.
    expect(verified).toBeLessThanOrEqual(10 + 20 * 3 + 1);
    expect(verified).toBeGreaterThanOrEqual(20 * 3);
    expect(h.value('cmd.rejected.badSignature')).toBe(verified);
    expect(h.value('cmd.executed')).toBe(0);
    const dropped = h.value('cmd.rejected.rateLimited') + h.value('cmd.rejected.queueFull');
    expect(verified + dropped + h.value('cmd.queueDepth')).toBe(submitted);
    // A genuine command still gets through once the flood stops and the bucket refills.
    h.run(100, 10);
    expect(h.send(envelope({ command: 'NOOP', seq: 5000, signers: [A] }, h.wall.ms)).map((r) => r.status)).toEqual(['accepted', 'executed']);
  });
});
