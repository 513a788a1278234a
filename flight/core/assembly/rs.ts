// CCSDS 131.0-B Reed-Solomon (255,223), E = 16: field polynomial 0x187, generator roots
// beta^j for j = 112..143 where beta = alpha^11. Symbols are handled in the conventional basis;
// the dual (Berlekamp) basis that CCSDS transmits is converted at the edges of each call.
//
// A code block is `interleave` codewords with their symbols interleaved (transmitted symbol t
// belongs to codeword t mod I). A shortened code ("virtual fill" Q) does not transmit its first Q
// data symbols, which are zero; each codeword then has n = 255 - Q transmitted symbols.
//
// Positions are counted by degree: the transmitted symbol t of a codeword is the coefficient of
// x^d with d = 254 - Q - t; its error locator is X = beta^d.
//
// SIMD use: the 32 syndromes of a codeword live in two v128 (one symbol updates all 32 with four
// swizzles), the Chien search tests 16 positions per v128, the encoder's parity register is two
// v128. The error path (Berlekamp-Massey, Forney) is scalar: it runs only for codewords that have
// errors and costs less than the syndromes.
import { alloc } from "./memory";
import { EXP, gfInv, gfMul, MUL, NIB } from "./gf256";

const NROOTS: i32 = 32;
const FCR: i32 = 112;
const PRIM: i32 = 11;

/** Erasure list per codeword, as the caller lays it out: a count byte, then up to 32 positions. */
const ERASURE_STRIDE: i32 = 33;

/** alpha-exponent of beta^e, for any integer e. */
// @ts-ignore: decorator
@inline function betaExp(e: i32): u32 {
  let x = (PRIM * e) % 255;
  if (x < 0) x += 255;
  return <u32>load<u8>(EXP + x);
}

// Generator polynomial g(x) = prod (x + beta^(112 + j)); GEN[i] = coefficient of x^i, GEN[32] = 1.
const GEN: usize = alloc(NROOTS + 1);
/** SYNV + 32 * i: beta^((112 + j) * (254 - i)) for j = 0..31: symbol i's weight in syndrome j. */
const SYNV: usize = alloc(255 * NROOTS);
/** CHIEN + 256 * k + d: beta^(-k * d), k = 0..32, d = 0..255: the Chien search terms. */
const CHIEN: usize = alloc(256 * (NROOTS + 1));
// Nibble-split copies for the SIMD build: SYNV_N + 64 * i holds lo(j=0..15), hi(j=0..15),
// lo(j=16..31), hi(j=16..31) of SYNV row i; CHIEN_LO/CHIEN_HI hold the nibbles of CHIEN. The
// swizzle indexes must be nibbles, so splitting them once here saves two operations per use.
const SYNV_N: usize = ASC_FEATURE_SIMD ? alloc(255 * 64) : 0;
const CHIEN_LO: usize = ASC_FEATURE_SIMD ? alloc(256 * (NROOTS + 1)) : 0;
const CHIEN_HI: usize = ASC_FEATURE_SIMD ? alloc(256 * (NROOTS + 1)) : 0;
// The generator as the encoder's register update uses it: lane t of the 32 bytes is g(31 - t);
// GEN_N holds its nibbles: lo(t=0..15), hi(t=0..15), lo(t=16..31), hi(t=16..31).
const GEN_R: usize = alloc(NROOTS);
const GEN_N: usize = alloc(64);

// Basis conversion (CCSDS 131.0-B annex F). Row r of T maps conventional bit (7 - r) to the
// dual-basis bits it contributes: dual = XOR of T[7 - k] over the set bits k of conventional.
const TAL: StaticArray<u8> = [0x8d, 0xef, 0xec, 0x86, 0xfa, 0x99, 0xaf, 0x7b];
const TO_DUAL: usize = alloc(256);
const TO_CONV: usize = alloc(256);
// Nibble tables of both conversions (they are linear over GF(2)): lo(16) then hi(16).
const TO_DUAL_N: usize = alloc(32);
const TO_CONV_N: usize = alloc(32);

