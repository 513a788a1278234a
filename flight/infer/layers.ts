// One plan layer per supported TFLite operator: options read by their schema field ids,
// operands checked, parameters computed as TFLM's Prepare computes them, weights prepacked.
import { PARAM_SLOTS, SLOT } from '../core/wasm.js';
import { QuantisationError, UnsupportedOperatorError } from './errors.js';
import type { Operand } from './importer.js';
import type { Operator } from './operators.js';
import { elements, KERNEL_OF, unitWork, type LayerPlan, type TensorInfo } from './plan.js';
import { packConvFilter, packDepthwiseFilter, int32Bytes } from './prepack.js';
import {
  ACTIVATION_NAMES, activationRange, frexp, inputRadius, outputSize, paddingBefore, quantizeMultiplier,
} from './quantization.js';
import type { TfliteOperator, TfliteTensor } from './tflite.js';

export interface OperatorContext {
  readonly op: Operator;
  readonly layer: number;
  readonly operator: TfliteOperator;
  readonly operands: readonly (Operand | undefined)[];
  readonly output: TfliteTensor;
  /** The plan tensor index of an activation operand (created at first use). */
  activation(operand: Operand): number;
  outputTensor(): number;
  info(index: number): TensorInfo;
}

// BuiltinOptions union types and field ids (schema.fbs).
const OPTIONS_TYPE: Partial<Record<Operator, number>> = {
  CONV_2D: 1, DEPTHWISE_CONV_2D: 2, AVERAGE_POOL_2D: 5, MAX_POOL_2D: 5, FULLY_CONNECTED: 8,
  SOFTMAX: 9, ADD: 11, RESHAPE: 17, MUL: 21,
};
const CONV = { padding: 0, strideW: 1, strideH: 2, activation: 3, dilationW: 4, dilationH: 5 };
const DEPTHWISE = { padding: 0, strideW: 1, strideH: 2, depthMultiplier: 3, activation: 4, dilationW: 5, dilationH: 6 };
const POOL = { padding: 0, strideW: 1, strideH: 2, filterW: 3, filterH: 4, activation: 5 };
const FULLY_CONNECTED = { activation: 0, weightsFormat: 1, keepNumDims: 2, asymmetricQuantizeInputs: 3 };
const SOFTMAX = { beta: 0 };
const ADD_MUL = { activation: 0 };

function refuse(c: OperatorContext, detail: string): never {
  throw new UnsupportedOperatorError(c.op, detail, c.layer);
}

function operand(c: OperatorContext, i: number, what: string): Operand {
  const o = c.operands[i];
  if (!o) refuse(c, `a missing ${what} operand`);
  return o;
}

function activationOperand(c: OperatorContext, i: number): number {
  const o = operand(c, i, 'input');
  if (o.data) refuse(c, `a constant input ${o.tensor.name}`);
  return c.activation(o);
}

function fusedActivation(c: OperatorContext, code: number, out: TensorInfo): { min: number; max: number } {
  if (code > 3) refuse(c, `fused activation ${ACTIVATION_NAMES[code] ?? code}`);
  return activationRange(code, out.scale, out.zeroPoint);
}

/** Two i16 patches and two rows of i32 sums: the SIMD build computes output pixels in pairs. */
export function convScratch(rowLength: number, outC: number): number {
  return rowLength * 4 + outC * 8;
}

function blank(): Int32Array {
  return new Int32Array(PARAM_SLOTS);
}

function layer(c: OperatorContext, inputs: number[], output: number, params: Int32Array, units: number, extra: Partial<LayerPlan> = {}): LayerPlan {
  const kernel = KERNEL_OF[c.op];
  return { op: c.op, kernel, inputs, output, params, units, workPerUnit: unitWork({ kernel, params, inputs, output, scratchBytes: 0 }), scratchBytes: 0, ...extra };
}

