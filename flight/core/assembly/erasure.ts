// Erasure coding over GF(2^8): a systematic MDS code with k data and m parity shards,
// k + m <= 255. The generator is [I; C] with the Cauchy matrix C[i][j] = 1 / ((k + i) ^ j):
// every square submatrix of a Cauchy matrix is invertible, so any k of the k + m shards determine
// the rest. Encoding and rebuilding are both "multiply a coefficient matrix by source shards",
// done by one kernel: WASM SIMD split-nibble lookups (i8x16.swizzle) where the build has SIMD,
// a 64 KiB product table otherwise. Both give the same bytes.
import { gfInv, gfMul, MUL, NIB } from "./gf256";

/** Writes the m x k Cauchy parity matrix (row-major, one byte per coefficient) at `out`. */
export function erasureParityMatrix(k: i32, m: i32, out: usize): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) store<u8>(out + i * k + j, <u8>gfInv(<u32>((k + i) ^ j)));
  }
}

/** Inverts the n x n matrix at `a` in place (Gauss-Jordan), using `work` (n * n bytes).
 *  Returns false if it is singular. */
function invert(a: usize, n: i32, work: usize): bool {
  // work starts as the identity and ends as the inverse.
  memory.fill(work, 0, n * n);
  for (let i = 0; i < n; i++) store<u8>(work + i * n + i, 1);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && load<u8>(a + pivot * n + col) == 0) pivot++;
    if (pivot == n) return false;
    if (pivot != col) {
      for (let j = 0; j < n; j++) {
        const t = load<u8>(a + col * n + j);
        store<u8>(a + col * n + j, load<u8>(a + pivot * n + j));
        store<u8>(a + pivot * n + j, t);
        const u = load<u8>(work + col * n + j);
        store<u8>(work + col * n + j, load<u8>(work + pivot * n + j));
        store<u8>(work + pivot * n + j, u);
      }
    }
    const scale = gfInv(load<u8>(a + col * n + col));
    for (let j = 0; j < n; j++) {
      store<u8>(a + col * n + j, <u8>gfMul(scale, load<u8>(a + col * n + j)));
      store<u8>(work + col * n + j, <u8>gfMul(scale, load<u8>(work + col * n + j)));
    }
    for (let r = 0; r < n; r++) {
      const f = <u32>load<u8>(a + r * n + col);
      if (r == col || f == 0) continue;
      for (let j = 0; j < n; j++) {
        store<u8>(a + r * n + j, load<u8>(a + r * n + j) ^ <u8>gfMul(f, load<u8>(a + col * n + j)));
        store<u8>(work + r * n + j, load<u8>(work + r * n + j) ^ <u8>gfMul(f, load<u8>(work + col * n + j)));
      }
    }
  }
  memory.copy(a, work, n * n);
  return true;
}

/** Generator row of shard `index` (identity for data, Cauchy row for parity) into `row`. */
function generatorRow(k: i32, parity: usize, index: i32, row: usize): void {
  if (index < k) {
    memory.fill(row, 0, k);
    store<u8>(row + index, 1);
  } else {
    memory.copy(row, parity + (index - k) * k, k);
  }
}

/**
 * Writes at `out` the `wantedCount` x k matrix that computes the shards listed at `wanted`
 * (u8 shard indexes) from the k shards listed at `present` (u8 indexes, in the order their
 * addresses will be passed to erasureApply). `parity` is the m x k parity matrix; `work` is
 * scratch of at least 3 * k * k bytes. Returns false if the present rows are singular, which an
 * MDS code never allows; the caller treats it as a fault.
 */
export function erasureRebuildMatrix(
  k: i32, parity: usize, present: usize, wanted: usize, wantedCount: i32, out: usize, work: usize,
): bool {
  const a = work;
  const inverse = work + k * k;
  for (let r = 0; r < k; r++) generatorRow(k, parity, load<u8>(present + r), a + r * k);
  if (!invert(a, k, inverse)) return false;
  const row = inverse;
  for (let w = 0; w < wantedCount; w++) {
    generatorRow(k, parity, load<u8>(wanted + w), row);
    for (let j = 0; j < k; j++) {
      let acc: u32 = 0;
      for (let t = 0; t < k; t++) acc ^= gfMul(load<u8>(row + t), load<u8>(a + t * k + j));
      store<u8>(out + w * k + j, <u8>acc);
    }
  }
  return true;
}

