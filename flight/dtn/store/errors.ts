// Typed errors of the bundle store. Refusals carry the RFC 9171 status report reason code the
// agent puts in its "deleted" report; corruption names the file and offset; an I/O failure
// leaves the store refusing writes until it is reopened (recovery then tells the truth), a full
// device until space returns.
import { TernError } from '../../errors.js';

/**
 * RFC 9171 6.1.1 status report reason codes the store itself uses. Any other code (no route,
 * hop limit, ...) is the agent's to choose and passes through delete() unchanged.
 */
export const StoreReason = {
  noInformation: 0,
  lifetimeExpired: 1,
  depletedStorage: 4,
  /** A stored bundle damaged beyond repair (scrubbing): its blocks can no longer be parsed or trusted. */
  blockUnintelligible: 8,
} as const;

/** The store will not take a bundle: full, over its source's quota, or too large. */
export class StoreRefusedError extends TernError {
  readonly code: 'STORE_FULL' | 'STORE_QUOTA' | 'STORE_TOO_LARGE';
  /** RFC 9171 reason code for the "deleted" status report: always depleted storage (4). */
  readonly reason = StoreReason.depletedStorage;
  constructor(
    readonly limit: 'capacity' | 'quota' | 'size',
    readonly id: string,
    readonly needBytes: number,
    readonly freeBytes: number,
  ) {
    super(`bundle ${id}: refused, ${limit} exhausted (needs ${needBytes} bytes, ${freeBytes} free)`);
    this.code = limit === 'capacity' ? 'STORE_FULL' : limit === 'quota' ? 'STORE_QUOTA' : 'STORE_TOO_LARGE';
    this.name = 'StoreRefusedError';
  }
}

/** A bundle with this id is already stored (or being stored): duplicate suppression. */
export class StoreDuplicateError extends TernError {
  readonly code = 'STORE_DUPLICATE';
  constructor(readonly id: string) {
    super(`bundle ${id}: already stored`);
    this.name = 'StoreDuplicateError';
  }
}

/** The caller handed put() metadata the store cannot record. */
export class StoreMetaError extends TernError {
  readonly code = 'STORE_BAD_META';
  constructor(
    readonly field: string,
    readonly expected: string,
  ) {
    super(`bundle metadata: ${field}: expected ${expected}`);
    this.name = 'StoreMetaError';
  }
}

/** A record on disk failed its checks (CRC, magic, position, length). */
export class StoreCorruptError extends TernError {
  readonly code = 'STORE_CORRUPT';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    /** The bundle it held, when its metadata could still be trusted. */
    readonly id?: string,
  ) {
    super(`${file} at ${offset}: ${reason}${id === undefined ? '' : ` (bundle ${id})`}`);
    this.name = 'StoreCorruptError';
  }
}

/** The directory holds a store this build cannot read (a newer format version). */
export class StoreFormatError extends TernError {
  readonly code = 'STORE_FORMAT';
  constructor(
    readonly file: string,
    readonly version: number,
  ) {
    super(`${file}: store format version ${version} is not supported by this build`);
    this.name = 'StoreFormatError';
  }
}

/** Another live process has the store open for writing. */
export class StoreLockedError extends TernError {
  readonly code = 'STORE_LOCKED';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`${dir}: bundle store is open in process ${pid}`);
    this.name = 'StoreLockedError';
  }
}

/** A write or fsync failed; the store refuses writes until reopened (StoreNoSpaceError: until space returns). */
export class StoreIoError extends TernError {
  readonly code: 'STORE_IO' | 'STORE_NO_SPACE' = 'STORE_IO';
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`bundle store ${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreIoError';
  }
}

/**
 * The device is full (ENOSPC, EDQUOT): writes are refused, as after any I/O failure, until
 * space returns; then the store's maintenance probes for it and resumes by itself (resume()).
 */
export class StoreNoSpaceError extends StoreIoError {
  override readonly code = 'STORE_NO_SPACE';
  /** RFC 9171 reason code for the "deleted" status report of a bundle refused meanwhile. */
  readonly reason = StoreReason.depletedStorage;
  constructor(operation: string, cause: unknown) {
    super(operation, cause);
    this.name = 'StoreNoSpaceError';
  }
}

/** Whether `error` says the device (or the user's quota) is full. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The store was closed. */
export class StoreClosedError extends TernError {
  readonly code = 'STORE_CLOSED';
  constructor() {
    super('bundle store is closed');
    this.name = 'StoreClosedError';
  }
}
