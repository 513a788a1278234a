// Typed errors of the HIL bench tools.
import { TernError } from '../flight/errors.js';

/** A bench command's option is missing or malformed; names the option and what it takes. */
export class HilInputError extends TernError {
  readonly code = 'HIL_BAD_INPUT';
  constructor(readonly option: string, readonly expected: string, readonly got: unknown) {
    super(`--${option}: expected ${expected}, got ${JSON.stringify(got) ?? 'nothing'}`);
    this.name = 'HilInputError';
  }
}

/** The run was interrupted (SIGINT, SIGTERM) before its first scenario: the node never started. */
export class HilInterrupted extends TernError {
  readonly code = 'HIL_INTERRUPTED';
  constructor(what: string) {
    super(`interrupted ${what}`);
    this.name = 'HilInterrupted';
  }
}
