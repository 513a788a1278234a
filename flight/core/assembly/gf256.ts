// GF(2^8) with the CCSDS field polynomial x^8 + x^7 + x^2 + x + 1 (0x187) and alpha = x (0x02).
// One field serves the CCSDS Reed-Solomon code and the erasure code, so the core holds one set of
// tables. They are built once at instantiation in memory that is never freed.
import { alloc } from "./memory";

const FIELD_POLY: u32 = 0x187;

/** EXP[i] = alpha^i for i in 0..509: EXP[LOG[a] + LOG[b]] needs no reduction mod 255. */
export const EXP: usize = alloc(512);
/** LOG[a] = i with alpha^i = a, for a != 0. */
const LOG: usize = alloc(256);
/** MUL[a << 8 | b] = a * b: one load per product on the scalar paths (64 KiB). */
export const MUL: usize = alloc(65536);
/** INV[a] = 1 / a for a != 0. */
export const INV: usize = alloc(256);
/** NIB + 32 * c: c * n for n = 0..15, then c * (n << 4) for n = 0..15. These are the two
 *  i8x16.swizzle tables that multiply 16 bytes by the constant c, one nibble at a time
 *  (multiplication by c is linear over GF(2), so c * x = c * lo(x) ^ c * hi(x)). */
export const NIB: usize = alloc(256 * 32);

function buildTables(): void {
  let x: u32 = 1;
  for (let i: u32 = 0; i < 255; i++) {
    store<u8>(EXP + i, <u8>x);
    store<u8>(EXP + i + 255, <u8>x);
    store<u8>(LOG + x, <u8>i);
    x <<= 1;
    if (x & 0x100) x ^= FIELD_POLY;
  }
  store<u8>(EXP + 510, 1);
  store<u8>(EXP + 511, load<u8>(EXP + 1));
  for (let a: u32 = 1; a < 256; a++) {
    const la = <u32>load<u8>(LOG + a);
    for (let b: u32 = 1; b < 256; b++) {
      store<u8>(MUL + (a << 8 | b), load<u8>(EXP + la + <u32>load<u8>(LOG + b)));
    }
    store<u8>(INV + a, load<u8>(EXP + 255 - la));
  }
  for (let c: u32 = 0; c < 256; c++) {
    for (let n: u32 = 0; n < 16; n++) {
      store<u8>(NIB + c * 32 + n, load<u8>(MUL + (c << 8 | n)));
      store<u8>(NIB + c * 32 + 16 + n, load<u8>(MUL + (c << 8 | n << 4)));
    }
  }
}
buildTables();

// @ts-ignore: decorator
@inline export function gfMul(a: u32, b: u32): u32 {
  return <u32>load<u8>(MUL + (a << 8 | b));
}

// @ts-ignore: decorator
@inline export function gfInv(a: u32): u32 {
  return <u32>load<u8>(INV + a);
}
