// The anomaly monitor on a node: a live telemetry channel sampled once a second by its task
// (run at 100 Hz on a virtual clock), each 250-sample segment's features scored by an int8
// OPSSAT-AD model trained here; a nominal-looking segment passes, one with a spike is an
// INFER_ANOMALY event and goes down at expedited priority as JSON of its samples.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/wasm.js';
import type { Outgoing } from '../../flight/dtn/agent.js';
import { readFeatureCsv, transform } from '../../flight/infer/anomaly/dataset.js';
import { trainAnomalyModel } from '../../flight/infer/anomaly/evaluate.js';
import { segmentFeatures } from '../../flight/infer/anomaly/features.js';
import { DEFAULT_TRAINING, seeded } from '../../flight/infer/anomaly/mlp.js';
import { ANOMALY_TASK, INFER_SERVICE, type InferConfig } from '../../flight/infer/config.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { InferNode } from '../../flight/infer/node.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { REPO } from '../support/node-process.js';

const samples = readFeatureCsv(readFileSync(join(REPO, '..', 'shared', 'vectors', 'telemetry', 'opssat-ad-train.csv'), 'utf8'));
const tflite = trainAnomalyModel(samples, { ...DEFAULT_TRAINING, epochs: 40 });
const N = 250;

/** A magnetometer-like segment as the dataset's nominal ones: a slow sine and sensor noise. */
function nominal(seed: number): number[] {
  const random = seeded(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: N }, (_, i) => 3.6e-5 * Math.sin((2 * Math.PI * i) / N) + 5.7e-7 * gauss());
}
const quiet = nominal(1);
const spiked = nominal(2).map((v, i) => (i >= 120 && i < 126 ? v + 3e-4 : v));

function node(config: Partial<InferConfig['anomaly']> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tern-anomaly-node-'));
  writeFileSync(join(dir, 'anomaly.tflite'), tflite);
  const tlm = new TelemetryRegistry();
  const bus = tlm.define({ name: 'adcs.magX', type: 'f64', units: 'T', doc: 'test channel' });
  let nowUs = 0;
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => nowUs);
  const emitted: EventRecord[] = [];
  events.onEvent((e) => emitted.push(e));
  const sent: Outgoing[] = [];
  const infer = new InferNode({
    config: {
      budgetUs: 2000, derate: 0.5, queueLength: 4, maxModelBytes: 1 << 20,
      anomaly: { model: join(dir, 'anomaly.tflite'), channel: 'adcs.magX', samplingS: 1, segmentLength: N, budgetUs: 500, downlink: { scheme: 'ipn', node: 100, service: 15 }, lifetimeS: 600, ...config },
    },
    node: 20, dataDir: dir, tlm, events, log: createRootLogger({ level: 'silent' }), nowUs: () => nowUs,
    send: (out) => { sent.push(out); return Promise.resolve('id'); },
    register: () => {},
  });
  const [task] = infer.tasks();
  /** 100 Hz frames for `series.length` seconds; the channel holds series[s] during second s. */
  const play = (series: readonly number[]): void => {
    const start = nowUs;
    for (let k = 0; k < series.length * 100; k++) {
      nowUs = start + k * 10_000;
      bus.set(series[Math.floor(k / 100)]!);
      task!.run({ frame: k, minor: 0, mode: 'NOMINAL', deadlineUs: nowUs });
    }
    nowUs = start + series.length * 1_000_000;
  };
  return { task, play, sent, emitted, value: (n: string) => tlm.get(n)?.value };
}

/** The score of a segment of the series, by the same model outside the monitor. */
function expectedScore(values: readonly number[]): number {
  const model = new LoadedModel(new InferenceCore('scalar'), importTflite(tflite));
  const x = transform(segmentFeatures({ timesUs: values.map((_, i) => i * 1e6), values, samplingS: 1 }));
  const bytes = new Uint8Array(76);
  x.forEach((v, i) => new DataView(bytes.buffer).setFloat32(4 * i, v, true));
  model.setInput(bytes);
  model.run();
  return model.output().values[0]!;
}

describe('anomaly monitor', () => {
  it('samples once a second, scores each segment, and sends an anomalous one down first', () => {
    const n = node();
    expect(n.task!.name).toBe(ANOMALY_TASK);
    n.play(quiet);
    expect(n.value('infer.anomaly.segments')).toBe(1);
    expect(n.value('infer.anomaly.anomalies')).toBe(0);
    expect(n.value('infer.anomaly.lastScore')).toBe(expectedScore(quiet));
    expect(n.value('infer.anomaly.lastScore')).toBeLessThan(0.5);
    expect(n.sent).toHaveLength(0);

    n.play(spiked);
    expect(n.value('infer.anomaly.segments')).toBe(2);
    expect(n.value('infer.anomaly.anomalies')).toBe(1);
    expect(n.value('infer.anomaly.lastScore')).toBe(expectedScore(spiked));
    expect(n.emitted.filter((e) => e.name === 'INFER_ANOMALY').map((e) => e.args)).toEqual([{ channel: 'adcs.magX', samples: N, score: Math.round(expectedScore(spiked) * 1000) / 1000 }]);
    expect(n.sent).toHaveLength(1);
    const out = n.sent[0]!;
    expect(out).toMatchObject({ destination: { scheme: 'ipn', node: 100, service: 15 }, service: INFER_SERVICE.anomaly, priority: 2, lifetimeMs: 600_000 });
    const segment = JSON.parse(new TextDecoder().decode(out.payload)) as { values: number[]; timesUs: number[]; samplingS: number };
    expect(segment.values).toEqual(spiked);
    expect(segment.samplingS).toBe(1);
    // One sample a second, taken by the 100 Hz task.
    expect(segment.timesUs.slice(1).map((t, i) => t - segment.timesUs[i]!)).toEqual(new Array(N - 1).fill(1_000_000));
  }, 30_000);

  it('reports a missing channel once and a missing model file, and idles', () => {
    const missing = node({ channel: 'no.such.channel' });
    missing.play(quiet.slice(0, 10));
    expect(missing.value('infer.anomaly.refused')).toBe(1);
    expect(missing.emitted.filter((e) => e.name === 'INFER_ANOMALY_REFUSED')).toHaveLength(1);
    const noModel = node({ model: '/nonexistent/anomaly.tflite' });
    expect(noModel.emitted.filter((e) => e.name === 'INFER_MODEL_REFUSED').map((e) => e.args.code)).toEqual(['ENOENT']);
    expect(() => noModel.play(quiet)).not.toThrow();
    expect(noModel.value('infer.anomaly.segments')).toBeUndefined();
  });
});
