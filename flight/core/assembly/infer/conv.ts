// CONV_2D (and FULLY_CONNECTED as a 1x1 convolution) and DEPTHWISE_CONV_2D on int8 NHWC
// tensors, arithmetic as TFLM's reference ConvPerChannel / DepthwiseConvPerChannel: taps outside
// the input are skipped, every product is filter * (input + input_offset) summed in i32, then
// bias, per-channel requantisation, output offset and the activation clamp.
//
// Filters arrive prepacked as i16 (flight/infer/prepack.ts): conv as one row of kPad values per
// output channel (taps in (ky, kx, c) order, zero-padded to a multiple of 8), depthwise as
// kPad channels per tap. The SIMD build multiplies eight i16 lanes at once with
// i32x4.dot_i16x8_s / extmul; the scalar build is the reference, and both give the same bits
// because integer sums do not depend on their order.
import { multiplyByQuantizedMultiplier } from "./fixedpoint";
import {
  param, P_IN, P_OUT, P_IN_H, P_IN_W, P_IN_C, P_OUT_W, P_OUT_C, P_FILTER, P_K_H, P_K_W, P_K_PAD,
  P_STRIDE_H, P_STRIDE_W, P_DIL_H, P_DIL_W, P_PAD_TOP, P_PAD_LEFT, P_IN_OFFSET, P_OUT_OFFSET,
  P_ACT_MIN, P_ACT_MAX, P_BIAS, P_MULT, P_SHIFT, P_SCRATCH, P_DEPTH_MULT,
} from "./params";

// @ts-ignore: decorator
@inline function requantize(acc: i32, p: usize, oc: i32): i32 {
  const o = <usize>oc << 2;
  let v = multiplyByQuantizedMultiplier(acc + load<i32>(<usize>param(p, P_BIAS) + o),
    load<i32>(<usize>param(p, P_MULT) + o), load<i32>(<usize>param(p, P_SHIFT) + o));
  v += param(p, P_OUT_OFFSET);
  const lo = param(p, P_ACT_MIN);
  const hi = param(p, P_ACT_MAX);
  return v < lo ? lo : v > hi ? hi : v;
}

/** [sum(a), sum(b), sum(c), sum(d)]: four horizontal sums with shuffles instead of 12 extracts. */
// @ts-ignore: decorator
@inline function sums4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(ab, cd, 0, 1, 4, 5), i32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

/** Requantises the i32 sums of channels [0, outC) at acc into int8 at out, parameters hoisted. */
function requantizeRow(p: usize, acc: usize, out: usize, outC: i32): void {
  const bias = <usize>param(p, P_BIAS), mult = <usize>param(p, P_MULT), shift = <usize>param(p, P_SHIFT);
  const offset = param(p, P_OUT_OFFSET), lo = param(p, P_ACT_MIN), hi = param(p, P_ACT_MAX);
  for (let oc = 0; oc < outC; oc++) {
    const o = <usize>oc << 2;
    let v = multiplyByQuantizedMultiplier(load<i32>(acc + o) + load<i32>(bias + o), load<i32>(mult + o), load<i32>(shift + o)) + offset;
    store<i8>(out + <usize>oc, v < lo ? lo : v > hi ? hi : v);
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/** The i16 patch of output pixel (oy, ox): (input + offset) per tap, 0 outside, kPad long. */
function buildPatch(p: usize, oy: i32, ox: i32, patch: usize): void {
  const input = <usize>param(p, P_IN);
  const inH = param(p, P_IN_H), inW = param(p, P_IN_W), inC = param(p, P_IN_C);
  const kH = param(p, P_K_H), kW = param(p, P_K_W), kPad = param(p, P_K_PAD);
  const offset = param(p, P_IN_OFFSET);
  const y0 = oy * param(p, P_STRIDE_H) - param(p, P_PAD_TOP);
  const x0 = ox * param(p, P_STRIDE_W) - param(p, P_PAD_LEFT);
  const dh = param(p, P_DIL_H), dw = param(p, P_DIL_W);
  let q = patch;
  for (let ky = 0; ky < kH; ky++) {
    const iy = y0 + ky * dh;
    for (let kx = 0; kx < kW; kx++) {
      const ix = x0 + kx * dw;
      if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) {
        memory.fill(q, 0, <usize>inC << 1);
      } else {
        const src = input + <usize>((iy * inW + ix) * inC);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const off = i16x8.splat(<i16>offset);
          // Whole groups of 8 only: never reads past this pixel's channels.
          for (; c + 8 <= inC; c += 8) {
            v128.store(q + (<usize>c << 1), i16x8.add(v128.load8x8_s(src + c), off));
          }
        }
        for (; c < inC; c++) store<i16>(q + (<usize>c << 1), <i16>(load<i8>(src + c) + offset));
      }
      q += <usize>inC << 1;
    }
  }
  const k = kH * kW * param(p, P_IN_C);
  memory.fill(patch + (<usize>k << 1), 0, <usize>(kPad - k) << 1);
}