function buildTables(): void {
  memory.fill(GEN, 0, NROOTS + 1);
  store<u8>(GEN, 1);
  for (let j = 0; j < NROOTS; j++) {
    const root = betaExp(FCR + j);
    for (let i = j + 1; i > 0; i--) {
      store<u8>(GEN + i, load<u8>(GEN + i - 1) ^ <u8>gfMul(root, load<u8>(GEN + i)));
    }
    store<u8>(GEN, <u8>gfMul(root, load<u8>(GEN)));
  }
  for (let t = 0; t < NROOTS; t++) store<u8>(GEN_R + t, load<u8>(GEN + NROOTS - 1 - t));
  splitNibbles(GEN_R, GEN_N, 2);
  for (let i = 0; i < 255; i++) {
    for (let j = 0; j < NROOTS; j++) store<u8>(SYNV + i * NROOTS + j, <u8>betaExp((FCR + j) * (254 - i)));
  }
  for (let k = 0; k <= NROOTS; k++) {
    for (let d = 0; d < 256; d++) store<u8>(CHIEN + k * 256 + d, <u8>betaExp(-k * d));
  }
  if (ASC_FEATURE_SIMD) {
    for (let i = 0; i < 255; i++) splitNibbles(SYNV + i * NROOTS, SYNV_N + i * 64, 2);
    for (let i = 0; i < 256 * (NROOTS + 1); i++) {
      const v = load<u8>(CHIEN + i);
      store<u8>(CHIEN_LO + i, v & 0x0f);
      store<u8>(CHIEN_HI + i, v >> 4);
    }
  }
  for (let c: u32 = 0; c < 256; c++) {
    let d: u32 = 0;
    for (let k = 0; k < 8; k++) if (c & (1 << k)) d ^= unchecked(TAL[7 - k]);
    store<u8>(TO_DUAL + c, <u8>d);
    store<u8>(TO_CONV + d, <u8>c);
  }
  for (let n = 0; n < 16; n++) {
    store<u8>(TO_DUAL_N + n, load<u8>(TO_DUAL + n));
    store<u8>(TO_DUAL_N + 16 + n, load<u8>(TO_DUAL + (n << 4)));
    store<u8>(TO_CONV_N + n, load<u8>(TO_CONV + n));
    store<u8>(TO_CONV_N + 16 + n, load<u8>(TO_CONV + (n << 4)));
  }
}

/** Splits `groups` blocks of 16 bytes at `src` into 16 low nibbles then 16 high nibbles each. */
function splitNibbles(src: usize, dst: usize, groups: i32): void {
  for (let g = 0; g < groups; g++) {
    for (let n = 0; n < 16; n++) {
      const v = load<u8>(src + g * 16 + n);
      store<u8>(dst + g * 32 + n, v & 0x0f);
      store<u8>(dst + g * 32 + 16 + n, v >> 4);
    }
  }
}

buildTables();

/** Maps every byte of [ptr, ptr + len) through the linear map whose nibble tables are `tables`
 *  and whose full table is `table`. */
function convert(ptr: usize, len: usize, table: usize, tables: usize): void {
  let p: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const lo = v128.load(tables);
    const hi = v128.load(tables, 16);
    const mask = i8x16.splat(0x0f);
    for (; p + 16 <= len; p += 16) {
      const x = v128.load(ptr + p);
      const y = v128.xor(i8x16.swizzle(lo, v128.and(x, mask)), i8x16.swizzle(hi, v128.and(i16x8.shr_u(x, 4), mask)));
      v128.store(ptr + p, y);
    }
  }
  for (; p < len; p++) store<u8>(ptr + p, load<u8>(table + <usize>load<u8>(ptr + p)));
}

function rsToDual(ptr: usize, len: usize): void {
  convert(ptr, len, TO_DUAL, TO_DUAL_N);
}

