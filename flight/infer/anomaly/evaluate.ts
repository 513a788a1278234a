// Scores segments with an int8 model on the Tern core and counts against the labels; k-fold
// cross-validation of train -> quantise -> import -> int8 inference, stratified and seeded.
import { InferenceCore } from '../../core/wasm.js';
import { importTflite } from '../importer.js';
import { LoadedModel } from '../model.js';
import { transform, type Sample } from './dataset.js';
import { exportTflite } from './export.js';
import { DEFAULT_TRAINING, seeded, train, type TrainOptions } from './mlp.js';

export interface Scores {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** The int8 model's verdict per sample: anomalous when P(anomaly) >= 0.5 (output int8 >= 0). */
export function predict(model: LoadedModel, samples: readonly Sample[]): (0 | 1)[] {
  return samples.map((s) => {
    const x = transform(s.features);
    const bytes = new Uint8Array(x.length * 4);
    const view = new DataView(bytes.buffer);
    x.forEach((v, i) => view.setFloat32(4 * i, v, true)); // the input tensor's bytes: little-endian
    model.setInput(bytes);
    model.run();
    return model.output().int8[0]! >= 0 ? 1 : 0;
  });
}

export function score(predicted: readonly (0 | 1)[], samples: readonly Sample[]): Scores {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  predicted.forEach((p, i) => {
    const y = samples[i]!.anomaly;
    if (p && y) tp++; else if (p) fp++; else if (y) fn++; else tn++;
  });
  const precision = tp / Math.max(tp + fp, 1);
  const recall = tp / Math.max(tp + fn, 1);
  return { tp, fp, fn, tn, precision, recall, f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0 };
}

/** Trains on `samples` and returns the quantised .tflite. */
export function trainAnomalyModel(samples: readonly Sample[], options: TrainOptions = DEFAULT_TRAINING): Uint8Array {
  const xs = samples.map((s) => transform(s.features));
  return exportTflite(train(xs, samples.map((s) => s.anomaly), options), xs);
}

/** Stratified k-fold cross-validation of the int8 model; F1 per fold. */
export function crossValidate(samples: readonly Sample[], folds: number, options: TrainOptions = DEFAULT_TRAINING): Scores[] {
  const random = seeded(options.seed + 7919);
  const fold = new Array<number>(samples.length);
  for (const label of [0, 1]) {
    const members = samples.map((s, i) => (s.anomaly === label ? i : -1)).filter((i) => i >= 0);
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j]!, members[i]!];
    }
    members.forEach((m, k) => { fold[m] = k % folds; });
  }
  const core = new InferenceCore();
  return Array.from({ length: folds }, (_, f) => {
    const trainSet = samples.filter((_, i) => fold[i] !== f);
    const testSet = samples.filter((_, i) => fold[i] === f);
    const model = new LoadedModel(core, importTflite(trainAnomalyModel(trainSet, options)));
    return score(predict(model, testSet), testSet);
  });
}