// @ts-ignore: decorator
@inline function dot4(x: v128, w: usize, k: usize, rowBytes: usize, a: v128, i: i32): v128 {
  return i32x4.add(a, i32x4.dot_i16x8_s(x, v128.load(w + <usize>i * rowBytes + k)));
}

/** One output pixel's channels [oc, outC) from its patch, four channels per patch load. */
function convPixel(p: usize, patch: usize, out: usize, oc: i32, outC: i32, filter: usize, rowBytes: usize): void {
  if (ASC_FEATURE_SIMD) {
    for (; oc + 4 <= outC; oc += 4) {
      const w = filter + <usize>oc * rowBytes;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      for (let k: usize = 0; k < rowBytes; k += 16) {
        const x = v128.load(patch + k);
        a0 = dot4(x, w, k, rowBytes, a0, 0);
        a1 = dot4(x, w, k, rowBytes, a1, 1);
        a2 = dot4(x, w, k, rowBytes, a2, 2);
        a3 = dot4(x, w, k, rowBytes, a3, 3);
      }
      store<i8>(out + oc, requantize(hsum(a0), p, oc));
      store<i8>(out + oc + 1, requantize(hsum(a1), p, oc + 1));
      store<i8>(out + oc + 2, requantize(hsum(a2), p, oc + 2));
      store<i8>(out + oc + 3, requantize(hsum(a3), p, oc + 3));
    }
    for (; oc < outC; oc++) {
      const w = filter + <usize>oc * rowBytes;
      let a = i32x4.splat(0);
      for (let k: usize = 0; k < rowBytes; k += 16) a = dot4(v128.load(patch + k), w, k, rowBytes, a, 0);
      store<i8>(out + oc, requantize(hsum(a), p, oc));
    }
  } else {
    for (; oc < outC; oc++) {
      const w = filter + <usize>oc * rowBytes;
      let acc = 0;
      for (let k: usize = 0; k < rowBytes; k += 2) acc += <i32>load<i16>(patch + k) * <i32>load<i16>(w + k);
      store<i8>(out + oc, requantize(acc, p, oc));
    }
  }
}

/** Output rows [rowStart, rowEnd) of a convolution whose parameter block is at p. The SIMD
 *  build takes output pixels in pairs, so each filter vector loaded serves two patches. */
