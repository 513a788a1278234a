// CRC kernels for BPv7 (RFC 9171 4.2.1): CRC-32C (Castagnoli, reflected 0x82F63B78) computed
// slicing-by-8 over three lanes at once, and CRC-16/X.25 (reflected 0x8408) computed a byte at a
// time. Both functions take and return the raw register (not inverted) so that a large buffer
// can be fed in chunks; the caller applies the initial value and final XOR.
//
// Why three lanes: one slicing-by-8 step needs the register the step before produced, so a
// single lane waits on its own loads (about 850 MB/s here). Three stretches of LANE bytes are
// independent, so their steps interleave; the three registers are then joined using linearity:
// running the register r over LANE bytes d gives shift(r) ^ crc(0, d), where shift(r) is r run
// over LANE zero bytes, a linear map applied with four byte tables.

const CRC32C_POLY: u32 = 0x82f63b78;
const CRC16_POLY: u16 = 0x8408;

// Eight 256-entry tables: table k maps a byte to its CRC contribution k bytes further on.
const crc32cTables = new StaticArray<u32>(256 * 8);
const crc16Table = new StaticArray<u16>(256);
/** Bytes per lane; a stride is three lanes. */
const LANE: usize = 64;
// shiftTables[k * 256 + b]: the register (b << 8k) run over LANE zero bytes.
const shiftTables = new StaticArray<u32>(256 * 4);

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

/** The register `crc` run over `n` zero bytes, a byte at a time (only when the tables are built). */
function overZeros(crc: u32, n: usize): u32 {
  for (let i: usize = 0; i < n; i++) crc = t32(0, crc) ^ (crc >>> 8);
  return crc;
}

function buildShiftTables(): void {
  for (let k = 0; k < 4; k++) {
    for (let b: u32 = 0; b < 256; b++) unchecked((shiftTables[k * 256 + <i32>b] = overZeros(b << (<u32>k * 8), LANE)));
  }
}
buildShiftTables();

@inline function shift(crc: u32): u32 {
  return unchecked(shiftTables[<i32>(crc & 0xff)]) ^ unchecked(shiftTables[256 + <i32>((crc >>> 8) & 0xff)]) ^
    unchecked(shiftTables[512 + <i32>((crc >>> 16) & 0xff)]) ^ unchecked(shiftTables[768 + <i32>(crc >>> 24)]);
}

@inline function t32(table: i32, index: u32): u32 {
  return unchecked(crc32cTables[table * 256 + <i32>(index & 0xff)]);
}

/** One slicing-by-8 step: the register after 8 bytes, given them as two words, the first XORed with the register. */
@inline function step8(lo: u32, hi: u32): u32 {
  return t32(7, lo) ^ t32(6, lo >>> 8) ^ t32(5, lo >>> 16) ^ t32(4, lo >>> 24) ^
    t32(3, hi) ^ t32(2, hi >>> 8) ^ t32(1, hi >>> 16) ^ t32(0, hi >>> 24);
}

/** Advances a CRC-32C register over `len` bytes at `ptr`. */
export function crc32cUpdate(crc: u32, ptr: usize, len: usize): u32 {
  let p = ptr;
  const end = ptr + len;
  while (p + 3 * LANE <= end) {
    let a = crc;
    let b: u32 = 0;
    let c: u32 = 0;
    for (let q = p, stop = p + LANE; q < stop; q += 8) {
      const aLo = load<u32>(q) ^ a;
      const aHi = load<u32>(q, 4);
      const bLo = load<u32>(q + LANE) ^ b;
      const bHi = load<u32>(q + LANE, 4);
      const cLo = load<u32>(q + 2 * LANE) ^ c;
      const cHi = load<u32>(q + 2 * LANE, 4);
      a = step8(aLo, aHi);
      b = step8(bLo, bHi);
      c = step8(cLo, cHi);
    }
    crc = shift(shift(a) ^ b) ^ c;
    p += 3 * LANE;
  }
  while (p + 8 <= end) {
    crc = step8(load<u32>(p) ^ crc, load<u32>(p, 4));
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
