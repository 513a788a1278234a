// Tern's onboard model format (.tern): what a satellite stores and loads. A 64-byte header
// (magic, version, body length, CRC-32C and SHA-256 of the body), then the plan: counts, model
// inputs and outputs, fixed-size tensor and layer records, and a blob area holding names,
// constants and the prepacked weights, each 16-byte aligned in the file as in core memory.
// Reading verifies the checksum and digest, then every record, then the plan's geometry.
import { createHash } from 'node:crypto';
import { core, PARAM_SLOTS } from '../core/wasm.js';
import { ModelFormatError } from './errors.js';
import { isSupported, operatorCode, operatorName } from './operators.js';
import { checkPlan, KERNEL_OF, MAX_LAYERS, MAX_MODEL_BYTES, type DType, type LayerPlan, type ModelPlan, type TensorInfo } from './plan.js';

export const TERN_MAGIC = 'TERNMODL';
export const TERN_VERSION = 1;
const HEADER = 64;
const COUNTS = 24;
const TENSOR_RECORD = 40;
const LAYER_RECORD = 64 + PARAM_SLOTS * 4;
const MAX_TENSORS = 65536;
const BLOBS = ['filter', 'bias', 'multiplier', 'shift'] as const;

const align16 = (n: number): number => (n + 15) & ~15;

/**
 * SHA-256 of the whole file: the model's identity, the one digest an operator sees (`tern infer
 * import` and `tern gse upload` print it, INFER_ACTIVATE_MODEL names it, events report it). The
 * header's SHA-256 of the body is the file's own integrity check.
 */
export function modelDigest(file: Uint8Array): string {
  return createHash('sha256').update(file).digest('hex');
}

export function writeTern(plan: ModelPlan): Uint8Array {
  const blobs: Uint8Array[] = [];
  let blobLength = 0;
  const place = (bytes: Uint8Array | undefined): [number, number] => {
    if (!bytes || bytes.length === 0) return [0, 0];
    const at = blobLength;
    blobs.push(bytes);
    blobLength = align16(at + bytes.length);
    return [at, bytes.length];
  };
  const listsAt = COUNTS;
  const tensorsAt = align16(listsAt + 4 * (plan.inputs.length + plan.outputs.length));
  const layersAt = tensorsAt + TENSOR_RECORD * plan.tensors.length;
  const blobAt = align16(layersAt + LAYER_RECORD * plan.layers.length);
  const tensorBlobs = plan.tensors.map((t) => ({ name: place(new TextEncoder().encode(t.name)), data: place(t.data) }));
  const layerBlobs = plan.layers.map((l) => BLOBS.map((b) => place(l[b])));
  const body = new Uint8Array(blobAt + blobLength);
  const v = new DataView(body.buffer);
  [plan.tensors.length, plan.layers.length, plan.inputs.length, plan.outputs.length, blobAt, blobLength].forEach((n, i) => v.setUint32(4 * i, n, true));
  [...plan.inputs, ...plan.outputs].forEach((n, i) => v.setInt32(listsAt + 4 * i, n, true));
  plan.tensors.forEach((t, i) => {
    const at = tensorsAt + TENSOR_RECORD * i;
    const { name: [nameAt, nameLength], data: [dataAt, dataLength] } = tensorBlobs[i]!;
    v.setUint8(at, t.dtype === 'float32' ? 1 : 0);
    v.setUint8(at + 1, t.shape.length);
    v.setUint16(at + 2, nameLength, true);
    t.shape.forEach((d, k) => v.setInt32(at + 4 + 4 * k, d, true));
    v.setFloat32(at + 20, t.scale, true);
    v.setInt32(at + 24, t.zeroPoint, true);
    v.setUint32(at + 28, dataAt, true);
    v.setUint32(at + 32, dataLength, true);
    v.setUint32(at + 36, nameAt, true);
  });
  plan.layers.forEach((l, i) => {
    const at = layersAt + LAYER_RECORD * i;
    v.setUint16(at, operatorCode(l.op), true);
    v.setUint8(at + 2, l.inputs.length);
    v.setInt32(at + 4, l.inputs[0]!, true);
    v.setInt32(at + 8, l.inputs[1] ?? -1, true);
    v.setInt32(at + 12, l.output, true);
    v.setUint32(at + 16, l.units, true);
    v.setUint32(at + 20, l.workPerUnit, true);
    v.setUint32(at + 24, l.scratchBytes, true);
    layerBlobs[i]!.forEach(([off, len], b) => { v.setUint32(at + 28 + 8 * b, off, true); v.setUint32(at + 32 + 8 * b, len, true); });
    l.params.forEach((p, k) => v.setInt32(at + 64 + 4 * k, p, true));
  });
  let blobCursor = 0;
  for (const b of blobs) { body.set(b, blobAt + blobCursor); blobCursor = align16(blobCursor + b.length); }
  const file = new Uint8Array(HEADER + body.length);
  file.set(body, HEADER);
  const h = new DataView(file.buffer);
  file.set(new TextEncoder().encode(TERN_MAGIC), 0);
  h.setUint16(8, TERN_VERSION, true);
  h.setUint32(12, body.length, true);
  h.setUint32(16, core().crc32c(body), true);
  file.set(createHash('sha256').update(body).digest(), 20);
  return file;
}

export function isTern(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === TERN_MAGIC;
}

function fail(field: string, expected: string, got?: unknown): never {
  throw new ModelFormatError(field, expected, got);
}

