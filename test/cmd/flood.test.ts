// Floods of invalid signed commands, on a virtual clock: exact bounds, no timing. Verification is
// budgeted (per slot, per second for the node, a share per source), every dropped envelope is
// counted, and genuine commands still run while forgeries arrive at 5,000 per second. The
// real-time half (no frame slip at 100 Hz on the real frame timer, genuine latency) is measured
// in test/bench/mldsa.bench.ts with the same helpers.
import { describe, expect, it } from 'vitest';
import type { CommandResponse } from '../../flight/cmd/dispatcher.js';
import type { Origin } from '../../flight/cmd/source-queues.js';
import { forgeries } from './support/flood.js';
import { envelope, harness, T0_MS, testOperator, type Harness } from './support/harness.js';

const A = testOperator(1, ['operate', 'approve']);
const B = testOperator(2, ['approve']);
/** The operator the forgeries claim: its numbers are never used up, as no forgery verifies. */
const C = testOperator(3, ['operate']);
/** The mission's dispatcher bounds (flight/cmd/config.ts defaults, one verification per slot as in sat-20). */
const DISPATCH = { queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 1 };

interface FloodRun {
  /** Per genuine command: slots from its arrival to its execution; undefined if it never ran. */
  readonly latencySlots: Array<number | undefined>;
  readonly h: Harness;
}

/**
 * `seconds` of 10 ms slots with `perSlot` forgeries arriving before each (from `forged(i)`), and
 * one genuine NOOP per second from `genuine`.
 */
function flood(seconds: number, perSlot: number, forged: (i: number) => Origin, genuine: Origin): FloodRun {
  const h = harness({ operators: [A, B, C], dispatch: DISPATCH });
  // Forgeries never verify, so their numbers are never used up: a few distinct ones, cycled.
  const pool = forgeries(C, 64, T0_MS + 3_600_000);
  const arrivals = new Map<number, number>();
  const latencySlots: Array<number | undefined> = [];
  let slot = 0;
  h.commanding.onResponse((r: CommandResponse) => {
    if (r.status === 'executed' && r.seq !== undefined && arrivals.has(r.seq)) latencySlots[r.seq - 100_000] = slot - arrivals.get(r.seq)!;
  });
  let n = 0;
  for (; slot < seconds * 100; slot++) {
    if (slot % 100 === 50) {
      const seq = 100_000 + latencySlots.length;
      latencySlots.push(undefined);
      arrivals.set(seq, slot);
      h.commanding.submit(envelope({ command: 'NOOP', seq, signers: [A] }, h.wall.ms), genuine);
    }
    for (let i = 0; i < perSlot; i++, n++) h.commanding.submit(pool[n % pool.length]!, forged(n));
    h.run(1, 10);
  }
  return { latencySlots, h };
}

describe('flood of invalid signed commands', () => {
  it('per-slot, per-second and per-source verification bounds hold exactly, all drops counted', () => {
    const h = harness({ operators: [A, B], dispatch: { queue: 64, envelopesPerSlot: 16, verificationsPerSlot: 2 } });
    const flood = forgeries(A, 3000, T0_MS + 600_000);
    let submitted = 0;
    let maxPerSlot = 0;
    // 3 s of 10 ms slots, 10 envelopes from one source arriving between slots: 1,000 per second.
    for (let slot = 0; slot < 300; slot++) {
      for (let i = 0; i < 10; i++) h.commanding.submit(flood[submitted++]!, { sourceNode: 100 });
      const before = h.value('cmd.verifications');
      h.run(1, 10);
      maxPerSlot = Math.max(maxPerSlot, h.value('cmd.verifications') - before);
    }
    const verified = h.value('cmd.verifications');
    expect(maxPerSlot).toBeLessThanOrEqual(2);
    // One source: the burst of 10, then its share, half of cmd.verifyPerSecond (20), over 3 s.
    expect(verified).toBeLessThanOrEqual(10 + 10 * 3 + 1);
    expect(verified).toBeGreaterThanOrEqual(10 * 3);
    expect(h.value('cmd.rejected.badSignature')).toBe(verified);
    expect(h.value('cmd.executed')).toBe(0);
    const dropped = h.value('cmd.rejected.rateLimited') + h.value('cmd.rejected.queueFull');
    expect(verified + dropped + h.value('cmd.queueDepth')).toBe(submitted);
    // A genuine command still gets through once the flood stops and the buckets refill.
    h.run(100, 10);
    expect(h.send(envelope({ command: 'NOOP', seq: 5000, signers: [A] }, h.wall.ms)).map((r) => r.status)).toEqual(['accepted', 'executed']);
  });

  it('5,000 forgeries/s in clear: every genuine command sealed by a session peer runs in the slot it arrives', () => {
    const { latencySlots, h } = flood(20, 50, () => ({ sourceNode: 100 }), { sealedBy: 10, sourceNode: 100 });
    expect(latencySlots).toHaveLength(20);
    expect(latencySlots).toEqual(Array(20).fill(0));
    expect(h.value('cmd.executed')).toBe(20);
    // The forgeries kept being verified (the node's budget is not spent on nothing) but only
    // within their share: 10 at once, then 10 per second.
    const forgedVerified = h.value('cmd.verifications') - 20;
    expect(forgedVerified).toBeGreaterThanOrEqual(10 * 20 - 10);
    expect(forgedVerified).toBeLessThanOrEqual(10 + 10 * 20);
    expect(h.value('cmd.rejected.badSignature')).toBe(forgedVerified);
  });

  it('5,000 forgeries/s from one clear source cannot take the whole budget: a genuine clear source runs within 2 s', () => {
    const { latencySlots, h } = flood(20, 50, () => ({ sourceNode: 100 }), { sourceNode: 101 });
    expect(latencySlots).toHaveLength(20);
    for (const latency of latencySlots) expect(latency).toBeLessThanOrEqual(200);
    expect(h.value('cmd.executed')).toBe(20);
    // The flooding source got at most its share (half of cmd.verifyPerSecond) after its burst.
    expect(h.value('cmd.verifications') - 20).toBeLessThanOrEqual(10 + 10 * 20);
    expect(h.value('cmd.rejected.rateLimited') + h.value('cmd.rejected.queueFull')).toBeGreaterThan(0);
  });

  it('5,000 forgeries/s claiming 1,000 source nodes in clear and 1,000/s sealed by another peer: genuine sealed commands run within 2 s', () => {
    const forged = (i: number): Origin => (i % 6 === 0 ? { sealedBy: 11, sourceNode: 100 } : { sourceNode: 1000 + (i % 1000) });
    const { latencySlots, h } = flood(20, 60, forged, { sealedBy: 10, sourceNode: 100 });
    expect(latencySlots).toHaveLength(20);
    for (const latency of latencySlots) expect(latency).toBeLessThanOrEqual(200);
    expect(h.value('cmd.executed')).toBe(20);
  });
});
