// Bundle policy: what a node does with a structurally valid bundle. Kept apart from decode so
// that, for example, the RFC 9173 Appendix A bundles (no primary CRC, creation time 0 without a
// bundle age block) decode and verify while a flight node still refuses such bundles by default.
import { BlockFlag, BlockType, KNOWN_BLOCK_TYPES, expiresAt, type Block, type Bundle } from './bundle.js';
import { BundleError, StatusReason } from './bundle-error.js';
import { withoutBlocks } from './edit.js';

export interface ValidityPolicy {
  /** RFC 9171 4.3.1: a CRC on the primary block unless a BIB covers it. Default true. */
  readonly requirePrimaryCrc?: boolean;
  /** RFC 9171 4.3.1/4.4.2: a bundle with creation time 0 carries a bundle age block. Default true. */
  readonly requireAgeWithoutClock?: boolean;
}

/** RFC 9171 rules beyond structure that the Appendix A bundles of RFC 9173 break. */
export function checkValidity(bundle: Bundle, policy: ValidityPolicy = {}): void {
  const p = bundle.primary;
  if ((policy.requirePrimaryCrc ?? true) && p.crcType === 0) {
    const covered = bundle.security.some((s) => s.block.type === BlockType.integrity && s.asb?.targets.includes(0));
    if (!covered) {
      throw new BundleError('BUNDLE_POLICY', 'primary.crcType', 'no CRC on the primary block and no BIB covering it', { index: 0 });
    }
  }
  if ((policy.requireAgeWithoutClock ?? true) && p.creationTime === 0 && !bundle.blocks.some((b) => b.type === BlockType.bundleAge)) {
    throw new BundleError('BUNDLE_POLICY', 'primary.creationTimestamp.time', 'creation time 0 (no clock) without a bundle age block', { index: 0 });
  }
}

/** Throws BUNDLE_EXPIRED (reason "lifetime expired") once `now` is past the bundle's expiry. */
export function checkLifetime(bundle: Bundle, now: number, receivedAt: number): void {
  const expiry = expiresAt(bundle, receivedAt);
  if (now > expiry) {
    throw new BundleError('BUNDLE_EXPIRED', 'primary.lifetime', `expired ${now - expiry} ms ago`, { index: 0 });
  }
}

/** Throws BUNDLE_HOP_LIMIT (reason "hop limit exceeded") when the count is past the limit. */
export function checkHopLimit(bundle: Bundle): void {
  const hops = bundle.hopCount;
  if (hops && hops.count > hops.limit) {
    const i = bundle.blocks.findIndex((b) => b.type === BlockType.hopCount);
    throw new BundleError('BUNDLE_HOP_LIMIT', 'hopCount.count', `${hops.count} hops exceed the limit of ${hops.limit}`,
      { index: i + 1, type: BlockType.hopCount, number: bundle.blocks[i]?.number });
  }
}

export interface UnknownBlockOutcome {
  /** The bundle without the blocks whose flags said to discard them. */
  readonly bundle: Bundle;
  readonly discarded: readonly Block[];
  /** Unprocessable blocks whose flags ask for a status report ("block unsupported"). */
  readonly report: readonly Block[];
}

/**
 * RFC 9171 4.2.4 and 5.6 step 4 for blocks this node cannot process: delete the bundle if the
 * block says so (throws BUNDLE_UNSUPPORTED_BLOCK, reason 11), else drop the block if it says so,
 * else keep it; note the ones that ask for a status report.
 */
export function processUnknownBlocks(bundle: Bundle, known: ReadonlySet<number> = KNOWN_BLOCK_TYPES): UnknownBlockOutcome {
  const discarded: Block[] = [];
  const report: Block[] = [];
  bundle.blocks.forEach((b, i) => {
    if (known.has(b.type)) return;
    if (b.flags & BlockFlag.reportIfUnprocessed) report.push(b);
    if (b.flags & BlockFlag.deleteBundleIfUnprocessed) {
      throw new BundleError('BUNDLE_UNSUPPORTED_BLOCK', 'block.type', `unknown block type ${b.type} asks for the bundle's deletion`,
        { index: i + 1, type: b.type, number: b.number }, StatusReason.blockUnsupported);
    }
    if (b.flags & BlockFlag.discardIfUnprocessed) discarded.push(b);
  });
  const kept = withoutBlocks(bundle, discarded.map((b) => b.number));
  return { bundle: kept, discarded, report };
}
