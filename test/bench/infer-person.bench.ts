// person_detect (96x96 int8 MobileNet) on the Tern core: whole-network latency and GMAC/s of the
// SIMD and scalar builds, the largest convolution layer alone, and the engine's int8
// dot-product peak (register-only loop, same run) that the layer's rate is a fraction of.
// Figures go to test/bench/results/infer-person.json.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/infer-kernels.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
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
