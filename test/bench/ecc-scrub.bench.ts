// Scrubbing: the scrubber task over an 8 MiB protected region (4 KiB blocks: SEC-DED check and
// correct in place, then CRC-32C per block) next to memcpy of the same bytes and CRC-32C alone,
// in the same run. From the scrub rate: the CPU share to scrub 512 MiB once per 10 minutes, and,
// at 1e-6 upsets/bit/day, the expected rate of uncorrectable words (two upsets in one 72-bit
// codeword within one scrub period). Figures to test/bench/results/ecc-scrub.json.
import { expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { ProtectedMemory } from '../../flight/ecc/memory.js';
import { Prng } from '../../flight/ecc/injector.js';
import { Scrubber } from '../../flight/ecc/scrubber.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const MiB = 1024 * 1024;
const REGION_BYTES = 8 * MiB;
const SLOT_BYTES = 1 * MiB;
const TARGET_BYTES = 512 * MiB;
const TARGET_PERIOD_S = 600;
const UPSETS_PER_BIT_DAY = 1e-6;

/** Expected uncorrectable words per day: Poisson upsets per 72-bit codeword, a word is lost when
 *  two or more land in it within one scrub period (the scrubber repairs one before the next). */
export function uncorrectablePerDay(bytes: number, periodS: number, perBitDay: number): number {
  const words = bytes / 8;
  const m = 72 * perBitDay * (periodS / 86_400); // mean upsets per codeword per period
  const pTwoOrMore = -Math.expm1(-m) - m * Math.exp(-m); // 1 - e^-m (1 + m), without cancellation
  return words * pTwoOrMore * (86_400 / periodS);
}

it('scrub throughput next to memcpy, CPU share for 512 MiB per 10 min, uncorrectable rate', async () => {
  const core = new Core('simd');
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const memory = new ProtectedMemory({ core, tlm, events });
  const region = memory.region({ name: 'bench', size: REGION_BYTES, critical: false });
  const rng = new Prng(1);
  const contents = new Uint8Array(REGION_BYTES);
  for (let i = 0; i < contents.length; i += 4) new DataView(contents.buffer).setUint32(i, rng.u32());
  region.load(contents);
  const scrubber = new Scrubber(memory, { budgetBytes: SLOT_BYTES, budgetUs: 1e6 });
  const frame = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };

  // The scrubber must really look: upsets planted across the region are all corrected in one pass.
  for (let i = 0; i < 64; i++) region.flip(rng.below(region.codewords), rng.below(72));
  for (let s = 0; s < REGION_BYTES / SLOT_BYTES; s++) scrubber.run(frame);
  expect(Buffer.from(region.unverified()).equals(contents)).toBe(true);
  expect(region.counts.corrected).toBeGreaterThan(60);

  const copy = new Uint8Array(REGION_BYTES);
  let at = 0;
  const rates = await compare({
    memcpy: {
      bytes: SLOT_BYTES,
      run: () => {
        copy.set(contents.subarray(at, at + SLOT_BYTES), at);
        at = (at + SLOT_BYTES) % REGION_BYTES;
      },
    },
    crc32c: {
      bytes: SLOT_BYTES,
      run: () => {
        core.crc32c(contents.subarray(at, at + SLOT_BYTES));
        at = (at + SLOT_BYTES) % REGION_BYTES;
      },
    },
    scrub: { bytes: SLOT_BYTES, run: () => scrubber.run(frame) },
  });
  const scrubBytesPerS = rates.scrub.gbps * 1e9;
  const cpuShare = TARGET_BYTES / scrubBytesPerS / TARGET_PERIOD_S;
  const perDay = uncorrectablePerDay(TARGET_BYTES, TARGET_PERIOD_S, UPSETS_PER_BIT_DAY);
  writeResult('ecc-scrub', {
    command: 'npx vitest run --config test/bench/vitest.config.ts test/bench/ecc-scrub.bench.ts',
    regionBytes: REGION_BYTES, blockBytes: region.blockBytes, slotBytes: SLOT_BYTES, ...settings,
    gbPerSecond: { memcpy: rates.memcpy.gbps, crc32c: rates.crc32c.gbps, scrub: rates.scrub.gbps },
    scrubVsMemcpy: rates.scrub.gbps / rates.memcpy.gbps,
    scrub512MiBEvery10Min: { seconds: TARGET_BYTES / scrubBytesPerS, cpuShare },
    upsets: {
      perBitPerDay: UPSETS_PER_BIT_DAY,
      protectedBytes: TARGET_BYTES,
      scrubPeriodS: TARGET_PERIOD_S,
      upsetsPerDay: TARGET_BYTES * 8 * UPSETS_PER_BIT_DAY,
      uncorrectableWordsPerDay: perDay,
      daysBetweenUncorrectableWords: 1 / perDay,
      uncorrectableWordsPerDayAt1hScrub: uncorrectablePerDay(TARGET_BYTES, 3600, UPSETS_PER_BIT_DAY),
      uncorrectableWordsPerDayAt1DayScrub: uncorrectablePerDay(TARGET_BYTES, 86_400, UPSETS_PER_BIT_DAY),
    },
  });
  expect(cpuShare).toBeLessThan(0.01);
});
