// The executive's inference task: takes queued inputs through a loaded model in slices. Each
// slot runs at most `workPerSlot` units of work (whole output rows of a layer, or element
// ranges), converted from the slot's time budget by this build's measured work rate, so a long
// network spreads over many frames and no slot exceeds its budget.
import { performance } from 'node:perf_hooks';
import type { Criticality, FrameInfo, Task } from '../exec/task.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { channelsOnce, INFER_CHANNELS, INFER_EVENTS } from './dictionary.js';
import { InferInputError } from './errors.js';
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

export class InferTask implements Task {
  readonly name: string;
  readonly criticality: Criticality;
  readonly budgetUs: number;
  /** Work units one slot may do. */
  readonly workPerSlot: number;
  private readonly queueLength: number;
  private readonly queue: { input: Uint8Array; tag: string }[] = [];
  private current: { tag: string; slots: number } | undefined;
  /** A model activated while a run was in progress: used from the next input on. */
  private next: LoadedModel | undefined;
  private telemetry: Telemetry | undefined;

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
      this.model.setInput(next.input);
      this.current = { tag: next.tag, slots: 0 };
      this.telemetry?.channels.queued.set(this.queue.length);
    }
    const work = this.model.step(this.workPerSlot);
    this.current.slots++;
    if (this.telemetry) {
      this.telemetry.channels.slices.add();
      this.telemetry.channels.work.add(work);
    }
    if (!this.model.done) return;
    const result: InferResult = { tag: this.current.tag, output: this.model.output(), slots: this.current.slots };
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
}
