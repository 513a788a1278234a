// The one error type of the bundle codec, BPSec and the bundle policy checks. Every rejection
// names its code (a telemetry counter), the block, the field and the reason, and carries the
// RFC 9171 status report reason code the agent puts in a "deleted" report.
import { TernError } from '../errors.js';

/** RFC 9171 6.1.1 status report reason codes (9171 Table 7, and 9172 section 11.2 for 12-16). */
export const StatusReason = {
  noInformation: 0,
  lifetimeExpired: 1,
  forwardedOverUnidirectionalLink: 2,
  transmissionCanceled: 3,
  depletedStorage: 4,
  destinationUnavailable: 5,
  noRoute: 6,
  noTimelyContact: 7,
  blockUnintelligible: 8,
  hopLimitExceeded: 9,
  trafficPared: 10,
  blockUnsupported: 11,
  missingSecurityOperation: 12,
  unknownSecurityOperation: 13,
  unexpectedSecurityOperation: 14,
  failedSecurityOperation: 15,
  conflictingSecurityOperation: 16,
} as const;

export type StatusReasonCode = number;

/**
 * Stable codes, one telemetry counter each (flight/dtn/dictionary.ts). BUNDLE_* up to
 * BUNDLE_SECURITY are structural (decode), the next four are policy, BPSEC_* are security
 * operations, the last two are administrative records and reassembly.
 */
export const BUNDLE_ERROR_CODES = [
  'BUNDLE_TOO_LARGE',
  'BUNDLE_CBOR',
  'BUNDLE_STRUCTURE',
  'BUNDLE_VERSION',
  'BUNDLE_EID',
  'BUNDLE_CRC',
  'BUNDLE_FLAGS',
  'BUNDLE_FRAGMENT',
  'BUNDLE_BLOCK',
  'BUNDLE_SECURITY',
  'BUNDLE_POLICY',
  'BUNDLE_EXPIRED',
  'BUNDLE_HOP_LIMIT',
  'BUNDLE_UNSUPPORTED_BLOCK',
  'BPSEC_INTEGRITY',
  'BPSEC_CONFIDENTIALITY',
  'BPSEC_KEY',
  'BUNDLE_ADMIN_RECORD',
  'BUNDLE_REASSEMBLY',
] as const;

export type BundleErrorCode = (typeof BUNDLE_ERROR_CODES)[number];

/** Where in the bundle: index 0 is the primary block, then canonical blocks in wire order. */
export interface BlockRef {
  readonly index: number;
  readonly type?: number;
  readonly number?: number;
}

const DEFAULT_REASON: Partial<Record<BundleErrorCode, StatusReasonCode>> = {
  BUNDLE_EXPIRED: StatusReason.lifetimeExpired,
  BUNDLE_HOP_LIMIT: StatusReason.hopLimitExceeded,
  BUNDLE_UNSUPPORTED_BLOCK: StatusReason.blockUnsupported,
  BPSEC_INTEGRITY: StatusReason.failedSecurityOperation,
  BPSEC_CONFIDENTIALITY: StatusReason.failedSecurityOperation,
  BPSEC_KEY: StatusReason.missingSecurityOperation,
  BUNDLE_SECURITY: StatusReason.conflictingSecurityOperation,
};

export class BundleError extends TernError {
  /** RFC 9171 reason code for the "deleted" status report of a bundle rejected with this error. */
  readonly statusReason: StatusReasonCode;

  constructor(
    readonly code: BundleErrorCode,
    /** Dotted path of the offending field, e.g. `primary.destination` or `block.hopCount.limit`. */
    readonly field: string,
    readonly reason: string,
    readonly block?: BlockRef,
    statusReason?: StatusReasonCode,
  ) {
    super(`${code}: ${where(block)}${field}: ${reason}`);
    this.name = 'BundleError';
    this.statusReason = statusReason ?? DEFAULT_REASON[code] ?? StatusReason.blockUnintelligible;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      field: this.field,
      reason: this.reason,
      ...(this.block ? { block: this.block } : {}),
      statusReason: this.statusReason,
    };
  }
}

function where(block: BlockRef | undefined): string {
  if (!block) return '';
  if (block.index === 0) return 'primary block: ';
  const parts = [`block #${block.index}`];
  if (block.number !== undefined) parts.push(`number ${block.number}`);
  if (block.type !== undefined) parts.push(`type ${block.type}`);
  return `${parts.join(' ')}: `;
}
