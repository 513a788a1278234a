// Bundle encode: new bundles and blocks (cbor-x, then the CRCs filled in place), and bundles
// assembled from blocks already encoded (edits, fragments, decryption); every one passes the
// same checks as decode (bundle-checks.ts).
import type { NewBlock } from './blocks.js';
import {
  BlockType,
  BundleFlag,
  CRC_16,
  CRC_32C,
  CRC_NONE,
  type Block,
  type Bundle,
  type CrcType,
  type FragmentInfo,
  type PrimaryBlock,
  withFlag,
} from './bundle.js';
import { cborHeadLength, encodeCbor, encodeIndefiniteArray, uint, type CborValue } from './cbor.js';
import { eidValue, type Eid } from './eid.js';
import { crcFieldLength, fillCrc } from './block-crc.js';
import { finish } from './bundle-checks.js';
import { BREAK, INDEFINITE_ARRAY } from './bundle-decode.js';

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