export function inferConv2d(p: usize, rowStart: i32, rowEnd: i32): void {
  const output = <usize>param(p, P_OUT);
  const outW = param(p, P_OUT_W), outC = param(p, P_OUT_C), kPad = param(p, P_K_PAD);
  const filter = <usize>param(p, P_FILTER);
  const patch = <usize>param(p, P_SCRATCH);
  const rowBytes = <usize>kPad << 1;
  const patchB = patch + rowBytes;
  // i32 sums of the pair's channels, after the two patches.
  const accA = patchB + rowBytes;
  const accB = accA + (<usize>outC << 2);
  for (let oy = rowStart; oy < rowEnd; oy++) {
    let ox = 0;
    if (ASC_FEATURE_SIMD) {
      for (; ox + 2 <= outW; ox += 2) {
        buildPatch(p, oy, ox, patch);
        buildPatch(p, oy, ox + 1, patchB);
        const outA = output + <usize>((oy * outW + ox) * outC);
        const outB = outA + <usize>outC;
        let oc = 0;
        for (; oc + 4 <= outC; oc += 4) {
          const w = filter + <usize>oc * rowBytes;
          let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
          let b0 = i32x4.splat(0), b1 = i32x4.splat(0), b2 = i32x4.splat(0), b3 = i32x4.splat(0);
          for (let k: usize = 0; k < rowBytes; k += 16) {
            const xa = v128.load(patch + k);
            const xb = v128.load(patchB + k);
            const w0 = v128.load(w + k);
            a0 = i32x4.add(a0, i32x4.dot_i16x8_s(xa, w0));
            b0 = i32x4.add(b0, i32x4.dot_i16x8_s(xb, w0));
            const w1 = v128.load(w + rowBytes + k);
            a1 = i32x4.add(a1, i32x4.dot_i16x8_s(xa, w1));
            b1 = i32x4.add(b1, i32x4.dot_i16x8_s(xb, w1));
            const w2 = v128.load(w + 2 * rowBytes + k);
            a2 = i32x4.add(a2, i32x4.dot_i16x8_s(xa, w2));
            b2 = i32x4.add(b2, i32x4.dot_i16x8_s(xb, w2));
            const w3 = v128.load(w + 3 * rowBytes + k);
            a3 = i32x4.add(a3, i32x4.dot_i16x8_s(xa, w3));
            b3 = i32x4.add(b3, i32x4.dot_i16x8_s(xb, w3));
          }
          v128.store(accA + (<usize>oc << 2), sums4(a0, a1, a2, a3));
          v128.store(accB + (<usize>oc << 2), sums4(b0, b1, b2, b3));
        }
        requantizeRow(p, accA, outA, oc);
        requantizeRow(p, accB, outB, oc);
        convPixel(p, patch, outA, oc, outC, filter, rowBytes);
        convPixel(p, patchB, outB, oc, outC, filter, rowBytes);
      }
    }
    for (; ox < outW; ox++) {
      buildPatch(p, oy, ox, patch);
      convPixel(p, patch, output + <usize>((oy * outW + ox) * outC), 0, outC, filter, rowBytes);
    }
  }
}

/** Output rows [rowStart, rowEnd) of a depthwise convolution whose parameter block is at p. */
export function inferDepthwiseConv2d(p: usize, rowStart: i32, rowEnd: i32): void {
  const input = <usize>param(p, P_IN), output = <usize>param(p, P_OUT);
  const inH = param(p, P_IN_H), inW = param(p, P_IN_W), inC = param(p, P_IN_C);
  const outW = param(p, P_OUT_W), outC = param(p, P_OUT_C);
  const kH = param(p, P_K_H), kW = param(p, P_K_W), kPad = param(p, P_K_PAD);
  const sh = param(p, P_STRIDE_H), sw = param(p, P_STRIDE_W);
  const dh = param(p, P_DIL_H), dw = param(p, P_DIL_W);
  const padTop = param(p, P_PAD_TOP), padLeft = param(p, P_PAD_LEFT);
  const offset = param(p, P_IN_OFFSET), mult = param(p, P_DEPTH_MULT);
  const filter = <usize>param(p, P_FILTER);
  const acc = <usize>param(p, P_SCRATCH);
  const tapBytes = <usize>kPad << 1;
  for (let oy = rowStart; oy < rowEnd; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const y0 = oy * sh - padTop, x0 = ox * sw - padLeft;
      memory.fill(acc, 0, <usize>kPad << 2);
      for (let ky = 0; ky < kH; ky++) {
        const iy = y0 + ky * dh;
        if (iy < 0 || iy >= inH) continue;
        for (let kx = 0; kx < kW; kx++) {
          const ix = x0 + kx * dw;
          if (ix < 0 || ix >= inW) continue;
          const src = input + <usize>((iy * inW + ix) * inC);
          const w = filter + <usize>(ky * kW + kx) * tapBytes;
          let oc = 0;
          if (ASC_FEATURE_SIMD) {
            if (mult == 1) {
              const off = i16x8.splat(<i16>offset);
              for (; oc + 8 <= outC; oc += 8) {
                const x = i16x8.add(v128.load8x8_s(src + oc), off);
                const wv = v128.load(w + (<usize>oc << 1));
                const a = acc + (<usize>oc << 2);
                v128.store(a, i32x4.add(v128.load(a), i32x4.extmul_low_i16x8_s(x, wv)));
                v128.store(a + 16, i32x4.add(v128.load(a + 16), i32x4.extmul_high_i16x8_s(x, wv)));
              }
            }
          }
          for (; oc < outC; oc++) {
            const x = <i32>load<i8>(src + oc / mult) + offset;
            const a = acc + (<usize>oc << 2);
            store<i32>(a, load<i32>(a) + x * <i32>load<i16>(w + (<usize>oc << 1)));
          }
        }
      }
      const out = output + <usize>((oy * outW + ox) * outC);
      requantizeRow(p, acc, out, outC);
    }
  }
}
