// SEU campaign: a node's protected memory (the regions and TMR scalars a flight node keeps) runs
// under the scrubber on the executive's virtual clock while seeded upsets arrive as a Poisson
// process; every upset's outcome is classified once the scrubber has passed over it:
//   corrected  SEC-DED (or the TMR vote) repaired it and the data equals the reference
//   detected   it was reported uncorrectable (and the region reloaded from its golden copy)
//   silent     the data differs from the reference and nothing said so
// Each target holds at most one unresolved upset: an upset drawn for a target whose previous one
// the scrubber has not reached yet waits for it, so each outcome belongs to one upset (two
// upsets in one word are what the double pattern measures; bench/ecc-scrub computes how often
// they accumulate at a given upset rate and scrub period). The same seed gives the same run.
// The node's outputs (inference results and the bundles it emits, campaign-outputs.ts) are
// compared with those of the upset-free reference run every output period.
import { Fields } from '../config/fields.js';
import { InferenceCore, type Core } from '../core/wasm.js';
import { VirtualClock } from '../exec/clock.js';
import { Executive } from '../exec/executive.js';
import { parseSchedule } from '../exec/schedule.js';
import { runVirtual } from '../exec/virtual.js';
import { createRootLogger } from '../log.js';
import { TelemetryRegistry } from '../tlm/channels.js';
import { LoadedModel } from '../infer/model.js';
import { EventLog } from '../tlm/events.js';
import { CampaignOutputs, campaignModel, type OutputComparison } from './campaign-outputs.js';
import { regionChannels } from './dictionary.js';
import { SeuInputError, TmrDisagreementError } from './errors.js';
import { GoldenCopy } from './golden.js';
import { Prng, SeuInjector, UPSET_PATTERNS, type Upset, type UpsetPattern } from './injector.js';
import { ProtectedMemory } from './memory.js';
import type { ProtectedRegion } from './region.js';
import { Scrubber } from './scrubber.js';
import type { UpsetTarget } from './target.js';
import type { TmrCell } from './tmr.js';
import { ProtectedWeights, WEIGHTS_REGION } from './weights.js';

/** What a flight node keeps protected, at representative sizes (ML-DSA-65 public keys are
 *  1952 bytes; 32-byte session keys); and the weights of a small model, protected in place. */
export const CAMPAIGN_REGIONS = [
  { name: 'parameters', size: 1024, critical: false },
  { name: 'operator-keys', size: 4 * 1952, critical: true },
  { name: 'session-keys', size: 16 * 48, critical: true },
  { name: 'schedule', size: 1024, critical: true },
  { name: 'contact-plan', size: 2048, critical: false },
] as const;
export const CAMPAIGN_SCALARS = ['mode', 'replayHead', 'frameCounter'] as const;
const TMR_BANK = 'critical-scalars';
const BLOCK_BYTES = 1024;
const SCRUB_BUDGET_BYTES = 4096;
const MINOR_FRAME_MS = 10;
/** The node's outputs (inference, a bundle) every this many frames: 10 per second of virtual time. */
const OUTPUT_EVERY_FRAMES = 10;

export interface CampaignOptions {
  readonly upsets: number;
  readonly pattern: UpsetPattern;
  readonly seed: number;
  /** Mean upset arrivals per second of virtual time. */
  readonly ratePerS: number;
  /** Where the golden copies are written. */
  readonly dir: string;
  readonly core: Core;
  /**
   * Whether the node reads protected state through the accessors and checks its model's weights
   * before each run (default true). false only to show what the output comparison catches.
   */
  readonly protectedReads?: boolean;
}

export interface Tally {
  injected: number;
  corrected: number;
  detected: number;
  silent: number;
}

export interface CampaignResult {
  readonly regions: Record<string, Tally>;
  readonly total: Tally;
  readonly pattern: UpsetPattern;
  readonly seed: number;
  readonly ratePerS: number;
  readonly virtualSeconds: number;
  readonly scrubPeriodS: number;
  readonly scrubPasses: number;
  readonly reloads: number;
  /** Detections that only the block CRC-32C made (SEC-DED saw a clean or a single-bit word). */
  readonly caughtByCrc: number;
  /** The node's outputs against the upset-free reference run's. */
  readonly outputs: OutputComparison;
}

interface Pending {
  readonly upset: Upset;
  /** Region: scrubber.blocksScrubbed at which its block has been scrubbed; TMR: pass count. */
  readonly resolvedAt: number;
  readonly corrected: number;
  readonly uncorrectable: number;
}