/** Filter, per-channel multipliers and bias of a convolution-like operator. */
function weights(c: OperatorContext, input: TensorInfo, out: TensorInfo, channels: number, channelAxis: number) {
  const filter = operand(c, 1, 'filter');
  const f = filter.tensor;
  if (!filter.data) refuse(c, `a non-constant filter ${f.name}`);
  if (f.type !== 'INT8') refuse(c, `filter ${f.name} of type ${f.type}`);
  if (f.zeroPoints.some((z) => z !== 0)) throw new QuantisationError(f.name, 'int8 filters must be symmetric (zero point 0)');
  const perChannel = f.scales.length > 1;
  if (f.scales.length !== 1 && !(f.scales.length === channels && f.quantizedDimension === channelAxis)) {
    throw new QuantisationError(f.name, `${f.scales.length} scales on dimension ${f.quantizedDimension} for ${channels} channels`);
  }
  const multiplier = new Int32Array(channels);
  const shift = new Int32Array(channels);
  for (let ch = 0; ch < channels; ch++) {
    const q = quantizeMultiplier((input.scale * f.scales[perChannel ? ch : 0]!) / out.scale);
    if (q.shift > 30) throw new QuantisationError(f.name, `effective scale of channel ${ch} too large for int8 requantisation`);
    multiplier[ch] = q.multiplier;
    shift[ch] = q.shift;
  }
  const bias = new Int32Array(channels);
  const b = c.operands[2];
  if (b) {
    if (!b.data || b.tensor.type !== 'INT32' || elements(b.tensor.shape) !== channels || b.data.length !== channels * 4) {
      refuse(c, `bias ${b.tensor.name} other than a constant int32 vector of ${channels}`);
    }
    const view = new DataView(b.data.buffer, b.data.byteOffset, b.data.length);
    for (let ch = 0; ch < channels; ch++) bias[ch] = view.getInt32(4 * ch, true);
  }
  if (filter.data.length !== elements(f.shape)) refuse(c, `filter ${f.name} whose data does not fill its shape`);
  return { data: new Int8Array(filter.data.buffer, filter.data.byteOffset, filter.data.length), shape: f.shape, bias: int32Bytes(bias), multiplier: int32Bytes(multiplier), shift: int32Bytes(shift) };
}

function nhwc(c: OperatorContext, t: TensorInfo): [number, number, number] {
  if (t.shape.length !== 4 || t.shape[0] !== 1) refuse(c, `tensor ${t.name} of shape [${t.shape.join(', ')}] (one NHWC image)`);
  return [t.shape[1]!, t.shape[2]!, t.shape[3]!];
}

/** Spatial parameters shared by convolutions and pools; checks the output size TFLite derives. */
function spatial(c: OperatorContext, p: Int32Array, input: TensorInfo, out: TensorInfo, k: [number, number], stride: [number, number], dilation: [number, number], padding: number): void {
  const [inH, inW, inC] = nhwc(c, input);
  const [outH, outW, outC] = nhwc(c, out);
  if (padding > 1) refuse(c, `padding ${padding}`);
  if (Math.min(...stride, ...dilation, ...k) < 1) refuse(c, `stride [${stride}], dilation [${dilation}] or window [${k}] below 1`);
  if (outputSize(padding, inH, k[0], stride[0], dilation[0]) !== outH || outputSize(padding, inW, k[1], stride[1], dilation[1]) !== outW) {
    refuse(c, `output ${out.name} of [${outH}, ${outW}] where the options give another size`);
  }
  p.set([inH, inW, inC, outH, outW, outC], SLOT.IN_H);
  p.set([k[0], k[1]], SLOT.K_H);
  p.set([stride[0], stride[1], dilation[0], dilation[1]], SLOT.STRIDE_H);
  p[SLOT.PAD_TOP] = padding === 0 ? paddingBefore(stride[0], dilation[0], inH, k[0], outH) : 0;
  p[SLOT.PAD_LEFT] = padding === 0 ? paddingBefore(stride[1], dilation[1], inW, k[1], outW) : 0;
  p[SLOT.IN_OFFSET] = -input.zeroPoint;
  p[SLOT.OUT_OFFSET] = out.zeroPoint;
}

function options(c: OperatorContext) {
  const want = OPTIONS_TYPE[c.op];
  const got = c.operator.optionsType;
  // RESHAPE may carry its new shape as a second input instead of options; QUANTIZE, DEQUANTIZE
  // and LOGISTIC options have no fields.
  if (want !== undefined && got !== want && !(got === 0 && c.op === 'RESHAPE')) refuse(c, `builtin options of union type ${got}`);
  return c.operator.options;
}

