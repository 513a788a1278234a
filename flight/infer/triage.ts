// The triage service: an image bundle addressed to it is scored by the onboard model and, by the
// mission's thresholds, kept, sent down first, or dropped. The service owns an InferTask (the
// executive schedules it); a delivery resolves when the image's inference finishes in slices,
// so the agent keeps the bundle until the decision is made. What keep, expedite and drop do to
// bundles (store, raised priority, status report) is the composition root's: given as actions.
import type { Fields } from '../config/fields.js';
import type { ServiceHandler } from '../dtn/agent/context.js';
import type { Bundle } from '../dtn/bundle.js';
import { payloadBlock } from '../dtn/bundle.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { readGrayBmp } from './bmp.js';
import { channelsOnce, TRIAGE_CHANNELS, TRIAGE_EVENTS } from './dictionary.js';
import { InferInputError } from './errors.js';
import type { LoadedModel } from './model.js';
import { InferTask, type InferResult, type InferTaskConfig } from './task.js';

export interface TriageConfig {
  /** Output index whose real value (0..1 for a softmax or logistic output) is the score. */
  readonly scoreIndex: number;
  /** score >= expediteAbove: sent down first. */
  readonly expediteAbove: number;
  /** keepAbove <= score < expediteAbove: kept at normal priority; below: dropped. */
  readonly keepAbove: number;
}

export type TriageDecision = 'expedite' | 'keep' | 'drop';

/** What the node does with a scored bundle. */
export type TriageActions = Record<TriageDecision, (bundle: Bundle, score: number) => void | Promise<void>>;

/** The `triage` section of a mission config. */
export function parseTriageConfig(f: Fields, raw: unknown, field: string): TriageConfig {
  const o = f.object(raw, field, ['scoreIndex', 'expediteAbove', 'keepAbove']);
  const keepAbove = f.number(o.keepAbove, `${field}.keepAbove`, 0, 1);
  return {
    scoreIndex: f.integer(o.scoreIndex, `${field}.scoreIndex`, 0, 65535),
    keepAbove,
    expediteAbove: f.number(o.expediteAbove, `${field}.expediteAbove`, keepAbove, 1),
  };
}

export function decide(config: TriageConfig, score: number): TriageDecision {
  return score >= config.expediteAbove ? 'expedite' : score >= config.keepAbove ? 'keep' : 'drop';
}

export class TriageService {
  readonly task: InferTask;
  private readonly waiting = new Map<string, (result: InferResult) => void>();
  private next = 0;
  private telemetry: { channels: Record<keyof typeof TRIAGE_CHANNELS, Channel>; events: EventLog } | undefined;

  constructor(
    private model: LoadedModel,
    taskConfig: InferTaskConfig,
    private readonly config: TriageConfig,
    private readonly actions: TriageActions,
  ) {
    this.checkScore(model);
    this.task = new InferTask(model, taskConfig, (result) => {
      this.waiting.get(result.tag)?.(result);
      this.waiting.delete(result.tag);
    });
  }

  /** Throws unless `model` can serve triage: it has the score output and fits the task's slots. */
  accept(model: LoadedModel): void {
    this.checkScore(model);
    this.task.accept(model);
  }

  /** Scores with `model` from the next image on. */
  useModel(model: LoadedModel): void {
    this.accept(model);
    this.task.useModel(model);
    this.model = model;
  }

  private checkScore(model: LoadedModel): void {
    const outputs = model.plan.tensors[model.plan.outputs[0]!]!.shape.reduce((a, b) => a * b, 1);
    if (this.config.scoreIndex >= outputs) throw new InferInputError('triage.scoreIndex', `below the model's ${outputs} outputs`, this.config.scoreIndex);
  }

  bindTelemetry(tlm: TelemetryRegistry, events: EventLog): void {
    this.telemetry = { channels: channelsOnce(tlm, TRIAGE_CHANNELS), events };
    this.task.bindTelemetry(tlm, events);
  }

  /** The agent's service handler (register it for the triage service number). */
  readonly handle: ServiceHandler = async (bundle) => {
    await this.triage(bundle);
  };

  /** Resolves with the decision once the image is scored and its action done; throws (the agent
   *  deletes it, with the deletion report its source asked for) when the payload is not an image
   *  or the queue is full. */
  async triage(bundle: Bundle): Promise<TriageDecision> {
    const id = `${bundle.primary.creationTime}.${bundle.primary.sequence}#${this.next++}`;
    let input: Uint8Array;
    try {
      input = this.imageOf(payloadBlock(bundle).data);
    } catch (error) {
      this.telemetry?.channels.refused.add();
      this.telemetry?.events.emit(TRIAGE_EVENTS.refused, { bundle: id, reason: (error as Error).message });
      throw error;
    }
    const result = await new Promise<InferResult>((resolve, reject) => {
      this.waiting.set(id, resolve);
      if (!this.task.submit(input, id)) {
        this.waiting.delete(id);
        reject(new InferInputError('triage queue', 'room for another image', 'full'));
      }
    });
    const score = result.output.values[this.config.scoreIndex]!;
    const decision = decide(this.config, score);
    await this.actions[decision](bundle, score);
    if (this.telemetry) {
      this.telemetry.channels[decision === 'expedite' ? 'expedited' : decision === 'keep' ? 'kept' : 'dropped'].add();
      this.telemetry.events.emit(TRIAGE_EVENTS.decision, { bundle: id, score: Math.round(score * 1000) / 1000, decision });
    }
    return decision;
  }

  /** A grayscale BMP of the input's size, or the input tensor's exact bytes. */
  private imageOf(payload: Uint8Array): Uint8Array {
    const info = this.model.plan.tensors[this.model.plan.inputs[0]!]!;
    const bytes = info.shape.reduce((a, b) => a * b, 1) * (info.dtype === 'float32' ? 4 : 1);
    const pixels = payload[0] === 0x42 && payload[1] === 0x4d ? readGrayBmp(payload).pixels : payload;
    if (pixels.length !== bytes) throw new InferInputError('image', `${bytes} bytes of input (or a BMP of as many pixels)`, `${pixels.length}`);
    return pixels;
  }
}
