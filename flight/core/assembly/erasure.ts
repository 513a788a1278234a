// Erasure coding over GF(2^8): a systematic MDS code with k data and m parity shards,
// k + m <= 255. The generator is [I; P] with P[i][j] = (k ^ j) / ((k + i) ^ j): the Cauchy matrix
// 1 / ((k + i) ^ j) with column j scaled by k ^ j so that parity row 0 is all ones (the XOR of
// the data). Every square submatrix of a Cauchy matrix is invertible and scaling columns keeps
// it so, hence any k of the k + m shards determine the rest. Encoding and rebuilding are both
// "multiply a coefficient matrix by source shards", done by one kernel: WASM SIMD split-nibble
// lookups (i8x16.swizzle) where the build has SIMD, a 64 KiB product table otherwise. Both give
// the same bytes.
import { alloc } from "./memory";
import { gfInv, gfMul, MUL, NIB } from "./gf256";

/** Writes the m x k parity matrix (row-major, one byte per coefficient) at `out`. */
export function erasureParityMatrix(k: i32, m: i32, out: usize): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) store<u8>(out + i * k + j, <u8>gfMul(<u32>(k ^ j), gfInv(<u32>((k + i) ^ j))));
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

/** Per source, the 8 swizzle tables of its coefficients in 4 target rows, laid out as the SIMD
 *  kernel reads them (255 sources x 128 bytes). */
const PLAN: usize = ASC_FEATURE_SIMD ? alloc(255 * 128) : 0;

/**
 * targets[r] = sum over s of coeffs[r][s] * sources[s], byte by byte, for `rows` target shards
 * and `cols` source shards of `len` bytes. `sources` and `targets` hold u32 shard addresses;
 * `coeffs` is rows x cols, row-major. Targets are overwritten.
 */
export function erasureApply(coeffs: usize, rows: i32, cols: i32, sources: usize, targets: usize, len: usize): void {
  let done: usize = 0;
  if (ASC_FEATURE_SIMD) {
    done = len & ~(<usize>31);
    for (let r = 0; r < rows; r += 4) {
      const n = min(4, rows - r);
      // Rows past the last are planned with coefficient 0 and never stored.
      for (let s = 0; s < cols; s++) {
        for (let i = 0; i < 4; i++) {
          const c = i < n ? <usize>load<u8>(coeffs + (r + i) * cols + s) : 0;
          memory.copy(PLAN + <usize>(s * 128 + i * 32), NIB + (c << 5), 32);
        }
      }
      let ones = true;
      for (let s = 0; s < cols && ones; s++) ones = load<u8>(coeffs + r * cols + s) == 1;
      if (ones) applyRowsXorFirst(n, cols, sources, targets + r * 4, done);
      else applyRows(n, cols, sources, targets + r * 4, done);
    }
  }
  // Scalar path, and the tail of fewer than 32 bytes after the SIMD path.
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

// @ts-ignore: decorator
@inline function mulAdd(acc: v128, table: usize, lo: v128, hi: v128): v128 {
  return v128.xor(acc, v128.xor(i8x16.swizzle(v128.load(table), lo), i8x16.swizzle(v128.load(table, 16), hi)));
}

function applyRows(n: i32, cols: i32, sources: usize, targets: usize, len: usize): void {
  applyRowsSimd(false, n, cols, sources, targets, len);
}

/** As applyRows when the first row is all ones (parity row 0): it is a plain XOR. */
function applyRowsXorFirst(n: i32, cols: i32, sources: usize, targets: usize, len: usize): void {
  applyRowsSimd(true, n, cols, sources, targets, len);
}

/** Up to 4 target rows at once over 32 bytes per step: each source block is split into nibbles
 *  once and multiplied into 8 accumulators (4 rows x 2 vectors) that stay in registers until the
 *  block is done, and each table load serves both vectors. */
// @ts-ignore: decorator
@inline function applyRowsSimd(xorFirst: bool, n: i32, cols: i32, sources: usize, targets: usize, len: usize): void {
  const t0 = <usize>load<u32>(targets);
  const t1 = n > 1 ? <usize>load<u32>(targets, 4) : 0;
  const t2 = n > 2 ? <usize>load<u32>(targets, 8) : 0;
  const t3 = n > 3 ? <usize>load<u32>(targets, 12) : 0;
  const mask = i8x16.splat(0x0f);
  for (let p: usize = 0; p < len; p += 32) {
    let a0 = i8x16.splat(0);
    let a1 = i8x16.splat(0);
    let a2 = i8x16.splat(0);
    let a3 = i8x16.splat(0);
    let b0 = i8x16.splat(0);
    let b1 = i8x16.splat(0);
    let b2 = i8x16.splat(0);
    let b3 = i8x16.splat(0);
    let plan = PLAN;
    for (let s = 0; s < cols; s++) {
      const source = <usize>load<u32>(sources + (<usize>s << 2)) + p;
      const x = v128.load(source);
      const y = v128.load(source, 16);
      if (xorFirst) {
        // Row 0 is a plain XOR, so both vectors' nibbles fit in registers at once and each
        // table load serves both.
        const xlo = v128.and(x, mask);
        const xhi = v128.and(i16x8.shr_u(x, 4), mask);
        const ylo = v128.and(y, mask);
        const yhi = v128.and(i16x8.shr_u(y, 4), mask);
        a0 = v128.xor(a0, x);
        b0 = v128.xor(b0, y);
        a1 = mulAdd(a1, plan + 32, xlo, xhi);
        b1 = mulAdd(b1, plan + 32, ylo, yhi);
        a2 = mulAdd(a2, plan + 64, xlo, xhi);
        b2 = mulAdd(b2, plan + 64, ylo, yhi);
        a3 = mulAdd(a3, plan + 96, xlo, xhi);
        b3 = mulAdd(b3, plan + 96, ylo, yhi);
      } else {
        // Eight swizzle accumulators leave no room for four nibble vectors (x64 has 16 xmm
        // registers): one vector at a time, loading the tables twice, beats spilling.
        const xlo = v128.and(x, mask);
        const xhi = v128.and(i16x8.shr_u(x, 4), mask);
        a0 = mulAdd(a0, plan, xlo, xhi);
        a1 = mulAdd(a1, plan + 32, xlo, xhi);
        a2 = mulAdd(a2, plan + 64, xlo, xhi);
        a3 = mulAdd(a3, plan + 96, xlo, xhi);
        const ylo = v128.and(y, mask);
        const yhi = v128.and(i16x8.shr_u(y, 4), mask);
        b0 = mulAdd(b0, plan, ylo, yhi);
        b1 = mulAdd(b1, plan + 32, ylo, yhi);
        b2 = mulAdd(b2, plan + 64, ylo, yhi);
        b3 = mulAdd(b3, plan + 96, ylo, yhi);
      }
      plan += 128;
    }
    v128.store(t0 + p, a0);
    v128.store(t0 + p, b0, 16);
    if (n > 1) {
      v128.store(t1 + p, a1);
      v128.store(t1 + p, b1, 16);
    }
    if (n > 2) {
      v128.store(t2 + p, a2);
      v128.store(t2 + p, b2, 16);
    }
    if (n > 3) {
      v128.store(t3 + p, a3);
      v128.store(t3 + p, b3, 16);
    }
  }
}
