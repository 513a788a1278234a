// The `infer` section of a mission config: the model a node starts with, the inference task's
// budget, and the triage service's thresholds and where kept images go.
//
//   "infer": { "model": "../models/person_detect.tflite", "budgetUs": 2000, "derate": 0.5,
//              "maxModelBytes": 8388608,
//              "triage": { "scoreIndex": 1, "expediteAbove": 0.9, "keepAbove": 0.5,
//                          "downlink": "ipn:100.14", "lifetimeS": 86400 },
//              "anomaly": { "model": "anomaly.tflite", "channel": "eps.busV", "samplingS": 1,
//                           "segmentLength": 250, "budgetUs": 500, "downlink": "ipn:100.15" } }
//
// `model` (a .tflite, imported at start, or a .tern; relative to the config file, as key files)
// runs until an uplinked model is activated; a missing or bad file is refused with an event and
// the node starts without a model (triage deliveries wait). `workPerUs` absent: the rate is
// measured on the first model loaded and multiplied by `derate`. Either `triage` or `anomaly`
// (or both) must be there; each brings its task.
import { dirname, resolve } from 'node:path';
import { join, type Fields } from '../config/fields.js';
import { parseEid, type IpnEid } from '../dtn/eid.js';
import { parseTriageConfig, type TriageConfig } from './triage.js';

/** ipn service numbers of inference on a node. */
export const INFER_SERVICE = {
  /** Images to score: kept, sent down first or dropped. */
  triage: 14,
  /** Anomalous telemetry segments, sent down by the anomaly monitor. */
  anomaly: 15,
} as const;

/** The executive task that runs the triage service's inferences. */
export const INFER_TASK = 'infer.triage';
/** The executive task that samples a channel and scores its segments. */
export const ANOMALY_TASK = 'infer.anomaly';

export interface AnomalyConfig {
  /** The int8 anomaly model (tern infer train-anomaly), .tflite or .tern (absolute path). */
  readonly model: string;
  /** The telemetry channel watched. */
  readonly channel: string;
  /** Sampling period, seconds (the dataset's `sampling`: OPS-SAT's channels used 1 and 5). */
  readonly samplingS: number;
  readonly segmentLength: number;
  readonly budgetUs: number;
  /** Where anomalous segments are sent (expedited). */
  readonly downlink: IpnEid;
  readonly lifetimeS: number;
}

export interface TriageRouting extends TriageConfig {
  /** Where kept and expedited images are sent. */
  readonly downlink: IpnEid;
  readonly lifetimeS: number;
}

export interface InferConfig {
  /** The model the node starts with when none was activated (absolute path). */
  readonly model?: string;
  readonly budgetUs: number;
  /** Work units per microsecond; measured on the first model when absent. */
  readonly workPerUs?: number;
  /** The fraction of the measured rate a slot is planned with (a loaded processor delivers less). */
  readonly derate: number;
  readonly queueLength: number;
  /** Largest model file the file service (flight/cmd/uplink.ts) stores for activation. */
  readonly maxModelBytes: number;
  readonly triage?: TriageRouting;
  readonly anomaly?: AnomalyConfig;
}

export function parseInferConfig(f: Fields, raw: unknown, field: string): InferConfig {
  const o = f.object(raw, field, ['model', 'budgetUs', 'workPerUs', 'derate', 'queueLength', 'maxModelBytes', 'triage', 'anomaly']);
  if (o.triage === undefined && o.anomaly === undefined) f.fail(field, 'a triage or an anomaly section');
  return {
    ...(o.model === undefined ? {} : { model: resolve(dirname(f.file), f.string(o.model, join(field, 'model'))) }),
    budgetUs: o.budgetUs === undefined ? 2000 : f.integer(o.budgetUs, join(field, 'budgetUs'), 100, 1_000_000),
    ...(o.workPerUs === undefined ? {} : { workPerUs: f.number(o.workPerUs, join(field, 'workPerUs'), 1e-3, 1e9) }),
    derate: o.derate === undefined ? 0.5 : f.number(o.derate, join(field, 'derate'), 0.01, 1),
    queueLength: o.queueLength === undefined ? 4 : f.integer(o.queueLength, join(field, 'queueLength'), 1, 256),
    maxModelBytes: o.maxModelBytes === undefined ? 8 << 20 : f.integer(o.maxModelBytes, join(field, 'maxModelBytes'), 64, 48 << 20),
    ...(o.triage === undefined ? {} : { triage: parseTriage(f, o.triage, join(field, 'triage')) }),
    ...(o.anomaly === undefined ? {} : { anomaly: parseAnomaly(f, o.anomaly, join(field, 'anomaly')) }),
  };
}

function parseTriage(f: Fields, raw: unknown, field: string): TriageRouting {
  const { downlink, lifetimeS, ...thresholds } = f.object(raw, field, ['scoreIndex', 'expediteAbove', 'keepAbove', 'downlink', 'lifetimeS']);
  return {
    ...parseTriageConfig(f, thresholds, field),
    downlink: ipnEid(f, downlink, join(field, 'downlink')),
    lifetimeS: lifetime(f, lifetimeS, join(field, 'lifetimeS')),
  };
}

function parseAnomaly(f: Fields, raw: unknown, field: string): AnomalyConfig {
  const o = f.object(raw, field, ['model', 'channel', 'samplingS', 'segmentLength', 'budgetUs', 'downlink', 'lifetimeS']);
  return {
    model: resolve(dirname(f.file), f.string(o.model, join(field, 'model'))),
    channel: f.string(o.channel, join(field, 'channel')),
    samplingS: o.samplingS === undefined ? 1 : f.integer(o.samplingS, join(field, 'samplingS'), 1, 3600),
    // The dataset's segments hold 8 to 1,040 samples.
    segmentLength: o.segmentLength === undefined ? 250 : f.integer(o.segmentLength, join(field, 'segmentLength'), 8, 4096),
    budgetUs: o.budgetUs === undefined ? 500 : f.integer(o.budgetUs, join(field, 'budgetUs'), 100, 1_000_000),
    downlink: ipnEid(f, o.downlink, join(field, 'downlink')),
    lifetimeS: lifetime(f, o.lifetimeS, join(field, 'lifetimeS')),
  };
}

function lifetime(f: Fields, raw: unknown, field: string): number {
  return raw === undefined ? 86_400 : f.integer(raw, field, 1, 30 * 86_400);
}

function ipnEid(f: Fields, raw: unknown, field: string): IpnEid {
  const text = f.string(raw, field);
  let eid;
  try {
    eid = parseEid(text, field);
  } catch {
    eid = undefined;
  }
  if (eid?.scheme !== 'ipn') return f.fail(field, 'an ipn EID such as "ipn:100.14"', text);
  return eid;
}
