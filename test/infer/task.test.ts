// Sliced inference: the cursor's work per slice never passes the budget and the sliced run gives
// the same bits as a whole run; the infer task inside the executive on the virtual clock, where
// each slice advances time by its work at the configured rate, never overruns its slot.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/infer-kernels.js';
import type { FrameInfo, Task } from '../../flight/exec/task.js';
import { runVirtual } from '../../flight/exec/virtual.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { InferInputError } from '../../flight/infer/errors.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { InferTask, type InferResult } from '../../flight/infer/task.js';
import { createRootLogger } from '../../flight/log.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { harness, modes } from '../support/exec.js';

const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const plan = importTflite(new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS))));
const person = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;
const noPerson = readGrayBmp(new Uint8Array(readFileSync(new URL('no_person.bmp', VECTORS)))).pixels;
const core = new InferenceCore('simd');

describe('sliced runs', () => {
  it('never passes the budget per slice, covers all the work, and gives the bits of a whole run', () => {
    const model = new LoadedModel(core, plan);
    for (const factor of [1, 1.5, 4, 40]) {
      const budget = Math.ceil(model.maxUnitWork * factor);
      model.setInput(person);
      const slices: number[] = [];
      let lastCursor = { layer: 0, unit: 0 };
      while (!model.done) {
        slices.push(model.step(budget));
        const c = model.cursor;
        expect(c.layer > lastCursor.layer || (c.layer === lastCursor.layer && c.unit > lastCursor.unit)).toBe(true);
        lastCursor = c;
      }
      expect(Math.max(...slices)).toBeLessThanOrEqual(budget);
      expect(slices.reduce((a, b) => a + b, 0)).toBe(model.totalWork);
      expect(slices.length).toBeGreaterThanOrEqual(Math.ceil(model.totalWork / budget));
      expect(model.output().int8).toEqual([-113, 113]);
    }
  });

  it('allocates nothing per slice: core memory and the JS heap stay flat over many runs', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'vitest runs with --expose-gc').toBeTypeOf('function');
    const model = new LoadedModel(core, plan);
    const budget = Math.ceil(model.maxUnitWork * 2);
    const slices = (runs: number): number => {
      let n = 0;
      for (let r = 0; r < runs; r++) {
        model.setInput(person);
        while (!model.done) { model.step(budget); n++; }
      }
      return n;
    };
    slices(300); // warm up: JIT tiers, feedback, first-use allocations
    const coreBytes = core.memoryBytes();
    gc!();
    slices(20);
    const before = process.memoryUsage().heapUsed;
    // No gc() until measured, so per-slice garbage would show as well as what is retained
    // (2,000 slices of even 16 bytes each would be 32 KB).
    const n = slices(100);
    const growth = process.memoryUsage().heapUsed - before;
    expect(n).toBeGreaterThan(1500);
    expect(growth).toBeLessThan(32 * 1024);
    expect(core.memoryBytes()).toBe(coreBytes);
  });

  it('makes progress one unit at a time under a budget below the largest unit', () => {
    const model = new LoadedModel(core, plan);
    model.setInput(noPerson);
    let slices = 0;
    while (!model.done) { model.step(1); slices++; }
    expect(slices).toBe(plan.layers.reduce((n, l) => n + l.units, 0));
    expect(model.output().int8).toEqual([57, -57]);
  });
});

/** Advances the virtual clock by the work each slice did, at the task's configured rate. */
class TimedInfer implements Task {
  readonly name: string;
  readonly criticality;
  readonly budgetUs: number;
  constructor(private readonly task: InferTask, private readonly advance: (us: number) => void, private readonly work: () => number, private readonly perUs: number) {
    this.name = task.name;
    this.criticality = task.criticality;
    this.budgetUs = task.budgetUs;
  }
  run(frame: FrameInfo): void {
    const before = this.work();
    this.task.run(frame);
    this.advance((this.work() - before) / this.perUs);
  }
}

describe('infer task in the executive (virtual clock)', () => {
  const workPerUs = 200; // a rate chosen for the test: 2 ms of budget holds 400k MACs
  const setup = (budgetUs: number) => {
    const results: InferResult[] = [];
    const model = new LoadedModel(core, plan);
    const task = new InferTask(model, { name: 'infer.person', criticality: 'low', budgetUs, workPerUs, queueLength: 2 }, (r) => results.push(r));
    const h = harness({ modes: modes(10, [['infer.person']]) }, (clock) => [new TimedInfer(task, (us) => clock.advance(us), () => h.value('infer.work'), workPerUs)]);
    const events = new EventLog(createRootLogger({ level: 'silent' }), () => h.clock.nowUs());
    const emitted: EventRecord[] = [];
    events.onEvent((e) => emitted.push(e));
    task.bindTelemetry(h.tlm, events);
    return { h, task, results, model, emitted };
  };

  it('runs person_detect across frames without an overrun and reports the exact result', () => {
    const { h, task, results, model, emitted } = setup(2000);
    expect(task.submit(person, 'img-1')).toBe(true);
    expect(task.submit(noPerson, 'img-2')).toBe(true);
    runVirtual(h.exec, h.clock, 2000 * 1000);
    expect(results.map((r) => [r.tag, r.output.int8])).toEqual([['img-1', [-113, 113]], ['img-2', [57, -57]]]);
    const expectedSlots = Math.ceil(model.totalWork / task.workPerSlot);
    expect(results[0]!.slots).toBeGreaterThanOrEqual(expectedSlots);
    expect(h.value('exec.taskOverruns')).toBe(0);
    expect(h.value('exec.task.infer.person.maxUs')).toBeLessThanOrEqual(2000);
    expect(h.value('exec.slips')).toBe(0);
    expect(h.value('infer.runs')).toBe(2);
    expect(h.value('infer.work')).toBe(2 * model.totalWork);
    expect(task.pending).toBe(0);
    expect(emitted.filter((e) => e.name === 'INFER_RESULT').map((e) => e.args.output)).toEqual(['-113, 113', '57, -57']);
  });

  it('refuses inputs of the wrong size and beyond the queue, counting them', () => {
    const { h, task, emitted } = setup(2000);
    expect(task.submit(person.subarray(1), 'short')).toBe(false);
    expect(task.submit(person, 'a') && task.submit(person, 'b')).toBe(true);
    expect(task.submit(person, 'c')).toBe(false);
    expect(h.value('infer.inputsRefused')).toBe(2);
    expect(h.value('infer.queued')).toBe(2);
    expect(emitted.filter((e) => e.name === 'INFER_INPUT_REFUSED').map((e) => e.args.tag)).toEqual(['short', 'c']);
  });

  it('refuses a budget too small for the largest unit of work', () => {
    const model = new LoadedModel(core, plan);
    expect(() => new InferTask(model, { name: 'infer.x', criticality: 'low', budgetUs: 10, workPerUs, queueLength: 1 }, () => {})).toThrow(InferInputError);
  });
});
