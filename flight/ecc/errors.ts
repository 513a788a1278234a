// Typed errors of protected memory. A caller that reads a region gets either correct bytes or one
// of these; nothing here returns data it knows to be wrong.
import { TernError } from '../errors.js';

/** An accessor was called with an offset or length outside its region: a programming error in
 *  the caller, reported with the region and the range asked for. */
export class RegionAccessError extends TernError {
  readonly code = 'ECC_BAD_ACCESS';
  constructor(readonly region: string, readonly offset: number, readonly length: number, readonly size: number) {
    super(`region ${region}: bytes [${offset}, ${offset + length}) outside its ${size} bytes`);
    this.name = 'RegionAccessError';
  }
}

/** A region held an uncorrectable word and could not be reloaded from its golden copy: its
 *  contents are unknown until it is written again. */
export class RegionLostError extends TernError {
  readonly code = 'ECC_REGION_LOST';
  constructor(readonly region: string, readonly reason: string) {
    super(`region ${region}: uncorrectable error and no valid golden copy (${reason})`);
    this.name = 'RegionLostError';
  }
}

/** A golden copy file is missing, malformed, or damaged beyond what its RS parity corrects. */
export class GoldenCopyError extends TernError {
  readonly code = 'ECC_GOLDEN_INVALID';
  constructor(readonly file: string, readonly reason: string) {
    super(`golden copy ${file}: ${reason}`);
    this.name = 'GoldenCopyError';
  }
}

/** All three copies of a TMR scalar differ: no majority, the value is unknown. */
export class TmrDisagreementError extends TernError {
  readonly code = 'ECC_TMR_NO_MAJORITY';
  constructor(readonly cell: string) {
    super(`TMR scalar ${cell}: the three copies all differ`);
    this.name = 'TmrDisagreementError';
  }
}

/** A campaign or injection option is malformed: names it and what was expected. */
export class SeuInputError extends TernError {
  readonly code = 'SEU_BAD_INPUT';
  constructor(readonly field: string, readonly expected: string, readonly got: unknown) {
    super(`${field}: expected ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'SeuInputError';
  }
}
