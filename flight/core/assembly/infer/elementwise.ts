// Pooling, ADD, MUL, SOFTMAX, LOGISTIC, QUANTIZE and DEQUANTIZE, int8, as TFLM's reference
// kernels compute them. Each works on a range of its output (rows, or flat elements) so the
// runner can slice a layer; the parameter block at p is written once by the loader.
import {
  multiplyByQuantizedMultiplier, srdhm, roundingDivideByPOT, expOnNegativeValues, reciprocal,
  bitsOverUnit, logisticQ4,
} from "./fixedpoint";
import {
  param, P_IN, P_IN2, P_OUT, P_IN_H, P_IN_W, P_IN_C, P_OUT_W, P_K_H, P_K_W, P_STRIDE_H,
  P_STRIDE_W, P_PAD_TOP, P_PAD_LEFT, P_OUT_OFFSET, P_ACT_MIN, P_ACT_MAX, P_A, P_B, P_C, P_D,
  P_E, P_F, P_G, P_H, P_I,
} from "./params";

// @ts-ignore: decorator
@inline function clamp(v: i32, lo: i32, hi: i32): i32 {
  return v < lo ? lo : v > hi ? hi : v;
}

/** AVERAGE_POOL_2D (avg = 1) or MAX_POOL_2D (avg = 0), output rows [rowStart, rowEnd):
 *  the window is clipped to the input and averages round half away from zero. */
export function inferPool(p: usize, rowStart: i32, rowEnd: i32, avg: i32): void {
  const input = <usize>param(p, P_IN), output = <usize>param(p, P_OUT);
  const inH = param(p, P_IN_H), inW = param(p, P_IN_W), depth = param(p, P_IN_C);
  const outW = param(p, P_OUT_W), kH = param(p, P_K_H), kW = param(p, P_K_W);
  const sh = param(p, P_STRIDE_H), sw = param(p, P_STRIDE_W);
  const padTop = param(p, P_PAD_TOP), padLeft = param(p, P_PAD_LEFT);
  const lo = param(p, P_ACT_MIN), hi = param(p, P_ACT_MAX);
  for (let oy = rowStart; oy < rowEnd; oy++) {
    const y0 = oy * sh - padTop;
    const fy0 = max(0, -y0), fy1 = min(kH, inH - y0);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * sw - padLeft;
      const fx0 = max(0, -x0), fx1 = min(kW, inW - x0);
      const out = output + <usize>((oy * outW + ox) * depth);
      for (let c = 0; c < depth; c++) {
        let acc = avg ? 0 : -128;
        let count = 0;
        for (let fy = fy0; fy < fy1; fy++) {
          for (let fx = fx0; fx < fx1; fx++) {
            const v = <i32>load<i8>(input + <usize>(((y0 + fy) * inW + x0 + fx) * depth + c));
            if (avg) acc += v;
            else if (v > acc) acc = v;
            count++;
          }
        }
        if (avg && count > 0) {
          const half = count / 2;
          acc = acc > 0 ? (acc + half) / count : (acc - half) / count;
        }
        store<i8>(out + c, clamp(acc, lo, hi));
      }
    }
  }
}

/** ADD (mul = 0) or MUL (mul = 1) of elements [start, end); an input whose step (P_STRIDE_H,
 *  P_STRIDE_W) is 0 is a single value broadcast to every element. */
export function inferAddMul(p: usize, start: i32, end: i32, mul: i32): void {
  const a = <usize>param(p, P_IN), b = <usize>param(p, P_IN2), output = <usize>param(p, P_OUT);
  const stepA = param(p, P_STRIDE_H), stepB = param(p, P_STRIDE_W);
  const offA = param(p, P_A), offB = param(p, P_B);
  const outMult = param(p, P_G), outShift = param(p, P_H), outOffset = param(p, P_OUT_OFFSET);
  const lo = param(p, P_ACT_MIN), hi = param(p, P_ACT_MAX);
  const multA = param(p, P_C), shiftA = param(p, P_D), multB = param(p, P_E), shiftB = param(p, P_F);
  const leftShift = param(p, P_I);
  for (let i = start; i < end; i++) {
    const x = <i32>load<i8>(a + <usize>(i * stepA)) + offA;
    const y = <i32>load<i8>(b + <usize>(i * stepB)) + offB;
    let raw: i32;
    if (mul) {
      raw = multiplyByQuantizedMultiplier(x * y, outMult, outShift);
    } else {
      const sx = multiplyByQuantizedMultiplier(x * (1 << leftShift), multA, shiftA);
      const sy = multiplyByQuantizedMultiplier(y * (1 << leftShift), multB, shiftB);
      raw = multiplyByQuantizedMultiplier(sx + sy, outMult, outShift);
    }
    store<i8>(output + <usize>i, clamp(raw + outOffset, lo, hi));
  }
}

