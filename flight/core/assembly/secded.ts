// SEC-DED EDAC: a (72,64) extended Hamming code, one check byte per 64-bit word (see
// flight/core/DESIGN.md for the choice of code and its parity-check matrix).
//
// Data bit p = 8b + j (byte b of the word in memory order, bit j of that byte) has the 8-bit
// parity-check column 0x80 | U[b] << 3 | j. Check bit i < 7 has column 0x80 | 1 << i, check bit 7
// has 0x80. All 72 columns are distinct and have bit 7 set, so the code has minimum distance 4:
// the syndrome of a single-bit error is its column (bit 7 set), that of a double-bit error is the
// XOR of two columns (bit 7 clear, nonzero). U holds the eight 4-bit values of weight >= 2 below,
// so no data column is a check column and a data column names its byte and bit directly.
//
// The data syndrome s of a word is the XOR of the columns of its set bits; the stored check byte
// is C = G(s), G(x) = (x & 0x7f) | parity(x) << 7, which is the linear map "XOR of the check
// columns of the set bits of x" and its own inverse. The syndrome of a stored word is s ^ G(C).
import { alloc } from "./memory";

const U: StaticArray<u8> = [3, 5, 6, 7, 9, 10, 11, 12];

/** SYNDROME + 256 * b + x: XOR of the columns of the set bits of byte value x at byte b. */
const SYNDROME: usize = alloc(8 * 256);
/** G + x: G(x). */
const G: usize = alloc(256);
/** Nibble tables (lo 16 bytes, hi 16 bytes) of SYNDROME row b at SYNDROME_N + 32 * b, and of G. */
const SYNDROME_N: usize = alloc(8 * 32);
const G_N: usize = alloc(32);

/** What a syndrome means: 0..63 data bit, 64..71 check bit (64 + i), or one of these. */
const CLEAN: u8 = 0xfd;
const DOUBLE: u8 = 0xfe;
const MULTIPLE: u8 = 0xff;
const MEANING: usize = alloc(256);

function buildTables(): void {
  for (let b = 0; b < 8; b++) {
    for (let x = 0; x < 256; x++) {
      let s: u32 = 0;
      for (let j = 0; j < 8; j++) if (x & (1 << j)) s ^= 0x80 | <u32>unchecked(U[b]) << 3 | <u32>j;
      store<u8>(SYNDROME + b * 256 + x, <u8>s);
    }
    for (let n = 0; n < 16; n++) {
      store<u8>(SYNDROME_N + b * 32 + n, load<u8>(SYNDROME + b * 256 + n));
      store<u8>(SYNDROME_N + b * 32 + 16 + n, load<u8>(SYNDROME + b * 256 + (n << 4)));
    }
  }
  for (let x: u32 = 0; x < 256; x++) store<u8>(G + x, <u8>((x & 0x7f) | (popcnt(x) & 1) << 7));
  for (let n: u32 = 0; n < 16; n++) {
    store<u8>(G_N + n, load<u8>(G + n));
    store<u8>(G_N + 16 + n, load<u8>(G + (n << 4)));
  }
  memory.fill(MEANING, MULTIPLE, 256);
  store<u8>(MEANING, CLEAN);
  for (let x = 1; x < 128; x++) store<u8>(MEANING + x, DOUBLE);
  store<u8>(MEANING + 0x80, 64 + 7);
  for (let i = 0; i < 7; i++) store<u8>(MEANING + (0x80 | 1 << i), <u8>(64 + i));
  for (let b = 0; b < 8; b++) {
    for (let j = 0; j < 8; j++) store<u8>(MEANING + (0x80 | <i32>unchecked(U[b]) << 3 | j), <u8>(8 * b + j));
  }
}
buildTables();

/** Data syndrome of the word at `p`, one table lookup per byte. */
// @ts-ignore: decorator
@inline function wordSyndrome(p: usize): u32 {
  const w = load<u64>(p);
  let s: u32 = 0;
  for (let b = 0; b < 8; b++) s ^= <u32>load<u8>(SYNDROME + (b << 8) + <usize>((w >> (b << 3)) & 0xff));
  return s;
}

// 16 words are transposed so that vector b holds byte b of every word; the words then sit in
// lane order PERM (the unpack network below leaves pairs 1-2, 5-6, ... swapped).
// PERM is its own inverse.
// @ts-ignore: decorator
@inline function permute(v: v128): v128 {
  return i8x16.shuffle(v, v, 0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15);
}