function rsToConventional(ptr: usize, len: usize): void {
  convert(ptr, len, TO_CONV, TO_CONV_N);
}

// ---------------------------------------------------------------------------------------------
// Encoder

const PARITY: usize = alloc(NROOTS);

/** Computes the parity of one codeword: k = n - 32 data symbols at `base`, `stride` apart;
 *  the 32 parity symbols are written after them with the same stride. */
function encodeCodeword(base: usize, stride: usize, k: i32): void {
  if (ASC_FEATURE_SIMD) {
    // Register lane t holds the coefficient of x^(31 - t) of the running remainder.
    let r0 = i8x16.splat(0);
    let r1 = i8x16.splat(0);
    const glo0 = v128.load(GEN_N);
    const ghi0 = v128.load(GEN_N, 16);
    const glo1 = v128.load(GEN_N, 32);
    const ghi1 = v128.load(GEN_N, 48);
    for (let t = 0; t < k; t++) {
      const fb = <usize>(load<u8>(base + <usize>t * stride) ^ i8x16.extract_lane_u(r0, 0));
      const tab = NIB + (fb << 5);
      const tlo = v128.load(tab);
      const thi = v128.load(tab, 16);
      const p0 = v128.xor(i8x16.swizzle(tlo, glo0), i8x16.swizzle(thi, ghi0));
      const p1 = v128.xor(i8x16.swizzle(tlo, glo1), i8x16.swizzle(thi, ghi1));
      r0 = v128.xor(i8x16.shuffle(r0, r1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), p0);
      r1 = v128.xor(i8x16.shuffle(r1, i8x16.splat(0), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), p1);
    }
    v128.store(PARITY, r0);
    v128.store(PARITY, r1, 16);
  } else {
    memory.fill(PARITY, 0, NROOTS);
    for (let t = 0; t < k; t++) {
      const fb = <usize>(load<u8>(base + <usize>t * stride) ^ load<u8>(PARITY));
      const product = MUL + (fb << 8);
      for (let j = 0; j < NROOTS - 1; j++) {
        store<u8>(PARITY + j, load<u8>(PARITY + j + 1) ^ load<u8>(product + <usize>load<u8>(GEN_R + j)));
      }
      store<u8>(PARITY + NROOTS - 1, load<u8>(product + <usize>load<u8>(GEN_R + NROOTS - 1)));
    }
  }
  for (let j = 0; j < NROOTS; j++) store<u8>(base + <usize>(k + j) * stride, load<u8>(PARITY + j));
}

/**
 * Encodes `blocks` code blocks in place at `ptr`. Each block is interleave * (255 - fill) bytes:
 * the data symbols (interleaved) first, then room for the parity symbols, which are written.
 */
export function rsEncode(ptr: usize, blocks: i32, interleave: i32, fill: i32, dual: bool): void {
  const n = 255 - fill;
  const blockLen = <usize>(interleave * n);
  if (dual) rsToConventional(ptr, blockLen * blocks);
  for (let b = 0; b < blocks; b++) {
    const block = ptr + <usize>b * blockLen;
    for (let w = 0; w < interleave; w++) encodeCodeword(block + w, interleave, n - NROOTS);
  }
  if (dual) rsToDual(ptr, blockLen * blocks);
}

// ---------------------------------------------------------------------------------------------
// Decoder

const SYN: usize = alloc(NROOTS);
const LAMBDA: usize = alloc(NROOTS + 2);
const PREV: usize = alloc(NROOTS + 2);   // B(x) of Berlekamp-Massey
const NEXT: usize = alloc(NROOTS + 2);   // T(x) of Berlekamp-Massey
const OMEGA: usize = alloc(NROOTS);
const ROOTS: usize = alloc(256);          // degrees d of the error locations found
const VALUES: usize = alloc(256);         // error values at ROOTS

