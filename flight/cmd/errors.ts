// Every way a command can be refused, as a typed error with a stable code. The dispatcher counts
// rejects per code (one telemetry channel each, flight/cmd/dictionary.ts) and puts the code in
// the response the ground receives.
import { TernError } from '../errors.js';

export const REJECT_CODES = [
  'CMD_MALFORMED',
  'CMD_WRONG_TARGET',
  'CMD_EXPIRED',
  'CMD_LIFETIME_EXCEEDED',
  'CMD_UNKNOWN_OPCODE',
  'CMD_BAD_ARGUMENT',
  'CMD_UNKNOWN_OPERATOR',
  'CMD_REVOKED_KEY',
  'CMD_NOT_AUTHORIZED',
  'CMD_REPLAY',
  'CMD_BAD_SIGNATURE',
  'CMD_RATE_LIMITED',
  'CMD_QUEUE_FULL',
  'CMD_MISSING_APPROVALS',
] as const;

export type RejectCode = (typeof REJECT_CODES)[number];

/** A command refused before its handler ran. */
export abstract class CommandRejected extends TernError {
  abstract override readonly code: RejectCode;
}

/** Not CBOR, not the envelope's shape, an unsupported version, or too large. */
export class MalformedEnvelope extends CommandRejected {
  readonly code = 'CMD_MALFORMED';
  constructor(detail: string) {
    super(`malformed command envelope: ${detail}`);
    this.name = 'MalformedEnvelope';
  }
}

/**
 * An envelope refused by the CBOR bounds check before decoding (a tag such as a bignum, nesting,
 * item count or string size): malformed, and counted apart as the mark of a hostile sender.
 */
export class EnvelopeOutOfBounds extends MalformedEnvelope {
  constructor(what: string, detail: string) {
    super(`${what}: ${detail}`);
    this.name = 'EnvelopeOutOfBounds';
  }
}

export class WrongTarget extends CommandRejected {
  readonly code = 'CMD_WRONG_TARGET';
  constructor(readonly target: number, readonly node: number) {
    super(`command addressed to node ${target}, this is node ${node}`);
    this.name = 'WrongTarget';
  }
}

export class Expired extends CommandRejected {
  readonly code = 'CMD_EXPIRED';
  constructor(readonly expiryMs: number, readonly nowMs: number) {
    super(`command expired at ${new Date(expiryMs).toISOString()} (now ${new Date(nowMs).toISOString()})`);
    this.name = 'Expired';
  }
}

/** An expiry further ahead than the mission allows: it would keep a replay window open too long. */
export class LifetimeExceeded extends CommandRejected {
  readonly code = 'CMD_LIFETIME_EXCEEDED';
  constructor(readonly expiryMs: number, readonly maxLifetimeS: number) {
    super(`command expiry ${new Date(expiryMs).toISOString()} is more than ${maxLifetimeS} s ahead`);
    this.name = 'LifetimeExceeded';
  }
}

export class UnknownOpcode extends CommandRejected {
  readonly code = 'CMD_UNKNOWN_OPCODE';
  constructor(readonly opcode: number) {
    super(`unknown opcode 0x${opcode.toString(16).padStart(4, '0')}`);
    this.name = 'UnknownOpcode';
  }
}

/** An argument missing, of the wrong type, out of range or too long. Names the argument. */
export class BadArgument extends CommandRejected {
  readonly code = 'CMD_BAD_ARGUMENT';
  constructor(readonly command: string, readonly argument: string, readonly expected: string, readonly got?: string) {
    super(`${command} ${argument}: expected ${expected}${got === undefined ? '' : `, got ${got}`}`);
    this.name = 'BadArgument';
  }
}

export class UnknownOperator extends CommandRejected {
  readonly code = 'CMD_UNKNOWN_OPERATOR';
  constructor(readonly operator: number, detail = 'no such operator') {
    super(`operator ${operator}: ${detail}`);
    this.name = 'UnknownOperator';
  }
}

export class RevokedKey extends CommandRejected {
  readonly code = 'CMD_REVOKED_KEY';
  constructor(readonly operator: number, keyId: string) {
    super(`operator ${operator}: key ${keyId} is revoked`);
    this.name = 'RevokedKey';
  }
}

/** The signer's roles do not allow what it asked (originate a command). */
export class NotAuthorized extends CommandRejected {
  readonly code = 'CMD_NOT_AUTHORIZED';
  constructor(readonly operator: number, detail: string) {
    super(`operator ${operator}: ${detail}`);
    this.name = 'NotAuthorized';
  }
}

export class Replay extends CommandRejected {
  readonly code = 'CMD_REPLAY';
  constructor(readonly operator: number, readonly seq: number, detail: string) {
    super(`operator ${operator} sequence ${seq}: ${detail}`);
    this.name = 'Replay';
  }
}

export class BadSignature extends CommandRejected {
  readonly code = 'CMD_BAD_SIGNATURE';
  constructor(readonly operator: number, detail = 'signature does not verify') {
    super(`operator ${operator}: ${detail}`);
    this.name = 'BadSignature';
  }
}

/** Dropped before verification: the verification token bucket was empty. */
export class RateLimited extends CommandRejected {
  readonly code = 'CMD_RATE_LIMITED';
  constructor(source: string) {
    super(`verification rate limit of ${source} reached: envelope dropped`);
    this.name = 'RateLimited';
  }
}

export class QueueFull extends CommandRejected {
  readonly code = 'CMD_QUEUE_FULL';
  constructor(what: string, capacity: number) {
    super(`${what} full (${capacity}): dropped`);
    this.name = 'QueueFull';
  }
}

/** A critical command whose approval window closed before k operators signed it. */
export class MissingApprovals extends CommandRejected {
  readonly code = 'CMD_MISSING_APPROVALS';
  constructor(readonly have: number, readonly need: number, detail = 'approval window closed') {
    super(`critical command has ${have} of ${need} approvals: ${detail}`);
    this.name = 'MissingApprovals';
  }
}

/** A co-signature the ground tool will not add (the operator already signed, or no room is left). */
export class CosignRefused extends TernError {
  readonly code = 'CMD_COSIGN_REFUSED';
  constructor(detail: string) {
    super(`cannot co-sign: ${detail}`);
    this.name = 'CosignRefused';
  }
}

/** A handler refused to act on valid arguments (e.g. revoking the last approver). */
export class CommandFailed extends TernError {
  readonly code = 'CMD_FAILED';
  constructor(detail: string) {
    super(detail);
    this.name = 'CommandFailed';
  }
}

/** A command bundle reached a node whose mission config has no `cmd` section: nothing can run. */
export class CommandingAbsent extends TernError {
  readonly code = 'CMD_NOT_CONFIGURED';
  constructor(file: string) {
    super(`this node takes no commands: ${file} has no cmd section`);
    this.name = 'CommandingAbsent';
  }
}

/** A persisted record (parameters, keys, replay state) is corrupt in both copies, or invalid. */
export class RecordCorrupt extends TernError {
  readonly code = 'CMD_RECORD_CORRUPT';
  constructor(readonly file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'RecordCorrupt';
  }
}

/** A stored sequence that does not decode or validate against the dictionary. */
export class SequenceInvalid extends TernError {
  readonly code = 'CMD_SEQUENCE_INVALID';
  constructor(detail: string) {
    super(`sequence invalid: ${detail}`);
    this.name = 'SequenceInvalid';
  }
}
