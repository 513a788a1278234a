// CRC kernels for BPv7 (RFC 9171 4.2.1): CRC-32C (Castagnoli, reflected 0x82F63B78) computed
// slicing-by-8, and CRC-16/X.25 (reflected 0x8408) computed a byte at a time. Both functions
// take and return the raw register (not inverted) so that a large buffer can be fed in chunks;
// the caller applies the initial value and final XOR.

const CRC32C_POLY: u32 = 0x82f63b78;
const CRC16_POLY: u16 = 0x8408;

// Eight 256-entry tables: table k maps a byte to its CRC contribution k bytes further on.
const crc32cTables = new StaticArray<u32>(256 * 8);
const crc16Table = new StaticArray<u16>(256);

function buildTables(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    unchecked((crc32cTables[n] = c));
    let h = <u16>n;
    for (let k = 0; k < 8; k++) h = h & 1 ? (h >>> 1) ^ CRC16_POLY : h >>> 1;
    unchecked((crc16Table[n] = h));
  }
  for (let n = 0; n < 256; n++) {
    let c = unchecked(crc32cTables[n]);
    for (let t = 1; t < 8; t++) {
      c = unchecked(crc32cTables[c & 0xff]) ^ (c >>> 8);
      unchecked((crc32cTables[t * 256 + n] = c));
    }
  }
}
buildTables();

@inline function t32(table: i32, index: u32): u32 {
  return unchecked(crc32cTables[table * 256 + <i32>(index & 0xff)]);
}

/** Advances a CRC-32C register over `len` bytes at `ptr`. */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  let p = ptr;
  const end = ptr + len;
  while (p + 8 <= end) {
    const lo = load<u32>(p) ^ crc;
    const hi = load<u32>(p, 4);
    crc =
      t32(7, lo) ^ t32(6, lo >>> 8) ^ t32(5, lo >>> 16) ^ t32(4, lo >>> 24) ^
      t32(3, hi) ^ t32(2, hi >>> 8) ^ t32(1, hi >>> 16) ^ t32(0, hi >>> 24);
    p += 8;
  }
  while (p < end) {
    crc = t32(0, crc ^ <u32>load<u8>(p)) ^ (crc >>> 8);
    p++;
  }
  return crc;
}

/** Advances a CRC-16/X.25 register over `len` bytes at `ptr`. */
export function crc16X25Update(crc: u32, ptr: usize, len: usize): u32 {
  let c = <u16>crc;
  for (let p = ptr, end = ptr + len; p < end; p++) {
    c = unchecked(crc16Table[<i32>((c ^ <u16>load<u8>(p)) & 0xff)]) ^ (c >>> 8);
  }
  return c;
}
