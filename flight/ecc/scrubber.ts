// The scrubber: an executive task that walks every protected region block by block with a
// cursor, at most `budgetBytes` per slot, correcting single-bit errors in place and checking
// each block's CRC-32C (the region counts, reports and reloads). One pass over everything takes
// the scrub period, which follows from the budget and from how often the mode's schedule runs
// the task; it is published as telemetry whenever the mode or the set of regions changes. At the
// end of each pass every TMR scalar is voted too.
import type { Criticality, FrameInfo, Task } from '../exec/task.js';
import { RegionLostError } from './errors.js';
import type { ProtectedMemory } from './memory.js';

export const SCRUB_TASK = 'ecc.scrub';

export interface ScrubberOptions {
  /** Bytes scrubbed per slot (whole blocks; at least one block per slot). */
  readonly budgetBytes: number;
  /** Time the task may use per slot, microseconds (what the executive checks). */
  readonly budgetUs: number;
  readonly criticality?: Criticality;
}

/** The shape of a schedule the period is computed from (structurally flight/exec's Schedule). */
export interface ScrubSchedule {
  readonly modes: ReadonlyMap<string, { readonly minorFrameUs: number; readonly slots: readonly (readonly number[])[] }>;
  readonly tasks: readonly { readonly name: string }[];
}

/** Slots needed for one pass over blocks of the given lengths at `budgetBytes` per slot. */
export function slotsPerPass(blockLengths: readonly number[], budgetBytes: number): number {
  let slots = 0;
  let used = budgetBytes;
  for (const length of blockLengths) {
    if (used > 0 && used + length > budgetBytes) {
      slots++;
      used = 0;
    }
    used += length;
  }
  return slots;
}

export class Scrubber implements Task {
  readonly name = SCRUB_TASK;
  readonly criticality: Criticality;
  readonly budgetUs: number;
  readonly budgetBytes: number;
  /** Blocks scrubbed since start (campaigns measure distance along the cursor with it). */
  blocksScrubbed = 0;
  private region = 0;
  private block = 0;
  private passStartUs: number | undefined;
  private schedule: ScrubSchedule | undefined;
  private periodFor = { mode: '', version: -1 };

  constructor(private readonly memory: ProtectedMemory, options: ScrubberOptions) {
    if (!Number.isInteger(options.budgetBytes) || options.budgetBytes <= 0) throw new Error(`scrubber budgetBytes ${options.budgetBytes} is not a positive integer`);
    this.budgetBytes = options.budgetBytes;
    this.budgetUs = options.budgetUs;
    this.criticality = options.criticality ?? 'low';
  }

  /** The schedule this task runs in, for the scrub period (set once the schedule is parsed). */
  useSchedule(schedule: ScrubSchedule): void {
    this.schedule = schedule;
    this.periodFor.version = -1;
  }

  /** Where the cursor stands: the next block to scrub, as an index over all regions' blocks. */
  get cursor(): number {
    let index = this.block;
    for (let r = 0; r < this.region; r++) index += this.memory.scrubbed[r]!.blocks;
    return index;
  }

  /** Seconds for one full pass in `mode`; Infinity if the mode does not run the scrubber. */
  periodS(mode: string): number {
    const table = this.schedule?.modes.get(mode);
    if (!table) return Infinity;
    const me = this.schedule!.tasks.findIndex((t) => t.name === SCRUB_TASK);
    const runsPerMajor = table.slots.reduce((n, slot) => n + slot.filter((i) => i === me).length, 0);
    if (runsPerMajor === 0) return Infinity;
    const lengths = this.memory.scrubbed.flatMap((r) => Array.from({ length: r.blocks }, (_, b) => r.blockLength(b)));
    const majorFrameUs = table.slots.length * table.minorFrameUs;
    return (slotsPerPass(lengths, this.budgetBytes) / runsPerMajor) * majorFrameUs / 1e6;
  }

  run(frame: FrameInfo): void {
    const regions = this.memory.scrubbed;
    if (regions.length === 0) return;
    const ch = this.memory.channels;
    if (this.periodFor.mode !== frame.mode || this.periodFor.version !== this.memory.version) {
      this.periodFor = { mode: frame.mode, version: this.memory.version };
      ch.scrubPeriodS.set(this.periodS(frame.mode));
    }
    this.passStartUs ??= frame.deadlineUs;
    let bytes = 0;
    for (;;) {
      const region = regions[this.region]!;
      // A model's weights replaced by another model can have fewer blocks than the cursor stood at.
      if (this.block >= region.blocks) this.block = 0;
      const length = region.blockLength(this.block);
      if (bytes > 0 && bytes + length > this.budgetBytes) break;
      try {
        region.scrubBlock(this.block);
      } catch (error) {
        // A lost region has already counted, reported and signalled it; the pass goes on.
        if (!(error instanceof RegionLostError)) throw error;
      }
      bytes += length;
      this.blocksScrubbed++;
      if (++this.block === region.blocks) {
        this.block = 0;
        if (++this.region === regions.length) {
          this.region = 0;
          for (const bank of this.memory.banks) bank.scrub();
          ch.scrubPasses.add(1);
          ch.scrubLastPassS.set((frame.deadlineUs - this.passStartUs) / 1e6);
          this.passStartUs = frame.deadlineUs;
        }
      }
    }
    ch.scrubBytes.add(bytes);
  }
}
