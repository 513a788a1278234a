// The anomaly monitor: an executive task that samples one live telemetry channel at the
// dataset's sampling period, and, each time a segment of `segmentLength` samples is complete,
// computes its 19 OPSSAT-AD features, scores them with the int8 anomaly model (19-32-1: a few
// hundred MACs, one slot) and reports the verdict. An anomaly is an event and the segment itself
// goes to the composition root's `onAnomaly` (the node sends it down at expedited priority).
import type { Criticality, FrameInfo, Task } from '../../exec/task.js';
import type { Channel, TelemetryRegistry } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import { ANOMALY_CHANNELS, ANOMALY_EVENTS, channelsOnce } from '../dictionary.js';
import { InferInputError } from '../errors.js';
import type { LoadedModel } from '../model.js';
import { transform } from './dataset.js';
import { segmentFeatures } from './features.js';

export interface AnomalyMonitorOptions {
  readonly name: string;
  readonly criticality: Criticality;
  readonly budgetUs: number;
  /** The telemetry channel watched, by name (looked up at the first slot: every channel exists by then). */
  readonly channel: string;
  readonly samplingS: number;
  readonly segmentLength: number;
  readonly nowUs: () => number;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  /** Called with each anomalous segment (after the event). */
  readonly onAnomaly: (segment: AnomalySegment) => void;
}

export interface AnomalySegment {
  readonly channel: string;
  readonly samplingS: number;
  readonly score: number;
  readonly timesUs: readonly number[];
  readonly values: readonly number[];
}

export class AnomalyMonitor implements Task {
  readonly name: string;
  readonly criticality: Criticality;
  readonly budgetUs: number;
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  private count = 0;
  private nextUs = -Infinity;
  private source: Channel | undefined;
  private missingReported = false;
  private readonly input: Uint8Array;
  private readonly channels;

  constructor(private readonly model: LoadedModel, private readonly o: AnomalyMonitorOptions) {
    this.name = o.name;
    this.criticality = o.criticality;
    this.budgetUs = o.budgetUs;
    this.times = new Float64Array(o.segmentLength);
    this.values = new Float64Array(o.segmentLength);
    const info = model.plan.tensors[model.plan.inputs[0]!]!;
    if (info.dtype !== 'float32' || info.shape.reduce((a, b) => a * b, 1) !== 19) throw new InferInputError('anomaly model', 'a float32 input of the 19 features (tern infer train-anomaly)', `${info.dtype} ${info.shape.join('x')}`);
    this.input = new Uint8Array(19 * 4);
    this.channels = channelsOnce(o.tlm, ANOMALY_CHANNELS);
  }

  run(_frame: FrameInfo): void {
    const now = this.o.nowUs();
    if (now < this.nextUs) return;
    const source = this.channel();
    if (!source) return;
    // The next sample is one period on; after a late slot, one period from now (never a burst).
    const due = this.nextUs + this.o.samplingS * 1e6;
    this.nextUs = due > now ? due : now + this.o.samplingS * 1e6;
    this.times[this.count] = now;
    this.values[this.count] = source.value;
    this.count++;
    if (this.count === this.o.segmentLength) this.score();
  }

  private channel(): Channel | undefined {
    this.source ??= this.o.tlm.get(this.o.channel);
    if (!this.source && !this.missingReported) {
      this.missingReported = true;
      this.channels.refused.add();
      this.o.events.emit(ANOMALY_EVENTS.refused, { channel: this.o.channel, reason: 'no such telemetry channel' });
    }
    return this.source;
  }

  private score(): void {
    this.count = 0;
    let features: Float64Array;
    try {
      features = segmentFeatures({ timesUs: this.times, values: this.values, samplingS: this.o.samplingS });
    } catch (error) {
      this.channels.refused.add();
      this.o.events.emit(ANOMALY_EVENTS.refused, { channel: this.o.channel, reason: (error as Error).message });
      return;
    }
    const view = new DataView(this.input.buffer);
    transform(features).forEach((v, i) => view.setFloat32(4 * i, v, true));
    this.model.setInput(this.input);
    this.model.run();
    const out = this.model.output();
    const score = out.values[0]!;
    this.channels.segments.add();
    this.channels.lastScore.set(score);
    // The int8 output >= 0 is P >= 0.5: the verdict the model was evaluated with.
    if (out.int8[0]! < 0) return;
    this.channels.anomalies.add();
    const segment: AnomalySegment = { channel: this.o.channel, samplingS: this.o.samplingS, score, timesUs: [...this.times], values: [...this.values] };
    this.o.events.emit(ANOMALY_EVENTS.anomaly, { channel: this.o.channel, samples: this.o.segmentLength, score: Math.round(score * 1000) / 1000 });
    this.o.onAnomaly(segment);
  }
}
