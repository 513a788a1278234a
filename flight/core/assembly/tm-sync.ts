// CCSDS 131.0-B TM synchronisation kernels: the search for the attached sync marker 0x1ACFFC1D
// tolerating bit errors in it, and the pseudo-randomiser (h(x) = x^8 + x^7 + x^5 + x^3 + 1, all
// ones at the start of each code block), which is its own inverse.
import { alloc } from "./memory";

const ASM: u32 = 0x1acffc1d;
/** lcm(255, 16): the sequence repeated so a 16-byte load never wraps inside the table. */
const SEQUENCE_BYTES: i32 = 4080;
const SEQUENCE: usize = alloc(SEQUENCE_BYTES);

function buildSequence(): void {
  let state: u32 = 0xff;
  for (let i = 0; i < 255; i++) {
    let byte: u32 = 0;
    for (let b = 0; b < 8; b++) {
      const out = state & 1;
      byte = (byte << 1) | out;
      // Fibonacci register: the feedback is the XOR of the taps of h(x), shifted in at the top.
      const feedback = (state ^ (state >> 3) ^ (state >> 5) ^ (state >> 7)) & 1;
      state = (state >> 1) | (feedback << 7);
    }
    store<u8>(SEQUENCE + i, <u8>byte);
  }
  for (let i = 255; i < SEQUENCE_BYTES; i++) store<u8>(SEQUENCE + i, load<u8>(SEQUENCE + i - 255));
}
buildSequence();

/**
 * XORs `len` bytes at `ptr` with the pseudo-random sequence, restarted every `blockLen` bytes
 * (each code block starts the sequence afresh), so a run of blocks takes one call.
 */
export function tmRandomise(ptr: usize, len: i32, blockLen: i32): void {
  for (let start = 0; start < len; start += blockLen) {
    const end = min(len, start + blockLen);
    let i = start;
    let t = 0;
    if (ASC_FEATURE_SIMD) {
      for (; i + 16 <= end; i += 16) {
        v128.store(ptr + i, v128.xor(v128.load(ptr + i), v128.load(SEQUENCE + t)));
        t += 16;
        if (t == SEQUENCE_BYTES) t = 0;
      }
    } else {
      for (; i + 8 <= end; i += 8) {
        store<u64>(ptr + i, load<u64>(ptr + i) ^ load<u64>(SEQUENCE + t));
        t += 8;
        if (t == SEQUENCE_BYTES) t = 0;
      }
    }
    for (; i < end; i++) {
      store<u8>(ptr + i, load<u8>(ptr + i) ^ load<u8>(SEQUENCE + t));
      t++;
      if (t == SEQUENCE_BYTES) t = 0;
    }
  }
}

/**
 * The first byte offset in [from, len - 4] where the 32 bits read big-endian differ from the
 * ASM in at most `maxErrors` bits; -1 if none. A UART frames bytes, so no bit slip is sought.
 */
export function tmFindSync(ptr: usize, len: i32, from: i32, maxErrors: i32): i32 {
  for (let p = from; p + 4 <= len; p++) {
    const word = bswap<u32>(load<u32>(ptr + p));
    if (<i32>popcnt<u32>(word ^ ASM) <= maxErrors) return p;
  }
  return -1;
}
