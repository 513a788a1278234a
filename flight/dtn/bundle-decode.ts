// Bundle decode (RFC 9171 section 4): CBOR well-formedness, block structure and CRCs, EIDs, then
// the checks across blocks (bundle-checks.ts). A decoded bundle keeps views into the bytes it
// was given.
import { BundleFlag, CRC_NONE, DEFAULT_LIMITS, type Block, type Bundle, type CodecLimits, type FragmentInfo, type PrimaryBlock } from './bundle.js';
import { BundleError } from './bundle-error.js';
import { CborReader } from './cbor.js';
import { eidFields, readEid } from './eid.js';
import { checkCrc, readCrcType, skipCrc } from './block-crc.js';
import { finish } from './bundle-checks.js';

const DESTINATION = eidFields('primary.destination');
const SOURCE = eidFields('primary.source');
const REPORT_TO = eidFields('primary.reportTo');
export const INDEFINITE_ARRAY = 0x9f;
export const BREAK = 0xff;

/** The block being read; moved along the bundle (the reader snapshots it on failure). */
interface Cursor {
  index: number;
  type?: number;
  number?: number;
}

function readPrimary(r: CborReader): PrimaryBlock {
  const start = r.pos;
  const n = r.array('primary');
  if (n < 8 || n > 11) r.fail('BUNDLE_STRUCTURE', 'primary', `array of ${n} elements; RFC 9171 allows 8 to 11`);
  const version = r.uint('primary.version');
  if (version !== 7) r.fail('BUNDLE_VERSION', 'primary.version', `version ${version}; only 7 is supported`);
  const flags = r.uint('primary.flags');
  const crcType = readCrcType(r, 'primary.crcType');
  const isFragment = (flags & BundleFlag.isFragment) !== 0;
  const expected = 8 + (isFragment ? 2 : 0) + (crcType === CRC_NONE ? 0 : 1);
  if (n !== expected) {
    r.fail('BUNDLE_STRUCTURE', 'primary', `${n} elements, but its fragment flag and CRC type call for ${expected}`);
  }
  const destination = readEid(r, DESTINATION);
  const source = readEid(r, SOURCE);
  const reportTo = readEid(r, REPORT_TO);
  r.tuple('primary.creationTimestamp', 2);
  const creationTime = r.uint('primary.creationTimestamp.time');
  const sequence = r.uint('primary.creationTimestamp.sequence');
  const lifetime = r.uint('primary.lifetime');
  let fragment: FragmentInfo | undefined;
  if (isFragment) {
    const offset = r.uint('primary.fragmentOffset');
    const totalLength = r.uint('primary.totalLength');
    fragment = { offset, totalLength };
  }
  if (crcType !== CRC_NONE) skipCrc(r, crcType, 'primary.crc');
  const bytes = r.src.subarray(start, r.pos);
  if (crcType !== CRC_NONE) checkCrc(r, bytes, crcType, 'primary.crc');
  return { version: 7, flags, crcType, destination, source, reportTo, creationTime, sequence, lifetime, fragment, bytes };
}

function readBlock(r: CborReader, at: Cursor, index: number): Block {
  const start = r.pos;
  at.index = index;
  at.type = undefined;
  at.number = undefined;
  const n = r.array('block');
  if (n !== 5 && n !== 6) r.fail('BUNDLE_STRUCTURE', 'block', `array of ${n} elements; a canonical block has 5 or 6`);
  const type = r.uint('block.type');
  const number = r.uint('block.number');
  at.type = type;
  at.number = number;
  const flags = r.uint('block.flags');
  const crcType = readCrcType(r, 'block.crcType');
  if (n !== (crcType === CRC_NONE ? 5 : 6)) {
    r.fail('BUNDLE_STRUCTURE', 'block', `${n} elements with CRC type ${crcType}`);
  }
  const data = r.bytes('block.data');
  if (crcType === CRC_NONE) return { type, number, flags, crcType, data, bytes: r.src.subarray(start, r.pos) };
  skipCrc(r, crcType, 'block.crc');
  const bytes = r.src.subarray(start, r.pos);
  checkCrc(r, bytes, crcType, 'block.crc');
  return { type, number, flags, crcType, data, bytes };
}

/**
 * Decodes and structurally validates one bundle. Throws BundleError (never anything else) for
 * any malformed input; memory use is bounded by the input size and `limits`.
 */
export function decodeBundle(bytes: Uint8Array, limits: CodecLimits = DEFAULT_LIMITS): Bundle {
  const { primary, blocks } = readBlocks(bytes, limits);
  return finish(primary, blocks, bytes);
}

/**
 * The primary block and the blocks of a bundle, each well-formed with its CRC checked, before
 * the checks across blocks (numbers, layout, extensions, BPSec rules) that decodeBundle adds.
 * For a repair that must look at a bundle those checks refuse (interop.ts).
 */
export function readBlocks(bytes: Uint8Array, limits: CodecLimits = DEFAULT_LIMITS): { primary: PrimaryBlock; blocks: Block[] } {
  if (bytes.length > limits.maxBundleBytes) {
    throw new BundleError('BUNDLE_TOO_LARGE', 'bundle', `${bytes.length} bytes exceed the limit of ${limits.maxBundleBytes}`);
  }
  const at: Cursor = { index: 0 };
  const r = new CborReader(bytes, 0, bytes.length, at);
  if (r.peek() !== INDEFINITE_ARRAY) {
    r.block = undefined;
    r.fail('BUNDLE_STRUCTURE', 'bundle', r.peek() < 0 ? 'empty input' : 'a bundle is an indefinite-length CBOR array (0x9f)');
  }
  r.pos = 1;
  r.block = at;
  const primary = readPrimary(r);
  const blocks: Block[] = [];
  for (;;) {
    const next = r.peek();
    if (next === BREAK) break;
    if (next < 0) {
      r.block = undefined;
      r.fail('BUNDLE_CBOR', 'bundle', 'truncated: no break (0xff) after the last block');
    }
    if (blocks.length === limits.maxBlocks) {
      r.block = undefined;
      r.fail('BUNDLE_STRUCTURE', 'bundle', `more than ${limits.maxBlocks} blocks`);
    }
    blocks.push(readBlock(r, at, blocks.length + 1));
  }
  r.pos++;
  r.block = undefined;
  if (r.pos !== bytes.length) r.fail('BUNDLE_STRUCTURE', 'bundle', `${bytes.length - r.pos} byte(s) after the bundle's break`);
  return { primary, blocks };
}
