// Repairs for other implementations' departures from RFC 9171 that Tern accepts on purpose, each
// narrow enough that the repaired bundle means exactly what its sender meant, and each counted.
//
// ION-DTN 4.1.3 gives every extension block of a fragment block number 0 (its unfragmented
// bundles number the same blocks 2, 3, ...), which RFC 9171 4.1 reserves for the primary block,
// and numbers must be unique; decodeBundle refuses such fragments (BUNDLE_STRUCTURE,
// block.number). A block's number only matters to what refers to it: BPSec targets, and nothing
// else in a bundle. So where no BIB or BCB is present, every other number is unique and the
// payload is block 1, giving the blocks numbered 0 fresh numbers (2, 3, ... in wire order, as
// ION's own unfragmented bundles and createBundle do) changes nothing that any reader of the
// bundle could see. With a security block the number-0 blocks cannot be told apart as targets:
// that stays refused, as does anything else.
import { BlockType, DEFAULT_LIMITS, type Block, type Bundle, type CodecLimits } from './bundle.js';
import { BundleError } from './bundle-error.js';
import { assembleBundle, encodeBlock, readBlocks } from './codec.js';

/** Whether `error` is decodeBundle's refusal of a block numbered 0. */
export function isZeroBlockNumber(error: unknown): boolean {
  return error instanceof BundleError && error.code === 'BUNDLE_STRUCTURE' && error.field === 'block.number' && error.block?.number === 0;
}

/**
 * The fragment `bytes` with its extension blocks numbered 0 renumbered, checked as decodeBundle
 * checks any bundle; undefined if `bytes` is not such a fragment or renumbering would be
 * ambiguous (the caller then keeps decodeBundle's refusal).
 */
export function renumberZeroBlocks(bytes: Uint8Array, limits: CodecLimits = DEFAULT_LIMITS): Bundle | undefined {
  let parsed: { primary: Bundle['primary']; blocks: Block[] };
  try {
    parsed = readBlocks(bytes, limits);
  } catch {
    return undefined; // malformed in itself: decodeBundle's own error says how
  }
  const { primary, blocks } = parsed;
  if (!primary.fragment) return undefined;
  if (blocks.some((b) => b.type === BlockType.integrity || b.type === BlockType.confidentiality)) return undefined;
  const payload = blocks[blocks.length - 1];
  if (!payload || payload.type !== BlockType.payload || payload.number !== 1) return undefined;
  const used = new Set<number>();
  let zeros = 0;
  for (const b of blocks) {
    if (b.number === 0) zeros++;
    else if (used.has(b.number)) return undefined; // a different defect
    else used.add(b.number);
  }
  if (zeros === 0) return undefined;
  let next = 2;
  const renumbered = blocks.map((b) => {
    if (b.number !== 0) return b;
    while (used.has(next)) next++;
    used.add(next);
    return encodeBlock({ type: b.type, number: next, flags: b.flags, crcType: b.crcType, data: b.data });
  });
  try {
    return assembleBundle(primary, renumbered);
  } catch {
    return undefined;
  }
}
