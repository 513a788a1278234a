// The executive's state in protected memory: the mode and the frame counter as TMR scalars, the
// slot lists of every mode in a critical region read at the start of each frame. A scalar
// without majority falls back to SAFE (the mode) or to frame 0; the bank has already reported it
// and signalled go-SAFE. Either way the frame counter restarts at 0, so the executive jumps to
// the current frame as after any long lag: frames counted in the old mode's period mean nothing
// in SAFE's, and would put the next deadline far ahead.
import type { RegionMaker } from './node.js';
import type { ProtectedRegion } from './region.js';
import { TmrDisagreementError } from './errors.js';
import type { TmrBank, TmrCell } from './tmr.js';

export const SCHEDULE_REGION = 'schedule';

// Structurally flight/exec's StateCell, ExecState and Schedule (ecc sits beside exec, not above it).
interface StateCell {
  get(): number;
  set(value: number): void;
}

export interface ExecState {
  readonly mode: StateCell;
  readonly frame: StateCell;
  readSlot(mode: number, minor: number, into: Uint8Array): number;
}

interface Schedule {
  readonly modes: ReadonlyMap<string, { readonly slots: readonly (readonly number[])[] }>;
}

class VotedCell implements StateCell {
  constructor(private readonly cell: TmrCell, private readonly fallback: number, private readonly restart: () => void) {}
  get(): number {
    try {
      return this.cell.get();
    } catch (error) {
      if (!(error instanceof TmrDisagreementError)) throw error;
      this.cell.set(this.fallback);
      this.restart();
      return this.fallback;
    }
  }
  set(value: number): void {
    this.cell.set(value);
  }
}

/**
 * Slot records of `1 + widest` bytes, one per minor frame, modes in schedule order:
 * `count | task index x count | zero padding`.
 */
class ProtectedExecState implements ExecState {
  readonly mode: StateCell;
  readonly frame: StateCell;
  private readonly record: Uint8Array;
  /** First record of each mode (metadata on the JS heap, like a region's block table). */
  private readonly firstRecord: number[] = [];

  constructor(schedule: Schedule, private readonly region: ProtectedRegion, bank: TmrBank, stride: number) {
    const safe = [...schedule.modes.keys()].indexOf('SAFE');
    const mode = bank.cell('mode', 0);
    const frame = bank.cell('frame', 0);
    const restart = (): void => frame.set(0);
    this.mode = new VotedCell(mode, safe, restart);
    this.frame = new VotedCell(frame, 0, restart);
    this.record = new Uint8Array(stride);
    let records = 0;
    for (const mode of schedule.modes.values()) {
      this.firstRecord.push(records);
      records += mode.slots.length;
    }
  }

  readSlot(mode: number, minor: number, into: Uint8Array): number {
    const record = this.record;
    this.region.readInto((this.firstRecord[mode]! + minor) * record.length, record);
    const n = record[0]!;
    for (let i = 0; i < n; i++) into[i] = record[1 + i]!;
    return n;
  }
}

/** The executive's state for `schedule`, its tables loaded into a new critical region. */
export function protectedExecState(schedule: Schedule, region: RegionMaker, bank: TmrBank): ExecState {
  let widest = 0;
  let records = 0;
  for (const mode of schedule.modes.values()) {
    records += mode.slots.length;
    for (const slot of mode.slots) widest = Math.max(widest, slot.length);
  }
  const stride = 1 + widest;
  const tables = new Uint8Array(records * stride);
  let at = 0;
  for (const mode of schedule.modes.values()) {
    for (const slot of mode.slots) {
      tables[at] = slot.length;
      tables.set(slot, at + 1);
      at += stride;
    }
  }
  return new ProtectedExecState(schedule, region(SCHEDULE_REGION, tables, true), bank, stride);
}