/** Syndromes of one codeword into SYN; returns whether they are all zero. */
function syndromes(base: usize, stride: usize, n: i32, fill: i32): bool {
  if (ASC_FEATURE_SIMD) {
    let s0 = i8x16.splat(0);
    let s1 = i8x16.splat(0);
    let v = SYNV_N + <usize>fill * 64;
    for (let t = 0; t < n; t++) {
      const tab = NIB + (<usize>load<u8>(base + <usize>t * stride) << 5);
      const tlo = v128.load(tab);
      const thi = v128.load(tab, 16);
      s0 = v128.xor(s0, v128.xor(i8x16.swizzle(tlo, v128.load(v)), i8x16.swizzle(thi, v128.load(v, 16))));
      s1 = v128.xor(s1, v128.xor(i8x16.swizzle(tlo, v128.load(v, 32)), i8x16.swizzle(thi, v128.load(v, 48))));
      v += 64;
    }
    v128.store(SYN, s0);
    v128.store(SYN, s1, 16);
    return !v128.any_true(v128.or(s0, s1));
  } else {
    memory.fill(SYN, 0, NROOTS);
    let v = SYNV + <usize>fill * NROOTS;
    for (let t = 0; t < n; t++) {
      const r = <usize>load<u8>(base + <usize>t * stride);
      if (r != 0) {
        const product = MUL + (r << 8);
        for (let j = 0; j < NROOTS; j++) {
          store<u8>(SYN + j, load<u8>(SYN + j) ^ load<u8>(product + <usize>load<u8>(v + j)));
        }
      }
      v += NROOTS;
    }
    let any: u8 = 0;
    for (let j = 0; j < NROOTS; j++) any |= load<u8>(SYN + j);
    return any == 0;
  }
}

/** Degrees d <= maxDegree with LAMBDA(beta^-d) = 0 into ROOTS; returns how many. */
function chienSearch(degree: i32, maxDegree: i32): i32 {
  let found = 0;
  if (ASC_FEATURE_SIMD) {
    for (let d0 = 0; d0 <= maxDegree; d0 += 16) {
      let acc = i8x16.splat(load<u8>(LAMBDA));
      for (let k = 1; k <= degree; k++) {
        const tab = NIB + (<usize>load<u8>(LAMBDA + k) << 5);
        const at = <usize>(k * 256 + d0);
        acc = v128.xor(acc, v128.xor(
          i8x16.swizzle(v128.load(tab), v128.load(CHIEN_LO + at)),
          i8x16.swizzle(v128.load(tab, 16), v128.load(CHIEN_HI + at)),
        ));
      }
      let zeros = i8x16.bitmask(i8x16.eq(acc, i8x16.splat(0)));
      const beyond = maxDegree - d0 + 1;
      if (beyond < 16) zeros &= (1 << beyond) - 1;
      while (zeros != 0) {
        store<u8>(ROOTS + found++, <u8>(d0 + ctz(zeros)));
        zeros &= zeros - 1;
      }
    }
  } else {
    for (let d = 0; d <= maxDegree; d++) {
      let sum = <u32>load<u8>(LAMBDA);
      for (let k = 1; k <= degree; k++) sum ^= gfMul(load<u8>(LAMBDA + k), load<u8>(CHIEN + k * 256 + d));
      if (sum == 0) store<u8>(ROOTS + found++, <u8>d);
    }
  }
  return found;
}

/** Whether the syndromes of (received + corrections) are all zero, i.e. the corrected
 *  codeword is a codeword. By linearity that is SYN + sum of VALUES[i] * SYNV[row of ROOTS[i]]. */
