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
  type PrimaryBlock,
  withFlag,
} from './bundle.js';
import { BundleError, type BlockRef } from './bundle-error.js';
import { CborReader, cborHeadLength, encodeCbor, encodeIndefiniteArray, uint, type CborValue } from './cbor.js';
import { eidFields, eidValue, isNullEid, readEid, type Eid } from './eid.js';

const PRIMARY: BlockRef = Object.freeze({ index: 0 });
const DESTINATION = eidFields('primary.destination');
const SOURCE = eidFields('primary.source');
const REPORT_TO = eidFields('primary.reportTo');
const INDEFINITE_ARRAY = 0x9f;
const BREAK = 0xff;

// ---------------------------------------------------------------------------------------------
// CRC (RFC 9171 4.2.1 and 4.3.1, with erratum 8043: the CRC is computed over the block's bytes
// with the CRC value bytes, not the byte string head, set to zero).

function crcLength(crcType: CrcType): number {
  return crcType === CRC_16 ? 2 : 4;
}

/** Byte-wise update tables of the two reflected CRCs, for valueTerm. */
function crcTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let r = n;
    for (let k = 0; k < 8; k++) r = r & 1 ? (r >>> 1) ^ poly : r >>> 1;
    table[n] = r >>> 0;
  }
  return table;
}
const CRC16_TABLE = crcTable(0x8408);
const CRC32C_TABLE = crcTable(0x82f63b78);

/**
 * Register update from zero over the CRC value bytes alone. CRCs are affine: for equal lengths
 * crc(a) ^ crc(b) = update(0, a ^ b). The block as received and the block with its CRC value
 * zeroed differ only in those last bytes, so crc(zeroed) = crc(received) ^ update(0, value):
 * checking a CRC needs no copy of the block.
 */
function valueTerm(value: number, width: number, table: Uint32Array): number {
  let r = 0;
  for (let i = width - 1; i >= 0; i--) r = table[(r ^ (value >>> (8 * i))) & 0xff]! ^ (r >>> 8);
  return r >>> 0;
}

