// The `infer` section of a mission config: the model a node starts with, the inference task's
// budget, and the triage service's thresholds and where kept images go.
//
//   "infer": { "model": "../models/person_detect.tflite", "budgetUs": 2000, "derate": 0.5,
//              "maxModelBytes": 8388608,
//              "triage": { "scoreIndex": 1, "expediteAbove": 0.9, "keepAbove": 0.5,
//                          "downlink": "ipn:100.13", "lifetimeS": 86400 } }
//
// `model` (a .tflite, imported at start, or a .tern; relative to the config file, as key files)
// runs until an uplinked model is activated; a missing or bad file is refused with an event and
// the node starts without a model (triage deliveries wait). `workPerUs` absent: the rate is
// measured on the first model loaded and multiplied by `derate`.
import { dirname, resolve } from 'node:path';
import { join, type Fields } from '../config/fields.js';
import { parseEid, type IpnEid } from '../dtn/eid.js';
import { parseTriageConfig, type TriageConfig } from './triage.js';

/** ipn service numbers of inference on a node. */
export const INFER_SERVICE = {
  /** Model files (.tern) uplinked for INFER_ACTIVATE_MODEL. */
  models: 13,
  /** Images to score: kept, sent down first or dropped. */
  triage: 14,
} as const;

/** The executive task that runs the triage service's inferences. */
export const INFER_TASK = 'infer.triage';

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
  /** Largest model file the models service accepts. */
  readonly maxModelBytes: number;
  readonly triage: TriageRouting;
}

export function parseInferConfig(f: Fields, raw: unknown, field: string): InferConfig {
  const o = f.object(raw, field, ['model', 'budgetUs', 'workPerUs', 'derate', 'queueLength', 'maxModelBytes', 'triage']);
  if (o.triage === undefined) f.fail(join(field, 'triage'), 'the triage thresholds');
  const t = f.object(o.triage, join(field, 'triage'), ['scoreIndex', 'expediteAbove', 'keepAbove', 'downlink', 'lifetimeS']);
  const { downlink, lifetimeS, ...thresholds } = t;
  const triage = join(field, 'triage');
  const text = f.string(downlink, join(triage, 'downlink'));
  let eid;
  try {
    eid = parseEid(text, join(triage, 'downlink'));
  } catch {
    eid = undefined;
  }
  if (eid?.scheme !== 'ipn') f.fail(join(triage, 'downlink'), 'an ipn EID such as "ipn:100.13"', text);
  return {
    ...(o.model === undefined ? {} : { model: resolve(dirname(f.file), f.string(o.model, join(field, 'model'))) }),
    budgetUs: o.budgetUs === undefined ? 2000 : f.integer(o.budgetUs, join(field, 'budgetUs'), 100, 1_000_000),
    ...(o.workPerUs === undefined ? {} : { workPerUs: f.number(o.workPerUs, join(field, 'workPerUs'), 1e-3, 1e9) }),
    derate: o.derate === undefined ? 0.5 : f.number(o.derate, join(field, 'derate'), 0.01, 1),
    queueLength: o.queueLength === undefined ? 4 : f.integer(o.queueLength, join(field, 'queueLength'), 1, 256),
    maxModelBytes: o.maxModelBytes === undefined ? 8 << 20 : f.integer(o.maxModelBytes, join(field, 'maxModelBytes'), 64, 48 << 20),
    triage: {
      ...parseTriageConfig(f, thresholds, triage),
      downlink: eid,
      lifetimeS: lifetimeS === undefined ? 86_400 : f.integer(lifetimeS, join(triage, 'lifetimeS'), 1, 30 * 86_400),
    },
  };
}