export function buildLayer(c: OperatorContext): LayerPlan {
  const o = options(c);
  const int = (id: number, fallback: number): number => o?.int(id, fallback) ?? fallback;
  const byte = (id: number, fallback: number): number => o?.byte(id, fallback) ?? fallback;
  const p = blank();
  switch (c.op) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const dw = c.op === 'DEPTHWISE_CONV_2D';
      const f = dw ? DEPTHWISE : CONV;
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      const outIndex = c.outputTensor();
      const out = c.info(outIndex);
      const outC = nhwc(c, out)[2];
      const w = weights(c, input, out, outC, dw ? 3 : 0);
      if (w.shape.length !== 4) refuse(c, `filter of rank ${w.shape.length}`);
      const [, kH, kW, fC] = w.shape as [number, number, number, number];
      spatial(c, p, input, out, [kH, kW], [int(f.strideH, 0), int(f.strideW, 0)], [int(f.dilationH, 1), int(f.dilationW, 1)], byte(f.padding, 0));
      const act = fusedActivation(c, byte(f.activation, 0), out);
      p[SLOT.ACT_MIN] = act.min;
      p[SLOT.ACT_MAX] = act.max;
      const inC = p[SLOT.IN_C]!;
      if (!dw) {
        if (w.shape[0] !== outC || fC !== inC) refuse(c, `filter [${w.shape.join(', ')}] for ${inC} input channels (grouped convolution)`);
        const packed = packConvFilter(w.data, outC, kH * kW * inC);
        p[SLOT.K_PAD] = packed.rowLength;
        return layer(c, [inIndex], outIndex, p, p[SLOT.OUT_H]!,
          { filter: packed.bytes, bias: w.bias, multiplier: w.multiplier, shift: w.shift, scratchBytes: convScratch(packed.rowLength, outC) });
      }
      const multiplier = outC / inC;
      const declared = int(DEPTHWISE.depthMultiplier, 0);
      if (w.shape[0] !== 1 || fC !== outC || !Number.isInteger(multiplier) || (declared !== 0 && declared !== multiplier)) {
        refuse(c, `filter [${w.shape.join(', ')}] with depth multiplier ${declared} for ${inC} -> ${outC} channels`);
      }
      const packed = packDepthwiseFilter(w.data, kH * kW, outC);
      p[SLOT.K_PAD] = packed.rowLength;
      p[SLOT.DEPTH_MULT] = multiplier;
      return layer(c, [inIndex], outIndex, p, p[SLOT.OUT_H]!,
        { filter: packed.bytes, bias: w.bias, multiplier: w.multiplier, shift: w.shift, scratchBytes: packed.rowLength * 4 });
    }
    case 'FULLY_CONNECTED': {
      if (byte(FULLY_CONNECTED.weightsFormat, 0) !== 0) refuse(c, `weights_format ${byte(FULLY_CONNECTED.weightsFormat, 0)}`);
      if (byte(FULLY_CONNECTED.asymmetricQuantizeInputs, 0) !== 0) refuse(c, 'asymmetric_quantize_inputs');
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      const outIndex = c.outputTensor();
      const out = c.info(outIndex);
      const filter = operand(c, 1, 'filter').tensor;
      if (filter.shape.length !== 2) refuse(c, `filter of rank ${filter.shape.length}`);
      const [units, depth] = filter.shape as [number, number];
      const batches = elements(input.shape) / depth;
      if (!Number.isInteger(batches) || elements(out.shape) !== batches * units) refuse(c, `input [${input.shape}] for a [${units}, ${depth}] filter into [${out.shape}]`);
      const w = weights(c, input, out, units, 0);
      const act = fusedActivation(c, byte(FULLY_CONNECTED.activation, 0), out);
      // A 1x1 convolution over `batches` rows of one pixel each.
      p.set([batches, 1, depth, batches, 1, units, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, -input.zeroPoint, out.zeroPoint, act.min, act.max], SLOT.IN_H);
      const packed = packConvFilter(w.data, units, depth);
      p[SLOT.K_PAD] = packed.rowLength;
      return layer(c, [inIndex], outIndex, p, batches,
        { filter: packed.bytes, bias: w.bias, multiplier: w.multiplier, shift: w.shift, scratchBytes: convScratch(packed.rowLength, units) });
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D': {
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      const outIndex = c.outputTensor();
      const out = c.info(outIndex);
      if (input.scale !== out.scale || input.zeroPoint !== out.zeroPoint) refuse(c, 'an output quantised differently from its input');
      spatial(c, p, input, out, [int(POOL.filterH, 0), int(POOL.filterW, 0)], [int(POOL.strideH, 0), int(POOL.strideW, 0)], [1, 1], byte(POOL.padding, 0));
      const act = fusedActivation(c, byte(POOL.activation, 0), out);
      p[SLOT.ACT_MIN] = act.min;
      p[SLOT.ACT_MAX] = act.max;
      return layer(c, [inIndex], outIndex, p, p[SLOT.OUT_H]!);
    }
    default:
      return buildElementwise(c, p, byte);
  }
}

