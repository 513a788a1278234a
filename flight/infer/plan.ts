// A model as Tern runs it: activation tensors, and layers that each name one kernel with its
// parameter block and prepacked constants. The importer builds a plan from a TFLite file, the
// onboard format stores one, and checkPlan validates one (from either source) before it reaches
// core memory: every parameter a kernel uses to address memory is checked against the tensors.
import { netFootprint, PARAM_SLOTS, SLOT, type NetKernel, type NetLayer, type NetPlan } from '../core/wasm.js';
import { ModelFormatError, ModelSizeError } from './errors.js';
import { isSupported, type Operator } from './operators.js';

export type DType = 'int8' | 'float32';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly scale: number;
  readonly zeroPoint: number;
  /** Constant contents (an operand of ADD or MUL), written once at load. */
  readonly data?: Uint8Array;
}

export interface LayerPlan extends NetLayer {
  readonly op: Operator;
  /** Work units of the layer (output rows, softmax rows, elements or bytes). */
  readonly units: number;
  /** Multiply-accumulates (or elements) per unit: what the slicer budgets. */
  readonly workPerUnit: number;
}

export interface ModelPlan {
  readonly tensors: readonly TensorInfo[];
  readonly layers: readonly LayerPlan[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

/** One tensor at most this large, and a whole model (tensors, constants, scratch) at most. */
export const MAX_TENSOR_BYTES = 16 * 1024 * 1024;
export const MAX_MODEL_BYTES = 48 * 1024 * 1024;
export const MAX_LAYERS = 4096;

export const KERNEL_OF: Record<Operator, NetKernel> = {
  CONV_2D: 'conv', FULLY_CONNECTED: 'conv', DEPTHWISE_CONV_2D: 'depthwise',
  AVERAGE_POOL_2D: 'avgpool', MAX_POOL_2D: 'maxpool', ADD: 'add', MUL: 'mul', RESHAPE: 'copy',
  SOFTMAX: 'softmax', LOGISTIC: 'logistic', QUANTIZE: 'quantize', DEQUANTIZE: 'dequantize',
};

export function elements(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

export function tensorBytes(t: TensorInfo): number {
  return elements(t.shape) * (t.dtype === 'float32' ? 4 : 1);
}

export function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

export function toNetPlan(plan: ModelPlan): NetPlan {
  return { tensorBytes: plan.tensors.map(tensorBytes), layers: plan.layers };
}

function fail(field: string, expected: string, got?: unknown): never {
  throw new ModelFormatError(field, expected, got);
}

/** Validates a plan's structure and every layer's geometry against its tensors. */
export function checkPlan(plan: ModelPlan): void {
  const n = plan.tensors.length;
  if (plan.layers.length === 0 || plan.layers.length > MAX_LAYERS) fail('layers', `1 to ${MAX_LAYERS} layers`, plan.layers.length);
  plan.tensors.forEach((t, i) => {
    if (t.shape.length > 4 || t.shape.some((d) => !Number.isInteger(d) || d < 1)) fail(`tensor ${i} shape`, 'up to 4 positive dimensions', t.shape);
    const bytes = tensorBytes(t);
    if (bytes > MAX_TENSOR_BYTES) throw new ModelSizeError(`tensor ${t.name}`, bytes, MAX_TENSOR_BYTES);
    if (t.data && t.data.length !== bytes) fail(`tensor ${i} data`, `${bytes} bytes`, t.data.length);
  });
  const isTensor = (i: number): boolean => Number.isInteger(i) && i >= 0 && i < n;
  for (const list of [plan.inputs, plan.outputs]) {
    if (list.length === 0 || !list.every(isTensor)) fail('inputs/outputs', 'tensor indexes', list);
  }
  const written = new Set(plan.inputs);
  plan.tensors.forEach((t, i) => { if (t.data) written.add(i); });
  plan.layers.forEach((layer, li) => {
    const what = `layer ${li}`;
    if (!isSupported(layer.op) || KERNEL_OF[layer.op] !== layer.kernel) fail(`${what} op`, 'a supported operator and its kernel', layer.op);
    if (!layer.inputs.every(isTensor) || !isTensor(layer.output)) fail(`${what} tensors`, 'tensor indexes', [...layer.inputs, layer.output]);
    if (!layer.inputs.every((i) => written.has(i))) fail(`${what} inputs`, 'tensors written before they are read', layer.inputs);
    if (written.has(layer.output)) fail(`${what} output`, 'a tensor written once', layer.output);
    written.add(layer.output);
    if (layer.params.length !== PARAM_SLOTS) fail(`${what} params`, `${PARAM_SLOTS} slots`, layer.params.length);
    checkGeometry(plan, layer, what);
  });
  for (const out of plan.outputs) if (!written.has(out)) fail('outputs', 'tensors the layers write', out);
  const footprint = netFootprint(toNetPlan(plan));
  if (footprint > MAX_MODEL_BYTES) throw new ModelSizeError('model in core memory', footprint, MAX_MODEL_BYTES);
}

/** Work of one unit of `layer`: MACs of an output row, or one per element (3 per softmax input). */
export function unitWork(layer: NetLayer): number {
  const p = layer.params;
  const window = p[SLOT.OUT_W]! * p[SLOT.OUT_C]! * p[SLOT.K_H]! * p[SLOT.K_W]!;
  switch (layer.kernel) {
    case 'conv': return window * p[SLOT.IN_C]!;
    case 'depthwise': case 'avgpool': case 'maxpool': return window;
    case 'softmax': return p[SLOT.IN_C]! * 3;
    default: return 1;
  }
}

function checkGeometry(plan: ModelPlan, layer: LayerPlan, what: string): void {
  const p = layer.params;
  const tensor = (i: number): TensorInfo => plan.tensors[i]!;
  const input = tensor(layer.inputs[0]!);
  const output = tensor(layer.output);
  const expect = (ok: boolean, field: string, expected: string, got?: unknown): void => {
    if (!ok) fail(`${what} ${field}`, expected, got);
  };
  const blob = (b: Uint8Array | undefined, bytes: number, field: string): void =>
    expect(b !== undefined && b.length === bytes, field, `${bytes} bytes`, b?.length);
  const inputCount = layer.kernel === 'add' || layer.kernel === 'mul' ? 2 : 1;
  expect(layer.inputs.length === inputCount, 'inputs', `${inputCount} tensors`, layer.inputs.length);
  const wantIn: DType = layer.kernel === 'quantize' && p[SLOT.B] === 0 ? 'float32' : 'int8';
  const wantOut: DType = layer.kernel === 'dequantize' ? 'float32' : 'int8';
  expect(input.dtype === wantIn && output.dtype === wantOut, 'types', `${wantIn} in, ${wantOut} out`);
  const count = elements(output.shape);
  // The slicer budgets by this figure: a file must not understate a unit's work.
  expect(layer.workPerUnit === unitWork(layer), 'work per unit', String(unitWork(layer)), layer.workPerUnit);
  switch (layer.kernel) {
    case 'conv':
    case 'depthwise':
    case 'avgpool':
    case 'maxpool': {
      const [inH, inW, inC, outH, outW, outC] = [p[SLOT.IN_H]!, p[SLOT.IN_W]!, p[SLOT.IN_C]!, p[SLOT.OUT_H]!, p[SLOT.OUT_W]!, p[SLOT.OUT_C]!];
      const [kH, kW] = [p[SLOT.K_H]!, p[SLOT.K_W]!];
      expect(inH * inW * inC === elements(input.shape) && outH * outW * outC === count && Math.min(inH, inW, inC, outH, outW, outC, kH, kW) >= 1,
        'shape', 'parameters matching its tensors');
      expect(Math.min(p[SLOT.STRIDE_H]!, p[SLOT.STRIDE_W]!) >= 1 && p[SLOT.PAD_TOP]! >= 0 && p[SLOT.PAD_LEFT]! >= 0, 'stride/padding', 'positive strides, non-negative padding');
      expect(p[SLOT.ACT_MIN]! >= -128 && p[SLOT.ACT_MIN]! <= p[SLOT.ACT_MAX]! && p[SLOT.ACT_MAX]! <= 127, 'activation range', 'within int8');
      if (layer.kernel === 'conv') {
        const kPad = p[SLOT.K_PAD]!;
        expect(kPad === roundUp8(kH * kW * inC) && Math.min(p[SLOT.DIL_H]!, p[SLOT.DIL_W]!) >= 1, 'filter', 'a patch of kH * kW * inC rounded up to 8');
        blob(layer.filter, outC * kPad * 2, 'filter');
        // Two patches and two rows of sums: the SIMD build computes output pixels in pairs.
        expect(layer.scratchBytes >= kPad * 4 + outC * 8, 'scratch', `${kPad * 4 + outC * 8} bytes`);
      } else if (layer.kernel === 'depthwise') {
        const kPad = p[SLOT.K_PAD]!;
        expect(kPad === roundUp8(outC) && p[SLOT.DEPTH_MULT]! >= 1 && outC === inC * p[SLOT.DEPTH_MULT]! && Math.min(p[SLOT.DIL_H]!, p[SLOT.DIL_W]!) >= 1,
          'filter', 'channels = input channels * depth multiplier');
        blob(layer.filter, kH * kW * kPad * 2, 'filter');
        expect(layer.scratchBytes >= kPad * 4, 'scratch', `${kPad * 4} bytes`);
      } else {
        expect(inC === outC, 'channels', 'the same in and out', [inC, outC]);
      }
      if (layer.kernel === 'conv' || layer.kernel === 'depthwise') {
        for (const [b, name] of [[layer.bias, 'bias'], [layer.multiplier, 'multiplier'], [layer.shift, 'shift']] as const) blob(b, outC * 4, name);
        const shifts = new DataView(layer.shift!.buffer, layer.shift!.byteOffset, outC * 4);
        const inRange = Array.from({ length: outC }, (_, c) => shifts.getInt32(4 * c, true)).every((s) => s >= -31 && s <= 30);
        expect(inRange, 'shift', 'shifts from -31 to 30');
      }
      expect(layer.units === outH, 'units', 'one per output row', layer.units);
      break;
    }
    case 'add':
    case 'mul': {
      const second = tensor(layer.inputs[1]!);
      const steps = [p[SLOT.STRIDE_H]!, p[SLOT.STRIDE_W]!];
      [input, second].forEach((t, i) => expect(steps[i] === (elements(t.shape) === count ? 1 : 0) && (steps[i] === 1 || elements(t.shape) === 1), 'broadcast', 'same shapes or a single value'));
      expect(second.dtype === 'int8' && p[SLOT.I]! >= 0 && p[SLOT.I]! <= 20, 'operands', 'int8 with a left shift up to 20');
      expect(layer.units === count, 'units', 'one per element', layer.units);
      break;
    }
    case 'softmax': {
      const depth = p[SLOT.IN_C]!;
      expect(depth >= 1 && count % depth === 0 && p[SLOT.COUNT]! * depth === count && elements(input.shape) === count, 'shape', 'rows of the last dimension');
      expect(p[SLOT.B]! >= 0 && p[SLOT.B]! <= 30, 'scaling', 'a left shift from 0 to 30');
      expect(layer.units === p[SLOT.COUNT], 'units', 'one per row', layer.units);
      break;
    }
    case 'logistic':
    case 'quantize':
    case 'dequantize':
      expect(elements(input.shape) === count && layer.units === count, 'shape', 'as many elements in as out');
      if (layer.kernel === 'logistic') expect(p[SLOT.D]! >= 0 && p[SLOT.D]! <= 30, 'scaling', 'a left shift from 0 to 30');
      if (layer.kernel === 'quantize' && p[SLOT.B] === 1) expect(p[SLOT.D]! >= -31 && p[SLOT.D]! <= 30, 'shift', 'from -31 to 30');
      break;
    case 'copy':
      expect(tensorBytes(input) === tensorBytes(output) && layer.units === tensorBytes(output), 'shape', 'as many bytes in as out');
      break;
  }
}
