// The part of the TFLite flatbuffer schema (tensorflow/lite/schema/schema.fbs) that Tern reads,
// as typed accessors over the flatbuffers runtime: tables and vectors by the schema's field ids
// (a field's vtable slot is 4 + 2 * id). Every position is bounds-checked before the runtime
// reads it, because ByteBuffer itself does not check and a truncated file would read as zeros.
import { ByteBuffer } from 'flatbuffers';
import { ModelFormatError } from './errors.js';

// Field ids, in schema order.
const MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, buffers: 4 } as const;
const OPERATOR_CODE = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;
const SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3 } as const;
const TENSOR = { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6 } as const;
const QUANTIZATION = { scale: 2, zeroPoint: 3, detailsType: 4, quantizedDimension: 6 } as const;
const OPERATOR = { opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptionsType: 3, builtinOptions: 4, customOptions: 5, intermediates: 8 } as const;
const BUFFER = { data: 0, offset: 1, size: 2 } as const;

/** schema enum TensorType */
export const TENSOR_TYPES = ['FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8'] as const;

export interface TfliteTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** TensorType name, or TYPE_<n> for one Tern does not know. */
  readonly type: string;
  readonly buffer: number;
  readonly scales: readonly number[];
  readonly zeroPoints: readonly number[];
  readonly quantizedDimension: number;
  readonly isVariable: boolean;
  readonly sparse: boolean;
}

export interface TfliteOperator {
  readonly opcodeIndex: number;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  /** BuiltinOptions union type (0 = none) and the options table, read by options.ts. */
  readonly optionsType: number;
  readonly options: OptionsTable | undefined;
  readonly hasCustomOptions: boolean;
}

export interface TfliteSubgraph {
  readonly tensors: readonly TfliteTensor[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly operators: readonly TfliteOperator[];
}

export interface TfliteModel {
  readonly version: number;
  /** Builtin operator code per operator code entry (-1: a custom operator, named in custom). */
  readonly operatorCodes: readonly { builtin: number; custom: string | undefined }[];
  readonly subgraphs: readonly TfliteSubgraph[];
  /** Contents of each buffer (empty when the tensor has no constant data). */
  readonly buffers: readonly Uint8Array[];
}

/** Bounds-checked access to one flatbuffer. */
class Flat {
  readonly bb: ByteBuffer;
  constructor(readonly bytes: Uint8Array) {
    this.bb = new ByteBuffer(bytes);
  }

  check(pos: number, size: number, what: string): void {
    if (!Number.isInteger(pos) || pos < 0 || size < 0 || pos + size > this.bytes.length) {
      throw new ModelFormatError(what, `${size} bytes inside the ${this.bytes.length}-byte flatbuffer`, `offset ${pos}`);
    }
  }

  /** Validates the table at `pos` and its vtable; returns pos. */
  table(pos: number, what: string): number {
    this.check(pos, 4, what);
    const vtable = pos - this.bb.readInt32(pos);
    this.check(vtable, 4, `${what} vtable`);
    const vtableSize = this.bb.readUint16(vtable);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new ModelFormatError(`${what} vtable`, 'an even size of at least 4', vtableSize);
    this.check(vtable, vtableSize, `${what} vtable`);
    this.check(pos, this.bb.readUint16(vtable + 2), what);
    return pos;
  }

  /** Position of field `id` of `table`, checked to hold `size` bytes; 0 when absent. */
  field(table: number, id: number, size: number, what: string): number {
    const o = this.bb.__offset(table, 4 + 2 * id);
    if (o === 0) return 0;
    this.check(table + o, size, what);
    return table + o;
  }

  int(table: number, id: number, fallback: number, what: string): number {
    const at = this.field(table, id, 4, what);
    return at === 0 ? fallback : this.bb.readInt32(at);
  }

  byte(table: number, id: number, fallback: number, what: string): number {
    const at = this.field(table, id, 1, what);
    return at === 0 ? fallback : this.bb.readUint8(at);
  }

  float(table: number, id: number, fallback: number, what: string): number {
    const at = this.field(table, id, 4, what);
    return at === 0 ? fallback : this.bb.readFloat32(at);
  }

  /** The table a field refers to, or undefined when absent. */
  child(table: number, id: number, what: string): number | undefined {
    const at = this.field(table, id, 4, what);
    return at === 0 ? undefined : this.table(this.bb.__indirect(at), what);
  }

  /** Start and length of a vector field of `elementSize`-byte elements (length 0 when absent). */
  vector(table: number, id: number, elementSize: number, what: string): { start: number; length: number } {
    const at = this.field(table, id, 4, what);
    if (at === 0) return { start: 0, length: 0 };
    this.check(this.bb.__indirect(at), 4, what);
    const length = this.bb.__vector_len(at);
    const start = this.bb.__vector(at);
    if (length < 0 || length > this.bytes.length) throw new ModelFormatError(what, 'a vector length within the file', length);
    this.check(start, length * elementSize, what);
    return { start, length };
  }

  ints(table: number, id: number, what: string): number[] {
    const { start, length } = this.vector(table, id, 4, what);
    return Array.from({ length }, (_, i) => this.bb.readInt32(start + 4 * i));
  }

  floats(table: number, id: number, what: string): number[] {
    const { start, length } = this.vector(table, id, 4, what);
    return Array.from({ length }, (_, i) => this.bb.readFloat32(start + 4 * i));
  }

