// Random single-operator models (built as TFLite flatbuffers, imported as any model is) on both
// builds of the core, against a plain TypeScript reading of TFLM's reference kernels
// (reference.ts): padding, strides, dilation, depth multipliers, fused activations, broadcast.
import { describe, expect, it } from 'vitest';
import { InferenceCore, SLOT } from '../../flight/core/infer-kernels.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import type { LayerPlan } from '../../flight/infer/plan.js';
import { outputSize } from '../../flight/infer/quantization.js';
import * as ref from './reference.js';
import { buildTflite, type TestModel, type TestTensor } from '../../flight/infer/tflite-writer.js';

const cores = { simd: new InferenceCore('simd'), scalar: new InferenceCore('scalar') };

/** Seeded generator: every run tests the same layers. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = (): number => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 2 ** 32; };
  return {
    int: (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)),
    scale: (lo: number, hi: number): number => Math.fround(lo * (hi / lo) ** next()),
    int8s: (n: number): Int8Array => Int8Array.from({ length: n }, () => Math.floor(next() * 256) - 128),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
type Rng = ReturnType<typeof rng>;

const bytesOf = (a: Int8Array | Int32Array | Float32Array): Uint8Array => new Uint8Array(a.buffer.slice(0));
const i32 = (b: Uint8Array | undefined): Int32Array => new Int32Array(b!.buffer.slice(b!.byteOffset, b!.byteOffset + b!.length));

function act(r: Rng, input: TestTensor): TestTensor {
  return { ...input, scales: [r.scale(0.005, 0.5)], zeroPoints: [r.int(-128, 127)] };
}

/** Runs `model` on both builds with `input`; both must agree; returns the int8 output. */
function runBoth(model: TestModel, input: Uint8Array): { out: Int8Array; layer: LayerPlan } {
  const plan = importTflite(buildTflite(model));
  const results = (['simd', 'scalar'] as const).map((v) => {
    const m = new LoadedModel(cores[v], plan);
    m.setInput(input);
    m.run();
    return Int8Array.from(m.output().int8);
  });
  expect([...results[0]!]).toEqual([...results[1]!]);
  return { out: results[1]!, layer: plan.layers[0]! };
}

function convCase(r: Rng, depthwise: boolean) {
  const [inH, inW, inC] = [r.int(1, 9), r.int(1, 9), r.int(1, 19)];
  const mult = depthwise ? r.pick([1, 1, 2, 3]) : 1;
  const outC = depthwise ? inC * mult : r.int(1, 21);
  const [kH, kW] = [r.int(1, 3), r.int(1, 3)];
  const [sH, sW, dH, dW] = [r.int(1, 2), r.int(1, 2), r.pick([1, 1, 2]), r.pick([1, 1, 2])];
  const padding = r.pick([0, 1]);
  const [outH, outW] = [outputSize(padding, inH, kH, sH, dH), outputSize(padding, inW, kW, sW, dW)];
  if (outH < 1 || outW < 1) return undefined;
  const perChannel = r.pick([true, false]);
  const filter = r.int8s(depthwise ? kH * kW * outC : outC * kH * kW * inC);
  const bias = Int32Array.from({ length: outC }, () => r.int(-5000, 5000));
  const input: TestTensor = act(r, { shape: [1, inH, inW, inC], type: 'INT8' });
  const filterScales = Array.from({ length: perChannel ? outC : 1 }, () => r.scale(0.001, 0.05));
  const tensors: TestTensor[] = [
    input,
    { shape: depthwise ? [1, kH, kW, outC] : [outC, kH, kW, inC], type: 'INT8', scales: filterScales, quantizedDimension: depthwise ? 3 : 0, data: bytesOf(filter) },
    { shape: [outC], type: 'INT32', scales: filterScales.map((s) => s * input.scales![0]!), data: bytesOf(bias) },
    act(r, { shape: [1, outH, outW, outC], type: 'INT8' }),
  ];
  const activation = r.pick([0, 1, 3]);
  const options = depthwise
    ? [{ id: 0, byte: padding }, { id: 1, int: sW }, { id: 2, int: sH }, { id: 3, int: mult }, { id: 4, byte: activation }, { id: 5, int: dW }, { id: 6, int: dH }]
    : [{ id: 0, byte: padding }, { id: 1, int: sW }, { id: 2, int: sH }, { id: 3, byte: activation }, { id: 4, int: dW }, { id: 5, int: dH }];
  const model: TestModel = { tensors, operators: [{ code: depthwise ? 4 : 3, inputs: [0, 1, 2], outputs: [3], optionsType: depthwise ? 2 : 1, options }], inputs: [0], outputs: [3] };
  const x = r.int8s(inH * inW * inC);
  return { model, x, filter, bias, dims: { inH, inW, inC, outH, outW, outC, kH, kW, sH, sW, dH, dW } };
}

