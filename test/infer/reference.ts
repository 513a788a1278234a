// A plain TypeScript reading of TFLM's reference int8 kernels (conv, depthwise, pools, add,
// mul, softmax, logistic, quantize), written straight from their published arithmetic with
// BigInt products and no prepacking, to check the core's kernels on random layers.

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;
const wrap = (x: number): number => x | 0;

export function srdhm(a: number, b: number): number {
  if (a === I32_MIN && b === I32_MIN) return I32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates like C
}

export function rdbpot(x: number, exponent: number): number {
  const mask = Number((1n << BigInt(exponent)) - 1n);
  const remainder = Number(BigInt(x) & BigInt(mask));
  const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

export function mbqm(x: number, multiplier: number, shift: number): number {
  const left = Math.max(shift, 0);
  return rdbpot(srdhm(wrap(x * 2 ** left), multiplier), Math.max(-shift, 0));
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export interface ConvRef {
  input: Int8Array; inH: number; inW: number; inC: number;
  filter: Int8Array; kH: number; kW: number; outC: number;
  bias: Int32Array; multiplier: Int32Array; shift: Int32Array;
  strideH: number; strideW: number; dilH: number; dilW: number; padTop: number; padLeft: number;
  outH: number; outW: number; inZero: number; outZero: number; actMin: number; actMax: number;
  depthwise: boolean;
}

/** ConvPerChannel (filter OHWI) or DepthwiseConvPerChannel (filter 1HWO). */
export function conv(r: ConvRef): Int8Array {
  const out = new Int8Array(r.outH * r.outW * r.outC);
  const mult = r.outC / r.inC;
  for (let oy = 0; oy < r.outH; oy++) for (let ox = 0; ox < r.outW; ox++) for (let oc = 0; oc < r.outC; oc++) {
    let acc = 0;
    for (let ky = 0; ky < r.kH; ky++) for (let kx = 0; kx < r.kW; kx++) {
      const iy = oy * r.strideH - r.padTop + ky * r.dilH;
      const ix = ox * r.strideW - r.padLeft + kx * r.dilW;
      if (iy < 0 || iy >= r.inH || ix < 0 || ix >= r.inW) continue;
      if (r.depthwise) {
        const ic = Math.floor(oc / mult);
        acc += r.filter[(ky * r.kW + kx) * r.outC + oc]! * (r.input[(iy * r.inW + ix) * r.inC + ic]! - r.inZero);
      } else {
        for (let ic = 0; ic < r.inC; ic++) {
          acc += r.filter[((oc * r.kH + ky) * r.kW + kx) * r.inC + ic]! * (r.input[(iy * r.inW + ix) * r.inC + ic]! - r.inZero);
        }
      }
    }
    acc += r.bias[oc]!;
    const v = mbqm(acc, r.multiplier[oc]!, r.shift[oc]!) + r.outZero;
    out[(oy * r.outW + ox) * r.outC + oc] = clamp(v, r.actMin, r.actMax);
  }
  return out;
}

export function pool(input: Int8Array, inH: number, inW: number, c: number, k: [number, number], stride: [number, number], pad: [number, number], outH: number, outW: number, average: boolean, act: [number, number]): Int8Array {
  const out = new Int8Array(outH * outW * c);
  for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let ch = 0; ch < c; ch++) {
    let acc = average ? 0 : -128;
    let count = 0;
    for (let fy = 0; fy < k[0]; fy++) for (let fx = 0; fx < k[1]; fx++) {
      const iy = oy * stride[0] - pad[0] + fy;
      const ix = ox * stride[1] - pad[1] + fx;
      if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
      const v = input[(iy * inW + ix) * c + ch]!;
      acc = average ? acc + v : Math.max(acc, v);
      count++;
    }
    if (average) acc = acc > 0 ? Math.trunc((acc + Math.trunc(count / 2)) / count) : Math.trunc((acc - Math.trunc(count / 2)) / count);
    out[(oy * outW + ox) * c + ch] = clamp(acc, act[0], act[1]);
  }
  return out;
}

// gemmlowp fixed point, as in fixedpoint.h.
function shiftLeftSaturating(x: number, e: number): number {
  const threshold = 2 ** (31 - e) - 1;
  return x > threshold ? I32_MAX : x < -threshold ? I32_MIN : wrap(x * 2 ** e);
}

function expQuarter(a: number): number {
  const x = wrap(a + 2 ** 28);
  const x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
  const poly = rdbpot(wrap(srdhm(wrap(rdbpot(x4, 2) + x3), 715827883) + x2), 1);
  return wrap(1895147668 + srdhm(1895147668, wrap(x + poly)));
}

export function expNegative(a: number, integerBits: number): number {
  const frac = 31 - integerBits;
  const quarter = 2 ** (frac - 2);
  const modMinusQuarter = wrap((a & (quarter - 1)) - quarter);
  let result = expQuarter(shiftLeftSaturating(modMinusQuarter, integerBits));
  const remainder = wrap(modMinusQuarter - a);
  const multipliers = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242];
  for (let k = -2; k <= 4; k++) {
    if (integerBits > k && (remainder & (2 ** (frac + k) | 0)) !== 0) result = srdhm(result, multipliers[k + 2]!);
  }
  return a === 0 ? I32_MAX : result;
}

