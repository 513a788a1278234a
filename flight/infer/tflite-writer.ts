// Writes TFLite flatbuffers with the flatbuffers Builder and the schema's field ids (as
// tflite.ts reads them): the anomaly trainer's output, and the tests' single-operator models.
import { Builder } from 'flatbuffers';

export interface TestTensor {
  shape: number[];
  type: 'INT8' | 'INT32' | 'FLOAT32' | 'INT16' | 'UINT8';
  scales?: number[];
  zeroPoints?: number[];
  quantizedDimension?: number;
  data?: Uint8Array;
  name?: string;
}

export type OptionField =
  | { id: number; int: number }
  | { id: number; byte: number }
  | { id: number; float: number };

export interface TestOperator {
  /** Builtin operator code, or a custom operator's name. */
  code: number | string;
  inputs: number[];
  outputs: number[];
  optionsType?: number;
  options?: OptionField[];
}

export interface TestModel {
  tensors: TestTensor[];
  operators: TestOperator[];
  inputs: number[];
  outputs: number[];
  version?: number;
  subgraphs?: number;
  description?: string;
}

const TYPE_CODES = { FLOAT32: 0, INT32: 2, UINT8: 3, INT16: 7, INT8: 9 } as const;

function intVector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
  return b.endVector();
}

function floatVector(b: Builder, values: number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]!);
  return b.endVector();
}

function longVector(b: Builder, values: number[]): number {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]!));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

export function buildTflite(model: TestModel): Uint8Array {
  const b = new Builder(1024);
  b.forceDefaults(true);
  // Buffer 0 is the empty sentinel; each constant tensor gets its own.
  const bufferData: (Uint8Array | undefined)[] = [undefined];
  const tensorBuffer = model.tensors.map((t) => (t.data ? bufferData.push(t.data) - 1 : 0));
  const buffers = bufferData.map((data) => {
    const vec = data ? (b.startVector(1, data.length, 16), [...data].reverse().forEach((x) => b.addInt8(x)), b.endVector()) : 0;
    b.startObject(1);
    if (data) b.addFieldOffset(0, vec, 0);
    return b.endObject();
  });
  const tensors = model.tensors.map((t, i) => {
    const name = b.createString(t.name ?? `t${i}`);
    const shape = intVector(b, t.shape);
    let quant = 0;
    if (t.scales) {
      const scale = floatVector(b, t.scales);
      const zp = longVector(b, t.zeroPoints ?? t.scales.map(() => 0));
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      b.addFieldOffset(3, zp, 0);
      b.addFieldInt32(6, t.quantizedDimension ?? 0, 0);
      quant = b.endObject();
    }
    b.startObject(5);
    b.addFieldOffset(0, shape, 0);
    b.addFieldInt8(1, TYPE_CODES[t.type], 0);
    b.addFieldInt32(2, tensorBuffer[i]!, 0);
    b.addFieldOffset(3, name, 0);
    if (quant) b.addFieldOffset(4, quant, 0);
    return b.endObject();
  });
  const codes: (number | string)[] = [];
  const operators = model.operators.map((op) => {
    let index = codes.indexOf(op.code);
    if (index < 0) index = codes.push(op.code) - 1;
    const inputs = intVector(b, op.inputs);
    const outputs = intVector(b, op.outputs);
    let options = 0;
    if (op.options) {
      b.startObject(Math.max(1, ...op.options.map((f) => f.id + 1)));
      for (const f of op.options) {
        if ('int' in f) b.addFieldInt32(f.id, f.int, 0);
        else if ('byte' in f) b.addFieldInt8(f.id, f.byte, 0);
        else b.addFieldFloat32(f.id, f.float, 0);
      }
      options = b.endObject();
    }
    b.startObject(5);
    b.addFieldInt32(0, index, 0);
    b.addFieldOffset(1, inputs, 0);
    b.addFieldOffset(2, outputs, 0);
    b.addFieldInt8(3, op.optionsType ?? 0, 0);
    if (options) b.addFieldOffset(4, options, 0);
    return b.endObject();
  });
  const opcodes = codes.map((code) => {
    const custom = typeof code === 'string' ? b.createString(code) : 0;
    b.startObject(4);
    b.addFieldInt8(0, typeof code === 'number' ? Math.min(code, 127) : 32, 0);
    if (custom) b.addFieldOffset(1, custom, 0);
    b.addFieldInt32(2, 1, 0);
    b.addFieldInt32(3, typeof code === 'number' ? code : 32, 0);
    return b.endObject();
  });
  const graph = (): number => {
    const t = offsetVector(b, tensors);
    const ins = intVector(b, model.inputs);
    const outs = intVector(b, model.outputs);
    const ops = offsetVector(b, operators);
    b.startObject(5);
    b.addFieldOffset(0, t, 0);
    b.addFieldOffset(1, ins, 0);
    b.addFieldOffset(2, outs, 0);
    b.addFieldOffset(3, ops, 0);
    return b.endObject();
  };
  const subgraphs = offsetVector(b, Array.from({ length: model.subgraphs ?? 1 }, graph));
  const opcodeVec = offsetVector(b, opcodes);
  const bufferVec = offsetVector(b, buffers);
  const description = model.description === undefined ? 0 : b.createString(model.description);
  b.startObject(5);
  b.addFieldInt32(0, model.version ?? 3, 0);
  b.addFieldOffset(1, opcodeVec, 0);
  b.addFieldOffset(2, subgraphs, 0);
  if (description) b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, bufferVec, 0);
  b.finish(b.endObject(), 'TFL3');
  return b.asUint8Array().slice();
}
