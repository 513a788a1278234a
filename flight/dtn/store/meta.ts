// What the store knows about a bundle: the metadata record its caller (the agent) supplies with
// the bundle's bytes. The store never decodes the bytes; everything its policies need is here.
import { StoreMetaError } from './errors.js';

/** Priority classes, lowest first; the index is the on-disk code. */
export const PRIORITIES = ['bulk', 'normal', 'expedited'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Why the bundle is held: its RFC 9171 retention constraint (5.4 dispatch and forward pending,
 * 5.9 reassembly pending), or a local delivery deferred until its service registers. The index
 * is the on-disk code.
 */
export const STATES = ['dispatch-pending', 'forward-pending', 'reassembly-pending', 'delivery-pending'] as const;
export type BundleState = (typeof STATES)[number];

export interface BundleMeta {
  /** The caller's key (e.g. source EID, creation timestamp and fragment offset); printable ASCII. */
  readonly id: string;
  /** Source EID, printable ASCII (`ipn:12.1`, `dtn://sat-12/tlm`). Per-source quotas key on it. */
  readonly source: string;
  readonly destination: string;
  readonly priority: Priority;
  readonly state: BundleState;
  /** Bundle creation time, milliseconds since the Unix epoch (0: the source had no clock). */
  readonly creationMs: number;
  /** When the bundle's lifetime ends, milliseconds since the Unix epoch. */
  readonly expiryMs: number;
  /**
   * Where the "deleted" status report goes, when the bundle asked for one (RFC 9171 4.2.3). Kept
   * with the metadata, apart from the bundle's bytes, so that a bundle whose bytes are damaged
   * beyond repair can still be reported (quarantine).
   */
  readonly reportTo?: string;
  /** The bundle asked for the status time in its reports. */
  readonly reportTime?: boolean;
}

/** A stored bundle as list() and `tern store ls` report it. */
export interface StoredBundle extends BundleMeta {
  /** Length of the bundle's bytes. */
  readonly size: number;
}

/** Ids and EIDs: 1 to 1024 printable ASCII characters, so they print and index without escaping. */
export const MAX_NAME_LENGTH = 1024;
const PRINTABLE = /^[\x21-\x7e]+$/;

function name(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH || !PRINTABLE.test(value)) {
    throw new StoreMetaError(field, `1 to ${MAX_NAME_LENGTH} printable ASCII characters`);
  }
  return value;
}

function time(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StoreMetaError(field, 'a whole number of milliseconds >= 0');
  }
  return value;
}

/** Checks the caller's metadata before anything is written; throws StoreMetaError. */
export function validateMeta(meta: BundleMeta): void {
  name(meta.id, 'id');
  name(meta.source, 'source');
  name(meta.destination, 'destination');
  if (!PRIORITIES.includes(meta.priority)) throw new StoreMetaError('priority', `one of ${PRIORITIES.join(', ')}`);
  if (!STATES.includes(meta.state)) throw new StoreMetaError('state', `one of ${STATES.join(', ')}`);
  time(meta.creationMs, 'creationMs');
  time(meta.expiryMs, 'expiryMs');
  if (meta.reportTo !== undefined) name(meta.reportTo, 'reportTo');
}
