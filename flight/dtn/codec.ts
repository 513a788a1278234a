// Bundle decode and encode (RFC 9171 section 4). decodeBundle() checks structure only: CBOR
// well-formedness, block layout, CRCs, EIDs, the extension blocks Tern reads and the keyless BPSec
// rules. What to do with a valid bundle (expired, hop limit, unknown blocks, missing CRC) is
// policy, in policy.ts. A decoded bundle keeps views into the bytes it was given: do not reuse
// that buffer while the bundle is alive.
import { core } from '../core/wasm.js';
import { checkSecurityRules, readAsb, type Asb, type SecurityBlock } from './asb.js';
import { readBundleAge, readHopCount, readPreviousNode, readQualityOfService, type NewBlock } from './blocks.js';
import {
  BlockFlag,
  BlockType,
  BundleFlag,
  CRC_16,
  CRC_32C,
  CRC_NONE,
  DEFAULT_LIMITS,
  STATUS_REPORT_FLAGS,
  type Block,
  type Bundle,
  type CodecLimits,
  type CrcType,
  type FragmentInfo,
  type HopCount,
  type PrimaryBlock,
  type QualityOfService,
} from './bundle.js';
import { BundleError, type BlockRef } from './bundle-error.js';
import { CborReader, encodeCbor, uint, type CborValue } from './cbor.js';
import { eidValue, isNullEid, readEid, type Eid } from './eid.js';

const PRIMARY: BlockRef = Object.freeze({ index: 0 });
const INDEFINITE_ARRAY = 0x9f;
const BREAK = 0xff;

// ---------------------------------------------------------------------------------------------
// CRC (RFC 9171 4.2.1 and 4.3.1, with erratum 8043: the CRC is computed over the block's bytes
// with the CRC value bytes, not the byte string head, set to zero).

function crcLength(crcType: CrcType): number {
  return crcType === CRC_16 ? 2 : 4;
}

/** Blocks up to this size are checked in a reused buffer; larger ones get their own. */
const SCRATCH_MAX = 64 * 1024;
let scratch = new Uint8Array(2048);

function computeCrc(block: Uint8Array, crcType: CrcType): number {
  const n = crcLength(crcType);
  let copy: Uint8Array;
  if (block.length <= SCRATCH_MAX) {
    if (scratch.length < block.length) scratch = new Uint8Array(SCRATCH_MAX);
    copy = scratch.subarray(0, block.length);
  } else {
    copy = new Uint8Array(block.length);
  }
  copy.set(block);
  copy.fill(0, block.length - n);
  return crcType === CRC_16 ? core().crc16X25(copy) : core().crc32c(copy);
}

function storedCrc(block: Uint8Array, crcType: CrcType): number {
  const e = block.length;
  if (crcType === CRC_16) return (block[e - 2]! << 8) | block[e - 1]!;
  return ((block[e - 4]! << 24) | (block[e - 3]! << 16) | (block[e - 2]! << 8) | block[e - 1]!) >>> 0;
}

/** Writes the CRC into the last bytes of a freshly encoded block (whose value bytes are zero). */
function fillCrc(block: Uint8Array, crcType: CrcType): void {
  if (crcType === CRC_NONE) return;
  const value = crcType === CRC_16 ? core().crc16X25(block) : core().crc32c(block);
  const e = block.length;
  if (crcType === CRC_16) {
    block[e - 2] = value >> 8;
    block[e - 1] = value & 0xff;
  } else {
    block[e - 4] = value >>> 24;
    block[e - 3] = (value >> 16) & 0xff;
    block[e - 2] = (value >> 8) & 0xff;
    block[e - 1] = value & 0xff;
  }
}

function readCrcType(r: CborReader, field: string): CrcType {
  const t = r.uint(field);
  if (t > CRC_32C) r.fail('BUNDLE_CRC', field, `unknown CRC type ${t}`);
  return t as CrcType;
}

