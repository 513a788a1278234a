// TFLite's preparation arithmetic, done once at import: the fixed-point multipliers, activation
// ranges and padding that TFLM's kernels compute in their Prepare step, in the same double
// precision from the same float32 scales, so the int8 kernels see the same integers.

/** std::round: halves away from zero (Math.round sends -2.5 to -2). */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** std::frexp: x = q * 2^exponent with 0.5 <= |q| < 1 (x finite and nonzero). */
export function frexp(x: number): { q: number; exponent: number } {
  let exponent = Math.floor(Math.log2(Math.abs(x))) + 1;
  let q = x / 2 ** exponent;
  // log2 can be off by one near powers of two; the division by a power of two is exact.
  if (Math.abs(q) >= 1) { q /= 2; exponent += 1; }
  if (Math.abs(q) < 0.5) { q *= 2; exponent -= 1; }
  return { q, exponent };
}

export interface QuantizedMultiplier {
  readonly multiplier: number;
  readonly shift: number;
}

/** TFLite QuantizeMultiplier (default double rounding): a Q0.31 multiplier and a power of two. */
export function quantizeMultiplier(real: number): QuantizedMultiplier {
  if (real === 0) return { multiplier: 0, shift: 0 };
  const { q, exponent } = frexp(real);
  let fixed = roundHalfAway(q * 2 ** 31);
  let shift = exponent;
  if (fixed === 2 ** 31) { fixed /= 2; shift += 1; }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  return { multiplier: fixed, shift };
}

/** TFLite CalculateInputRadius. */
export function inputRadius(integerBits: number, leftShift: number, totalSignedBits = 31): number {
  const max = (1.0 * ((1 << integerBits) - 1) * 2 ** (totalSignedBits - integerBits)) / 2 ** leftShift;
  return Math.floor(max);
}

/** Fused activations of the schema (ActivationFunctionType) Tern runs. */
export const ACTIVATIONS = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6'] as const;
export const ACTIVATION_NAMES = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];

/** TFLite CalculateActivationRangeQuantized for int8 output. */
export function activationRange(activation: number, scale: number, zeroPoint: number): { min: number; max: number } {
  const quantize = (f: number): number => zeroPoint + roundHalfAway(Math.fround(f / scale));
  switch (activation) {
    case 1: return { min: Math.max(-128, quantize(0)), max: 127 };
    case 2: return { min: Math.max(-128, quantize(-1)), max: Math.min(127, quantize(1)) };
    case 3: return { min: Math.max(-128, quantize(0)), max: Math.min(127, quantize(6)) };
    default: return { min: -128, max: 127 };
  }
}

/** Schema Padding: SAME = 0, VALID = 1. */
export function outputSize(padding: number, input: number, filter: number, stride: number, dilation: number): number {
  const effective = (filter - 1) * dilation + 1;
  return padding === 0 ? Math.floor((input + stride - 1) / stride) : Math.floor((input + stride - effective) / stride);
}

/** TFLite ComputePaddingWithOffset: the padding before the first row/column. */
export function paddingBefore(stride: number, dilation: number, input: number, filter: number, output: number): number {
  const effective = (filter - 1) * dilation + 1;
  const total = Math.max(0, (output - 1) * stride + effective - input);
  return Math.floor(total / 2);
}
