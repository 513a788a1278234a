// The int8 multiply-accumulate peak of this engine, for the inference benchmark to put the
// kernels' rate beside: dot products on registers only, eight independent accumulators, one
// operand changing every iteration so nothing is hoisted out of the loop. SIMD build: 64 MACs per
// iteration (eight i32x4.dot_i16x8_s); scalar build: 8.
export function inferDotPeak(iterations: i32): i32 {
  if (ASC_FEATURE_SIMD) {
    let x = i16x8.splat(1);
    const step = i16x8.splat(1);
    const w0 = i16x8.splat(3), w1 = i16x8.splat(-5), w2 = i16x8.splat(7), w3 = i16x8.splat(-11);
    const w4 = i16x8.splat(13), w5 = i16x8.splat(-17), w6 = i16x8.splat(19), w7 = i16x8.splat(-23);
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    let a4 = i32x4.splat(0), a5 = i32x4.splat(0), a6 = i32x4.splat(0), a7 = i32x4.splat(0);
    for (let i = 0; i < iterations; i++) {
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(x, w0));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(x, w1));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(x, w2));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(x, w3));
      a4 = i32x4.add(a4, i32x4.dot_i16x8_s(x, w4));
      a5 = i32x4.add(a5, i32x4.dot_i16x8_s(x, w5));
      a6 = i32x4.add(a6, i32x4.dot_i16x8_s(x, w6));
      a7 = i32x4.add(a7, i32x4.dot_i16x8_s(x, w7));
      x = i16x8.add(x, step);
    }
    const s = i32x4.add(i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3)), i32x4.add(i32x4.add(a4, a5), i32x4.add(a6, a7)));
    return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 3);
  }
  let x = 1;
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (let i = 0; i < iterations; i++) {
    a0 += x * 3; a1 += x * -5; a2 += x * 7; a3 += x * -11;
    a4 += x * 13; a5 += x * -17; a6 += x * 19; a7 += x * -23;
    x = <i32><i16>(x + 1);
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}
