// `tern infer import | run | train-anomaly | eval`: bring a TFLite model into Tern's onboard format, and run a model
// (.tflite or .tern) on one input with the SIMD or scalar build of the core. Prints one JSON
// object; errors are JSON on stderr with the typed error's code (exit 2: bad input or model).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseOptions, unknownCommand } from '../flight/cli-args.js';
import { InferenceCore } from '../flight/core/wasm.js';
import { readFeatureCsv } from '../flight/infer/anomaly/dataset.js';
import { crossValidate, predict, score, trainAnomalyModel } from '../flight/infer/anomaly/evaluate.js';
import { DEFAULT_TRAINING } from '../flight/infer/anomaly/mlp.js';
import { TernError } from '../flight/errors.js';
import { readGrayBmp } from '../flight/infer/bmp.js';
import { InferInputError } from '../flight/infer/errors.js';
import { modelDigest, writeTern } from '../flight/infer/format.js';
import { importTflite } from '../flight/infer/importer.js';
import { loadModel } from '../flight/infer/model.js';

export const INFER_USAGE = `usage: tern infer import MODEL.tflite --out MODEL.tern
       tern infer run --model MODEL.tflite|MODEL.tern (--bmp FILE | --raw FILE) [--build simd|scalar]
       tern infer train-anomaly --csv FILE --out MODEL.tflite [--seed N] [--epochs N] [--folds K]
       tern infer eval --model MODEL.tflite|MODEL.tern --csv FILE

import  checks every operator and quantisation parameter of an int8 TFLite model and writes
        Tern's onboard format; prints {"out", "sha256", "layers", "bytes", "macs"}.
run     runs the model once; --bmp takes an 8-bit grayscale BMP (pixel bytes, top row first),
        --raw the exact bytes of the input tensor in flat NHWC order. Prints
        {"output_int8": [...], "output": [...]}: the int8 output tensor and its real values.
train-anomaly  trains the 19-32-1 OPSSAT-AD anomaly network on a CSV of the dataset's columns
        (seeded), quantises it to int8 and writes a .tflite; with --folds K (default 5, 0 for
        none) first reports the F1 of the int8 model in stratified K-fold cross-validation.
eval    precision, recall and F1 of an int8 anomaly model on a CSV of the same columns.

example:
  tern infer run --model ../shared/vectors/tflite/person_detect.tflite --bmp ../shared/vectors/tflite/person.bmp`;

function fail(error: TernError): number {
  console.error(JSON.stringify({ error: { code: error.code, message: error.message } }));
  return 2;
}

function importCommand(argv: string[]): number {
  const { values, positionals } = parseOptions('tern infer import', { out: { type: 'string' } }, argv, true);
  if (positionals.length !== 1 || !values.out) throw new InferInputError('arguments', 'MODEL.tflite --out MODEL.tern');
  const plan = importTflite(readFileSync(positionals[0]!));
  const file = writeTern(plan);
  writeFileSync(values.out, file);
  const macs = plan.layers.filter((l) => l.kernel === 'conv' || l.kernel === 'depthwise').reduce((sum, l) => sum + l.units * l.workPerUnit, 0);
  console.log(JSON.stringify({ out: values.out, sha256: modelDigest(file), layers: plan.layers.length, bytes: file.length, macs }));
  return 0;
}

function runCommand(argv: string[]): number {
  const { values } = parseOptions('tern infer run', { model: { type: 'string' }, bmp: { type: 'string' }, raw: { type: 'string' }, build: { type: 'string' } }, argv);
  if (!values.model || (values.bmp === undefined) === (values.raw === undefined)) {
    throw new InferInputError('arguments', '--model FILE and one of --bmp FILE or --raw FILE');
  }
  if (values.build !== undefined && values.build !== 'simd' && values.build !== 'scalar') throw new InferInputError('--build', 'simd or scalar', values.build);
  const model = loadModel(readFileSync(values.model), new InferenceCore(values.build));
  const input = values.bmp !== undefined ? readGrayBmp(readFileSync(values.bmp)).pixels : readFileSync(values.raw!);
  model.setInput(input);
  model.run();
  const out = model.output();
  console.log(JSON.stringify({ output_int8: out.int8, output: out.values }));
  return 0;
}

function trainCommand(argv: string[]): number {
  const { values } = parseOptions('tern infer train-anomaly', { csv: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, epochs: { type: 'string' }, folds: { type: 'string' } }, argv);
  if (!values.csv || !values.out) throw new InferInputError('arguments', '--csv FILE --out MODEL.tflite');
  const count = (text: string | undefined, field: string, fallback: number, min: number): number => {
    if (text === undefined) return fallback;
    if (!/^\d+$/.test(text) || Number(text) < min) throw new InferInputError(field, `an integer of at least ${min}`, text);
    return Number(text);
  };
  const options = { ...DEFAULT_TRAINING, seed: count(values.seed, '--seed', DEFAULT_TRAINING.seed, 0), epochs: count(values.epochs, '--epochs', DEFAULT_TRAINING.epochs, 1) };
  const folds = count(values.folds, '--folds', 5, 0);
  if (folds === 1) throw new InferInputError('--folds', '0 or at least 2', folds);
  const samples = readFeatureCsv(readFileSync(values.csv, 'utf8'));
  const cv = folds > 0 ? crossValidate(samples, folds, options) : [];
  const model = trainAnomalyModel(samples, options);
  writeFileSync(values.out, model);
  const mean = (k: 'f1' | 'precision' | 'recall'): number => cv.reduce((sum, s) => sum + s[k], 0) / Math.max(cv.length, 1);
  console.log(JSON.stringify({
    out: values.out, bytes: model.length, samples: samples.length, options,
    ...(folds > 0 ? { crossValidation: { folds, f1: mean('f1'), precision: mean('precision'), recall: mean('recall'), perFold: cv.map((s) => s.f1) } } : {}),
  }));
  return 0;
}

function evalCommand(argv: string[]): number {
  const { values } = parseOptions('tern infer eval', { model: { type: 'string' }, csv: { type: 'string' } }, argv);
  if (!values.model || !values.csv) throw new InferInputError('arguments', '--model FILE --csv FILE');
  const model = loadModel(readFileSync(values.model));
  const samples = readFeatureCsv(readFileSync(values.csv, 'utf8'));
  console.log(JSON.stringify({ samples: samples.length, ...score(predict(model, samples), samples) }));
  return 0;
}

export async function runInfer(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log(INFER_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(INFER_USAGE);
    return 0;
  }
  try {
    if (sub === 'import') return importCommand(rest);
    if (sub === 'run') return runCommand(rest);
    if (sub === 'train-anomaly') return trainCommand(rest);
    if (sub === 'eval') return evalCommand(rest);
    console.error(`tern infer: ${unknownCommand('tern infer', sub, ['import', 'run', 'train-anomaly', 'eval']).message}\n\n${INFER_USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof TernError) return fail(error);
    // A file that cannot be read.
    if (error instanceof Error && ('code' in error)) {
      console.error(JSON.stringify({ error: { code: String((error as NodeJS.ErrnoException).code), message: error.message } }));
      return 2;
    }
    throw error;
  }
}