function oneOverOnePlus(a: number): number {
  const sum = BigInt(a) + BigInt(I32_MAX);
  const half = Number((sum + (sum >= 0n ? 1n : -1n)) / 2n);
  let x = wrap(1515870810 + srdhm(half, -1010580540));
  for (let i = 0; i < 3; i++) {
    x = wrap(x + shiftLeftSaturating(srdhm(x, wrap(2 ** 29 - srdhm(half, x))), 2));
  }
  return shiftLeftSaturating(x, 1);
}

export function softmax(input: Int8Array, depth: number, multiplier: number, leftShift: number, diffMin: number): Int8Array {
  const out = new Int8Array(input.length);
  for (let r = 0; r < input.length / depth; r++) {
    const row = input.subarray(r * depth, (r + 1) * depth);
    const top = Math.max(...row);
    const exp = (d: number): number => expNegative(srdhm(wrap(d * 2 ** leftShift), multiplier), 5);
    let sum = 0;
    for (const v of row) if (v - top >= diffMin) sum = wrap(sum + rdbpot(exp(v - top), 12));
    const clz = Math.clz32(sum);
    const scale = oneOverOnePlus(wrap((sum >>> 0) * 2 ** clz - 2 ** 31));
    const exponent = 12 - clz + 31 - 8;
    row.forEach((v, c) => {
      out[r * depth + c] = v - top >= diffMin ? clamp(rdbpot(srdhm(scale, exp(v - top)), exponent) - 128, -128, 127) : -128;
    });
  }
  return out;
}

export function logistic(input: Int8Array, zeroPoint: number, radius: number, multiplier: number, leftShift: number): Int8Array {
  return input.map((q) => {
    const x = q - zeroPoint;
    if (x <= -radius) return -128;
    if (x >= radius) return 127;
    const a = mbqm(x, multiplier, leftShift);
    let y: number;
    if (a === 0) y = 2 ** 30;
    else {
      const pos = oneOverOnePlus(expNegative(wrap(-Math.abs(a)), 4));
      y = a > 0 ? pos : wrap(I32_MAX - pos);
    }
    return clamp(rdbpot(y, 23) - 128, -128, 127);
  });
}

export function addMul(x: Int8Array, y: Int8Array, n: number, p: { mul: boolean; zx: number; zy: number; zOut: number; mx: number; sx: number; my: number; sy: number; mOut: number; sOut: number; act: [number, number] }): Int8Array {
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    const a = x[x.length === 1 ? 0 : i]! - p.zx;
    const b = y[y.length === 1 ? 0 : i]! - p.zy;
    const raw = p.mul
      ? mbqm(a * b, p.mOut, p.sOut)
      : mbqm(wrap(mbqm(a * 2 ** 20, p.mx, p.sx) + mbqm(b * 2 ** 20, p.my, p.sy)), p.mOut, p.sOut);
    out[i] = clamp(raw + p.zOut, p.act[0], p.act[1]);
  }
  return out;
}
