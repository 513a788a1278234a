// Typed errors of the LTP engine. Every flaw in a received segment is an
// LtpMalformedSegmentError whose code names the flaw (the counter key); the outcomes of sending
// a block (cancelled by either side, limits) have their own classes.
import { TernError } from '../../errors.js';
import { ClaProtocolError } from '../errors.js';

export type LtpSegmentFlaw =
  | 'LTP_TRUNCATED' | 'LTP_SDNV_OVERFLOW' | 'LTP_BAD_VERSION' | 'LTP_UNDEFINED_TYPE' | 'LTP_TRAILING_BYTES'
  | 'LTP_EMPTY_DATA' | 'LTP_BAD_SERIAL' | 'LTP_BAD_REPORT' | 'LTP_BAD_REASON'
  | 'LTP_UNKNOWN_ENGINE' | 'LTP_BLOCK_TOO_LARGE' | 'LTP_INCONSISTENT' | 'LTP_NOT_OURS';

/** A segment that breaks RFC 5326 or this engine's stated limits. */
export class LtpMalformedSegmentError extends ClaProtocolError {
  constructor(readonly code: LtpSegmentFlaw, message: string) {
    super(message);
    this.name = 'LtpMalformedSegmentError';
  }
}

/** The session of a block ended without the whole block reported received. */
export class LtpSessionCancelledError extends TernError {
  readonly code = 'LTP_SESSION_CANCELLED';
  constructor(readonly by: 'sender' | 'receiver', readonly reason: number, detail: string) {
    super(`LTP session cancelled by the ${by} (reason ${reason}): ${detail}`);
    this.name = 'LtpSessionCancelledError';
  }
}

/** No export session free for this neighbour: `maxExportSessions` blocks already in flight. */
export class LtpSessionLimitError extends TernError {
  readonly code = 'LTP_SESSION_LIMIT';
  constructor(readonly engine: number, readonly limit: number) {
    super(`LTP: ${limit} export sessions to engine ${engine} in flight (limit)`);
    this.name = 'LtpSessionLimitError';
  }
}

/** A block (bundle) larger than `maxBlockBytes`, sent or announced. */
export class LtpBlockTooLargeError extends TernError {
  readonly code = 'LTP_BLOCK_TOO_LARGE';
  constructor(readonly length: number, readonly limit: number) {
    super(`LTP block of ${length} bytes exceeds maxBlockBytes ${limit}`);
    this.name = 'LtpBlockTooLargeError';
  }
}

/** A received block that is not a sequence of whole bundles (CBOR items), so none is delivered. */
export class LtpBlockError extends TernError {
  readonly code = 'LTP_BAD_BLOCK';
  constructor(detail: string) {
    super(`LTP block: ${detail}`);
    this.name = 'LtpBlockError';
  }
}