/** Reads the CRC field and checks it against the block [start, r.pos). */
function checkCrc(r: CborReader, start: number, crcType: CrcType, field: string): void {
  const value = r.bytes(field);
  if (value.length !== crcLength(crcType)) {
    r.fail('BUNDLE_CRC', field, `CRC type ${crcType} needs ${crcLength(crcType)} bytes, got ${value.length}`);
  }
  const block = r.src.subarray(start, r.pos);
  const expected = computeCrc(block, crcType);
  const got = storedCrc(block, crcType);
  if (expected !== got) {
    r.fail('BUNDLE_CRC', field, `CRC mismatch: block carries 0x${got.toString(16)}, bytes give 0x${expected.toString(16)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Decode

function readPrimary(r: CborReader): PrimaryBlock {
  const start = r.pos;
  r.block = PRIMARY;
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
  const destination = readEid(r, 'primary.destination');
  const source = readEid(r, 'primary.source');
  const reportTo = readEid(r, 'primary.reportTo');
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
  if (crcType !== CRC_NONE) checkCrc(r, start, crcType, 'primary.crc');
  const bytes = r.src.subarray(start, r.pos);
  return { version: 7, flags, crcType, destination, source, reportTo, creationTime, sequence, lifetime, fragment, bytes };
}

function readBlock(r: CborReader, index: number): Block {
  const start = r.pos;
  r.block = { index };
  const n = r.array('block');
  if (n !== 5 && n !== 6) r.fail('BUNDLE_STRUCTURE', 'block', `array of ${n} elements; a canonical block has 5 or 6`);
  const type = r.uint('block.type');
  const number = r.uint('block.number');
  r.block = { index, type, number };
  const flags = r.uint('block.flags');
  const crcType = readCrcType(r, 'block.crcType');
  if (n !== (crcType === CRC_NONE ? 5 : 6)) {
    r.fail('BUNDLE_STRUCTURE', 'block', `${n} elements with CRC type ${crcType}`);
  }
  const data = r.bytes('block.data');
  if (crcType !== CRC_NONE) checkCrc(r, start, crcType, 'block.crc');
  return { type, number, flags, crcType, data, bytes: r.src.subarray(start, r.pos) };
}

/**
 * Decodes and structurally validates one bundle. Throws BundleError (never anything else) for
 * any malformed input; memory use is bounded by the input size and `limits`.
 */
export function decodeBundle(bytes: Uint8Array, limits: CodecLimits = DEFAULT_LIMITS): Bundle {
  if (bytes.length > limits.maxBundleBytes) {
    throw new BundleError('BUNDLE_TOO_LARGE', 'bundle', `${bytes.length} bytes exceed the limit of ${limits.maxBundleBytes}`);
  }
  const r = new CborReader(bytes);
  if (r.peek() !== INDEFINITE_ARRAY) {
    r.fail('BUNDLE_STRUCTURE', 'bundle', r.peek() < 0 ? 'empty input' : 'a bundle is an indefinite-length CBOR array (0x9f)');
  }
  r.pos = 1;
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
    blocks.push(readBlock(r, blocks.length + 1));
  }
  r.pos++;
  r.block = undefined;
  if (r.pos !== bytes.length) r.fail('BUNDLE_STRUCTURE', 'bundle', `${bytes.length - r.pos} byte(s) after the bundle's break`);
  return finish(primary, blocks, bytes);
}

// ---------------------------------------------------------------------------------------------
// Checks shared by decode and by every function that builds a bundle

function blockRef(blocks: readonly Block[], i: number): BlockRef {
  const b = blocks[i]!;
  return { index: i + 1, type: b.type, number: b.number };
}

function checkLayout(primary: PrimaryBlock, blocks: readonly Block[]): void {
  const fail = (field: string, reason: string, block?: BlockRef, code: 'BUNDLE_STRUCTURE' | 'BUNDLE_FLAGS' | 'BUNDLE_FRAGMENT' = 'BUNDLE_STRUCTURE'): never => {
    throw new BundleError(code, field, reason, block);
  };
  if (blocks.length === 0) fail('bundle', 'no payload block');
  const numbers = new Set<number>();
  const singletons = new Set<number>();
  const last = blocks.length - 1;
  let reportFlagSeen = -1;
  for (let i = 0; i <= last; i++) {
    const b = blocks[i]!;
    if (b.type === 0) fail('block.type', 'block type 0 is reserved', blockRef(blocks, i));
    if (b.number === 0) fail('block.number', 'block number 0 belongs to the primary block', blockRef(blocks, i));
    if (numbers.has(b.number)) fail('block.number', `block number ${b.number} used twice`, blockRef(blocks, i));
    numbers.add(b.number);
    if (b.type === BlockType.payload) {
      if (i !== last) fail('block.type', 'the payload block must be the last block', blockRef(blocks, i));
      if (b.number !== 1) fail('block.number', `payload block number is ${b.number}, must be 1`, blockRef(blocks, i));
    } else if (i === last) {
      fail('block.type', 'the last block must be the payload block', blockRef(blocks, i));
    }
    if (b.type === BlockType.previousNode || b.type === BlockType.bundleAge || b.type === BlockType.hopCount ||
        b.type === BlockType.qualityOfService) {
      if (singletons.has(b.type)) fail('block.type', `more than one block of type ${b.type}`, blockRef(blocks, i));
      singletons.add(b.type);
    }
    if (reportFlagSeen < 0 && b.flags & BlockFlag.reportIfUnprocessed) reportFlagSeen = i;
  }
  const flags = primary.flags;
  const adminOrAnonymous = (flags & BundleFlag.adminRecord) !== 0 || isNullEid(primary.source);
  // RFC 9171 4.2.3 and 4.2.4: no status reports about administrative records or anonymous bundles.
  if (adminOrAnonymous && flags & STATUS_REPORT_FLAGS) {
    fail('primary.flags', 'status reports requested for an administrative record or an anonymous bundle', PRIMARY, 'BUNDLE_FLAGS');
  }
  if (adminOrAnonymous && reportFlagSeen >= 0) {
    fail('block.flags', 'report-if-unprocessed set in an administrative record or anonymous bundle', blockRef(blocks, reportFlagSeen), 'BUNDLE_FLAGS');
  }
  if (isNullEid(primary.source) && !(flags & BundleFlag.mustNotFragment)) {
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

interface Extensions {
  previousNode?: Eid;
  bundleAge?: number;
  hopCount?: HopCount;
  qos?: QualityOfService;
  security: SecurityBlock[];
  encrypted: Set<number>;
}

function readExtensions(blocks: readonly Block[]): Extensions {
  const encrypted = new Set<number>();
  const asbs = new Map<Block, Asb>();
  const maxTargets = blocks.length + 1;
  // BCBs first: a BIB may be one of their targets, and then it is ciphertext.
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.type !== BlockType.confidentiality) continue;
    const asb = readAsb(b.data, blockRef(blocks, i), maxTargets);
    asbs.set(b, asb);
    for (const t of asb.targets) encrypted.add(t);
  }
  const ext: Extensions = { security: [], encrypted };
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.type === BlockType.payload) continue;
    // A BCB is never ciphertext (one that lists itself as a target is caught by the rules).
    if (b.type === BlockType.confidentiality) {
      ext.security.push({ block: b, asb: asbs.get(b)! });
      continue;
    }
    if (encrypted.has(b.number)) {
      if (b.type === BlockType.integrity) ext.security.push({ block: b });
      continue;
    }
    const at = blockRef(blocks, i);
    switch (b.type) {
      case BlockType.integrity:
        ext.security.push({ block: b, asb: readAsb(b.data, at, maxTargets) });
        break;
      case BlockType.previousNode:
        ext.previousNode = readPreviousNode(b.data, at);
        break;
      case BlockType.bundleAge:
        ext.bundleAge = readBundleAge(b.data, at);
        break;
      case BlockType.hopCount:
        ext.hopCount = readHopCount(b.data, at);
        break;
      case BlockType.qualityOfService:
        ext.qos = readQualityOfService(b.data, at);
        break;
    }
  }
  checkSecurityRules(blocks, ext.security, encrypted);
  return ext;
}

