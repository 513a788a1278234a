// The executive's inference task: takes queued inputs through a loaded model in slices. Each
// slot runs at most `workPerSlot` units of work (whole output rows of a layer, or element
// ranges), converted from the slot's time budget by this build's measured work rate, so a long
// network spreads over many frames and no slot exceeds its budget.
//
// With protected memory the kernels read the weights in place and only the scrubber corrects
// them, so an upset since its last pass would reach a run. A run therefore begins by checking
// every block of its model's weights (SEC-DED and CRC-32C, correcting or reloading as the
// scrubber does), as many blocks per slot as the budget converts to by the check's measured rate;
// a large model's check takes the first slots of its run, and the run's work uses what is left.
import { performance } from 'node:perf_hooks';
import type { Criticality, FrameInfo, Task } from '../exec/task.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { channelsOnce, INFER_CHANNELS, INFER_EVENTS } from './dictionary.js';
import { InferInputError } from './errors.js';
import type { BlockCheck } from '../ecc/weights.js';
import type { LoadedModel, ModelOutput } from './model.js';
import { tensorBytes } from './plan.js';

export interface InferTaskConfig {
  /** Dotted task name as the schedule lists it. */
  readonly name: string;
  readonly criticality: Criticality;
  readonly budgetUs: number;
  /** Work units per microsecond this core build sustains here (measureWorkRate, derated). */
  readonly workPerUs: number;
  /** Inputs that may wait; more are refused. */
  readonly queueLength?: number;
}

export interface InferResult {
  readonly tag: string;
  readonly output: ModelOutput;
  /** Slots from the first slice to the result. */
  readonly slots: number;
}

/** Protected memory's check of a model's weights, block by block (ecc ProtectedWeights). */
export interface WeightsCheck {
  readonly blocks: number;
  blockLength(b: number): number;
  /** Corrects block `b` in place, or reloads the model (a new one becomes active) when it cannot. */
  scrubBlock(b: number): BlockCheck;
}

/** How the task finds the check of the model it is about to run, and what a check costs. */
export interface WeightsGuard {
  /** The check protecting `model`'s weights; undefined when they are not protected. */
  checkOf(model: LoadedModel): WeightsCheck | undefined;
  /** Weight bytes checked per microsecond (measureCheckRate, derated). */
  readonly bytesPerUs: number;
}

interface Telemetry {
  channels: Record<keyof typeof INFER_CHANNELS, Channel>;
  events: EventLog;
}

/** Work units per microsecond of `model` on its core: the median of `runs` whole runs (the
 *  best would promise what a loaded processor does not deliver). */
export function measureWorkRate(model: LoadedModel, runs = 5): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    model.run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return model.totalWork / Math.max(times[Math.floor(runs / 2)]! * 1000, 1);
}

/** Weight bytes per microsecond that `check` verifies: the median of `runs` whole checks. */
export function measureCheckRate(check: WeightsCheck, runs = 3): number {
  let bytes = 0;
  for (let b = 0; b < check.blocks; b++) bytes += check.blockLength(b);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    for (let b = 0; b < check.blocks; b++) check.scrubBlock(b);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return bytes / Math.max(times[Math.floor(runs / 2)]! * 1000, 1);
}

/** The run in progress: its input until the weights are checked, then the model's cursor. */
interface Run {
  readonly tag: string;
  readonly input: Uint8Array;
  slots: number;
  /** The weights still to check before the run's first layer; undefined once they are. */
  check: WeightsCheck | undefined;
  /** Next block to check. */
  block: number;
}

export class InferTask implements Task {
  readonly name: string;
  readonly criticality: Criticality;
  readonly budgetUs: number;
  /** Work units one slot may do. */
  readonly workPerSlot: number;
  private readonly queueLength: number;
  private readonly queue: { input: Uint8Array; tag: string }[] = [];
  private current: Run | undefined;
  /** A model activated while a run was in progress: used from the next input on. */
  private next: LoadedModel | undefined;
  private telemetry: Telemetry | undefined;
  private guard: WeightsGuard | undefined;
  /** Weight bytes one slot may check. */
  private checkBytesPerSlot = 0;

  constructor(
    private model: LoadedModel,
    config: InferTaskConfig,
    private readonly onResult: (result: InferResult) => void,
  ) {
    this.name = config.name;
    this.criticality = config.criticality;
    this.budgetUs = config.budgetUs;
    this.queueLength = config.queueLength ?? 4;
    this.workPerSlot = Math.floor(config.budgetUs * config.workPerUs);
    this.accept(model);
  }