/** The CRC of `block` as computed with its CRC value bytes set to zero. */
function computeCrc(block: Uint8Array, crcType: CrcType, stored: number): number {
  if (crcType === CRC_16) return (core().crc16X25(block) ^ valueTerm(stored, 2, CRC16_TABLE)) & 0xffff;
  return (core().crc32c(block) ^ valueTerm(stored, 4, CRC32C_TABLE)) >>> 0;
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

/** Reads the CRC field (a byte string of the type's width), leaving the value in place. */
function skipCrc(r: CborReader, crcType: CrcType, field: string): void {
  const n = r.byteStringLength(field);
  if (n !== crcLength(crcType)) r.fail('BUNDLE_CRC', field, `CRC type ${crcType} needs ${crcLength(crcType)} bytes, got ${n}`);
  r.pos += n;
}

/** Checks the CRC at the end of `block`, the exact bytes received. */
function checkCrc(r: CborReader, block: Uint8Array, crcType: CrcType, field: string): void {
  const got = storedCrc(block, crcType);
  const expected = computeCrc(block, crcType, got);
  if (expected !== got) {
    r.fail('BUNDLE_CRC', field, `CRC mismatch: block carries 0x${got.toString(16)}, bytes give 0x${expected.toString(16)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Decode

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

// ---------------------------------------------------------------------------------------------
// Checks shared by decode and by every function that builds a bundle

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

function finish(primary: PrimaryBlock, blocks: Block[], bytes: Uint8Array): Bundle {
  checkLayout(primary, blocks);
  // Every field set up front: one object shape for all bundles keeps property access monomorphic.
  const bundle: Mutable<Bundle> = {
    primary, blocks, bytes, previousNode: undefined, bundleAge: undefined, hopCount: undefined, qos: undefined,
    security: NO_SECURITY, encrypted: NOTHING_ENCRYPTED,
  };
  readExtensions(bundle);
  return bundle;
}

/** Bytes after a block's data: the CRC field (head and value), if any. */
function crcFieldLength(crcType: CrcType): number {
  return crcType === CRC_NONE ? 0 : 1 + crcLength(crcType);
}

function placeBlock(b: Block, bytes: Uint8Array, at: number): Block {
  const view = bytes.subarray(at, at + b.bytes.length);
  const end = view.length - crcFieldLength(b.crcType);
  return { type: b.type, number: b.number, flags: b.flags, crcType: b.crcType, data: view.subarray(end - b.data.length, end), bytes: view };
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
    placed.push(placeBlock(b, bytes, at));
    at += b.bytes.length;
  }
  bytes[at] = BREAK;
  return finish(withPrimaryBytes(primary, bytes.subarray(1, 1 + primary.bytes.length)), placed, bytes);
}

function withPrimaryBytes(p: NewPrimary, bytes: Uint8Array): PrimaryBlock {
  return {
    version: 7, flags: p.flags, crcType: p.crcType, destination: p.destination, source: p.source, reportTo: p.reportTo,
    creationTime: p.creationTime, sequence: p.sequence, lifetime: p.lifetime, fragment: p.fragment, bytes,
  };
}

// ---------------------------------------------------------------------------------------------
// Encode. Values go to cbor-x with a zero-filled CRC field; the CRC is then computed over the
// encoded block and written into those bytes (RFC 9171 4.2.1).

const CRC16_PLACEHOLDER = new Uint8Array(2);
const CRC32_PLACEHOLDER = new Uint8Array(4);

/** A primary block's fields, before it has bytes. */
export type NewPrimary = Omit<PrimaryBlock, 'version' | 'bytes'>;

export interface BlockSpec {
  readonly type: number;
  readonly number: number;
  readonly flags: number;
  readonly crcType: CrcType;
  readonly data: Uint8Array;
}

function primaryValue(p: NewPrimary): CborValue[] {
  const value: CborValue[] = [7, uint(p.flags), p.crcType, eidValue(p.destination), eidValue(p.source),
    eidValue(p.reportTo), [uint(p.creationTime), uint(p.sequence)], uint(p.lifetime)];
  if (p.fragment) value.push(uint(p.fragment.offset), uint(p.fragment.totalLength));
  if (p.crcType !== CRC_NONE) value.push(p.crcType === CRC_16 ? CRC16_PLACEHOLDER : CRC32_PLACEHOLDER);
  return value;
}

function blockValue(s: BlockSpec): CborValue[] {
  const value: CborValue[] = [uint(s.type), uint(s.number), uint(s.flags), s.crcType, s.data];
  if (s.crcType !== CRC_NONE) value.push(s.crcType === CRC_16 ? CRC16_PLACEHOLDER : CRC32_PLACEHOLDER);
  return value;
}

/** The primary block's flags say "fragment" exactly when it has fragment fields. */
function fragmentFlag(p: NewPrimary): NewPrimary {
  const flags = withFlag(p.flags, BundleFlag.isFragment, p.fragment !== undefined);
  return flags === p.flags ? p : { ...p, flags };
}

export function encodePrimary(spec: NewPrimary): PrimaryBlock {
  const p = fragmentFlag(spec);
  const bytes = encodeCbor(primaryValue(p));
  fillCrc(bytes, p.crcType);
  return withPrimaryBytes(p, bytes);
}

export function encodeBlock(s: BlockSpec): Block {
  const bytes = encodeCbor(blockValue(s));
  fillCrc(bytes, s.crcType);
  const end = bytes.length - crcFieldLength(s.crcType);
  return { type: s.type, number: s.number, flags: s.flags, crcType: s.crcType, data: bytes.subarray(end - s.data.length, end), bytes };
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
  /** CRC type of the payload block; the bundle's when absent. */
  readonly payloadCrcType?: CrcType;
}

/**
 * Encodes a new bundle in one cbor-x call, then fills in the CRCs in place. Invalid
 * combinations throw the same BundleError decode would.
 */
export function createBundle(spec: NewBundle): Bundle {
  const crcType = spec.crcType ?? CRC_32C;
  const primary = fragmentFlag({
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
  const extensions = spec.blocks ?? [];
  const specs: BlockSpec[] = [];
  // Unnumbered blocks get 2, 3, ... skipping numbers the caller gave explicitly.
  const taken = (n: number): boolean => n === 1 || extensions.some((b) => b.number === n);
  let next = 2;
  for (const b of extensions) {
    let number = b.number;
    if (number === undefined) {
      while (taken(next)) next++;
      number = next++;
    }
    specs.push({ type: b.type, number, flags: b.flags ?? 0, crcType: b.crcType ?? crcType, data: b.data });
  }
  specs.push({ type: BlockType.payload, number: 1, flags: spec.payloadFlags ?? 0, crcType: spec.payloadCrcType ?? crcType, data: spec.payload });
  const values: CborValue[] = [primaryValue(primary)];
  for (const s of specs) values.push(blockValue(s));
  const bytes = encodeIndefiniteArray(values);
  // Each block's extent follows from its fields (cbor-x writes preferred serialization, as the
  // decoder requires); walking back from the break finds them all, and the primary block is the rest.
  const blocks: Block[] = new Array<Block>(specs.length);
  let end = bytes.length - 1;
  for (let i = specs.length - 1; i >= 0; i--) {
    const s = specs[i]!;
    const dataEnd = end - crcFieldLength(s.crcType);
    const start = dataEnd - s.data.length - cborHeadLength(s.data.length) - 1 -
      cborHeadLength(s.flags) - cborHeadLength(s.number) - cborHeadLength(s.type) - 1;
    const view = bytes.subarray(start, end);
    fillCrc(view, s.crcType);
    blocks[i] = { type: s.type, number: s.number, flags: s.flags, crcType: s.crcType, data: bytes.subarray(dataEnd - s.data.length, dataEnd), bytes: view };
    end = start;
  }
  const primaryBytes = bytes.subarray(1, end);
  fillCrc(primaryBytes, crcType);
  return finish(withPrimaryBytes(primary, primaryBytes), blocks, bytes);
}