function buildElementwise(c: OperatorContext, p: Int32Array, byte: (id: number, fallback: number) => number): LayerPlan {
  const outIndex = c.outputTensor();
  const out = c.info(outIndex);
  const count = elements(out.shape);
  switch (c.op) {
    case 'ADD':
    case 'MUL': {
      const [a, b] = [0, 1].map((i) => c.activation(operand(c, i, 'input'))) as [number, number];
      const [x, y] = [c.info(a), c.info(b)];
      for (const t of [x, y]) {
        if (t.dtype !== 'int8') refuse(c, `operand ${t.name} of type float32`);
        const n = elements(t.shape);
        if (n !== count && n !== 1) refuse(c, `broadcast of [${x.shape}] and [${y.shape}] to [${out.shape}]`);
      }
      const act = fusedActivation(c, byte(ADD_MUL.activation, 0), out);
      p.set([elements(x.shape) === count ? 1 : 0, elements(y.shape) === count ? 1 : 0], SLOT.STRIDE_H);
      p.set([-x.zeroPoint, -y.zeroPoint], SLOT.A);
      p[SLOT.OUT_OFFSET] = out.zeroPoint;
      p[SLOT.ACT_MIN] = act.min;
      p[SLOT.ACT_MAX] = act.max;
      let outScale: number;
      if (c.op === 'ADD') {
        const leftShift = 20;
        const twiceMax = 2 * Math.max(x.scale, y.scale);
        const qa = quantizeMultiplier(x.scale / twiceMax);
        const qb = quantizeMultiplier(y.scale / twiceMax);
        p.set([qa.multiplier, qa.shift, qb.multiplier, qb.shift], SLOT.C);
        p[SLOT.I] = leftShift;
        outScale = twiceMax / (Math.fround(2 ** leftShift * out.scale));
      } else {
        outScale = (x.scale * y.scale) / out.scale;
      }
      const q = quantizeMultiplier(outScale);
      if (q.shift > 30) throw new QuantisationError(out.name, `${c.op} output scale too small for its inputs`);
      p.set([q.multiplier, q.shift], SLOT.G);
      return layer(c, [a, b], outIndex, p, count);
    }
    case 'RESHAPE': {
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      if (input.dtype !== out.dtype || input.scale !== out.scale || input.zeroPoint !== out.zeroPoint || elements(input.shape) !== count) {
        refuse(c, `[${input.shape}] into [${out.shape}] with another type, quantisation or size`);
      }
      const bytes = count * (out.dtype === 'float32' ? 4 : 1);
      return layer(c, [inIndex], outIndex, p, bytes);
    }
    case 'SOFTMAX': {
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      if (out.zeroPoint !== -128 || out.scale !== 1 / 256) refuse(c, `output quantisation (${out.scale}, ${out.zeroPoint}) other than (1/256, -128)`);
      const beta = c.operator.options?.float(SOFTMAX.beta, 0) ?? 0;
      const real = Math.min(beta * input.scale * 2 ** (31 - 5), 2 ** 31 - 1);
      if (!(real > 1)) throw new QuantisationError(input.name, `SOFTMAX beta * scale ${beta * input.scale} too small`);
      const q = quantizeMultiplier(real);
      if (q.shift < 0 || q.shift > 30) throw new QuantisationError(input.name, `SOFTMAX scaling shift ${q.shift}`);
      const depth = out.shape[out.shape.length - 1]!;
      p[SLOT.IN_C] = depth;
      p[SLOT.COUNT] = count / depth;
      p.set([q.multiplier, q.shift, -inputRadius(5, q.shift)], SLOT.A);
      return layer(c, [inIndex], outIndex, p, count / depth);
    }
    case 'LOGISTIC': {
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      if (out.zeroPoint !== -128 || out.scale !== 1 / 256) refuse(c, `output quantisation (${out.scale}, ${out.zeroPoint}) other than (1/256, -128)`);
      const real = input.scale * 2 ** (31 - 4);
      const { q, exponent } = frexp(real);
      if (exponent < 0 || exponent > 30) throw new QuantisationError(input.name, `LOGISTIC input scale ${input.scale} out of range`);
      // TFLM rounds without the 2^31 fix-up QuantizeMultiplier makes; the int32 cast wraps.
      p.set([input.zeroPoint, inputRadius(4, exponent), Math.round(q * 2 ** 31) | 0, exponent], SLOT.A);
      return layer(c, [inIndex], outIndex, p, count);
    }
    case 'QUANTIZE': {
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      p[SLOT.OUT_OFFSET] = out.zeroPoint;
      if (input.dtype === 'float32') {
        p[SLOT.A] = new Int32Array(new Float32Array([out.scale]).buffer)[0]!;
      } else {
        const q = quantizeMultiplier(input.scale / out.scale);
        p.set([1, q.multiplier, q.shift, input.zeroPoint], SLOT.B);
      }
      return layer(c, [inIndex], outIndex, p, count);
    }
    case 'DEQUANTIZE': {
      const inIndex = activationOperand(c, 0);
      const input = c.info(inIndex);
      if (out.dtype !== 'float32') refuse(c, `output ${out.name} of type int8`);
      p[SLOT.A] = new Int32Array(new Float32Array([input.scale]).buffer)[0]!;
      p[SLOT.B] = input.zeroPoint;
      return layer(c, [inIndex], outIndex, p, count);
    }
    default:
      return refuse(c, 'the operator');
  }
}
