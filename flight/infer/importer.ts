// `tflite -> plan`: reads a TFLite flatbuffer, checks every operator, option, tensor type and
// quantisation parameter Tern will run, and builds the layers (flight/infer/layers.ts) with
// their parameters computed as TFLM's Prepare steps compute them. Anything else is refused by
// name: a model either runs bit-exact or not at all.
import { ModelFormatError, QuantisationError, UnsupportedOperatorError } from './errors.js';
import { buildLayer, type OperatorContext } from './layers.js';
import { isSupported, operatorName } from './operators.js';
import { checkPlan, type LayerPlan, type ModelPlan, type TensorInfo } from './plan.js';
import { readTflite, type TfliteTensor } from './tflite.js';

/** Largest scale accepted: beyond it no int8 value means anything a network computes. */
const MAX_SCALE = 1e6;

/** A TFLite tensor after its quantisation was checked. */
export interface Operand {
  readonly index: number;
  readonly tensor: TfliteTensor;
  /** Constant contents, or undefined for an activation. */
  readonly data: Uint8Array | undefined;
}

function checkScales(t: TfliteTensor): void {
  for (const s of t.scales) {
    if (!Number.isFinite(s) || s <= 0 || s > MAX_SCALE) {
      throw new QuantisationError(t.name, `scale ${s} is not a finite positive number up to ${MAX_SCALE}`);
    }
  }
  if (t.zeroPoints.length !== t.scales.length && t.zeroPoints.length > 1) {
    throw new QuantisationError(t.name, `${t.scales.length} scales but ${t.zeroPoints.length} zero points`);
  }
}

/** The activation (or constant operand) tensor of plan form: int8 per-tensor or float32. */
function activation(t: TfliteTensor, op: string, layer: number): Omit<TensorInfo, 'data'> {
  if (t.type === 'FLOAT32') return { name: t.name, dtype: 'float32', shape: t.shape, scale: 1, zeroPoint: 0 };
  if (t.type !== 'INT8') throw new UnsupportedOperatorError(op, `tensor ${t.name} of type ${t.type}`, layer);
  checkScales(t);
  if (t.scales.length !== 1) throw new QuantisationError(t.name, `an activation needs one scale, it has ${t.scales.length}`);
  const zeroPoint = t.zeroPoints[0] ?? 0;
  if (!Number.isInteger(zeroPoint) || zeroPoint < -128 || zeroPoint > 127) throw new QuantisationError(t.name, `zero point ${zeroPoint} outside int8`);
  return { name: t.name, dtype: 'int8', shape: t.shape.length === 0 ? [1] : t.shape, scale: t.scales[0]!, zeroPoint };
}

export function importTflite(bytes: Uint8Array): ModelPlan {
  const model = readTflite(bytes);
  if (model.version !== 3) throw new ModelFormatError('schema version', '3', model.version);
  if (model.subgraphs.length !== 1) throw new UnsupportedOperatorError('MODEL', `${model.subgraphs.length} subgraphs (one is run)`);
  const graph = model.subgraphs[0]!;
  const tensors: TensorInfo[] = [];
  const planIndex = new Map<number, number>();
  const bufferOf = (t: TfliteTensor): Uint8Array | undefined => {
    if (t.buffer >= model.buffers.length) throw new ModelFormatError(`tensor ${t.name} buffer`, `an index below ${model.buffers.length}`, t.buffer);
    const data = model.buffers[t.buffer]!;
    return t.buffer === 0 || data.length === 0 ? undefined : data;
  };
  const tensorAt = (i: number, what: string): TfliteTensor => {
    const t = graph.tensors[i];
    if (!t) throw new ModelFormatError(what, `a tensor index below ${graph.tensors.length}`, i);
    if (t.isVariable || t.sparse) throw new UnsupportedOperatorError('MODEL', `${t.isVariable ? 'variable' : 'sparse'} tensor ${t.name}`);
    return t;
  };
  /** The plan tensor of TFLite tensor i, created at its first use. */
  const planTensor = (i: number, op: string, layer: number): number => {
    const known = planIndex.get(i);
    if (known !== undefined) return known;
    const t = tensorAt(i, `operator ${layer} tensor`);
    const data = bufferOf(t);
    tensors.push({ ...activation(t, op, layer), ...(data ? { data: data.slice() } : {}) });
    planIndex.set(i, tensors.length - 1);
    return tensors.length - 1;
  };
  const inputs = graph.inputs.map((i) => planTensor(i, 'MODEL', -1));
  const layers: LayerPlan[] = graph.operators.map((operator, li) => {
    const code = model.operatorCodes[operator.opcodeIndex];
    if (!code) throw new ModelFormatError(`operator ${li} opcode`, `an index below ${model.operatorCodes.length}`, operator.opcodeIndex);
    const name = code.custom !== undefined ? `CUSTOM ${code.custom}` : operatorName(code.builtin);
    if (!isSupported(name)) throw new UnsupportedOperatorError(name, 'the operator', li);
    if (operator.hasCustomOptions) throw new UnsupportedOperatorError(name, 'custom options', li);
    if (operator.outputs.length !== 1) throw new UnsupportedOperatorError(name, `${operator.outputs.length} outputs`, li);
    const operands: (Operand | undefined)[] = operator.inputs.map((i) => {
      if (i === -1) return undefined; // an optional input left out
      const tensor = tensorAt(i, `operator ${li} input`);
      checkScales(tensor);
      return { index: i, tensor, data: bufferOf(tensor) };
    });
    const context: OperatorContext = {
      op: name, layer: li, operator, operands,
      output: tensorAt(operator.outputs[0]!, `operator ${li} output`),
      activation: (operand) => planTensor(operand.index, name, li),
      outputTensor: () => planTensor(operator.outputs[0]!, name, li),
      info: (index) => tensors[index]!,
    };
    return buildLayer(context);
  });
  const outputs = graph.outputs.map((i) => planIndex.get(i) ?? planTensor(i, 'MODEL', -1));
  const plan: ModelPlan = { tensors, layers, inputs, outputs };
  checkPlan(plan);
  return plan;
}
