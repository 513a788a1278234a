// Weights as the kernels read them (flight/core/assembly/infer/conv.ts): int8 filter values
// widened to i16 once at import so the SIMD dot products load them directly, rows padded with
// zeros to a multiple of 8 lanes, little-endian.
import { roundUp8 } from './plan.js';

export interface PackedFilter {
  readonly bytes: Uint8Array;
  /** i16 values per row (a conv output channel, or a depthwise tap). */
  readonly rowLength: number;
}

// Written through DataView: WASM memory is little-endian whatever the host is.
function pack(rows: number, length: number, value: (row: number, i: number) => number): PackedFilter {
  const rowLength = roundUp8(length);
  const bytes = new Uint8Array(rows * rowLength * 2);
  const view = new DataView(bytes.buffer);
  for (let r = 0; r < rows; r++) for (let i = 0; i < length; i++) view.setInt16(2 * (r * rowLength + i), value(r, i), true);
  return { bytes, rowLength };
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
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setInt32(4 * i, v, true));
  return bytes;
}
