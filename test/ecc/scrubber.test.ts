import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import { runVirtual } from '../../flight/exec/virtual.js';
import { GoldenCopy } from '../../flight/ecc/golden.js';
import { Prng } from '../../flight/ecc/injector.js';
import { Scrubber, slotsPerPass } from '../../flight/ecc/scrubber.js';
import { createRootLogger } from '../../flight/log.js';
import { EventLog } from '../../flight/tlm/events.js';
import { eccHarness } from './support.js';

const MS = 1000;

function node(budgetBytes: number, sizes: Record<string, number>, slots: string[][] = [['ecc.scrub'], []]) {
  const h = eccHarness();
  const rng = new Prng(42);
  const regions = Object.entries(sizes).map(([name, size]) => {
    const r = h.memory.region({ name, size, critical: false, golden: new GoldenCopy(h.core, join(h.dir, `${name}.gold`)), blockBytes: 1024 });
    const data = Uint8Array.from({ length: size }, () => rng.u32() & 0xff);
    r.load(data);
    r.commit();
    return { r, data };
  });
  const scrubber = new Scrubber(h.memory, { budgetBytes, budgetUs: 500 });
  const clock = new VirtualClock();
  const table = { minorFrameMs: 10, slots };
  const schedule = parseSchedule(new Fields('test.json'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: { minorFrameMs: 100, slots: [['ecc.scrub']] } } }, 'exec', [scrubber]);
  scrubber.useSchedule(schedule);
  const exec = new Executive({ schedule, clock, tlm: h.tlm, events: new EventLog(createRootLogger({ level: 'silent' }), () => clock.nowUs()) }, 0);
  return { h, regions, scrubber, clock, exec };
}

describe('scrubber task', () => {
  it('counts whole blocks into slots', () => {
    expect(slotsPerPass([1024, 1024, 1024, 512], 2048)).toBe(2);
    expect(slotsPerPass([1024, 1024, 1024, 512], 1000)).toBe(4);
    expect(slotsPerPass([512, 512, 512], 1024)).toBe(2);
  });

  it('corrects every single-bit error in every region within one scrub period, and reports the period', () => {
    const { h, regions, scrubber, clock, exec } = node(2048, { params: 3000, keys: 5000, schedule: 700 });
    // 3 + 5 + 1 blocks of <= 1 KiB at 2 KiB per slot -> 5 slots; one slot per 20 ms major frame.
    expect(scrubber.periodS('NOMINAL')).toBeCloseTo(0.1, 9);
    expect(scrubber.periodS('SAFE')).toBeCloseTo(0.5, 9);
    // 20 single-bit errors per region, in distinct words, data and check bits alike.
    for (const { r } of regions) for (let i = 0; i < 20; i++) r.flip((i * 53) % r.codewords, (i * 29) % 72);
    runVirtual(exec, clock, 100 * MS - 1);
    for (const { r, data } of regions) expect(r.unverified(), r.name).toEqual(data);
    const corrected = regions.reduce((n, { r }) => n + r.counts.corrected, 0);
    expect(corrected).toBe(60);
    expect(h.value('ecc.scrub.passes')).toBe(1);
    // The fifth slot ends the pass with 704 bytes and starts the next with a 1 KiB block.
    expect(h.value('ecc.scrub.bytes')).toBe(3000 + 5000 + 704 + 1024);
    expect(h.value('ecc.scrub.periodS')).toBeCloseTo(0.1, 9);
    // Whole blocks make a pass end mid-slot, so one pass takes the period give or take a slot.
    runVirtual(exec, clock, 1000 * MS - 1);
    expect(Math.abs(h.value('ecc.scrub.passes') - 10)).toBeLessThanOrEqual(1);
    expect(Math.abs(h.value('ecc.scrub.lastPassS') - 0.1)).toBeLessThanOrEqual(0.02 + 1e-9);
    expect(h.value('exec.taskFailures')).toBe(0);
  });

  it('votes every TMR scalar once per pass, so damage to two copies cannot accumulate unseen', () => {
    const { h, clock, exec } = node(4096, { params: 1024 });
    const bank = h.memory.tmrBank('exec', 2, true);
    const mode = bank.cell('mode', 1);
    bank.flip(0, 70);
    runVirtual(exec, clock, 0);
    expect(bank.counts.corrected).toBe(1);
    bank.flip(0, 150);
    runVirtual(exec, clock, 20 * MS);
    bank.flip(0, 5);
    expect(mode.get()).toBe(1);
    expect(bank.counts).toEqual({ corrected: 3, noMajority: 0 });
  });

  it('never scrubs more than its byte budget in one slot', () => {
    const { h, scrubber, clock, exec } = node(2500, { a: 10_000 }, [['ecc.scrub']]);
    let last = 0;
    for (let t = 0; t < 20; t++) {
      runVirtual(exec, clock, t * 10 * MS);
      const bytes = h.value('ecc.scrub.bytes');
      expect(bytes - last).toBeLessThanOrEqual(2500);
      last = bytes;
    }
    expect(scrubber.blocksScrubbed).toBe(40);
  });

  it('reloads a region with an uncorrectable word and goes on past a lost one without failing the task', () => {
    const { h, regions, clock, exec } = node(4096, { params: 2048 });
    const lost = h.memory.region({ name: 'no-golden', size: 512, critical: false });
    lost.flip(0, 0);
    lost.flip(0, 1);
    regions[0]!.r.flip(3, 3);
    regions[0]!.r.flip(3, 4);
    runVirtual(exec, clock, 100 * MS);
    expect(regions[0]!.r.unverified()).toEqual(regions[0]!.data);
    expect(regions[0]!.r.counts).toMatchObject({ uncorrectable: 1, reloads: 1 });
    expect(lost.isLost).toBe(true);
    expect(lost.counts.lost).toBe(1);
    expect(h.value('exec.taskFailures')).toBe(0);
    expect(h.value('ecc.scrub.passes')).toBeGreaterThan(1);
  });

  it('lets the app turn a lost critical region into a mode change to SAFE', () => {
    const { h, clock, exec } = node(4096, { params: 1024 });
    h.memory.onGoSafe((what, reason) => exec.requestMode('SAFE', `ecc: ${what} lost (${reason})`));
    const keys = h.memory.region({ name: 'keys', size: 256, critical: true });
    keys.flip(1, 10);
    keys.flip(1, 11);
    runVirtual(exec, clock, 60 * MS);
    expect(exec.modeName).toBe('SAFE');
    expect(h.value('exec.mode')).toBe(2);
  });
});
