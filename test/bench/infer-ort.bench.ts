// person_detect on the Tern core (SIMD build) against onnxruntime-web's WASM SIMD backend, single
// threaded, in the same run. The benchmark builds the ONNX graph itself (onnx-proto) from the same
// TFLite file: each CONV_2D and DEPTHWISE_CONV_2D a QLinearConv with the same int8 weights,
// per-channel scales, int32 biases, strides and SAME padding (every output's zero point is -128,
// so int8 saturation is the fused ReLU, as in TFLite), the pool and softmax in QDQ form
// (DequantizeLinear, float op, QuantizeLinear), NCHW as ORT's kernels take it. ORT's .wasm is the
// one in its npm package, loaded from node_modules: nothing is downloaded. Rounds alternate
// between the engines; the median per-inference time of each is compared.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-web';
import { expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/infer-kernels.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { readTflite, type TfliteModel, type TfliteTensor } from '../../flight/infer/tflite.js';
import { REPO } from '../support/node-process.js';
import { percentile, writeResult } from './results.js';

const { onnx } = onnxProto;
const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const ROUNDS = Number(process.env.TERN_BENCH_ROUNDS ?? 15);
const RUNS_PER_ROUND = 20;
const T = onnx.TensorProto.DataType;

// TFLite builtin codes and option field ids (schema.fbs) of the operators person_detect uses.
const OP = { AVERAGE_POOL_2D: 1, CONV_2D: 3, DEPTHWISE_CONV_2D: 4, RESHAPE: 22, SOFTMAX: 25 } as const;
const CONV = { padding: 0, strideW: 1, strideH: 2, dilationW: 4, dilationH: 5 };
const DEPTHWISE = { padding: 0, strideW: 1, strideH: 2, dilationW: 5, dilationH: 6 };
const POOL = { padding: 0, strideW: 1, strideH: 2, filterW: 3, filterH: 4 };

/** Builds person_detect as a quantised ONNX model (opset 13). */
function onnxModel(model: TfliteModel): Uint8Array {
  const g = model.subgraphs[0]!;
  const initializers: Onnx.ITensorProto[] = [];
  const nodes: Onnx.INodeProto[] = [];
  const data = (t: TfliteTensor): Uint8Array => model.buffers[t.buffer]!;
  const f32 = (values: readonly number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
  const defined = new Set<string>();
  /** An initializer, once per name (a tensor's scale serves the layer before and after it). */
  const constant = (name: string, dataType: number, dims: number[], raw: Uint8Array): string => {
    if (!defined.has(name)) initializers.push({ name, dataType, dims, rawData: raw });
    defined.add(name);
    return name;
  };
  const name = (i: number): string => `t${i}`;
  /** Scale and zero point initializers of tensor i (per channel when it has several). */
  const quant = (i: number): [string, string] => {
    const t = g.tensors[i]!;
    const dims = t.scales.length > 1 ? [t.scales.length] : [];
    return [
      constant(`${name(i)}_scale`, T.FLOAT, dims, f32(t.scales)),
      constant(`${name(i)}_zp`, T.INT8, dims, Uint8Array.from(t.zeroPoints, (z) => z & 0xff)),
    ];
  };
  const ints = (attr: string, values: number[]): Onnx.IAttributeProto => ({ name: attr, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
  const int = (attr: string, value: number): Onnx.IAttributeProto => ({ name: attr, type: onnx.AttributeProto.AttributeType.INT, i: value });
  /** TFLite SAME padding (more at the end when odd) as ONNX [top, left, bottom, right]. */
  const pads = (padding: number, inHW: number[], k: number[], s: number[], d: number[], outHW: number[]): number[] => {
    if (padding !== 0) return [0, 0, 0, 0];
    const total = [0, 1].map((a) => Math.max((outHW[a]! - 1) * s[a]! + (k[a]! - 1) * d[a]! + 1 - inHW[a]!, 0));
    return [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2), total[0]! - Math.floor(total[0]! / 2), total[1]! - Math.floor(total[1]! / 2)];
  };
  g.operators.forEach((op, k) => {
    const code = model.operatorCodes[op.opcodeIndex]!.builtin;
    const [x, w, b] = op.inputs;
    const y = op.outputs[0]!;
    const input = g.tensors[x!]!;
    const out = g.tensors[y]!;
    const o = op.options!;
    if (code === OP.CONV_2D || code === OP.DEPTHWISE_CONV_2D) {
      const dw = code === OP.DEPTHWISE_CONV_2D;
      const f = dw ? DEPTHWISE : CONV;
      const wt = g.tensors[w!]!;
      const raw = data(wt);
      // TFLite [O, KH, KW, I] or depthwise [1, KH, KW, O]; ONNX [O, I / group, KH, KW].
      const [, kh, kw] = wt.shape as number[];
      const outC = dw ? wt.shape[3]! : wt.shape[0]!;
      const inPerGroup = dw ? 1 : wt.shape[3]!;
      const onnxW = new Uint8Array(raw.length);
      for (let oc = 0; oc < outC; oc++) for (let ic = 0; ic < inPerGroup; ic++) for (let r = 0; r < kh!; r++) for (let c = 0; c < kw!; c++) {
        const from = dw ? (r * kw! + c) * outC + oc : ((oc * kh! + r) * kw! + c) * inPerGroup + ic;
        onnxW[((oc * inPerGroup + ic) * kh! + r) * kw! + c] = raw[from]!;
      }
      const s = [o.int(f.strideH, 1), o.int(f.strideW, 1)];
      const d = [o.int(f.dilationH, 1), o.int(f.dilationW, 1)];
      nodes.push({
        opType: 'QLinearConv', name: `conv${k}`,
        input: [name(x!), ...quant(x!), constant(`${name(w!)}_w`, T.INT8, [outC, inPerGroup, kh!, kw!], onnxW), ...quant(w!), ...quant(y), constant(`${name(b!)}_b`, T.INT32, [outC], data(g.tensors[b!]!))],
        output: [name(y)],
        attribute: [
          ints('kernel_shape', [kh!, kw!]), ints('strides', s), ints('dilations', d), int('group', dw ? input.shape[3]! : 1),
          ints('pads', pads(o.byte(f.padding, 0), input.shape.slice(1, 3), [kh!, kw!], s, d, out.shape.slice(1, 3))),
        ],
      });
    } else if (code === OP.AVERAGE_POOL_2D || code === OP.SOFTMAX) {
      const [xs, xz] = quant(x!);
      const [ys, yz] = quant(y);
      nodes.push({ opType: 'DequantizeLinear', input: [name(x!), xs, xz], output: [`${name(x!)}_f`] });
      if (code === OP.AVERAGE_POOL_2D) {
        const kernel = [o.int(POOL.filterH, 1), o.int(POOL.filterW, 1)];
        const s = [o.int(POOL.strideH, 1), o.int(POOL.strideW, 1)];
        nodes.push({
          opType: 'AveragePool', input: [`${name(x!)}_f`], output: [`${name(y)}_f`],
          attribute: [ints('kernel_shape', kernel), ints('strides', s), ints('pads', pads(o.byte(POOL.padding, 0), input.shape.slice(1, 3), kernel, s, [1, 1], out.shape.slice(1, 3)))],
        });
      } else {
        nodes.push({ opType: 'Softmax', input: [`${name(x!)}_f`], output: [`${name(y)}_f`], attribute: [int('axis', -1)] });
      }
      nodes.push({ opType: 'QuantizeLinear', input: [`${name(y)}_f`, ys, yz], output: [name(y)] });
    } else if (code === OP.RESHAPE) {
      const shape = new BigInt64Array(out.shape.map(BigInt));
      nodes.push({ opType: 'Reshape', input: [name(x!), constant(`${name(y)}_shape`, T.INT64, [out.shape.length], new Uint8Array(shape.buffer))], output: [name(y)] });
    } else {
      throw new Error(`operator ${code} is not in person_detect`);
    }
  });
  const io = (i: number, shape: number[]): Onnx.IValueInfoProto => ({
    name: name(i), type: { tensorType: { elemType: T.INT8, shape: { dim: shape.map((dimValue) => ({ dimValue })) } } },
  });
  const inShape = g.tensors[g.inputs[0]!]!.shape;
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }], producerName: 'tern-bench',
    graph: {
      name: 'person_detect', node: nodes, initializer: initializers,
      input: [io(g.inputs[0]!, [1, inShape[3]!, inShape[1]!, inShape[2]!])],
      output: [io(g.outputs[0]!, [...g.tensors[g.outputs[0]!]!.shape])],
    },
  }).finish();
}

