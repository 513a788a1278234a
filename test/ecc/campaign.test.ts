// SEU campaigns in-process, on the virtual clock: the acceptance figures at a smaller scale
// (`tern seu campaign --upsets 1000000` is the full run; see flight/ecc/DESIGN.md).
import { describe, expect, it } from 'vitest';
import { CAMPAIGN_REGIONS, runCampaign, type CampaignResult } from '../../flight/ecc/campaign.js';
import { SeuInputError } from '../../flight/ecc/errors.js';
import type { UpsetPattern } from '../../flight/ecc/injector.js';
import { WEIGHTS_REGION } from '../../flight/ecc/weights.js';
import { eccHarness } from './support.js';

const UPSETS = 20_000;
const h = eccHarness();
const campaign = (pattern: UpsetPattern, seed = 1, upsets = UPSETS, protectedReads = true): CampaignResult =>
  runCampaign({ upsets, pattern, seed, ratePerS: 100, dir: h.dir, core: h.core, protectedReads });
const TARGETS = [...CAMPAIGN_REGIONS.map((d) => d.name), WEIGHTS_REGION];

/** The node's outputs equal the upset-free reference run's: every inference result and bundle. */
function outputsUnchanged(r: CampaignResult): void {
  const { inference, bundles } = r.outputs;
  // 10 output periods a second of virtual time, four inputs each.
  expect(bundles.emitted).toBeGreaterThanOrEqual(Math.floor(r.virtualSeconds * 10) - 1);
  expect(inference.results).toBe(4 * bundles.emitted);
  expect(inference.differ).toBe(0);
  expect(bundles.differ).toBe(0);
  expect(bundles.digest).toBe(bundles.referenceDigest);
}

describe('SEU campaign', () => {
  it('corrects every single-bit upset, in every region and TMR scalar', () => {
    const r = campaign('single');
    expect(r.total).toEqual({ injected: UPSETS, corrected: UPSETS, detected: 0, silent: 0 });
    expect(Object.keys(r.regions)).toEqual([...TARGETS, 'critical-scalars']);
    for (const tally of Object.values(r.regions)) expect(tally.injected).toBeGreaterThan(0);
    expect(r.reloads).toBe(0);
    expect(r.caughtByCrc).toBe(0);
    outputsUnchanged(r);
  });

  it('detects every double-bit upset in one region word (and the TMR vote outvotes a damaged copy)', () => {
    const r = campaign('double');
    expect(r.total.silent).toBe(0);
    expect(r.total.injected).toBe(UPSETS);
    for (const name of TARGETS) {
      const tally = r.regions[name]!;
      expect(tally, name).toEqual({ injected: tally.injected, corrected: 0, detected: tally.injected, silent: 0 });
    }
    expect(r.regions['critical-scalars']!.corrected).toBe(r.regions['critical-scalars']!.injected);
    expect(r.reloads).toBe(r.total.detected);
    outputsUnchanged(r);
  });

  it('leaves no burst of 2..8 adjacent bits silent: SEC-DED or the block CRC-32C catches each', () => {
    const r = campaign('burst');
    expect(r.total.silent).toBe(0);
    expect(r.total.corrected + r.total.detected).toBe(UPSETS);
    // Bursts of three or more bits beat SEC-DED often enough that the CRC has work to do.
    expect(r.caughtByCrc).toBeGreaterThan(UPSETS / 20);
    outputsUnchanged(r);
  });

  it.each(['single', 'double', 'burst'] as const)('flags %s upsets that reach the outputs when the node reads past its protection', (pattern) => {
    // The same upsets, but the outputs read the regions' bytes as they are and the model runs
    // on weights nobody checked before the run: inference results and bundles differ from the
    // reference run's, and the comparison says so (protected, the same run shows none).
    const r = campaign(pattern, 1, 5000, false);
    expect(r.outputs.inference.differ).toBeGreaterThan(0);
    expect(r.outputs.bundles.differ).toBeGreaterThan(0);
    expect(r.outputs.bundles.digest).not.toBe(r.outputs.bundles.referenceDigest);
    outputsUnchanged(campaign(pattern, 1, 5000));
  });

  it('gives the same run for the same seed and another for another seed', () => {
    const a = campaign('burst', 77, 3000);
    expect(campaign('burst', 77, 3000)).toEqual(a);
    expect(campaign('burst', 78, 3000)).not.toEqual(a);
  });

  it('reports the scrub period its budget and schedule give, and runs on virtual time', () => {
    const r = campaign('single', 1, 1000);
    // 12.5 KiB of regions (13 blocks of 1 KiB) and 17.7 KiB of model constants (18 blocks) at
    // 4 KiB per 10 ms slot: 8 slots.
    expect(r.scrubPeriodS).toBeCloseTo(0.08, 9);
    expect(r.virtualSeconds).toBeGreaterThan(5);
    expect(r.scrubPasses).toBeGreaterThan(r.virtualSeconds / 0.08 - 2);
  });

  it('refuses malformed options with a typed error naming the option', () => {
    expect(() => campaign('single', 1, 0)).toThrow(SeuInputError);
    expect(() => campaign('quad' as UpsetPattern)).toThrow(/pattern: expected single \| double \| burst/);
    expect(() => runCampaign({ upsets: 1, pattern: 'single', seed: 1, ratePerS: -1, dir: h.dir, core: h.core })).toThrow(/rate/);
  });
});