// @ts-ignore: decorator
@inline function unpackLo8(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
}
// @ts-ignore: decorator
@inline function unpackHi8(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
}
// @ts-ignore: decorator
@inline function unpackLo16(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
}
// @ts-ignore: decorator
@inline function unpackHi16(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
}
// @ts-ignore: decorator
@inline function unpackLo32(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
}
// @ts-ignore: decorator
@inline function unpackHi32(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
}
// @ts-ignore: decorator
@inline function unpackLo64(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
}
// @ts-ignore: decorator
@inline function unpackHi64(a: v128, b: v128): v128 {
  return i8x16.shuffle(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}

/** Multiplies (applies the linear byte map of) the nibble tables at `tables` to x. */
// @ts-ignore: decorator
@inline function lookup(tables: usize, x: v128): v128 {
  const mask = i8x16.splat(0x0f);
  return v128.xor(
    i8x16.swizzle(v128.load(tables), v128.and(x, mask)),
    i8x16.swizzle(v128.load(tables, 16), v128.and(i16x8.shr_u(x, 4), mask)),
  );
}

/** Data syndromes of the 16 words at `p`, in lane order PERM. */
// @ts-ignore: decorator
@inline function syndromes16(p: usize): v128 {
  const a0 = unpackLo8(v128.load(p), v128.load(p, 16));
  const a1 = unpackHi8(v128.load(p), v128.load(p, 16));
  const a2 = unpackLo8(v128.load(p, 32), v128.load(p, 48));
  const a3 = unpackHi8(v128.load(p, 32), v128.load(p, 48));
  const a4 = unpackLo8(v128.load(p, 64), v128.load(p, 80));
  const a5 = unpackHi8(v128.load(p, 64), v128.load(p, 80));
  const a6 = unpackLo8(v128.load(p, 96), v128.load(p, 112));
  const a7 = unpackHi8(v128.load(p, 96), v128.load(p, 112));
  const b0 = unpackLo16(a0, a1);
  const b1 = unpackHi16(a0, a1);
  const b2 = unpackLo16(a2, a3);
  const b3 = unpackHi16(a2, a3);
  const b4 = unpackLo16(a4, a5);
  const b5 = unpackHi16(a4, a5);
  const b6 = unpackLo16(a6, a7);
  const b7 = unpackHi16(a6, a7);
  const c0 = unpackLo32(b0, b2);
  const c1 = unpackHi32(b0, b2);
  const c2 = unpackLo32(b1, b3);
  const c3 = unpackHi32(b1, b3);
  const d0 = unpackLo32(b4, b6);
  const d1 = unpackHi32(b4, b6);
  const d2 = unpackLo32(b5, b7);
  const d3 = unpackHi32(b5, b7);
  let s = lookup(SYNDROME_N, unpackLo64(c0, d0));
  s = v128.xor(s, lookup(SYNDROME_N + 32, unpackHi64(c0, d0)));
  s = v128.xor(s, lookup(SYNDROME_N + 64, unpackLo64(c1, d1)));
  s = v128.xor(s, lookup(SYNDROME_N + 96, unpackHi64(c1, d1)));
  s = v128.xor(s, lookup(SYNDROME_N + 128, unpackLo64(c2, d2)));
  s = v128.xor(s, lookup(SYNDROME_N + 160, unpackHi64(c2, d2)));
  s = v128.xor(s, lookup(SYNDROME_N + 192, unpackLo64(c3, d3)));
  return v128.xor(s, lookup(SYNDROME_N + 224, unpackHi64(c3, d3)));
}

/** Writes the check byte of each of the `words` 8-byte words at `data` to `check`. */
export function secdedEncode(data: usize, check: usize, words: i32): void {
  let w = 0;
  if (ASC_FEATURE_SIMD) {
    for (; w + 16 <= words; w += 16) {
      v128.store(check + w, lookup(G_N, permute(syndromes16(data + (<usize>w << 3)))));
    }
  }
  for (; w < words; w++) store<u8>(check + w, load<u8>(G + wordSyndrome(data + (<usize>w << 3))));
}

/**
 * Checks `words` words at `data` against their check bytes at `check`. For every word whose
 * syndrome is not zero, appends to `report` a u32 word index and a u32 meaning (0..63 data bit,
 * 64 + i check bit i, DOUBLE, MULTIPLE); with `correct`, single-bit errors are flipped back in
 * place. Returns the number of report entries (at most `words`).
 */
export function secdedScan(data: usize, check: usize, words: i32, correct: bool, report: usize): i32 {
  let entries = 0;
  let w = 0;
  if (ASC_FEATURE_SIMD) {
    for (; w + 16 <= words; w += 16) {
      const syndromes = v128.xor(syndromes16(data + (<usize>w << 3)), permute(lookup(G_N, v128.load(check + w))));
      if (!v128.any_true(syndromes)) continue;
      for (let i = w; i < w + 16; i++) entries = scanWord(data, check, i, correct, report, entries);
    }
  }
  for (; w < words; w++) entries = scanWord(data, check, w, correct, report, entries);
  return entries;
}

function scanWord(data: usize, check: usize, w: i32, correct: bool, report: usize, entries: i32): i32 {
  const p = data + (<usize>w << 3);
  const syndrome = wordSyndrome(p) ^ <u32>load<u8>(G + <usize>load<u8>(check + w));
  if (syndrome == 0) return entries;
  const meaning = load<u8>(MEANING + syndrome);
  if (correct) {
    if (meaning < 64) {
      store<u8>(p + (meaning >> 3), load<u8>(p + (meaning >> 3)) ^ <u8>(1 << (meaning & 7)));
    } else if (meaning < 72) {
      store<u8>(check + w, load<u8>(check + w) ^ <u8>(1 << (meaning - 64)));
    }
  }
  const entry = report + (<usize>entries << 3);
  store<u32>(entry, w);
  store<u32>(entry, meaning, 4);
  return entries + 1;
}