it('person_detect: Tern SIMD vs onnxruntime-web WASM SIMD (one thread), same run', async () => {
  const tflite = new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS)));
  const model = readTflite(tflite);
  const images = ['person.bmp', 'no_person.bmp'].map((f) => readGrayBmp(new Uint8Array(readFileSync(new URL(f, VECTORS)))).pixels);
  const tern = new LoadedModel(new InferenceCore('simd'), importTflite(tflite));

  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = pathToFileURL(join(REPO, 'node_modules/onnxruntime-web/dist/')).href;
  const session = await ort.InferenceSession.create(onnxModel(model), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const g = model.subgraphs[0]!;
  const feeds = images.map((pixels) => ({ [`t${g.inputs[0]}`]: new ort.Tensor('int8', new Int8Array(pixels.buffer, pixels.byteOffset, pixels.length), [1, 1, 96, 96]) }));
  const ortOutput = async (i: number): Promise<number[]> => Array.from((await session.run(feeds[i]!))[`t${g.outputs[0]}`]!.data as Int8Array);
  const ternOutput = (i: number): number[] => {
    tern.setInput(images[i]!);
    tern.run();
    return [...tern.output().int8];
  };
  // Both engines run the real network: the same verdicts (ORT requantises in float, so its
  // int8 outputs may differ from TFLM's by a step; the class may not).
  const outputs = { tern: [ternOutput(0), ternOutput(1)], ort: [await ortOutput(0), await ortOutput(1)] };
  expect(outputs.tern).toEqual([[-113, 113], [57, -57]]);
  for (const [i, person] of [[0, true], [1, false]] as const) expect(outputs.ort[i]![1]! > outputs.ort[i]![0]!).toBe(person);

  const times = { tern: [] as number[], ort: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    let start = performance.now();
    for (let r = 0; r < RUNS_PER_ROUND; r++) ternOutput(r & 1);
    times.tern.push((performance.now() - start) / RUNS_PER_ROUND);
    start = performance.now();
    for (let r = 0; r < RUNS_PER_ROUND; r++) await ortOutput(r & 1);
    times.ort.push((performance.now() - start) / RUNS_PER_ROUND);
  }
  await session.release();
  const median = (xs: number[]): number => percentile(Float64Array.from(xs).sort(), 0.5);
  const ms = { ternSimd: median(times.tern), ortWasmSimd: median(times.ort) };
  const macs = tern.macs;
  writeResult('infer-ort', {
    command: 'npm run bench -- test/bench/infer-ort.bench.ts',
    onnxruntimeWeb: ort.env.versions.web, threads: 1, rounds: ROUNDS, runsPerRound: RUNS_PER_ROUND, macs,
    medianMs: ms,
    gmacPerSecond: { ternSimd: macs / ms.ternSimd / 1e6, ortWasmSimd: macs / ms.ortWasmSimd / 1e6 },
    ternVsOrt: ms.ortWasmSimd / ms.ternSimd,
    target: 1.2,
    outputs,
  });
}, 10 * 60_000);