  /** Throws unless `model` can run in this task's slots (its largest unit fits the budget). */
  accept(model: LoadedModel): void {
    if (!(this.workPerSlot >= model.maxUnitWork)) {
      const needUs = Math.ceil((model.maxUnitWork * this.budgetUs) / Math.max(this.workPerSlot, 1));
      throw new InferInputError(`${this.name} budgetUs`, `at least ${needUs} us, the largest work unit of the model (${model.maxUnitWork} MACs)`, this.budgetUs);
    }
  }

  /** Runs `model` from the next input on (a run in progress finishes on the model it began with). */
  useModel(model: LoadedModel): void {
    this.accept(model);
    if (this.current) this.next = model;
    else this.model = model;
  }

  /** Checks the weights before each run from the next input on (protected memory). Throws unless
   *  a block of the check fits the budget. */
  checkWeights(guard: WeightsGuard): void {
    const bytesPerSlot = Math.floor(this.budgetUs * guard.bytesPerUs);
    const check = guard.checkOf(this.model);
    if (check && !(bytesPerSlot >= check.blockLength(0))) {
      throw new InferInputError(`${this.name} budgetUs`, `at least ${Math.ceil(check.blockLength(0) / guard.bytesPerUs)} us, one block of the weights check (${check.blockLength(0)} bytes)`, this.budgetUs);
    }
    this.guard = guard;
    this.checkBytesPerSlot = bytesPerSlot;
  }

  bindTelemetry(tlm: TelemetryRegistry, events: EventLog): void {
    this.telemetry = { channels: channelsOnce(tlm, INFER_CHANNELS), events };
  }

  /** Queues `input` (the exact bytes of the model's input tensor); false if refused. */
  submit(input: Uint8Array, tag: string): boolean {
    const info = this.model.plan.tensors[this.model.plan.inputs[0]!]!;
    const reason = input.length !== tensorBytes(info)
      ? `${input.length} bytes for a ${tensorBytes(info)}-byte input`
      : this.queue.length >= this.queueLength ? `queue full (${this.queueLength})` : undefined;
    if (reason !== undefined) {
      this.telemetry?.channels.inputsRefused.add();
      this.telemetry?.events.emit(INFER_EVENTS.inputRefused, { task: this.name, tag, reason });
      return false;
    }
    this.queue.push({ input: input.slice(), tag });
    this.telemetry?.channels.queued.set(this.queue.length);
    return true;
  }

  /** Inputs waiting plus the one in progress. */
  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  run(_frame: FrameInfo): void {
    if (!this.current) {
      const next = this.queue.shift();
      if (!next) return;
      this.current = { tag: next.tag, input: next.input, slots: 0, check: this.guard?.checkOf(this.model), block: 0 };
      if (!this.current.check) this.model.setInput(next.input);
      this.telemetry?.channels.queued.set(this.queue.length);
    }
    const run = this.current;
    run.slots++;
    this.telemetry?.channels.slices.add();
    // The slot's budget, as a fraction, left for the model's work after the check's share.
    const left = run.check ? 1 - this.checkSlice(run) / this.checkBytesPerSlot : 1;
    if (run.check || left * this.workPerSlot < this.model.maxUnitWork) return;
    const work = this.model.step(Math.floor(left * this.workPerSlot));
    this.telemetry?.channels.work.add(work);
    if (!this.model.done) return;
    const result: InferResult = { tag: run.tag, output: this.model.output(), slots: run.slots };
    this.current = undefined;
    if (this.next) {
      this.model = this.next;
      this.next = undefined;
    }
    if (this.telemetry) {
      this.telemetry.channels.runs.add();
      this.telemetry.channels.lastRunSlots.set(result.slots);
      this.telemetry.events.emit(INFER_EVENTS.result, { task: this.name, tag: result.tag, output: result.output.int8.join(', '), slots: result.slots });
    }
    this.onResult(result);
  }

  /**
   * Checks the run's weights from its cursor, whole blocks while they fit this slot; returns the
   * bytes checked. The last block sets the model's input: the run begins on checked weights. A
   * block beyond correction reloads the model from its verified file: the run takes the new one
   * (its weights just encoded from the file), and nothing is left to check. So does a model
   * activated by command meanwhile: the run has not begun its first layer.
   */
  private checkSlice(run: Run): number {
    const check = run.check!;
    let bytes = 0;
    while (run.block < check.blocks && bytes + check.blockLength(run.block) <= this.checkBytesPerSlot) {
      bytes += check.blockLength(run.block);
      const found = check.scrubBlock(run.block++);
      if (found === 'clean') continue;
      this.telemetry?.channels.weightsRepaired.add();
      if (found === 'reloaded') break;
    }
    if (run.block < check.blocks && !this.next) return bytes;
    if (this.next) {
      this.model = this.next;
      this.next = undefined;
    }
    run.check = undefined;
    this.model.setInput(run.input);
    this.telemetry?.channels.weightsChecked.add();
    return bytes;
  }
}
