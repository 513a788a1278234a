// person_detect (96x96 int8 MobileNet) on the Tern core: whole-network latency and GMAC/s of the
// SIMD and scalar builds, the largest convolution layer alone, and the engine's int8
// dot-product peak (register-only loop, same run) that the layer's rate is a fraction of.
// Figures go to test/bench/results/infer-person.json. The cost of checking the protected weights
// before each run (the inference task with ecc on) goes to infer-weights-check.json.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/infer-kernels.js';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import type { FrameInfo } from '../../flight/exec/task.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { InferTask, measureCheckRate, measureWorkRate } from '../../flight/infer/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const PEAK_ITERATIONS = 200_000;

it('person_detect latency and GMAC/s, SIMD vs scalar, against the dot-product peak', async () => {
  const plan = importTflite(new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS))));
  const image = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;
  const cores = { simd: new InferenceCore('simd'), scalar: new InferenceCore('scalar') };
  const models = { simd: new LoadedModel(cores.simd, plan), scalar: new LoadedModel(cores.scalar, plan) };
  for (const m of Object.values(models)) {
    m.setInput(image);
    m.run();
    // What is timed is the real, bit-exact network.
    expect(m.output().int8).toEqual([-113, 113]);
  }
  const macs = models.simd.macs;
  const convMacs = (i: number): number => (plan.layers[i]!.kernel === 'conv' ? plan.layers[i]!.units * plan.layers[i]!.workPerUnit : 0);
  const largest = plan.layers.reduce((best, _, i) => (convMacs(i) > convMacs(best) ? i : best), 0);
  const rates = await compare({
    networkSimd: { bytes: macs, run: () => models.simd.run() },
    networkScalar: { bytes: macs, run: () => models.scalar.run() },
    largestConvSimd: { bytes: convMacs(largest), run: () => models.simd.runLayer(largest) },
    largestConvScalar: { bytes: convMacs(largest), run: () => models.scalar.runLayer(largest) },
    peakSimd: { bytes: PEAK_ITERATIONS * 64, run: () => cores.simd.dotPeak(PEAK_ITERATIONS) },
    peakScalar: { bytes: PEAK_ITERATIONS * 8, run: () => cores.scalar.dotPeak(PEAK_ITERATIONS) },
  });
  const gmacs = Object.fromEntries(Object.entries(rates).map(([name, r]) => [name, r.gbps]));
  const layer = plan.layers[largest]!;
  writeResult('infer-person', {
    command: 'npm run bench -- test/bench/infer-person.bench.ts',
    ...settings,
    model: { layers: plan.layers.length, macs },
    latencyMs: { simd: rates.networkSimd!.opUs / 1000, scalar: rates.networkScalar!.opUs / 1000 },
    gmacPerSecond: gmacs,
    largestConv: {
      layer: largest,
      shape: { in: [layer.params[3], layer.params[4], layer.params[5]], out: [layer.params[6], layer.params[7], layer.params[8]], kernel: [layer.params[10], layer.params[11]] },
      macs: convMacs(largest),
      fractionOfPeakSimd: gmacs.largestConvSimd! / gmacs.peakSimd!,
      fractionOfPeakScalar: gmacs.largestConvScalar! / gmacs.peakScalar!,
    },
    ratios: { simdVsScalarNetwork: gmacs.networkSimd! / gmacs.networkScalar!, simdVsScalarLargestConv: gmacs.largestConvSimd! / gmacs.largestConvScalar! },
  });
  expect(gmacs.networkSimd!).toBeGreaterThan(gmacs.networkScalar!);
});

it('person_detect through the inference task in 2 ms slots, with vs without the weights check before each run', async () => {
  const plan = importTflite(new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS))));
  const image = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const protection = new NodeProtection({ core: new Core(), tlm, events, dir: join(mkdtempSync(join(tmpdir(), 'tern-bench-weights-')), 'ecc'), config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
  const plain = new LoadedModel(new InferenceCore(), plan);
  const guarded = new LoadedModel(new InferenceCore(), plan);
  const weights = protection.protectWeights(guarded.constants, () => {
    throw new Error('bench: the weights were damaged');
  });
  // Rates as a node measures and derates them (infer.derate 0.5).
  plain.setInput(image);
  const workPerUs = measureWorkRate(plain, 9) / 2;
  const checkBytesPerUs = measureCheckRate(weights, 9) / 2;
  const outputs: (readonly number[])[] = [];
  const task = (model: LoadedModel): InferTask =>
    new InferTask(model, { name: 'infer.person', criticality: 'low', budgetUs: 2000, workPerUs, queueLength: 1 }, (r) => outputs.push(r.output.int8));
  const tasks = { unchecked: task(plain), checked: task(guarded) };
  tasks.checked.checkWeights({ checkOf: (m) => (m === guarded ? weights : undefined), bytesPerUs: checkBytesPerUs });
  let slots = { unchecked: 0, checked: 0 };
  const infer = (name: keyof typeof tasks) => () => {
    const t = tasks[name];
    t.submit(image, 'bench');
    let n = 0;
    while (t.pending > 0) { t.run({} as FrameInfo); n++; }
    slots = { ...slots, [name]: n };
  };
  const bytes = weights.codewords * 8;
  const rates = await compare({ unchecked: { bytes, run: infer('unchecked') }, checked: { bytes, run: infer('checked') } });
  writeResult('infer-weights-check', {
    command: 'npm run bench -- test/bench/infer-person.bench.ts',
    ...settings,
    weightBytes: bytes, blocks: weights.blocks, budgetUs: 2000,
    measuredCheckBytesPerUs: checkBytesPerUs * 2, checkBytesPerSlot: Math.floor(2000 * checkBytesPerUs),
    runMs: { unchecked: rates.unchecked.opUs / 1000, checked: rates.checked.opUs / 1000 },
    checkMs: (rates.checked.opUs - rates.unchecked.opUs) / 1000,
    slotsPerRun: slots,
    ratioCheckedVsUnchecked: rates.checked.opUs / rates.unchecked.opUs,
  });
  expect(outputs.every((o) => o[0] === -113 && o[1] === 113)).toBe(true);
  expect(slots.checked).toBeGreaterThanOrEqual(slots.unchecked);
});