// @ts-ignore: decorator
@inline function softmaxExp(diff: i32, mult: i32, leftShift: i32): i32 {
  return expOnNegativeValues(srdhm(diff * (1 << leftShift), mult), 5);
}

/** SOFTMAX over rows [rowStart, rowEnd) of P_IN_C values: exp in Q5.26, sum in Q12.19. */
export function inferSoftmax(p: usize, rowStart: i32, rowEnd: i32): void {
  const input = <usize>param(p, P_IN), output = <usize>param(p, P_OUT), depth = param(p, P_IN_C);
  const mult = param(p, P_A), leftShift = param(p, P_B), diffMin = param(p, P_C);
  for (let r = rowStart; r < rowEnd; r++) {
    const src = input + <usize>(r * depth), dst = output + <usize>(r * depth);
    let top = -128;
    for (let c = 0; c < depth; c++) top = max(top, <i32>load<i8>(src + c));
    let sum = 0;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(src + c) - top;
      if (diff >= diffMin) sum += roundingDivideByPOT(softmaxExp(diff, mult, leftShift), 12);
    }
    const scale = reciprocal(sum);
    const exponent = bitsOverUnit(sum, 12) + 31 - 8;
    for (let c = 0; c < depth; c++) {
      const diff = <i32>load<i8>(src + c) - top;
      let v = -128;
      if (diff >= diffMin) {
        v = clamp(roundingDivideByPOT(srdhm(scale, softmaxExp(diff, mult, leftShift)), exponent) - 128, -128, 127);
      }
      store<i8>(dst + c, v);
    }
  }
}

/** LOGISTIC of elements [start, end): input rescaled to Q4.27, output zero point -128. */
export function inferLogistic(p: usize, start: i32, end: i32): void {
  const input = <usize>param(p, P_IN), output = <usize>param(p, P_OUT);
  const zeroPoint = param(p, P_A), radius = param(p, P_B), mult = param(p, P_C), leftShift = param(p, P_D);
  for (let i = start; i < end; i++) {
    const x = <i32>load<i8>(input + <usize>i) - zeroPoint;
    let v: i32;
    if (x <= -radius) v = -128;
    else if (x >= radius) v = 127;
    else {
      const q4 = multiplyByQuantizedMultiplier(x, mult, leftShift);
      v = clamp(roundingDivideByPOT(logisticQ4(q4), 23) - 128, -128, 127);
    }
    store<i8>(output + <usize>i, v);
  }
}

// @ts-ignore: decorator
@inline function roundHalfAway(x: f32): f32 {
  const t = Mathf.trunc(x);
  return Mathf.abs(x - t) >= 0.5 ? t + Mathf.sign(x) : t;
}

/** QUANTIZE of elements [start, end): float32 in (P_A = scale as f32 bits) or int8 in
 *  (P_B = 1: requantise with multiplier P_C, shift P_D, input zero point P_E). */
export function inferQuantize(p: usize, start: i32, end: i32): void {
  const input = <usize>param(p, P_IN), output = <usize>param(p, P_OUT), zeroPoint = param(p, P_OUT_OFFSET);
  const fromInt8 = param(p, P_B);
  const scale = reinterpret<f32>(param(p, P_A));
  const mult = param(p, P_C), shift = param(p, P_D), inZero = param(p, P_E);
  for (let i = start; i < end; i++) {
    let v: i32;
    if (fromInt8) {
      v = multiplyByQuantizedMultiplier(<i32>load<i8>(input + <usize>i) - inZero, mult, shift) + zeroPoint;
    } else {
      const q = roundHalfAway(load<f32>(input + (<usize>i << 2)) / scale);
      // Saturate before the integer conversion: a NaN or huge input must not trap.
      v = q != q ? zeroPoint : q >= 2147483520.0 ? 127 : q <= -2147483520.0 ? -128 : <i32>q + zeroPoint;
    }
    store<i8>(output + <usize>i, clamp(v, -128, 127));
  }
}

/** DEQUANTIZE of elements [start, end): float32 = scale * (x - zero point), in double first. */
export function inferDequantize(p: usize, start: i32, end: i32): void {
  const input = <usize>param(p, P_IN), output = <usize>param(p, P_OUT);
  const scale = <f64>reinterpret<f32>(param(p, P_A)), zeroPoint = param(p, P_B);
  for (let i = start; i < end; i++) {
    store<f32>(output + (<usize>i << 2), <f32>(scale * <f64>(<i32>load<i8>(input + <usize>i) - zeroPoint)));
  }
}
