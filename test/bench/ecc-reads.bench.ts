// Protected reads on the paths that use them, next to plain reads of the same bytes from a JS
// buffer, in the same run: a parameter (f64 from a 1 KiB region), a session key (32 bytes from a
// 768-byte region), a layer of weights (4 KiB from a 64 KiB region in 4 KiB blocks), a TMR
// scalar. Figures to test/bench/results/ecc-reads.json.
import { expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { Prng } from '../../flight/ecc/injector.js';
import { ProtectedMemory } from '../../flight/ecc/memory.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const READS = 256;

it('protected reads next to plain reads', async () => {
  const core = new Core('simd');
  const memory = new ProtectedMemory({
    core, tlm: new TelemetryRegistry(), events: new EventLog(createRootLogger({ level: 'silent' }), () => 0),
  });
  const rng = new Prng(2);
  const make = (name: string, size: number) => {
    const plain = Uint8Array.from({ length: size }, () => rng.u32() & 0xff);
    const region = memory.region({ name, size, critical: true });
    region.load(plain);
    return { region, plain };
  };
  const params = make('parameters', 1024);
  const plainParams = new Float64Array(params.plain.buffer);
  plainParams.forEach((_, i) => (plainParams[i] = i * 1.5));
  params.region.load(params.plain);
  const keys = make('session-keys', 768);
  const weights = make('weights', 64 * 1024);
  const bank = memory.tmrBank('exec', 3, true);
  const mode = bank.cell('mode', 2);
  const plainScalars = new Float64Array([2, 0, 0]);

  // Protected reads really check: a flipped bit is corrected on the way out.
  weights.region.flip(1000, 5);
  expect(weights.region.read(7936, 128)).toEqual(weights.plain.subarray(7936, 8064));
  expect(weights.region.counts.corrected).toBe(1);

  const key = new Uint8Array(32);
  const layer = new Uint8Array(4096);
  let sink = 0;
  // Each operation is a batch of reads, so the harness's own per-operation cost (a clock read)
  // does not swamp reads of a few nanoseconds.
  const batch = (n: number, read: (i: number) => void) => () => {
    for (let i = 0; i < n; i++) read(i);
  };
  const rates = await compare({
    paramPlain: { bytes: 8 * READS, run: batch(READS, (i) => (sink += plainParams[i & 127]!)) },
    paramProtected: { bytes: 8 * READS, run: batch(READS, (i) => (sink += params.region.readF64(8 * (i & 127)))) },
    keyPlain: { bytes: 32 * READS, run: batch(READS, (i) => key.set(keys.plain.subarray(32 * (i % 24), 32 * (i % 24) + 32))) },
    keyProtected: { bytes: 32 * READS, run: batch(READS, (i) => keys.region.readInto(32 * (i % 24), key)) },
    layerPlain: { bytes: 4096 * READS, run: batch(READS, (i) => layer.set(weights.plain.subarray(4096 * (i & 15), 4096 * (i & 15) + 4096))) },
    layerProtected: { bytes: 4096 * READS, run: batch(READS, (i) => weights.region.readInto(4096 * (i & 15), layer)) },
    scalarPlain: { bytes: 8 * READS, run: batch(READS, (i) => (sink += plainScalars[i % 3]!)) },
    scalarTmr: { bytes: 8 * READS, run: batch(READS, () => (sink += mode.get())) },
  });
  const ns = (name: keyof typeof rates): number => (rates[name].opUs * 1000) / READS;
  writeResult('ecc-reads', {
    command: 'npx vitest run --config test/bench/vitest.config.ts test/bench/ecc-reads.bench.ts',
    ...settings,
    nsPerRead: Object.fromEntries(Object.keys(rates).map((k) => [k, ns(k as keyof typeof rates)])),
    protectedVsPlain: {
      parameterF64: ns('paramProtected') / ns('paramPlain'),
      sessionKey32B: ns('keyProtected') / ns('keyPlain'),
      weightsLayer4KiB: ns('layerProtected') / ns('layerPlain'),
      tmrScalar: ns('scalarTmr') / ns('scalarPlain'),
    },
  });
  // Both sides read the same values: the sums of plain and protected parameter reads agree.
  let plainSum = 0;
  let protectedSum = 0;
  for (let i = 0; i < 128; i++) {
    plainSum += plainParams[i]!;
    protectedSum += params.region.readF64(8 * i);
  }
  expect(protectedSum).toBe(plainSum);
  expect(Number.isFinite(sink)).toBe(true);
});
