// Everything onboard inference tells the ground: telemetry channels `infer.*` and events in
// infer's range 0x07xx (flight/tlm/dictionary.ts).
import type { Channel, ChannelDef, TelemetryRegistry } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const INFER_CHANNELS = {
  runs: { name: 'infer.runs', type: 'u64', units: 'runs', doc: 'Inferences completed' },
  slices: { name: 'infer.slices', type: 'u64', units: 'slots', doc: 'Executive slots in which the inference task did work' },
  work: { name: 'infer.work', type: 'u64', units: 'MAC', doc: 'Work done (multiply-accumulates, elements for element-wise layers)' },
  lastRunSlots: { name: 'infer.lastRunSlots', type: 'u32', units: 'slots', doc: 'Slots the last inference took from input to result' },
  queued: { name: 'infer.queued', type: 'u32', units: 'inputs', doc: 'Inputs waiting for the inference task' },
  inputsRefused: {
    name: 'infer.inputsRefused', type: 'u64', units: 'inputs', yellow: { high: 0 },
    doc: 'Inputs refused (wrong size, or the queue full)',
  },
  weightsChecked: { name: 'infer.weightsChecked', type: 'u64', units: 'runs', doc: 'Runs whose model weights were checked (every block, protected memory) before they began' },
  weightsRepaired: {
    name: 'infer.weightsRepaired', type: 'u64', units: 'blocks', yellow: { high: 0 },
    doc: 'Weight blocks found damaged by the check before a run: corrected in place, or the model reloaded from its file',
  },
  modelsRefused: {
    name: 'infer.modelsRefused', type: 'u64', units: 'models', yellow: { high: 0 },
    doc: 'Model files refused (corrupt, unsupported operator, bad quantisation, too large)',
  },
  modelsRemoved: { name: 'infer.modelsRemoved', type: 'u64', units: 'files', doc: 'Stored model files removed: neither the active nor the previous model (nothing restart or rollback reads)' },
} as const satisfies Record<string, ChannelDef>;

/** The channels of `defs` in `tlm`, defined by the first of a node's inference parts to ask
 *  (the model manager, the infer task and the node share them). */
export function channelsOnce<K extends string>(tlm: TelemetryRegistry, defs: Record<K, ChannelDef>): Record<K, Channel> {
  const keys = Object.keys(defs) as K[];
  if (!tlm.get(defs[keys[0]!].name)) return tlm.defineAll(defs);
  return Object.fromEntries(keys.map((k) => [k, tlm.get(defs[k].name)!])) as Record<K, Channel>;
}

export const INFER_EVENTS = {
  result: {
    id: 0x0701, name: 'INFER_RESULT', severity: 'activity',
    format: '{task}: input {tag} scored [{output}] in {slots} slots',
  },
  inputRefused: {
    id: 0x0702, name: 'INFER_INPUT_REFUSED', severity: 'warning',
    format: '{task}: input {tag} refused: {reason}',
  },
  modelRefused: {
    id: 0x0703, name: 'INFER_MODEL_REFUSED', severity: 'warning',
    format: 'model {file} refused ({code}): {reason}; the running model keeps running',
  },
  modelActivated: {
    id: 0x0704, name: 'INFER_MODEL_ACTIVATED', severity: 'activity',
    format: 'model {sha256} active ({layers} layers)',
  },
} as const satisfies Record<string, EventDef>;

// The triage service (triage.ts).
export const TRIAGE_CHANNELS = {
  expedited: { name: 'infer.triage.expedited', type: 'u64', units: 'bundles', doc: 'Images scored above the expedite threshold: sent down first' },
  kept: { name: 'infer.triage.kept', type: 'u64', units: 'bundles', doc: 'Images kept at normal priority' },
  dropped: { name: 'infer.triage.dropped', type: 'u64', units: 'bundles', doc: 'Images scored below the keep threshold: dropped with a status report' },
  refused: { name: 'infer.triage.refused', type: 'u64', units: 'bundles', yellow: { high: 0 }, doc: 'Payloads that are not an image the model takes' },
} as const satisfies Record<string, ChannelDef>;

export const TRIAGE_EVENTS = {
  decision: { id: 0x0710, name: 'INFER_TRIAGE_DECISION', severity: 'activity', format: 'image {bundle} scored {score}: {decision}' },
  refused: { id: 0x0711, name: 'INFER_TRIAGE_REFUSED', severity: 'warning', format: 'image {bundle} refused: {reason}' },
} as const satisfies Record<string, EventDef>;

// The anomaly monitor (anomaly/monitor.ts).
export const ANOMALY_CHANNELS = {
  segments: { name: 'infer.anomaly.segments', type: 'u64', units: 'segments', doc: 'Telemetry segments scored by the anomaly model' },
  anomalies: { name: 'infer.anomaly.anomalies', type: 'u64', units: 'segments', yellow: { high: 0 }, doc: 'Segments the anomaly model flagged (each sent down at expedited priority)' },
  lastScore: { name: 'infer.anomaly.lastScore', type: 'f64', units: 'P', doc: 'Anomaly probability of the last segment scored' },
  refused: { name: 'infer.anomaly.refused', type: 'u64', units: 'segments', yellow: { high: 0 }, doc: 'Segments not scored (no such channel, a segment the features refuse)' },
} as const satisfies Record<string, ChannelDef>;

export const ANOMALY_EVENTS = {
  anomaly: { id: 0x0720, name: 'INFER_ANOMALY', severity: 'warning', format: 'channel {channel}: segment of {samples} samples scored {score}: anomaly, sent down' },
  refused: { id: 0x0721, name: 'INFER_ANOMALY_REFUSED', severity: 'warning', format: 'channel {channel}: segment not scored: {reason}' },
} as const satisfies Record<string, EventDef>;
