// Fixed-point arithmetic of TFLite Micro's reference kernels (gemmlowp semantics, default double
// rounding), so requantisation, softmax and logistic give TFLM's int8 outputs bit for bit.
// Raw values are i32 in Qm.n with the integer bits stated per function.

const I32_MIN: i32 = i32.MIN_VALUE;
const I32_MAX: i32 = i32.MAX_VALUE;

/** round(a * b / 2^31) with ties away from zero; the one overflow (MIN * MIN) saturates. */
// @ts-ignore: decorator
@inline export function srdhm(a: i32, b: i32): i32 {
  if (a == I32_MIN && b == I32_MIN) return I32_MAX;
  const ab = <i64>a * <i64>b;
  const nudge: i64 = ab >= 0 ? 1 << 30 : 1 - (1 << 30);
  // C integer division truncates toward zero; i64.div_s does the same.
  return <i32>((ab + nudge) / (<i64>1 << 31));
}

/** x / 2^exponent rounded to nearest, ties away from zero (0 <= exponent <= 31). */
// @ts-ignore: decorator
@inline export function roundingDivideByPOT(x: i32, exponent: i32): i32 {
  const mask = <i32>((<i64>1 << exponent) - 1);
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** TFLM MultiplyByQuantizedMultiplier: x * multiplier * 2^shift, shift < 0 rounding right. */
// @ts-ignore: decorator
@inline export function multiplyByQuantizedMultiplier(x: i32, multiplier: i32, shift: i32): i32 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(srdhm(x * (1 << left), multiplier), right);
}

/** gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent: saturating left shift. */
// @ts-ignore: decorator
@inline function saturatingShiftLeft(x: i32, exponent: i32): i32 {
  const threshold = (1 << (31 - exponent)) - 1;
  if (x > threshold) return I32_MAX;
  if (x < -threshold) return I32_MIN;
  return x << exponent;
}

/** exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor expansion around -1/8. */
function expOnQuarterInterval(a: i32): i32 {
  const constantTerm: i32 = 1895147668; // exp(-1/8)
  const oneThird: i32 = 715827883;
  const x = a + (1 << 28);
  const x2 = srdhm(x, x);
  const x3 = srdhm(x2, x);
  const x4 = srdhm(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const poly = roundingDivideByPOT(srdhm(x4Over4 + x3, oneThird) + x2, 1);
  return constantTerm + srdhm(constantTerm, x + poly);
}

// exp(-2^k) in Q0.31 for k = -2..4, applied for each set bit of the integer part.
const EXP_MULTIPLIERS: StaticArray<i32> = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242];

/** exp(a) for a <= 0 given in Q(integerBits).(31 - integerBits); result Q0.31. integerBits <= 5. */
export function expOnNegativeValues(a: i32, integerBits: i32): i32 {
  const fractionalBits = 31 - integerBits;
  const oneQuarter = 1 << (fractionalBits - 2);
  const modMinusQuarter = (a & (oneQuarter - 1)) - oneQuarter;
  let result = expOnQuarterInterval(saturatingShiftLeft(modMinusQuarter, integerBits));
  const remainder = modMinusQuarter - a;
  for (let k = -2; k <= 4; k++) {
    if (integerBits > k && (remainder & (1 << (fractionalBits + k))) != 0) {
      result = srdhm(result, unchecked(EXP_MULTIPLIERS[k + 2]));
    }
  }
  return a == 0 ? I32_MAX : result;
}

/** gemmlowp RoundingHalfSum: (a + b) / 2 rounded away from zero. */
// @ts-ignore: decorator
@inline function roundingHalfSum(a: i32, b: i32): i32 {
  const sum = <i64>a + <i64>b;
  const sign: i64 = sum >= 0 ? 1 : -1;
  return <i32>((sum + sign) / 2);
}

/** 1 / (1 + a) for a in [0, 1), Q0.31 in and out: three Newton-Raphson steps in Q2.29. */
export function oneOverOnePlusX(a: i32): i32 {
  const halfDenominator = roundingHalfSum(a, I32_MAX);
  let x = 1515870810 + srdhm(halfDenominator, -1010580540); // 48/17 - 32/17 * d
  for (let i = 0; i < 3; i++) {
    const oneMinus = (1 << 29) - srdhm(halfDenominator, x);
    x = x + saturatingShiftLeft(srdhm(x, oneMinus), 2);
  }
  return saturatingShiftLeft(x, 1);
}

/** TFLite GetReciprocal: the Q0.31 scale of 1 / x for x > 0; the power of two is bitsOverUnit(x). */
export function reciprocal(x: i32): i32 {
  const headroomPlusOne = <i32>clz<u32>(<u32>x);
  return oneOverOnePlusX(<i32>((<u32>x << headroomPlusOne) - (<u32>1 << 31)));
}

/** Bits of x (in Q(integerBits)) above one: 1 / x = reciprocal(x) / 2^bitsOverUnit. */
export function bitsOverUnit(x: i32, integerBits: i32): i32 {
  return integerBits - <i32>clz<u32>(<u32>x);
}

/** gemmlowp logistic(a) for a in Q4.27; result Q0.31. */
export function logisticQ4(a: i32): i32 {
  if (a == 0) return 1 << 30;
  const positive = a > 0;
  const magnitude = positive ? a : -a;
  const resultIfPositive = oneOverOnePlusX(expOnNegativeValues(-magnitude, 4));
  return positive ? resultIfPositive : I32_MAX - resultIfPositive;
}
