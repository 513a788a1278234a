// The bundle as Tern holds it (RFC 9171 section 4): a typed view over its exact encoding. A Bundle
// is immutable and always encoded: every block keeps the bytes it arrived (or was built) with,
// so forwarding an untouched block re-sends exactly what was received, and a change to one block
// (hop count, bundle age) re-encodes that block only.
import type { SecurityBlock } from './asb.js';
import { eidToString, type Eid } from './eid.js';

/** Bundle processing control flags (RFC 9171 4.2.3). */
export const BundleFlag = {
  isFragment: 0x000001,
  adminRecord: 0x000002,
  mustNotFragment: 0x000004,
  appAckRequested: 0x000020,
  statusTimeRequested: 0x000040,
  reportReception: 0x004000,
  reportForwarding: 0x010000,
  reportDelivery: 0x020000,
  reportDeletion: 0x040000,
} as const;

/**
 * `flags` with `bit` (one of the flags above, all below 2^31) set or cleared. Received flags may
 * carry unassigned bits up to 2^53, which JS bit operators (32-bit) would destroy.
 */
export function withFlag(flags: number, bit: number, on: boolean): number {
  const low = flags % 0x100000000;
  return flags - low + ((on ? low | bit : low & ~bit) >>> 0);
}

export const STATUS_REPORT_FLAGS =
  BundleFlag.reportReception | BundleFlag.reportForwarding | BundleFlag.reportDelivery | BundleFlag.reportDeletion;

/** Block processing control flags (RFC 9171 4.2.4). */
export const BlockFlag = {
  replicate: 0x01,
  reportIfUnprocessed: 0x02,
  deleteBundleIfUnprocessed: 0x04,
  discardIfUnprocessed: 0x10,
} as const;

/** Block type codes Tern processes. 193 is ION's Quality of Service block (private range). */
export const BlockType = {
  payload: 1,
  previousNode: 6,
  bundleAge: 7,
  hopCount: 10,
  integrity: 11,
  confidentiality: 12,
  qualityOfService: 193,
} as const;

export const KNOWN_BLOCK_TYPES: ReadonlySet<number> = new Set(Object.values(BlockType));

/** CRC types (RFC 9171 4.2.1): none, CRC-16/X.25, CRC-32C. */
export type CrcType = 0 | 1 | 2;
export const CRC_NONE = 0;
export const CRC_16 = 1;
export const CRC_32C = 2;

export interface FragmentInfo {
  /** Offset of this fragment's payload within the original application data unit. */
  readonly offset: number;
  /** Length of the whole original application data unit. */
  readonly totalLength: number;
}

export interface PrimaryBlock {
  readonly version: 7;
  readonly flags: number;
  readonly crcType: CrcType;
  readonly destination: Eid;
  readonly source: Eid;
  readonly reportTo: Eid;
  /** DTN time (ms since 2000-01-01T00:00:00Z) of creation; 0 when the source had no clock. */
  readonly creationTime: number;
  readonly sequence: number;
  /** Milliseconds after creation at which the bundle expires. */
  readonly lifetime: number;
  /** Present exactly when the isFragment flag is set. */
  readonly fragment?: FragmentInfo;
  /** Exact encoding, CRC included. */
  readonly bytes: Uint8Array;
}

export interface Block {
  readonly type: number;
  readonly number: number;
  readonly flags: number;
  readonly crcType: CrcType;
  /** Block-type-specific data (for a BCB target: the ciphertext). */
  readonly data: Uint8Array;
  /** Exact encoding, CRC included. */
  readonly bytes: Uint8Array;
}

export interface HopCount {
  readonly limit: number;
  readonly count: number;
}

/** ION's Quality of Service block: class 0 bulk, 1 standard, 2 expedited; ordinal 0-254. */
export interface QualityOfService {
  readonly flags: number;
  readonly priority: Priority;
  readonly ordinal: number;
  readonly dataLabel: number;
}

export type Priority = 0 | 1 | 2;
export const PRIORITY_STANDARD = 1;

export interface Bundle {
  readonly primary: PrimaryBlock;
  /** Canonical blocks in wire order; the payload block (number 1) is last. */
  readonly blocks: readonly Block[];
  /** Exact encoding of the whole bundle. */
  readonly bytes: Uint8Array;
  /** Parsed extension blocks; absent when the block is missing or encrypted. */
  readonly previousNode?: Eid;
  readonly bundleAge?: number;
  readonly hopCount?: HopCount;
  readonly qos?: QualityOfService;
  /** BIBs and BCBs in wire order (a BIB's ASB is absent while a BCB encrypts it). */
  readonly security: readonly SecurityBlock[];
  /** Numbers of the blocks some BCB encrypts. */
  readonly encrypted: ReadonlySet<number>;
}

/** Bounds on what one received bundle may cost. */
export interface CodecLimits {
  readonly maxBundleBytes: number;
  readonly maxBlocks: number;
}

export const DEFAULT_LIMITS: CodecLimits = { maxBundleBytes: 16 * 1024 * 1024, maxBlocks: 64 };

/** DTN epoch, 2000-01-01T00:00:00Z, in Unix milliseconds. */
export const DTN_EPOCH_UNIX_MS = 946_684_800_000;

/** Current DTN time in milliseconds (RFC 9171 4.2.6). */
export function dtnNow(unixMs = Date.now()): number {
  return unixMs - DTN_EPOCH_UNIX_MS;
}

export function payloadBlock(bundle: Bundle): Block {
  // The codec guarantees the payload block is present and last.
  return bundle.blocks[bundle.blocks.length - 1]!;
}

/**
 * Identity of the application data unit: source, creation time and sequence (RFC 9171 4.2.6
 * with 5.9 for fragments, which share it). Reassembly groups fragments by this key.
 */
export function aduKey(bundle: Bundle): string {
  const p = bundle.primary;
  return `${eidToString(p.source)}|${p.creationTime}|${p.sequence}`;
}

/**
 * Identity of this bundle for duplicate suppression: the ADU key plus, for a fragment, its
 * offset and payload length (RFC 9171 3.1 "bundle ID" extended by the fragment's place).
 */
export function bundleKey(bundle: Bundle): string {
  const f = bundle.primary.fragment;
  if (!f) return aduKey(bundle);
  return `${aduKey(bundle)}|${f.offset}|${payloadBlock(bundle).data.length}`;
}

/**
 * DTN time at which the bundle expires. With a creation time, creation + lifetime. Without a
 * clock at the source (creation time 0) the age is all there is: it expires `lifetime - age`
 * after it was received here (`receivedAt`, DTN ms), RFC 9171 4.2.6 and 4.4.2.
 */
export function expiresAt(bundle: Bundle, receivedAt: number): number {
  const p = bundle.primary;
  if (p.creationTime !== 0) return p.creationTime + p.lifetime;
  return receivedAt + p.lifetime - (bundle.bundleAge ?? 0);
}

export function isExpired(bundle: Bundle, now: number, receivedAt: number): boolean {
  return now > expiresAt(bundle, receivedAt);
}

/** Forwarding priority from the QoS block; standard when there is none. */
export function bundlePriority(bundle: Bundle): Priority {
  return bundle.qos?.priority ?? PRIORITY_STANDARD;
}
