// SEU campaigns in-process, on the virtual clock: the acceptance figures at a smaller scale
// (`tern seu campaign --upsets 1000000` is the full run; see flight/ecc/DESIGN.md).
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_REGIONS, runCampaign, type CampaignResult } from '../../flight/ecc/campaign.js';
import { SeuInputError } from '../../flight/ecc/errors.js';
import type { UpsetPattern } from '../../flight/ecc/injector.js';
import { eccHarness } from './support.js';

const UPSETS = 20_000;
const h = eccHarness();
const campaign = (pattern: UpsetPattern, seed = 1, upsets = UPSETS): CampaignResult =>
  runCampaign({ upsets, pattern, seed, ratePerS: 100, dir: h.dir, core: h.core });

describe('SEU campaign', () => {
  it('corrects every single-bit upset, in every region and TMR scalar', () => {
    const r = campaign('single');
    expect(r.total).toEqual({ injected: UPSETS, corrected: UPSETS, detected: 0, silent: 0 });
    expect(Object.keys(r.regions)).toEqual([...CAMPAIGN_REGIONS.map((d) => d.name), 'critical-scalars']);
    for (const tally of Object.values(r.regions)) expect(tally.injected).toBeGreaterThan(0);
    expect(r.reloads).toBe(0);
    expect(r.caughtByCrc).toBe(0);
  });

  it('detects every double-bit upset in one region word (and the TMR vote outvotes a damaged copy)', () => {
    const r = campaign('double');
    expect(r.total.silent).toBe(0);
    expect(r.total.injected).toBe(UPSETS);
    for (const { name } of CAMPAIGN_REGIONS) {
      const tally = r.regions[name]!;
      expect(tally, name).toEqual({ injected: tally.injected, corrected: 0, detected: tally.injected, silent: 0 });
    }
    expect(r.regions['critical-scalars']!.corrected).toBe(r.regions['critical-scalars']!.injected);
    expect(r.reloads).toBe(r.total.detected);
  });

  it('leaves no burst of 2..8 adjacent bits silent: SEC-DED or the block CRC-32C catches each', () => {
    const r = campaign('burst');
    expect(r.total.silent).toBe(0);
    expect(r.total.corrected + r.total.detected).toBe(UPSETS);
    // Bursts of three or more bits beat SEC-DED often enough that the CRC has work to do.
    expect(r.caughtByCrc).toBeGreaterThan(UPSETS / 20);
  });

  it('gives the same run for the same seed and another for another seed', () => {
    const a = campaign('burst', 77, 3000);
    expect(campaign('burst', 77, 3000)).toEqual(a);
    expect(campaign('burst', 78, 3000)).not.toEqual(a);
  });

  it('reports the scrub period its budget and schedule give, and runs on virtual time', () => {
    const r = campaign('single', 1, 1000);
    // 20.5 KiB in 1 KiB blocks at 4 KiB per 10 ms slot: 6 slots.
    expect(r.scrubPeriodS).toBeCloseTo(0.06, 9);
    expect(r.virtualSeconds).toBeGreaterThan(5);
    expect(r.scrubPasses).toBeGreaterThan(r.virtualSeconds / 0.06 - 2);
  });

  it('refuses malformed options with a typed error naming the option', () => {
    expect(() => campaign('single', 1, 0)).toThrow(SeuInputError);
    expect(() => campaign('quad' as UpsetPattern)).toThrow(/pattern: expected single \| double \| burst/);
    expect(() => runCampaign({ upsets: 1, pattern: 'single', seed: 1, ratePerS: -1, dir: h.dir, core: h.core })).toThrow(/rate/);
  });
});
