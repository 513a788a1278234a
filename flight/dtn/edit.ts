// What a forwarding node changes in a bundle (RFC 9171 5.4): hop count, bundle age, previous
// node. Each helper re-encodes only the block it changes; every other block keeps its bytes.
// A block a BCB encrypts, or a BIB protects, is refused with BUNDLE_SECURITY rather than
// silently breaking the security operation: the agent decides what to do with such a bundle.
import { bundleAgeBlock, hopCountBlock, previousNodeBlock, type NewBlock } from './blocks.js';
import { BlockType, type Block, type Bundle } from './bundle.js';
import { BundleError } from './bundle-error.js';
import { assembleBundle, encodeBlock } from './codec.js';
import type { Eid } from './eid.js';

function checkEditable(bundle: Bundle, block: Block): void {
  const index = bundle.blocks.indexOf(block) + 1;
  const ref = { index, type: block.type, number: block.number };
  if (bundle.encrypted.has(block.number)) {
    throw new BundleError('BUNDLE_SECURITY', 'block', 'a BCB encrypts this block: it cannot be updated', ref);
  }
  // An encrypted BIB's targets are unreadable; RFC 9172 3.8/3.9 have a BIB encrypted together
  // with its targets, so it covers encrypted blocks, which are refused above.
  const bib = bundle.security.find((s) => s.block.type === BlockType.integrity && s.asb?.targets.includes(block.number));
  if (bib) {
    throw new BundleError('BUNDLE_SECURITY', 'block', `BIB block ${bib.block.number} protects this block: updating it would break the BIB`, ref);
  }
}

function nextBlockNumber(bundle: Bundle): number {
  let max = 1;
  for (const b of bundle.blocks) max = Math.max(max, b.number);
  return max + 1;
}

/** Replaces the data of block `number`, keeping its type, flags and CRC type. */
export function withBlockData(bundle: Bundle, number: number, data: Uint8Array): Bundle {
  const old = bundle.blocks.find((b) => b.number === number);
  if (!old) throw new BundleError('BUNDLE_STRUCTURE', 'block.number', `no block number ${number}`);
  checkEditable(bundle, old);
  const updated = encodeBlock({ type: old.type, number, flags: old.flags, crcType: old.crcType, data });
  return assembleBundle(bundle.primary, bundle.blocks.map((b) => (b === old ? updated : b)));
}

/** Inserts an extension block before the payload, numbered after the highest number in use. */
export function withBlock(bundle: Bundle, block: NewBlock): Bundle {
  const number = block.number ?? nextBlockNumber(bundle);
  const encoded = encodeBlock({
    type: block.type,
    number,
    flags: block.flags ?? 0,
    crcType: block.crcType ?? bundle.primary.crcType,
    data: block.data,
  });
  const blocks = [...bundle.blocks];
  blocks.splice(blocks.length - 1, 0, encoded);
  return assembleBundle(bundle.primary, blocks);
}

export function withoutBlocks(bundle: Bundle, numbers: readonly number[]): Bundle {
  if (numbers.length === 0) return bundle;
  return assembleBundle(bundle.primary, bundle.blocks.filter((b) => !numbers.includes(b.number)));
}

function blockOfType(bundle: Bundle, type: number): Block | undefined {
  return bundle.blocks.find((b) => b.type === type);
}

/** Counts one more hop (RFC 9171 4.4.3); a bundle without a hop count block is returned as is. */
export function withHopIncremented(bundle: Bundle): Bundle {
  const block = blockOfType(bundle, BlockType.hopCount);
  if (!block) return bundle;
  if (!bundle.hopCount) checkEditable(bundle, block);
  const hops = bundle.hopCount!;
  return withBlockData(bundle, block.number, hopCountBlock({ limit: hops.limit, count: hops.count + 1 }).data);
}

/** Sets the bundle age (RFC 9171 4.4.2), adding the block if the bundle has none. */
export function withBundleAge(bundle: Bundle, ageMs: number): Bundle {
  const block = blockOfType(bundle, BlockType.bundleAge);
  const data = bundleAgeBlock(ageMs);
  return block ? withBlockData(bundle, block.number, data.data) : withBlock(bundle, data);
}

/** Names this node as the previous node (RFC 9171 4.4.1), replacing any earlier one. */
export function withPreviousNode(bundle: Bundle, node: Eid): Bundle {
  const block = blockOfType(bundle, BlockType.previousNode);
  const data = previousNodeBlock(node);
  return block ? withBlockData(bundle, block.number, data.data) : withBlock(bundle, data);
}