describe('random layers: SIMD = scalar = TFLM reference arithmetic', () => {
  for (const depthwise of [false, true]) {
    it(`${depthwise ? 'DEPTHWISE_CONV_2D' : 'CONV_2D'}: 60 random layers (padding, stride, dilation, activations)`, () => {
      const r = rng(depthwise ? 7 : 3);
      let tested = 0;
      while (tested < 60) {
        const c = convCase(r, depthwise);
        if (!c) continue;
        const { out, layer } = runBoth(c.model, bytesOf(c.x));
        const p = layer.params;
        const d = c.dims;
        const expected = ref.conv({
          input: c.x, inH: d.inH, inW: d.inW, inC: d.inC, filter: c.filter, kH: d.kH, kW: d.kW, outC: d.outC,
          bias: c.bias, multiplier: i32(layer.multiplier), shift: i32(layer.shift), strideH: d.sH, strideW: d.sW,
          dilH: d.dH, dilW: d.dW, padTop: p[SLOT.PAD_TOP]!, padLeft: p[SLOT.PAD_LEFT]!, outH: d.outH, outW: d.outW,
          inZero: -p[SLOT.IN_OFFSET]!, outZero: p[SLOT.OUT_OFFSET]!, actMin: p[SLOT.ACT_MIN]!, actMax: p[SLOT.ACT_MAX]!, depthwise,
        });
        expect([...out]).toEqual([...expected]);
        tested++;
      }
    });
  }

  it('FULLY_CONNECTED: 40 random layers with batches', () => {
    const r = rng(11);
    for (let t = 0; t < 40; t++) {
      const [batches, depth, units] = [r.int(1, 4), r.int(1, 70), r.int(1, 20)];
      const filter = r.int8s(units * depth);
      const bias = Int32Array.from({ length: units }, () => r.int(-3000, 3000));
      const input = act(r, { shape: [batches, depth], type: 'INT8' });
      const fs = r.scale(0.001, 0.05);
      const model: TestModel = {
        tensors: [input, { shape: [units, depth], type: 'INT8', scales: [fs], data: bytesOf(filter) },
          { shape: [units], type: 'INT32', scales: [fs * input.scales![0]!], data: bytesOf(bias) }, act(r, { shape: [batches, units], type: 'INT8' })],
        operators: [{ code: 9, inputs: [0, 1, 2], outputs: [3], optionsType: 8, options: [{ id: 0, byte: r.pick([0, 1]) }] }], inputs: [0], outputs: [3],
      };
      const x = r.int8s(batches * depth);
      const { out, layer } = runBoth(model, bytesOf(x));
      const p = layer.params;
      const expected = ref.conv({
        input: x, inH: batches, inW: 1, inC: depth, filter, kH: 1, kW: 1, outC: units, bias, multiplier: i32(layer.multiplier), shift: i32(layer.shift),
        strideH: 1, strideW: 1, dilH: 1, dilW: 1, padTop: 0, padLeft: 0, outH: batches, outW: 1, inZero: -p[SLOT.IN_OFFSET]!, outZero: p[SLOT.OUT_OFFSET]!,
        actMin: p[SLOT.ACT_MIN]!, actMax: p[SLOT.ACT_MAX]!, depthwise: false,
      });
      expect([...out]).toEqual([...expected]);
    }
  });

  for (const average of [true, false]) {
    it(`${average ? 'AVERAGE_POOL_2D' : 'MAX_POOL_2D'}: 40 random layers`, () => {
      const r = rng(average ? 13 : 17);
      let tested = 0;
      while (tested < 40) {
        const [inH, inW, c, kH, kW, sH, sW, padding] = [r.int(1, 9), r.int(1, 9), r.int(1, 12), r.int(1, 3), r.int(1, 3), r.int(1, 3), r.int(1, 3), r.pick([0, 1])];
        const [outH, outW] = [outputSize(padding, inH, kH, sH, 1), outputSize(padding, inW, kW, sW, 1)];
        if (outH < 1 || outW < 1) continue;
        const q = act(r, { shape: [1, inH, inW, c], type: 'INT8' });
        const model: TestModel = {
          tensors: [q, { ...q, shape: [1, outH, outW, c] }],
          operators: [{ code: average ? 1 : 17, inputs: [0], outputs: [1], optionsType: 5, options: [{ id: 0, byte: padding }, { id: 1, int: sW }, { id: 2, int: sH }, { id: 3, int: kW }, { id: 4, int: kH }, { id: 5, byte: r.pick([0, 1]) }] }],
          inputs: [0], outputs: [1],
        };
        const x = r.int8s(inH * inW * c);
        const { out, layer } = runBoth(model, bytesOf(x));
        const p = layer.params;
        expect([...out]).toEqual([...ref.pool(x, inH, inW, c, [kH, kW], [sH, sW], [p[SLOT.PAD_TOP]!, p[SLOT.PAD_LEFT]!], outH, outW, average, [p[SLOT.ACT_MIN]!, p[SLOT.ACT_MAX]!])]);
        tested++;
      }
    });
  }

  for (const mul of [false, true]) {
    it(`${mul ? 'MUL' : 'ADD'}: 40 random layers, same shapes and a broadcast single value`, () => {
      const r = rng(mul ? 19 : 23);
      for (let t = 0; t < 40; t++) {
        const n = r.int(1, 50);
        const broadcast = r.pick([false, false, true]);
        const a = act(r, { shape: [1, n], type: 'INT8' });
        const b = act(r, { shape: broadcast ? [1] : [1, n], type: 'INT8' });
        const o = act(r, { shape: [1, n], type: 'INT8' });
        const model: TestModel = { tensors: [a, b, o], operators: [{ code: mul ? 18 : 0, inputs: [0, 1], outputs: [2], optionsType: mul ? 21 : 11, options: [{ id: 0, byte: r.pick([0, 1, 3]) }] }], inputs: [0, 1], outputs: [2] };
        const plan = importTflite(buildTflite(model));
        const [x, y] = [r.int8s(n), r.int8s(broadcast ? 1 : n)];
        const outs = (['simd', 'scalar'] as const).map((v) => {
          const m = new LoadedModel(cores[v], plan);
          m.setInput(bytesOf(x), 0);
          m.setInput(bytesOf(y), 1);
          m.run();
          return m.output().int8;
        });
        const p = plan.layers[0]!.params;
        const expected = ref.addMul(x, y, n, {
          mul, zx: -p[SLOT.A]!, zy: -p[SLOT.B]!, zOut: p[SLOT.OUT_OFFSET]!, mx: p[SLOT.C]!, sx: p[SLOT.D]!, my: p[SLOT.E]!, sy: p[SLOT.F]!,
          mOut: p[SLOT.G]!, sOut: p[SLOT.H]!, act: [p[SLOT.ACT_MIN]!, p[SLOT.ACT_MAX]!],
        });
        expect(outs[0]).toEqual(outs[1]);
        expect(outs[1]).toEqual([...expected]);
      }
    });
  }

  it('SOFTMAX: 40 random layers (scales, beta, row lengths)', () => {
    const r = rng(29);
    for (let t = 0; t < 40; t++) {
      const [rows, depth] = [r.int(1, 4), r.int(1, 40)];
      const model: TestModel = {
        tensors: [act(r, { shape: [rows, depth], type: 'INT8' }), { shape: [rows, depth], type: 'INT8', scales: [1 / 256], zeroPoints: [-128] }],
        operators: [{ code: 25, inputs: [0], outputs: [1], optionsType: 9, options: [{ id: 0, float: r.pick([1, 1, 0.5, 2]) }] }], inputs: [0], outputs: [1],
      };
      const x = r.int8s(rows * depth);
      const { out, layer } = runBoth(model, bytesOf(x));
      const p = layer.params;
      expect([...out]).toEqual([...ref.softmax(x, depth, p[SLOT.A]!, p[SLOT.B]!, p[SLOT.C]!)]);
    }
  });

  it('LOGISTIC: every int8 input at 20 random scales', () => {
    const r = rng(31);
    const x = Int8Array.from({ length: 256 }, (_, i) => i - 128);
    for (let t = 0; t < 20; t++) {
      const model: TestModel = {
        tensors: [act(r, { shape: [1, 256], type: 'INT8' }), { shape: [1, 256], type: 'INT8', scales: [1 / 256], zeroPoints: [-128] }],
        operators: [{ code: 14, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1],
      };
      const { out, layer } = runBoth(model, bytesOf(x));
      const p = layer.params;
      expect([...out]).toEqual([...ref.logistic(x, p[SLOT.A]!, p[SLOT.B]!, p[SLOT.C]!, p[SLOT.D]!)]);
      // And it is the logistic function: within one step of 1 / (1 + e^-x).
      const s = model.tensors[0]!.scales![0]!, z = model.tensors[0]!.zeroPoints![0]!;
      out.forEach((q, i) => expect(Math.abs((q + 128) / 256 - 1 / (1 + Math.exp(-s * (x[i]! - z))))).toBeLessThanOrEqual(1 / 256 + 1e-9));
    }
  });

  it('QUANTIZE (float32 and int8 in) and DEQUANTIZE', () => {
    const r = rng(37);
    for (let t = 0; t < 20; t++) {
      const n = r.int(1, 64);
      const o = act(r, { shape: [n], type: 'INT8' });
      const floats = Float32Array.from({ length: n }, () => Math.fround((r.int(-100000, 100000) / 1000) * o.scales![0]!));
      const { out } = runBoth({ tensors: [{ shape: [n], type: 'FLOAT32' }, o], operators: [{ code: 114, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }, bytesOf(floats));
      const quantize = (f: number): number => {
        const q = Math.fround(f / o.scales![0]!);
        return Math.min(127, Math.max(-128, (q < 0 ? -Math.round(-q) : Math.round(q)) + o.zeroPoints![0]!));
      };
      expect([...out]).toEqual([...floats].map(quantize));

      const i = act(r, { shape: [n], type: 'INT8' });
      const x = r.int8s(n);
      const { out: requantized, layer } = runBoth({ tensors: [i, o], operators: [{ code: 114, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }, bytesOf(x));
      const p = layer.params;
      expect([...requantized]).toEqual([...x].map((q) => Math.min(127, Math.max(-128, ref.mbqm(q - i.zeroPoints![0]!, p[SLOT.C]!, p[SLOT.D]!) + o.zeroPoints![0]!))));

      const plan = importTflite(buildTflite({ tensors: [i, { shape: [n], type: 'FLOAT32' }], operators: [{ code: 6, inputs: [0], outputs: [1] }], inputs: [0], outputs: [1] }));
      const m = new LoadedModel(cores.simd, plan);
      m.setInput(bytesOf(x));
      m.run();
      expect(m.output().values).toEqual([...x].map((q) => Math.fround(i.scales![0]! * (q - i.zeroPoints![0]!))));
      expect(m.output().int8).toEqual([...x]);
    }
  });
});