/**
 * targets[r] = sum over s of coeffs[r][s] * sources[s], byte by byte, for `rows` target shards
 * and `cols` source shards of `len` bytes. `sources` and `targets` hold u32 shard addresses;
 * `coeffs` is rows x cols, row-major. Targets are overwritten.
 */
export function erasureApply(coeffs: usize, rows: i32, cols: i32, sources: usize, targets: usize, len: usize): void {
  let done: usize = 0;
  if (ASC_FEATURE_SIMD) {
    done = len & ~(<usize>15);
    let r = 0;
    for (; r + 4 <= rows; r += 4) applyRowsSimd(4, coeffs + r * cols, cols, sources, targets + r * 4, done);
    for (; r < rows; r++) applyRowsSimd(1, coeffs + r * cols, cols, sources, targets + r * 4, done);
  }
  // Scalar path, and the tail of fewer than 16 bytes after the SIMD path.
  if (done < len) {
    for (let r = 0; r < rows; r++) {
      const target = <usize>load<u32>(targets + r * 4);
      memory.fill(target + done, 0, len - done);
      for (let s = 0; s < cols; s++) {
        const c = <usize>load<u8>(coeffs + r * cols + s);
        if (c == 0) continue;
        const product = MUL + (c << 8);
        const source = <usize>load<u32>(sources + s * 4);
        for (let p = done; p < len; p++) {
          store<u8>(target + p, load<u8>(target + p) ^ load<u8>(product + <usize>load<u8>(source + p)));
        }
      }
    }
  }
}

/** `n` (1 or 4, a constant after inlining) target rows at once: each 16-byte block of a
 *  source is split into nibbles once and multiplied into all n accumulators, which stay in
 *  registers until the block is done. */
// @ts-ignore: decorator
@inline function applyRowsSimd(n: i32, coeffs: usize, cols: i32, sources: usize, targets: usize, len: usize): void {
  const t0 = <usize>load<u32>(targets);
  const t1 = n > 1 ? <usize>load<u32>(targets, 4) : 0;
  const t2 = n > 1 ? <usize>load<u32>(targets, 8) : 0;
  const t3 = n > 1 ? <usize>load<u32>(targets, 12) : 0;
  const mask = i8x16.splat(0x0f);
  for (let p: usize = 0; p < len; p += 16) {
    let a0 = i8x16.splat(0);
    let a1 = i8x16.splat(0);
    let a2 = i8x16.splat(0);
    let a3 = i8x16.splat(0);
    for (let s = 0; s < cols; s++) {
      const x = v128.load(<usize>load<u32>(sources + s * 4) + p);
      const lo = v128.and(x, mask);
      const hi = v128.and(i16x8.shr_u(x, 4), mask);
      const c0 = NIB + (<usize>load<u8>(coeffs + s) << 5);
      a0 = v128.xor(a0, v128.xor(i8x16.swizzle(v128.load(c0), lo), i8x16.swizzle(v128.load(c0, 16), hi)));
      if (n > 1) {
        const c1 = NIB + (<usize>load<u8>(coeffs + cols + s) << 5);
        const c2 = NIB + (<usize>load<u8>(coeffs + 2 * cols + s) << 5);
        const c3 = NIB + (<usize>load<u8>(coeffs + 3 * cols + s) << 5);
        a1 = v128.xor(a1, v128.xor(i8x16.swizzle(v128.load(c1), lo), i8x16.swizzle(v128.load(c1, 16), hi)));
        a2 = v128.xor(a2, v128.xor(i8x16.swizzle(v128.load(c2), lo), i8x16.swizzle(v128.load(c2, 16), hi)));
        a3 = v128.xor(a3, v128.xor(i8x16.swizzle(v128.load(c3), lo), i8x16.swizzle(v128.load(c3, 16), hi)));
      }
    }
    v128.store(t0 + p, a0);
    if (n > 1) {
      v128.store(t1 + p, a1);
      v128.store(t2 + p, a2);
      v128.store(t3 + p, a3);
    }
  }
}
