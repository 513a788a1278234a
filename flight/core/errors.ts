// Typed errors of the WASM core's coding functions. Input a caller got wrong is FecInputError;
// a received code block that cannot be decoded is RsUncorrectableError.
import { describe, TernError } from '../errors.js';

/** An argument to an FEC, erasure or EDAC function is malformed: names it and what was expected. */
export class FecInputError extends TernError {
  readonly code = 'FEC_BAD_INPUT';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got?: unknown,
  ) {
    super(`${field}: expected ${expected}` + (got === undefined ? '' : `, got ${render(got)}`));
    this.name = 'FecInputError';
  }
}

/** Text as it is (it is a description such as "3 digits" or a short user word), other values
 *  in their log-safe JSON form. */
function render(got: unknown): string {
  return typeof got === 'string' ? (got.length > 60 ? `${got.slice(0, 57)}...` : got) : describe(got);
}

/** One or more Reed-Solomon codewords have more errors than the code corrects (2e + f > 32). */
export class RsUncorrectableError extends TernError {
  readonly code = 'FEC_RS_UNCORRECTABLE';
  constructor(
    /** Indexes of the uncorrectable codewords (block * interleave + codeword in block). */
    readonly codewords: readonly number[],
    readonly total: number,
  ) {
    super(`${codewords.length} of ${total} Reed-Solomon codewords uncorrectable (codewords ${codewords.slice(0, 8).join(', ')}${codewords.length > 8 ? ', ...' : ''})`);
    this.name = 'RsUncorrectableError';
  }
}