/** Throws SeuInputError naming the first malformed option. */
export function checkCampaignOptions(options: Omit<CampaignOptions, 'core' | 'dir' | 'protectedReads'>): void {
  if (!Number.isSafeInteger(options.upsets) || options.upsets < 1) throw new SeuInputError('upsets', 'a positive integer', options.upsets);
  if (!UPSET_PATTERNS.includes(options.pattern)) throw new SeuInputError('pattern', UPSET_PATTERNS.join(' | '), options.pattern);
  if (!Number.isSafeInteger(options.seed)) throw new SeuInputError('seed', 'an integer', options.seed);
  if (!Number.isFinite(options.ratePerS) || options.ratePerS <= 0) throw new SeuInputError('rate', 'upsets per second, a positive number', options.ratePerS);
}

export function runCampaign(options: CampaignOptions): CampaignResult {
  checkCampaignOptions(options);
  const clock = new VirtualClock();
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => clock.nowUs());
  const memory = new ProtectedMemory({ core: options.core, tlm, events });
  const contents = new Prng(options.seed ^ 0x5eed);
  const reference = new Map<ProtectedRegion, Uint8Array>();
  for (const def of CAMPAIGN_REGIONS) {
    const golden = new GoldenCopy(options.core, `${options.dir}/${def.name}.gold`);
    // crcOnRead as a node's regions: the outputs read them between scrubs.
    const region = memory.region({ ...def, golden, blockBytes: BLOCK_BYTES, crcOnRead: true });
    const data = Uint8Array.from({ length: def.size }, () => contents.u32() & 0xff);
    region.load(data);
    region.commit();
    reference.set(region, data);
  }
  // The model, its weights protected in place; an uncorrectable block reloads them from the
  // model's verified plan (here: the constants of the reference model built from it).
  const plan = campaignModel(options.seed);
  const model = new LoadedModel(new InferenceCore(), plan);
  const modelReference = model.constants.read(0, model.constants.length);
  const weightChannels = tlm.defineAll(regionChannels(WEIGHTS_REGION));
  // Reloaded as a node reloads its model (from the verified model: the same bytes), in place.
  const weights: ProtectedWeights = new ProtectedWeights(options.core, weightChannels, events, model.constants, () => {
    model.constants.write(0, modelReference);
    weights.encode();
  }, BLOCK_BYTES);
  memory.protectInPlace(weights);
  const weightCount = (name: 'corrected' | 'uncorrectable'): number => weightChannels[name].value;
  const regionNamed = (name: string): ProtectedRegion => memory.regions.find((r) => r.name === name)!;
  const outputs = new CampaignOutputs({
    seed: options.seed, plan, model, weights: () => weights, parameters: regionNamed('parameters'), sessionKeys: regionNamed('session-keys'),
    reference, protectedReads: options.protectedReads ?? true,
  });

  const bank = memory.tmrBank(TMR_BANK, CAMPAIGN_SCALARS.length, true);
  const cells: TmrCell[] = CAMPAIGN_SCALARS.map((name) => bank.cell(name, contents.u32()));
  const scalars = cells.map((c) => c.get());

  const scrubber = new Scrubber(memory, { budgetBytes: SCRUB_BUDGET_BYTES, budgetUs: 2000 });
  const table = { minorFrameMs: MINOR_FRAME_MS, slots: [['ecc.scrub']] };
  const schedule = parseSchedule(new Fields('seu-campaign'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', [scrubber]);
  scrubber.useSchedule(schedule);
  const exec = new Executive({ schedule, clock, tlm, events }, 0);
  memory.onGoSafe((what, reason) => exec.requestMode('SAFE', `ecc: ${what} (${reason})`));

  const targets: UpsetTarget[] = [...memory.regions, weights, bank];
  const tallies = new Map<UpsetTarget, Tally>(targets.map((t) => [t, { injected: 0, corrected: 0, detected: 0, silent: 0 }]));
  const firstBlock = new Map<string, number>();
  let blocks = 0;
  for (const r of memory.scrubbed) {
    firstBlock.set(r.name, blocks);
    blocks += r.blocks;
  }
  const passes = memory.channels.scrubPasses;
  const pending = new Map<UpsetTarget, Pending>();

  const resolvedAt = (upset: Upset): number => {
    if (upset.target === bank) return passes.value + 1;
    const region = upset.target as ProtectedRegion | ProtectedWeights;
    const block = firstBlock.get(region.name)! + Math.floor((upset.codeword * 8) / region.blockBytes);
    return scrubber.blocksScrubbed + ((block - scrubber.cursor + blocks) % blocks) + 1;
  };

  const outcome = (p: Pending): keyof Tally => {
    if (p.upset.target === bank) {
      const before = p.corrected;
      for (let i = 0; i < cells.length; i++) {
        let value: number;
        try {
          value = cells[i]!.get();
        } catch (error) {
          if (!(error instanceof TmrDisagreementError)) throw error;
          cells[i]!.set(scalars[i]!);
          return 'detected';
        }
        if (value !== scalars[i]) {
          cells[i]!.set(scalars[i]!);
          return 'silent';
        }
      }
      return bank.counts.corrected > before ? 'corrected' : 'silent';
    }
    if (p.upset.target === weights) {
      const start = Math.floor((p.upset.codeword * 8) / weights.blockBytes) * weights.blockBytes;
      const length = weights.blockLength(start / weights.blockBytes);
      if (!Buffer.from(model.constants.read(start, length)).equals(modelReference.subarray(start, start + length))) {
        model.constants.write(0, modelReference);
        return 'silent';
      }
      if (weightCount('uncorrectable') > p.uncorrectable) return 'detected';
      return weightCount('corrected') > p.corrected ? 'corrected' : 'silent';
    }
    const region = p.upset.target as ProtectedRegion;
    const data = reference.get(region)!;
    const start = Math.floor((p.upset.codeword * 8) / region.blockBytes) * region.blockBytes;
    const length = Math.min(region.blockBytes, region.size - start);
    const expected = data.subarray(start, start + length);
    if (region.isLost || !Buffer.from(region.unverified(start, length)).equals(expected)) {
      const wasLost = region.isLost;
      region.load(data);
      return wasLost ? 'detected' : 'silent';
    }
    const counts = region.counts;
    if (counts.uncorrectable > p.uncorrectable) return 'detected';
    return counts.corrected > p.corrected ? 'corrected' : 'silent';
  };

  const settle = (): void => {
    for (const [target, p] of pending) {
      const now = target === bank ? passes.value : scrubber.blocksScrubbed;
      if (now < p.resolvedAt) continue;
      tallies.get(target)![outcome(p)]++;
      pending.delete(target);
    }
  };
  const frameUs = MINOR_FRAME_MS * 1000;
  let period = 0;
  const advance = (untilUs: number): void => {
    runVirtual(exec, clock, untilUs);
    settle();
    // The outputs of every period the executive has run through.
    for (; (period + 1) * OUTPUT_EVERY_FRAMES * frameUs <= clock.nowUs(); period++) outputs.emit(period, (period + 1) * OUTPUT_EVERY_FRAMES * MINOR_FRAME_MS);
  };
  const nextFrame = (): void => advance(exec.nextDeadlineUs());

  const injector = new SeuInjector(options.seed);
  let arrivalUs = 0;
  for (let i = 0; i < options.upsets; i++) {
    arrivalUs += injector.prng.intervalUs(options.ratePerS);
    advance(arrivalUs);
    const target = injector.pick(targets);
    while (pending.has(target)) nextFrame();
    const counts = target === bank ? { corrected: bank.counts.corrected, uncorrectable: bank.counts.noMajority }
      : target === weights ? { corrected: weightCount('corrected'), uncorrectable: weightCount('uncorrectable') }
        : (target as ProtectedRegion).counts;
    const upset = injector.injectInto(target, options.pattern);
    pending.set(target, { upset, resolvedAt: resolvedAt(upset), corrected: counts.corrected, uncorrectable: counts.uncorrectable });
    tallies.get(target)!.injected++;
  }
  while (pending.size > 0) nextFrame();

  // A last look at everything: nothing may differ from the reference now.
  for (const [region, data] of reference) {
    if (!Buffer.from(region.unverified()).equals(data)) tallies.get(region)!.silent++;
  }
  cells.forEach((c, i) => c.get() !== scalars[i] && tallies.get(bank)!.silent++);
  if (!Buffer.from(model.constants.read(0, model.constants.length)).equals(modelReference)) tallies.get(weights)!.silent++;

  const regions: Record<string, Tally> = {};
  const total: Tally = { injected: 0, corrected: 0, detected: 0, silent: 0 };
  for (const [target, tally] of tallies) {
    regions[target.name] = tally;
    for (const key of Object.keys(total) as (keyof Tally)[]) total[key] += tally[key];
  }
  return {
    regions,
    total,
    pattern: options.pattern,
    seed: options.seed,
    ratePerS: options.ratePerS,
    virtualSeconds: clock.nowUs() / 1e6,
    scrubPeriodS: scrubber.periodS('NOMINAL'),
    scrubPasses: passes.value,
    reloads: memory.regions.reduce((n, r) => n + r.counts.reloads, 0) + weightChannels.reloads.value,
    caughtByCrc: memory.regions.reduce((n, r) => n + r.counts.crcMismatches, 0) + weightChannels.crcMismatches.value,
    outputs: outputs.result(),
  };
}

