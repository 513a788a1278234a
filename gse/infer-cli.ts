// `tern infer import | run`: bring a TFLite model into Tern's onboard format, and run a model
// (.tflite or .tern) on one input with the SIMD or scalar build of the core. Prints one JSON
// object; errors are JSON on stderr with the typed error's code (exit 2: bad input or model).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InferenceCore } from '../flight/core/wasm.js';
import { TernError } from '../flight/errors.js';
import { readGrayBmp } from '../flight/infer/bmp.js';
import { InferInputError } from '../flight/infer/errors.js';
import { modelDigest, writeTern } from '../flight/infer/format.js';
import { importTflite } from '../flight/infer/importer.js';
import { loadModel } from '../flight/infer/model.js';

export const INFER_USAGE = `usage: tern infer import MODEL.tflite --out MODEL.tern
       tern infer run --model MODEL.tflite|MODEL.tern (--bmp FILE | --raw FILE) [--build simd|scalar]

import  checks every operator and quantisation parameter of an int8 TFLite model and writes
        Tern's onboard format; prints {"out", "sha256", "layers", "bytes", "macs"}.
run     runs the model once; --bmp takes an 8-bit grayscale BMP (pixel bytes, top row first),
        --raw the exact bytes of the input tensor in flat NHWC order. Prints
        {"output_int8": [...], "output": [...]}: the int8 output tensor and its real values.`;

function fail(error: TernError): number {
  console.error(JSON.stringify({ error: { code: error.code, message: error.message } }));
  return 2;
}

function importCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' } } });
  if (positionals.length !== 1 || !values.out) throw new InferInputError('arguments', 'MODEL.tflite --out MODEL.tern');
  const plan = importTflite(readFileSync(positionals[0]!));
  const file = writeTern(plan);
  writeFileSync(values.out, file);
  const macs = plan.layers.filter((l) => l.kernel === 'conv' || l.kernel === 'depthwise').reduce((sum, l) => sum + l.units * l.workPerUnit, 0);
  console.log(JSON.stringify({ out: values.out, sha256: modelDigest(file), layers: plan.layers.length, bytes: file.length, macs }));
  return 0;
}

function runCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, bmp: { type: 'string' }, raw: { type: 'string' }, build: { type: 'string' } } });
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

export async function runInfer(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    console.log(INFER_USAGE);
    return sub === undefined ? 2 : 0;
  }
  try {
    if (sub === 'import') return importCommand(rest);
    if (sub === 'run') return runCommand(rest);
    console.error(`tern infer: unknown subcommand ${JSON.stringify(sub)}\n\n${INFER_USAGE}`);
    return 2;
  } catch (error) {
    if (error instanceof TernError) return fail(error);
    // A file that cannot be read, or an argument parseArgs refuses.
    if (error instanceof Error && ('code' in error)) {
      console.error(JSON.stringify({ error: { code: String((error as NodeJS.ErrnoException).code), message: error.message } }));
      return 2;
    }
    throw error;
  }
}