function correctionsCancelSyndromes(count: i32): bool {
  if (ASC_FEATURE_SIMD) {
    let s0 = v128.load(SYN);
    let s1 = v128.load(SYN, 16);
    for (let i = 0; i < count; i++) {
      const tab = NIB + (<usize>load<u8>(VALUES + i) << 5);
      const v = SYNV_N + <usize>(254 - load<u8>(ROOTS + i)) * 64;
      const tlo = v128.load(tab);
      const thi = v128.load(tab, 16);
      s0 = v128.xor(s0, v128.xor(i8x16.swizzle(tlo, v128.load(v)), i8x16.swizzle(thi, v128.load(v, 16))));
      s1 = v128.xor(s1, v128.xor(i8x16.swizzle(tlo, v128.load(v, 32)), i8x16.swizzle(thi, v128.load(v, 48))));
    }
    return !v128.any_true(v128.or(s0, s1));
  } else {
    for (let j = 0; j < NROOTS; j++) {
      let s = <u32>load<u8>(SYN + j);
      for (let i = 0; i < count; i++) {
        const v = SYNV + <usize>(254 - load<u8>(ROOTS + i)) * NROOTS;
        s ^= gfMul(load<u8>(VALUES + i), load<u8>(v + j));
      }
      if (s != 0) return false;
    }
    return true;
  }
}

const UNCORRECTABLE: i32 = -1;

/**
 * Decodes one codeword in place: n = 255 - fill symbols at `base`, `stride` apart, with the
 * erasure list at `erasures` (0 for none). Returns the number of symbols corrected, or
 * UNCORRECTABLE, in which case the symbols are left as received.
 */