function finish(primary: PrimaryBlock, blocks: Block[], bytes: Uint8Array): Bundle {
  checkLayout(primary, blocks);
  const ext = readExtensions(blocks);
  return { primary, blocks, bytes, ...ext };
}

/**
 * Builds a Bundle from blocks that are already encoded (edits, fragments, decryption): one new
 * buffer, every block re-pointed into it so the old bundle's memory is not kept alive, and the
 * same structural checks as decode.
 */
export function assembleBundle(primary: PrimaryBlock, blocks: readonly Block[]): Bundle {
  let total = 2 + primary.bytes.length;
  for (const b of blocks) total += b.bytes.length;
  const bytes = new Uint8Array(total);
  bytes[0] = INDEFINITE_ARRAY;
  bytes.set(primary.bytes, 1);
  let at = 1 + primary.bytes.length;
  const placed: Block[] = [];
  for (const b of blocks) {
    bytes.set(b.bytes, at);
    const view = bytes.subarray(at, at + b.bytes.length);
    const dataAt = dataOffset(b);
    placed.push({ ...b, bytes: view, data: view.subarray(dataAt, dataAt + b.data.length) });
    at += b.bytes.length;
  }
  bytes[at] = BREAK;
  return finish({ ...primary, bytes: bytes.subarray(1, 1 + primary.bytes.length) }, placed, bytes);
}