/** Reads and verifies a .tern file; any damage is a ModelFormatError naming what is wrong. */
export function readTern(file: Uint8Array): ModelPlan {
  if (file.length < HEADER + COUNTS) fail('length', `at least ${HEADER + COUNTS} bytes`, file.length);
  if (!isTern(file)) fail('magic', JSON.stringify(TERN_MAGIC));
  const h = new DataView(file.buffer, file.byteOffset, file.length);
  if (h.getUint16(8, true) !== TERN_VERSION) fail('version', String(TERN_VERSION), h.getUint16(8, true));
  const bodyLength = h.getUint32(12, true);
  if (bodyLength !== file.length - HEADER) fail('length', `${HEADER + bodyLength} bytes as the header says (truncated?)`, file.length);
  if (bodyLength > MAX_MODEL_BYTES) fail('length', `at most ${MAX_MODEL_BYTES} bytes`, bodyLength);
  const body = file.subarray(HEADER);
  const crc = core().crc32c(body);
  if (crc !== h.getUint32(16, true)) fail('crc32c', `0x${h.getUint32(16, true).toString(16)}`, `0x${crc.toString(16)}`);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(file.subarray(20, 52))) fail('sha256', Buffer.from(file.subarray(20, 52)).toString('hex'), digest.toString('hex'));
  const v = new DataView(body.buffer, body.byteOffset, body.length);
  const [tensorCount, layerCount, inputCount, outputCount, blobAt, blobLength] = [0, 1, 2, 3, 4, 5].map((i) => v.getUint32(4 * i, true)) as [number, number, number, number, number, number];
  if (tensorCount > MAX_TENSORS || layerCount > MAX_LAYERS || inputCount > tensorCount || outputCount > tensorCount) fail('counts', 'tensor, layer and input/output counts within limits', [tensorCount, layerCount, inputCount, outputCount]);
  const tensorsAt = align16(COUNTS + 4 * (inputCount + outputCount));
  const layersAt = tensorsAt + TENSOR_RECORD * tensorCount;
  if (blobAt !== align16(layersAt + LAYER_RECORD * layerCount) || blobAt + blobLength !== body.length) fail('layout', 'records followed by the blob area to the end of the file', [blobAt, blobLength]);
  const blob = (off: number, len: number, what: string): Uint8Array | undefined => {
    if (len === 0) return undefined;
    if (off % 16 !== 0 || off + len > blobLength) fail(what, 'a 16-byte aligned range inside the blob area', [off, len]);
    return body.slice(blobAt + off, blobAt + off + len);
  };
  const lists = Array.from({ length: inputCount + outputCount }, (_, i) => v.getInt32(COUNTS + 4 * i, true));
  const tensors: TensorInfo[] = Array.from({ length: tensorCount }, (_, i) => {
    const at = tensorsAt + TENSOR_RECORD * i;
    const dtypeCode = v.getUint8(at);
    const rank = v.getUint8(at + 1);
    if (dtypeCode > 1 || rank > 4) fail(`tensor ${i}`, 'type int8 or float32 and rank up to 4', [dtypeCode, rank]);
    const dtype: DType = dtypeCode === 1 ? 'float32' : 'int8';
    const scale = v.getFloat32(at + 20, true);
    const zeroPoint = v.getInt32(at + 24, true);
    if (dtype === 'int8' && (!Number.isFinite(scale) || scale <= 0 || zeroPoint < -128 || zeroPoint > 127)) fail(`tensor ${i} quantisation`, 'a finite positive scale and an int8 zero point', [scale, zeroPoint]);
    const name = new TextDecoder().decode(blob(v.getUint32(at + 36, true), v.getUint16(at + 2, true), `tensor ${i} name`) ?? new Uint8Array());
    const data = blob(v.getUint32(at + 28, true), v.getUint32(at + 32, true), `tensor ${i} data`);
    return { name, dtype, shape: Array.from({ length: rank }, (_, k) => v.getInt32(at + 4 + 4 * k, true)), scale, zeroPoint, ...(data ? { data } : {}) };
  });
  const layers: LayerPlan[] = Array.from({ length: layerCount }, (_, i) => {
    const at = layersAt + LAYER_RECORD * i;
    const op = operatorName(v.getUint16(at, true));
    if (!isSupported(op)) fail(`layer ${i} operator`, 'a supported operator', op);
    const inputCountOfLayer = v.getUint8(at + 2);
    if (inputCountOfLayer < 1 || inputCountOfLayer > 2) fail(`layer ${i} inputs`, '1 or 2', inputCountOfLayer);
    const blobsOfLayer = Object.fromEntries(BLOBS.map((b, k) => [b, blob(v.getUint32(at + 28 + 8 * k, true), v.getUint32(at + 32 + 8 * k, true), `layer ${i} ${b}`)]).filter(([, d]) => d !== undefined));
    return {
      op, kernel: KERNEL_OF[op],
      inputs: [v.getInt32(at + 4, true), v.getInt32(at + 8, true)].slice(0, inputCountOfLayer),
      output: v.getInt32(at + 12, true),
      units: v.getUint32(at + 16, true),
      workPerUnit: v.getUint32(at + 20, true),
      scratchBytes: v.getUint32(at + 24, true),
      params: Int32Array.from({ length: PARAM_SLOTS }, (_, k) => v.getInt32(at + 64 + 4 * k, true)),
      ...blobsOfLayer,
    };
  });
  const plan: ModelPlan = { tensors, layers, inputs: lists.slice(0, inputCount), outputs: lists.slice(inputCount) };
  checkPlan(plan);
  return plan;
}
