// The three TFLM reference models on both builds of the core: person_detect bit-exact with
// TFLM's interpreter on the two test images, hello_world and micro_speech to completion, the
// SIMD build equal to the scalar one, and .tern files equal to the .tflite they came from.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InferenceCore } from '../../flight/core/infer-kernels.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { readTern, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { tensorBytes } from '../../flight/infer/plan.js';

const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const file = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, VECTORS)));
const MODELS = ['person_detect.tflite', 'hello_world_int8.tflite', 'micro_speech_quantized.tflite'];
const cores = { simd: new InferenceCore('simd'), scalar: new InferenceCore('scalar') };

/** A seeded xorshift byte stream: the same random inputs on every run. */
function randomBytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0 || 1;
  return Uint8Array.from({ length: n }, () => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s & 0xff;
  });
}

function run(model: LoadedModel, input: Uint8Array): number[] {
  model.setInput(input);
  model.run();
  return [...model.output().int8];
}

describe('person_detect (bit-exact with TFLM)', () => {
  const plan = importTflite(file('person_detect.tflite'));
  for (const variant of ['simd', 'scalar'] as const) {
    it(`gives [-113, 113] for person.bmp and [57, -57] for no_person.bmp on the ${variant} build`, () => {
      const model = new LoadedModel(cores[variant], plan);
      expect(run(model, readGrayBmp(file('person.bmp')).pixels)).toEqual([-113, 113]);
      expect(run(model, readGrayBmp(file('no_person.bmp')).pixels)).toEqual([57, -57]);
      // A second run of the same model gives the same bits (no state carried between runs).
      expect(run(model, readGrayBmp(file('person.bmp')).pixels)).toEqual([-113, 113]);
    });
  }

  it('gives the same outputs from its .tern file', () => {
    const model = new LoadedModel(cores.simd, readTern(writeTern(plan)));
    expect(run(model, readGrayBmp(file('person.bmp')).pixels)).toEqual([-113, 113]);
    expect(run(model, readGrayBmp(file('no_person.bmp')).pixels)).toEqual([57, -57]);
  });

  it('dequantises the output with its scale and zero point', () => {
    const model = new LoadedModel(cores.scalar, plan);
    model.setInput(readGrayBmp(file('person.bmp')).pixels);
    model.run();
    expect(model.output().values).toEqual([(-113 + 128) * 0.00390625, (113 + 128) * 0.00390625]);
  });
});

describe('every reference model on both builds', () => {
  for (const name of MODELS) {
    it(`${name}: SIMD equals scalar on random inputs, outputs in range, .tern equals .tflite`, () => {
      const plan = importTflite(file(name));
      const simd = new LoadedModel(cores.simd, plan);
      const scalar = new LoadedModel(cores.scalar, plan);
      const fromTern = new LoadedModel(cores.scalar, readTern(writeTern(plan)));
      const bytes = tensorBytes(plan.tensors[plan.inputs[0]!]!);
      for (let seed = 1; seed <= (name.startsWith('person') ? 3 : 20); seed++) {
        const input = randomBytes(bytes, seed);
        const expected = run(scalar, input);
        expect(run(simd, input)).toEqual(expected);
        expect(run(fromTern, input)).toEqual(expected);
        expect(expected.every((q) => Number.isInteger(q) && q >= -128 && q <= 127)).toBe(true);
        const values = scalar.output().values;
        expect(values.every(Number.isFinite)).toBe(true);
        if (name.startsWith('micro_speech')) {
          // Softmax over the 4 classes: probabilities summing to about one.
          expect(Math.abs(values.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(0.05);
        }
      }
    });
  }

  it('hello_world approximates sin(x) over [0, 2 pi]', () => {
    const plan = importTflite(file('hello_world_int8.tflite'));
    const model = new LoadedModel(cores.simd, plan);
    const input = plan.tensors[plan.inputs[0]!]!;
    for (let x = 0; x < 2 * Math.PI; x += 0.25) {
      const q = Math.round(x / input.scale) + input.zeroPoint;
      model.setInput(new Uint8Array([q & 0xff]));
      model.run();
      expect(Math.abs(model.output().values[0]! - Math.sin(x))).toBeLessThan(0.2);
    }
  });
});
