// Block CRCs (RFC 9171 4.2.1 and 4.3.1, with erratum 8043: the CRC is computed over the block's bytes
// with the CRC value bytes, not the byte string head, set to zero).
import { core } from '../core/wasm.js';
import { CRC_16, CRC_32C, CRC_NONE, type CrcType } from './bundle.js';
import type { CborReader } from './cbor.js';

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
export function fillCrc(block: Uint8Array, crcType: CrcType): void {
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

export function readCrcType(r: CborReader, field: string): CrcType {
  const t = r.uint(field);
  if (t > CRC_32C) r.fail('BUNDLE_CRC', field, `unknown CRC type ${t}`);
  return t as CrcType;
}

/** Reads the CRC field (a byte string of the type's width), leaving the value in place. */
export function skipCrc(r: CborReader, crcType: CrcType, field: string): void {
  const n = r.byteStringLength(field);
  if (n !== crcLength(crcType)) r.fail('BUNDLE_CRC', field, `CRC type ${crcType} needs ${crcLength(crcType)} bytes, got ${n}`);
  r.pos += n;
}

/** Checks the CRC at the end of `block`, the exact bytes received. */
export function checkCrc(r: CborReader, block: Uint8Array, crcType: CrcType, field: string): void {
  const got = storedCrc(block, crcType);
  const expected = computeCrc(block, crcType, got);
  if (expected !== got) {
    r.fail('BUNDLE_CRC', field, `CRC mismatch: block carries 0x${got.toString(16)}, bytes give 0x${expected.toString(16)}`);
  }
}


/** Bytes after a block's data: the CRC field (head and value), if any. */
export function crcFieldLength(crcType: CrcType): number {
  return crcType === CRC_NONE ? 0 : 1 + crcLength(crcType);
}
