// The trained perceptron as an int8 TFLite model, quantised as TFLite's post-training
// quantisation does it: float32 input quantised in the graph (QUANTIZE), int8 per-channel
// weights of the hidden layer and a per-tensor output layer, int32 biases at input scale x weight
// scale, activation ranges calibrated on the training inputs, and LOGISTIC at 1/256, -128.
import { buildTflite, type TestTensor } from '../tflite-writer.js';
import { forward, type Mlp } from './mlp.js';

/** An asymmetric int8 range covering [min, max] (and 0), as TFLite calibrates activations. */
function range(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = Math.fround(Math.max(hi - lo, 1e-6) / 255);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}

/** Tensor data as TFLite stores it: little-endian. */
function bytes(a: Int8Array | Int32Array): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  a.forEach((v, i) => (a instanceof Int8Array ? view.setInt8(i, v) : view.setInt32(4 * i, v, true)));
  return out;
}

/** The value below which a fraction `p` of `values` lies. */
function quantile(values: number[], p: number): number {
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Activation ranges clip the outermost CLIP of calibration values at each end: a few outliers
 *  would otherwise widen the int8 step for every typical value. */
const CLIP = 0.001;

/** Writes `m` as a .tflite quantised with `calibration` (transformed training inputs). */
export function exportTflite(m: Mlp, calibration: readonly Float32Array[]): Uint8Array {
  const H = m.hidden;
  const inputs: number[] = [];
  const hiddens: number[] = [];
  const logits: number[] = [];
  const hidden = new Float64Array(H);
  for (const x of calibration) {
    inputs.push(...x);
    logits.push(forward(m, x, hidden));
    hiddens.push(...hidden);
  }
  const input = range(quantile(inputs, CLIP), quantile(inputs, 1 - CLIP));
  const act = { scale: Math.fround(Math.max(quantile(hiddens, 1 - CLIP), 1e-6) / 255), zeroPoint: -128 };
  const logit = range(quantile(logits, CLIP), quantile(logits, 1 - CLIP));
  // Hidden layer: one scale per unit (quantised dimension 0).
  const w1Scales = Array.from({ length: H }, (_, h) => Math.fround(Math.max(...Array.from({ length: m.inputs }, (_, i) => Math.abs(m.w1[h * m.inputs + i]!)), 1e-9) / 127));
  const w1 = Int8Array.from(m.w1, (w, k) => Math.round(w / w1Scales[Math.floor(k / m.inputs)]!));
  const b1 = Int32Array.from(m.b1, (b, h) => Math.round(b / (input.scale * w1Scales[h]!)));
  const w2Scale = Math.fround(Math.max(...Array.from(m.w2, Math.abs), 1e-9) / 127);
  const w2 = Int8Array.from(m.w2, (w) => Math.round(w / w2Scale));
  const b2 = Int32Array.of(Math.round(m.b2 / (act.scale * w2Scale)));
  const tensors: TestTensor[] = [
    { name: 'features', shape: [1, m.inputs], type: 'FLOAT32' },
    { name: 'features_int8', shape: [1, m.inputs], type: 'INT8', scales: [input.scale], zeroPoints: [input.zeroPoint] },
    { name: 'hidden/weights', shape: [H, m.inputs], type: 'INT8', scales: w1Scales, zeroPoints: w1Scales.map(() => 0), quantizedDimension: 0, data: bytes(w1) },
    { name: 'hidden/bias', shape: [H], type: 'INT32', scales: w1Scales.map((s) => s * input.scale), data: bytes(b1) },
    { name: 'hidden', shape: [1, H], type: 'INT8', scales: [act.scale], zeroPoints: [act.zeroPoint] },
    { name: 'output/weights', shape: [1, H], type: 'INT8', scales: [w2Scale], zeroPoints: [0], data: bytes(w2) },
    { name: 'output/bias', shape: [1], type: 'INT32', scales: [w2Scale * act.scale], data: bytes(b2) },
    { name: 'logit', shape: [1, 1], type: 'INT8', scales: [logit.scale], zeroPoints: [logit.zeroPoint] },
    { name: 'anomaly', shape: [1, 1], type: 'INT8', scales: [1 / 256], zeroPoints: [-128] },
  ];
  return buildTflite({
    tensors,
    operators: [
      { code: 114, inputs: [0], outputs: [1] }, // QUANTIZE
      { code: 9, inputs: [1, 2, 3], outputs: [4], optionsType: 8, options: [{ id: 0, byte: 1 }] }, // FULLY_CONNECTED, RELU
      { code: 9, inputs: [4, 5, 6], outputs: [7], optionsType: 8, options: [{ id: 0, byte: 0 }] },
      { code: 14, inputs: [7], outputs: [8] }, // LOGISTIC
    ],
    inputs: [0],
    outputs: [8],
    description: 'Tern OPSSAT-AD anomaly detector: input the 19 segment features as flight/infer/anomaly/dataset.ts transforms them; output P(anomaly)',
  });
}
