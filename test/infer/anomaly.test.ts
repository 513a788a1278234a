// The OPSSAT-AD anomaly model: seeded training is reproducible, the int8 model it writes is a
// TFLite file Tern's importer takes (QUANTIZE, FULLY_CONNECTED, LOGISTIC), and it separates the
// training split's anomalies; the CSV reader refuses what it cannot read; train and eval as
// child processes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/wasm.js';
import { FEATURES, readFeatureCsv, transform } from '../../flight/infer/anomaly/dataset.js';
import { predict, score, trainAnomalyModel } from '../../flight/infer/anomaly/evaluate.js';
import { DEFAULT_TRAINING, forward, train } from '../../flight/infer/anomaly/mlp.js';
import { InferInputError } from '../../flight/infer/errors.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { REPO, TERN } from '../support/node-process.js';

const CSV = join(REPO, '..', 'shared', 'vectors', 'telemetry', 'opssat-ad-train.csv');
const samples = readFeatureCsv(readFileSync(CSV, 'utf8'));
const quick = { ...DEFAULT_TRAINING, epochs: 40 };
const dir = mkdtempSync(join(tmpdir(), 'tern-anomaly-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OPSSAT-AD anomaly model', () => {
  it('reads the 1,594 training segments with their 19 features', () => {
    expect(samples).toHaveLength(1594);
    expect(samples.filter((s) => s.anomaly === 1)).toHaveLength(321);
    expect(samples[0]!.features).toHaveLength(FEATURES.length);
  });

  it('trains reproducibly into an int8 TFLite model that Tern imports and that finds the anomalies', () => {
    const model = trainAnomalyModel(samples, quick);
    expect(Buffer.from(trainAnomalyModel(samples, quick)).equals(Buffer.from(model))).toBe(true);
    expect(Buffer.from(trainAnomalyModel(samples, { ...quick, seed: 2 })).equals(Buffer.from(model))).toBe(false);
    const plan = importTflite(model);
    expect(plan.layers.map((l) => l.op)).toEqual(['QUANTIZE', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'LOGISTIC']);
    const scores = score(predict(new LoadedModel(new InferenceCore('scalar'), plan), samples), samples);
    expect(scores.f1).toBeGreaterThan(0.8);
    // Both builds agree on every segment.
    const simd = predict(new LoadedModel(new InferenceCore('simd'), plan), samples);
    expect(simd).toEqual(predict(new LoadedModel(new InferenceCore('scalar'), plan), samples));
  });

  it('refuses a CSV without the feature columns, or with a value that is not a number', () => {
    expect(() => readFeatureCsv('segment,anomaly,mean\n1,0,2\n')).toThrow(InferInputError);
    const lines = readFileSync(CSV, 'utf8').split('\n');
    lines[5] = lines[5]!.replace(/,[^,]*$/, ',oops');
    expect(() => readFeatureCsv(lines.join('\n'))).toThrow(/line 6 var_div_len/);
  });

  it('tern infer train-anomaly and eval (child processes)', async () => {
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
      execFile(process.execPath, [TERN, 'infer', ...args], { cwd: REPO }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    const out = join(dir, 'anomaly.tflite');
    const trained = await run(['train-anomaly', '--csv', CSV, '--out', out, '--epochs', '20', '--folds', '2']);
    expect(trained.code).toBe(0);
    const summary = JSON.parse(trained.stdout) as { crossValidation: { folds: number; f1: number; perFold: number[] } };
    expect(summary.crossValidation.folds).toBe(2);
    expect(summary.crossValidation.perFold).toHaveLength(2);
    const evaluated = await run(['eval', '--model', out, '--csv', CSV]);
    expect(evaluated.code).toBe(0);
    const scores = JSON.parse(evaluated.stdout) as { samples: number; tp: number; fn: number; f1: number };
    expect(scores.samples).toBe(1594);
    expect(scores.tp + scores.fn).toBe(321);
    expect(scores.f1).toBeGreaterThan(0.7);
    const bad = await run(['train-anomaly', '--csv', CSV, '--out', out, '--folds', '1']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('INFER_BAD_INPUT');
  });

  it('merges an ensemble into one network whose logit is the members\' mean', () => {
    const xs = samples.slice(0, 300).map((s) => transform(s.features));
    const ys = samples.slice(0, 300).map((s) => s.anomaly);
    const options = { ...quick, epochs: 3 };
    const merged = train(xs, ys, { ...options, members: 3 });
    const members = [0, 1, 2].map((i) => train(xs, ys, { ...options, seed: options.seed + i }));
    expect(merged.hidden).toBe(3 * options.hidden);
    for (const x of xs.slice(0, 20)) {
      const mean = members.reduce((sum, m) => sum + forward(m, x), 0) / 3;
      expect(Math.abs(forward(merged, x) - mean)).toBeLessThan(1e-12);
    }
    // The anomalous class's loss weight changes what is learnt.
    expect(forward(train(xs, ys, { ...options, positiveWeight: 4 }), xs[0]!)).not.toBe(forward(train(xs, ys, options), xs[0]!));
  });
});
