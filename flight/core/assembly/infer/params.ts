// Slots of a layer's parameter block: i32 values that the TypeScript loader writes once per
// layer into core memory (flight/infer/layout.ts mirrors these numbers), so a kernel call
// passes one pointer and a range of work instead of thirty arguments.
export const P_IN = 0;
export const P_IN2 = 1;
export const P_OUT = 2;
export const P_IN_H = 3;
export const P_IN_W = 4;
export const P_IN_C = 5;
export const P_OUT_H = 6;
export const P_OUT_W = 7;
export const P_OUT_C = 8;
export const P_FILTER = 9;
export const P_K_H = 10;
export const P_K_W = 11;
/** Conv: patch length rounded up to 8; depthwise: output channels rounded up to 8. */
export const P_K_PAD = 12;
export const P_STRIDE_H = 13;
export const P_STRIDE_W = 14;
export const P_DIL_H = 15;
export const P_DIL_W = 16;
export const P_PAD_TOP = 17;
export const P_PAD_LEFT = 18;
/** Minus the input zero point (TFLM's input_offset). */
export const P_IN_OFFSET = 19;
/** The output zero point. */
export const P_OUT_OFFSET = 20;
export const P_ACT_MIN = 21;
export const P_ACT_MAX = 22;
export const P_BIAS = 23;
export const P_MULT = 24;
export const P_SHIFT = 25;
export const P_SCRATCH = 26;
export const P_DEPTH_MULT = 27;
/** Elements (elementwise ops) or rows (softmax). */
export const P_COUNT = 28;
// Op-specific values: see each kernel.
export const P_A = 29;
export const P_B = 30;
export const P_C = 31;
export const P_D = 32;
export const P_E = 33;
export const P_F = 34;
export const P_G = 35;
export const P_H = 36;
export const P_I = 37;

// @ts-ignore: decorator
@inline export function param(p: usize, slot: i32): i32 {
  return load<i32>(p + (<usize>slot << 2));
}