function decodeCodeword(base: usize, stride: usize, n: i32, fill: i32, erasures: usize): i32 {
  // All-zero syndromes: already a codeword, whatever the erasures say.
  if (syndromes(base, stride, n, fill)) return 0;
  const f = erasures ? <i32>load<u8>(erasures) : 0;
  const maxDegree = 254 - fill;

  // Lambda(x) starts as the erasure locator prod (1 + X_e x).
  memory.fill(LAMBDA, 0, NROOTS + 2);
  store<u8>(LAMBDA, 1);
  for (let e = 0; e < f; e++) {
    const x = betaExp(maxDegree - <i32>load<u8>(erasures + 1 + e));
    for (let i = e + 1; i > 0; i--) store<u8>(LAMBDA + i, load<u8>(LAMBDA + i) ^ <u8>gfMul(x, load<u8>(LAMBDA + i - 1)));
  }

  // Berlekamp-Massey from step f + 1 (the erasures fill the first f steps).
  memory.copy(PREV, LAMBDA, NROOTS + 1);
  store<u8>(PREV + NROOTS + 1, 0);
  let el = f;
  let degL = f;
  let degB = f;
  for (let r = f + 1; r <= NROOTS; r++) {
    let discr: u32 = 0;
    const top = min(degL, r - 1);
    for (let i = 0; i <= top; i++) discr ^= gfMul(load<u8>(LAMBDA + i), load<u8>(SYN + r - 1 - i));
    if (discr == 0) {
      // B(x) <- x B(x)
      for (let i = degB + 1; i > 0; i--) store<u8>(PREV + i, load<u8>(PREV + i - 1));
      store<u8>(PREV, 0);
      degB++;
      continue;
    }
    // T(x) <- Lambda(x) - discr x B(x)
    const product = MUL + (<usize>discr << 8);
    const degT = max(degL, degB + 1);
    store<u8>(NEXT, load<u8>(LAMBDA));
    for (let i = 1; i <= degT; i++) {
      store<u8>(NEXT + i, load<u8>(LAMBDA + i) ^ load<u8>(product + <usize>load<u8>(PREV + i - 1)));
    }
    if (2 * el <= r + f - 1) {
      el = r + f - el;
      // B(x) <- Lambda(x) / discr
      const scale = MUL + (<usize>gfInv(discr) << 8);
      for (let i = 0; i <= degL; i++) store<u8>(PREV + i, load<u8>(scale + <usize>load<u8>(LAMBDA + i)));
      for (let i = degL + 1; i <= degB + 1; i++) store<u8>(PREV + i, 0);
      degB = degL;
    } else {
      for (let i = degB + 1; i > 0; i--) store<u8>(PREV + i, load<u8>(PREV + i - 1));
      store<u8>(PREV, 0);
      degB++;
    }
    memory.copy(LAMBDA, NEXT, degT + 1);
    degL = degT;
  }
  while (degL > 0 && load<u8>(LAMBDA + degL) == 0) degL--;
  if (degL > NROOTS || degL != el) return UNCORRECTABLE;

  const roots = chienSearch(degL, maxDegree);
  if (roots != degL) return UNCORRECTABLE;

  // The errors outside the erasures must fit: 2e + f <= 32.
  let errors = roots;
  for (let i = 0; i < roots; i++) {
    const d = <i32>load<u8>(ROOTS + i);
    for (let e = 0; e < f; e++) {
      if (maxDegree - <i32>load<u8>(erasures + 1 + e) == d) {
        errors--;
        break;
      }
    }
  }
  if (2 * errors + f > NROOTS) return UNCORRECTABLE;

  // Forney: Omega(x) = S(x) Lambda(x) mod x^32, Y = X^(1 - FCR) Omega(X^-1) / Lambda'(X^-1).
  for (let i = 0; i < degL; i++) {
    let acc: u32 = 0;
    for (let j = 0; j <= i; j++) acc ^= gfMul(load<u8>(SYN + j), load<u8>(LAMBDA + i - j));
    store<u8>(OMEGA + i, <u8>acc);
  }
  for (let i = 0; i < roots; i++) {
    const d = <i32>load<u8>(ROOTS + i);
    let num: u32 = 0;
    for (let j = 0; j < degL; j++) num ^= gfMul(load<u8>(OMEGA + j), load<u8>(CHIEN + j * 256 + d));
    let den: u32 = 0;
    for (let j = 1; j <= degL; j += 2) den ^= gfMul(load<u8>(LAMBDA + j), load<u8>(CHIEN + (j - 1) * 256 + d));
    if (den == 0) return UNCORRECTABLE;
    store<u8>(VALUES + i, <u8>gfMul(gfMul(betaExp((1 - FCR) * d), num), gfInv(den)));
  }

  // Never hand back a word that is not a codeword.
  if (!correctionsCancelSyndromes(roots)) return UNCORRECTABLE;
  let corrected = 0;
  for (let i = 0; i < roots; i++) {
    const y = load<u8>(VALUES + i);
    if (y == 0) continue;
    const at = base + <usize>(maxDegree - <i32>load<u8>(ROOTS + i)) * stride;
    store<u8>(at, load<u8>(at) ^ y);
    corrected++;
  }
  return corrected;
}

/**
 * Decodes `blocks` code blocks in place at `ptr` (layout as rsEncode). `erasures` is 0 or one
 * ERASURE_STRIDE-byte list per codeword (codeword c = block * interleave + w), positions being
 * transmitted symbol indexes within the codeword. Writes one i16 per codeword at `results`:
 * symbols corrected, or UNCORRECTABLE. Returns the number of uncorrectable codewords.
 */
export function rsDecode(ptr: usize, blocks: i32, interleave: i32, fill: i32, dual: bool, erasures: usize, results: usize): i32 {
  const n = 255 - fill;
  const blockLen = <usize>(interleave * n);
  if (dual) rsToConventional(ptr, blockLen * blocks);
  let failed = 0;
  for (let b = 0; b < blocks; b++) {
    for (let w = 0; w < interleave; w++) {
      const c = b * interleave + w;
      const list = erasures ? erasures + <usize>(c * ERASURE_STRIDE) : 0;
      const result = decodeCodeword(ptr + <usize>b * blockLen + w, interleave, n, fill, list);
      store<i16>(results + (<usize>c << 1), <i16>result);
      if (result < 0) failed++;
    }
  }
  if (dual) rsToDual(ptr, blockLen * blocks);
  return failed;
}