  longs(table: number, id: number, what: string): number[] {
    const { start, length } = this.vector(table, id, 8, what);
    return Array.from({ length }, (_, i) => Number(this.bb.readInt64(start + 8 * i)));
  }

  tables(table: number, id: number, what: string): number[] {
    const { start, length } = this.vector(table, id, 4, what);
    return Array.from({ length }, (_, i) => this.table(this.bb.__indirect(start + 4 * i), `${what}[${i}]`));
  }

  string(table: number, id: number, what: string): string | undefined {
    const { start, length } = this.vector(table, id, 1, what);
    return length === 0 && this.bb.__offset(table, 4 + 2 * id) === 0
      ? undefined
      : new TextDecoder('utf-8', { fatal: false }).decode(this.bytes.subarray(start, start + length));
  }
}

/** A builtin options table, read by field id (see options.ts). */
export class OptionsTable {
  constructor(private readonly flat: Flat, private readonly pos: number) {}
  int(id: number, fallback: number): number {
    return this.flat.int(this.pos, id, fallback, 'builtin options');
  }
  byte(id: number, fallback: number): number {
    return this.flat.byte(this.pos, id, fallback, 'builtin options');
  }
  float(id: number, fallback: number): number {
    return this.flat.float(this.pos, id, fallback, 'builtin options');
  }
  ints(id: number): number[] {
    return this.flat.ints(this.pos, id, 'builtin options vector');
  }
}

function readTensor(f: Flat, t: number, i: number): TfliteTensor {
  const what = `tensor ${i}`;
  const q = f.child(t, TENSOR.quantization, `${what} quantization`);
  const type = f.byte(t, TENSOR.type, 0, what);
  return {
    name: f.string(t, TENSOR.name, `${what} name`) ?? `#${i}`,
    shape: f.ints(t, TENSOR.shape, `${what} shape`),
    type: TENSOR_TYPES[type] ?? `TYPE_${type}`,
    buffer: f.int(t, TENSOR.buffer, 0, what) >>> 0,
    scales: q === undefined ? [] : f.floats(q, QUANTIZATION.scale, `${what} scales`),
    zeroPoints: q === undefined ? [] : f.longs(q, QUANTIZATION.zeroPoint, `${what} zero points`),
    quantizedDimension: q === undefined ? 0 : f.int(q, QUANTIZATION.quantizedDimension, 0, what),
    isVariable: f.byte(t, TENSOR.isVariable, 0, what) !== 0,
    sparse: f.child(t, TENSOR.sparsity, `${what} sparsity`) !== undefined || (q !== undefined && f.byte(q, QUANTIZATION.detailsType, 0, what) !== 0),
  };
}

function readOperator(f: Flat, o: number, i: number): TfliteOperator {
  const what = `operator ${i}`;
  const optionsType = f.byte(o, OPERATOR.builtinOptionsType, 0, what);
  const options = f.child(o, OPERATOR.builtinOptions, `${what} options`);
  return {
    opcodeIndex: f.int(o, OPERATOR.opcodeIndex, 0, what) >>> 0,
    inputs: f.ints(o, OPERATOR.inputs, `${what} inputs`),
    outputs: f.ints(o, OPERATOR.outputs, `${what} outputs`),
    optionsType,
    options: options === undefined ? undefined : new OptionsTable(f, options),
    hasCustomOptions: f.vector(o, OPERATOR.customOptions, 1, what).length > 0,
  };
}

/** Parses a .tflite file; a truncated or corrupt one is a ModelFormatError. */
export function readTflite(bytes: Uint8Array): TfliteModel {
  const f = new Flat(bytes);
  f.check(0, 8, 'header');
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== 'TFL3') throw new ModelFormatError('file identifier', '"TFL3" (a TFLite flatbuffer)', ident);
  const root = f.table(f.bb.readUint32(0), 'model');
  const operatorCodes = f.tables(root, MODEL.operatorCodes, 'operator codes').map((c) => {
    const deprecated = f.byte(c, OPERATOR_CODE.deprecatedBuiltinCode, 0, 'operator code');
    const builtin = f.int(c, OPERATOR_CODE.builtinCode, 0, 'operator code');
    // Codes past 127 live only in builtin_code; older files set only the deprecated byte.
    return { builtin: Math.max(deprecated, builtin), custom: f.string(c, OPERATOR_CODE.customCode, 'custom code') };
  });
  const subgraphs = f.tables(root, MODEL.subgraphs, 'subgraphs').map((s) => ({
    tensors: f.tables(s, SUBGRAPH.tensors, 'tensors').map((t, i) => readTensor(f, t, i)),
    inputs: f.ints(s, SUBGRAPH.inputs, 'subgraph inputs'),
    outputs: f.ints(s, SUBGRAPH.outputs, 'subgraph outputs'),
    operators: f.tables(s, SUBGRAPH.operators, 'operators').map((o, i) => readOperator(f, o, i)),
  }));
  const buffers = f.tables(root, MODEL.buffers, 'buffers').map((b, i) => {
    const offset = f.field(b, BUFFER.offset, 8, `buffer ${i}`);
    if (offset !== 0 && f.bb.readUint64(offset) > 1n) {
      throw new ModelFormatError(`buffer ${i}`, 'data inside the flatbuffer', 'data stored after it (offset/size buffers)');
    }
    const { start, length } = f.vector(b, BUFFER.data, 1, `buffer ${i} data`);
    return bytes.subarray(start, start + length);
  });
  return { version: f.int(root, MODEL.version, 0, 'model'), operatorCodes, subgraphs, buffers };
}
