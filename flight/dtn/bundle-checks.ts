// Checks across the blocks of a bundle, shared by decode and by every function that builds one
// (RFC 9171 4.1-4.4: numbers, layout, the extension blocks Tern reads, keyless BPSec rules).
import { checkSecurityRules, readAsb, type Asb, type SecurityBlock } from './asb.js';
import { readBundleAge, readHopCount, readPreviousNode, readQualityOfService } from './blocks.js';
import { BlockFlag, BlockType, BundleFlag, STATUS_REPORT_FLAGS, type Block, type Bundle, type PrimaryBlock } from './bundle.js';
import { BundleError, type BlockRef } from './bundle-error.js';
import { isNullEid } from './eid.js';

const PRIMARY: BlockRef = Object.freeze({ index: 0 });

function blockRef(blocks: readonly Block[], i: number): BlockRef {
  const b = blocks[i]!;
  return { index: i + 1, type: b.type, number: b.number };
}

/** Bit per extension type that may occur at most once (RFC 9171 4.4; ION's QoS block likewise). */
function singletonBit(type: number): number {
  switch (type) {
    case BlockType.previousNode: return 1;
    case BlockType.bundleAge: return 2;
    case BlockType.hopCount: return 4;
    case BlockType.qualityOfService: return 8;
    default: return 0;
  }
}

function checkLayout(primary: PrimaryBlock, blocks: readonly Block[]): void {
  const fail = (field: string, reason: string, block?: BlockRef, code: 'BUNDLE_STRUCTURE' | 'BUNDLE_FLAGS' | 'BUNDLE_FRAGMENT' = 'BUNDLE_STRUCTURE'): never => {
    throw new BundleError(code, field, reason, block);
  };
  if (blocks.length === 0) fail('bundle', 'no payload block');
  const last = blocks.length - 1;
  let singletons = 0;
  let reportFlagSeen = -1;
  for (let i = 0; i <= last; i++) {
    const b = blocks[i]!;
    if (b.type === 0) fail('block.type', 'block type 0 is reserved', blockRef(blocks, i));
    if (b.number === 0) fail('block.number', 'block number 0 belongs to the primary block', blockRef(blocks, i));
    // Blocks are few (CodecLimits.maxBlocks): a scan beats allocating a set per bundle.
    for (let j = 0; j < i; j++) {
      if (blocks[j]!.number === b.number) fail('block.number', `block number ${b.number} used twice`, blockRef(blocks, i));
    }
    if (b.type === BlockType.payload) {
      if (i !== last) fail('block.type', 'the payload block must be the last block', blockRef(blocks, i));
      if (b.number !== 1) fail('block.number', `payload block number is ${b.number}, must be 1`, blockRef(blocks, i));
    } else if (i === last) {
      fail('block.type', 'the last block must be the payload block', blockRef(blocks, i));
    }
    const bit = singletonBit(b.type);
    if (singletons & bit) fail('block.type', `more than one block of type ${b.type}`, blockRef(blocks, i));
    singletons |= bit;
    if (reportFlagSeen < 0 && b.flags & BlockFlag.reportIfUnprocessed) reportFlagSeen = i;
  }
  const flags = primary.flags;
  const anonymous = isNullEid(primary.source);
  const adminOrAnonymous = (flags & BundleFlag.adminRecord) !== 0 || anonymous;
  // RFC 9171 4.2.3 and 4.2.4: no status reports about administrative records or anonymous bundles.
  if (adminOrAnonymous && flags & STATUS_REPORT_FLAGS) {
    fail('primary.flags', 'status reports requested for an administrative record or an anonymous bundle', PRIMARY, 'BUNDLE_FLAGS');
  }
  if (adminOrAnonymous && reportFlagSeen >= 0) {
    fail('block.flags', 'report-if-unprocessed set in an administrative record or anonymous bundle', blockRef(blocks, reportFlagSeen), 'BUNDLE_FLAGS');
  }
  if (anonymous && !(flags & BundleFlag.mustNotFragment)) {
    fail('primary.flags', 'an anonymous bundle (source dtn:none) must have the must-not-fragment flag', PRIMARY, 'BUNDLE_FLAGS');
  }
  const f = primary.fragment;
  if (f) {
    if (flags & BundleFlag.mustNotFragment) fail('primary.flags', 'a fragment with the must-not-fragment flag', PRIMARY, 'BUNDLE_FLAGS');
    const length = blocks[last]!.data.length;
    if (f.offset + length > f.totalLength) {
      fail('primary.fragmentOffset', `offset ${f.offset} + payload ${length} exceeds the ADU length ${f.totalLength}`, PRIMARY, 'BUNDLE_FRAGMENT');
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const NO_SECURITY: readonly SecurityBlock[] = Object.freeze([]);
const NOTHING_ENCRYPTED: ReadonlySet<number> = new Set();

/** Parses the extension and security blocks into `bundle` (decode and every builder share it). */
function readExtensions(bundle: Mutable<Bundle>): void {
  const blocks = bundle.blocks;
  const maxTargets = blocks.length + 1;
  let encrypted: Set<number> | undefined;
  let bcbs: Map<Block, Asb> | undefined;
  // BCBs first: a BIB may be one of their targets, and then it is ciphertext.
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.type !== BlockType.confidentiality) continue;
    const asb = readAsb(b.data, blockRef(blocks, i), maxTargets);
    (bcbs ??= new Map()).set(b, asb);
    encrypted ??= new Set();
    for (const t of asb.targets) encrypted.add(t);
  }
  let security: SecurityBlock[] | undefined;
  for (let i = 0; i < blocks.length - 1; i++) {
    const b = blocks[i]!;
    const bcb = bcbs?.get(b);
    // A BCB is never ciphertext (one that lists itself as a target is caught by the rules).
    if (bcb) {
      (security ??= []).push({ block: b, asb: bcb });
      continue;
    }
    if (encrypted?.has(b.number)) {
      if (b.type === BlockType.integrity) (security ??= []).push({ block: b });
      continue;
    }
    switch (b.type) {
      case BlockType.integrity:
        (security ??= []).push({ block: b, asb: readAsb(b.data, blockRef(blocks, i), maxTargets) });
        break;
      case BlockType.previousNode:
        bundle.previousNode = readPreviousNode(b.data, blockRef(blocks, i));
        break;
      case BlockType.bundleAge:
        bundle.bundleAge = readBundleAge(b.data, blockRef(blocks, i));
        break;
      case BlockType.hopCount:
        bundle.hopCount = readHopCount(b.data, blockRef(blocks, i));
        break;
      case BlockType.qualityOfService:
        bundle.qos = readQualityOfService(b.data, blockRef(blocks, i));
        break;
    }
  }
  bundle.security = security ?? NO_SECURITY;
  bundle.encrypted = encrypted ?? NOTHING_ENCRYPTED;
  if (security) checkSecurityRules(blocks, security, bundle.encrypted);
}

export function finish(primary: PrimaryBlock, blocks: Block[], bytes: Uint8Array): Bundle {
  checkLayout(primary, blocks);
  // Every field set up front: one object shape for all bundles keeps property access monomorphic.
  const bundle: Mutable<Bundle> = {
    primary, blocks, bytes, previousNode: undefined, bundleAge: undefined, hopCount: undefined, qos: undefined,
    security: NO_SECURITY, encrypted: NOTHING_ENCRYPTED,
  };
  readExtensions(bundle);
  return bundle;
}
