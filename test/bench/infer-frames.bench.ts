// A 100 Hz executive (1 ms of other work per frame) with and without the inference task running
// person_detect back to back in a 2 ms slot budget, in the same run: frame-start lateness,
// slips and task overruns, and inferences per second. The work rate that converts the budget to
// work is measured first and derated by half. TERN_BENCH_SECONDS sets each run (default 10).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { InferenceCore } from '../../flight/core/wasm.js';
import { monotonicClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { FrameTimer } from '../../flight/exec/frame-timer.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import type { Task } from '../../flight/exec/task.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { InferTask, measureWorkRate } from '../../flight/infer/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { percentile, writeResult } from './results.js';

const SECONDS = Number(process.env.TERN_BENCH_SECONDS ?? 10);
const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const now = monotonicClock.nowUs;

async function frames(infer: InferTask | undefined): Promise<Record<string, number>> {
  const lateness: number[] = [];
  const work: Task = {
    name: 'bench.work', criticality: 'normal', budgetUs: 2000,
    run(frame) {
      lateness.push(now() - frame.deadlineUs);
      const end = now() + 1000;
      while (now() < end);
    },
  };
  const tasks: Task[] = infer ? [work, infer] : [work];
  const table = { minorFrameMs: 10, slots: [tasks.map((t) => t.name)] };
  const schedule = parseSchedule(new Fields('bench'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', tasks);
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), now);
  infer?.bindTelemetry(tlm, events);
  const exec = new Executive({ schedule, clock: monotonicClock, tlm, events });
  const timer = new FrameTimer(exec);
  const image = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;
  timer.start();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      // Keep the model busy: a new image as soon as the last one is done.
      if (infer && infer.pending === 0) infer.submit(image, 'bench');
      if (lateness.length < SECONDS * 100) return;
      clearInterval(poll);
      resolve();
    }, 5);
  });
  timer.stop();
  const sorted = Float64Array.from(lateness, Math.abs).sort();
  const v = (name: string): number => tlm.get(name)?.value ?? 0;
  return {
    frames: lateness.length,
    p50Us: percentile(sorted, 0.5), p99Us: percentile(sorted, 0.99), maxUs: sorted[sorted.length - 1]!,
    slips: v('exec.slips'), taskOverruns: v('exec.taskOverruns'),
    inferences: v('infer.runs'), inferencesPerSecond: v('infer.runs') / SECONDS,
    inferMaxUs: v('exec.task.infer.person.maxUs'), slotsPerInference: v('infer.lastRunSlots'),
  };
}

it(`100 Hz frames with person_detect running in 2 ms slots vs without, ${SECONDS} s each`, async () => {
  const plan = importTflite(new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS))));
  const model = new LoadedModel(new InferenceCore(), plan);
  model.setInput(new Uint8Array(96 * 96));
  const rate = measureWorkRate(model, 9);
  const results: unknown[] = [];
  const infer = new InferTask(model, { name: 'infer.person', criticality: 'low', budgetUs: 2000, workPerUs: rate / 2, queueLength: 1 }, (r) => results.push(r.output.int8));
  const off = await frames(undefined);
  const on = await frames(infer);
  writeResult('infer-frames', {
    command: 'npm run bench -- test/bench/infer-frames.bench.ts',
    seconds: SECONDS, measuredWorkPerUs: rate, workPerSlot: infer.workPerSlot, modelWork: model.totalWork,
    inferenceOff: off, inferenceOn: on,
  });
  expect(on.inferences).toBeGreaterThan(0);
  expect(results[0]).toEqual([-113, 113]);
});