/** Where a block's data starts within its encoding: after the data's head, before any CRC. */
function dataOffset(b: Block): number {
  const crc = b.crcType === CRC_NONE ? 0 : 1 + crcLength(b.crcType);
  return b.bytes.length - crc - b.data.length;
}

// ---------------------------------------------------------------------------------------------
// Encode

function crcPlaceholder(crcType: CrcType): CborValue[] {
  return crcType === CRC_NONE ? [] : [new Uint8Array(crcLength(crcType))];
}

export interface NewPrimary {
  readonly flags: number;
  readonly crcType: CrcType;
  readonly destination: Eid;
  readonly source: Eid;
  readonly reportTo: Eid;
  readonly creationTime: number;
  readonly sequence: number;
  readonly lifetime: number;
  readonly fragment?: FragmentInfo;
}

export function encodePrimary(p: NewPrimary): PrimaryBlock {
  const flags = p.fragment ? p.flags | BundleFlag.isFragment : p.flags & ~BundleFlag.isFragment;
  const value: CborValue[] = [7, uint(flags), p.crcType, eidValue(p.destination), eidValue(p.source),
    eidValue(p.reportTo), [uint(p.creationTime), uint(p.sequence)], uint(p.lifetime)];
  if (p.fragment) value.push(uint(p.fragment.offset), uint(p.fragment.totalLength));
  value.push(...crcPlaceholder(p.crcType));
  const bytes = Uint8Array.from(encodeCbor(value));
  fillCrc(bytes, p.crcType);
  const { destination, source, reportTo, creationTime, sequence, lifetime, crcType, fragment } = p;
  return { version: 7, flags, crcType, destination, source, reportTo, creationTime, sequence, lifetime, fragment, bytes };
}

export interface BlockSpec {
  readonly type: number;
  readonly number: number;
  readonly flags: number;
  readonly crcType: CrcType;
  readonly data: Uint8Array;
}

export function encodeBlock(s: BlockSpec): Block {
  const value: CborValue[] = [uint(s.type), uint(s.number), uint(s.flags), s.crcType, s.data, ...crcPlaceholder(s.crcType)];
  const bytes = Uint8Array.from(encodeCbor(value));
  fillCrc(bytes, s.crcType);
  const crc = s.crcType === CRC_NONE ? 0 : 1 + crcLength(s.crcType);
  const end = bytes.length - crc;
  return { ...s, bytes, data: bytes.subarray(end - s.data.length, end) };
}

/** What a new bundle is made of; see createBundle. */
export interface NewBundle {
  readonly destination: Eid;
  readonly source: Eid;
  /** Where status reports go; the source when absent. */
  readonly reportTo?: Eid;
  readonly flags?: number;
  /** CRC type of the primary block and, unless a block says otherwise, of every block. CRC-32C by default. */
  readonly crcType?: CrcType;
  readonly creationTime: number;
  readonly sequence?: number;
  readonly lifetime: number;
  readonly fragment?: FragmentInfo;
  /** Extension blocks, in wire order, before the payload. */
  readonly blocks?: readonly NewBlock[];
  readonly payload: Uint8Array;
  readonly payloadFlags?: number;
}

/** Encodes a new bundle. Invalid combinations throw the same BundleError decode would. */
export function createBundle(spec: NewBundle): Bundle {
  const crcType = spec.crcType ?? CRC_32C;
  const primary = encodePrimary({
    flags: spec.flags ?? 0,
    crcType,
    destination: spec.destination,
    source: spec.source,
    reportTo: spec.reportTo ?? spec.source,
    creationTime: spec.creationTime,
    sequence: spec.sequence ?? 0,
    lifetime: spec.lifetime,
    fragment: spec.fragment,
  });
  const blocks: Block[] = [];
  const used = new Set<number>([1]);
  for (const b of spec.blocks ?? []) if (b.number !== undefined) used.add(b.number);
  let next = 2;
  for (const b of spec.blocks ?? []) {
    let number = b.number;
    if (number === undefined) {
      while (used.has(next)) next++;
      number = next;
      used.add(number);
    }
    blocks.push(encodeBlock({ type: b.type, number, flags: b.flags ?? 0, crcType: b.crcType ?? crcType, data: b.data }));
  }
  blocks.push(encodeBlock({ type: BlockType.payload, number: 1, flags: spec.payloadFlags ?? 0, crcType, data: spec.payload }));
  return assembleBundle(primary, blocks);
}
