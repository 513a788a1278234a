// Weights as the kernels read them (flight/core/assembly/infer/conv.ts): int8 filter values
// widened to i16 once at import so the SIMD dot products load them directly, rows padded with
// zeros to a multiple of 8 lanes, little-endian.
import { roundUp8 } from './plan.js';

export interface PackedFilter {
  readonly bytes: Uint8Array;
  /** i16 values per row (a conv output channel, or a depthwise tap). */
  readonly rowLength: number;
}

function pack(rows: number, length: number, value: (row: number, i: number) => number): PackedFilter {
  const rowLength = roundUp8(length);
  const out = new Int16Array(rows * rowLength);
  for (let r = 0; r < rows; r++) for (let i = 0; i < length; i++) out[r * rowLength + i] = value(r, i);
  return { bytes: new Uint8Array(out.buffer), rowLength };
}

/** Conv / fully-connected filter [outC][patch] (TFLite OHWI order is already patch order). */
export function packConvFilter(filter: Int8Array, outC: number, patch: number): PackedFilter {
  return pack(outC, patch, (oc, k) => filter[oc * patch + k]!);
}

/** Depthwise filter [1][kH][kW][outC]: one row of channels per tap. */
export function packDepthwiseFilter(filter: Int8Array, taps: number, outC: number): PackedFilter {
  return pack(taps, outC, (tap, oc) => filter[tap * outC + oc]!);
}

export function int32Bytes(values: Int32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
