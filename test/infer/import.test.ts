// What the importer refuses, by name and with a typed error: operators, options and tensor types
// Tern does not run, bad quantisation, shapes beyond memory, truncated or corrupt flatbuffers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TernError } from '../../flight/errors.js';
import { ModelFormatError, ModelSizeError, QuantisationError, UnsupportedOperatorError } from '../../flight/infer/errors.js';
import { importTflite } from '../../flight/infer/importer.js';
import { buildTflite, type TestModel, type TestTensor } from '../../flight/infer/tflite-writer.js';

const q = (shape: number[], scale = 0.05, zeroPoint = 0): TestTensor => ({ shape, type: 'INT8', scales: [scale], zeroPoints: [zeroPoint] });

/** A valid 1x4x4x2 -> 1x4x4x3 CONV_2D model; `change` edits it into the case under test. */
function convModel(change: (m: TestModel) => void = () => {}): Uint8Array {
  const model: TestModel = {
    tensors: [q([1, 4, 4, 2]), { shape: [3, 1, 1, 2], type: 'INT8', scales: [0.01], data: new Uint8Array(6).fill(3) }, { shape: [3], type: 'INT32', scales: [0.0005], data: new Uint8Array(12) }, q([1, 4, 4, 3])],
    operators: [{ code: 3, inputs: [0, 1, 2], outputs: [3], optionsType: 1, options: [{ id: 0, byte: 1 }, { id: 1, int: 1 }, { id: 2, int: 1 }, { id: 3, byte: 0 }] }],
    inputs: [0], outputs: [3],
  };
  change(model);
  return buildTflite(model);
}

function refusal(bytes: Uint8Array): TernError {
  try {
    importTflite(bytes);
  } catch (error) {
    if (error instanceof TernError) return error;
    throw error;
  }
  throw new Error('the model was accepted');
}

describe('tern infer import: refusals', () => {
  it('accepts the unmodified test model', () => {
    expect(importTflite(convModel()).layers.map((l) => l.op)).toEqual(['CONV_2D']);
  });

  it('refuses an unsupported operator by its name', () => {
    const e = refusal(convModel((m) => { m.operators[0] = { code: 28, inputs: [0], outputs: [3] }; }));
    expect(e).toBeInstanceOf(UnsupportedOperatorError);
    expect((e as UnsupportedOperatorError).operator).toBe('TANH');
    expect(e.message).toContain('TANH');
  });

  it('refuses a custom operator by its name', () => {
    const e = refusal(convModel((m) => { m.operators[0]!.code = 'MyFancyOp'; }));
    expect((e as UnsupportedOperatorError).operator).toBe('CUSTOM MyFancyOp');
  });

  it('refuses a fused TANH activation, naming it', () => {
    const e = refusal(convModel((m) => { m.operators[0]!.options![3] = { id: 3, byte: 4 }; }));
    expect(e).toBeInstanceOf(UnsupportedOperatorError);
    expect(e.message).toContain('fused activation TANH');
  });

  it('refuses options of another operator', () => {
    expect(refusal(convModel((m) => { m.operators[0]!.optionsType = 5; }))).toBeInstanceOf(UnsupportedOperatorError);
  });

  it('refuses uint8 and int16 activations', () => {
    for (const type of ['UINT8', 'INT16'] as const) {
      const e = refusal(convModel((m) => { m.tensors[0]!.type = type; }));
      expect(e).toBeInstanceOf(UnsupportedOperatorError);
      expect(e.message).toContain(type);
    }
  });

  it('refuses NaN, infinite, zero, negative and huge scales', () => {
    for (const scale of [NaN, Infinity, 0, -0.5, 3e38]) {
      expect(refusal(convModel((m) => { m.tensors[0]!.scales = [scale]; }))).toBeInstanceOf(QuantisationError);
      expect(refusal(convModel((m) => { m.tensors[1]!.scales = [scale]; }))).toBeInstanceOf(QuantisationError);
    }
  });

  it('refuses a zero point outside int8 and an asymmetric filter', () => {
    expect(refusal(convModel((m) => { m.tensors[3]!.zeroPoints = [300]; }))).toBeInstanceOf(QuantisationError);
    expect(refusal(convModel((m) => { m.tensors[1]!.zeroPoints = [5]; }))).toBeInstanceOf(QuantisationError);
  });

  it('refuses per-channel scales on the wrong dimension', () => {
    expect(refusal(convModel((m) => { m.tensors[1]!.scales = [0.01, 0.02, 0.03]; m.tensors[1]!.quantizedDimension = 3; }))).toBeInstanceOf(QuantisationError);
  });

  it('refuses an output shape the options do not give', () => {
    expect(refusal(convModel((m) => { m.tensors[3]!.shape = [1, 5, 4, 3]; }))).toBeInstanceOf(UnsupportedOperatorError);
  });

  it('refuses tensor shapes beyond core memory with ModelSizeError', () => {
    const e = refusal(convModel((m) => { m.tensors[0]!.shape = [1, 65536, 65536, 2]; m.tensors[3]!.shape = [1, 65536, 65536, 3]; }));
    expect(e).toBeInstanceOf(ModelSizeError);
  });

  it('refuses a model of two subgraphs and one of another schema version', () => {
    expect(refusal(convModel((m) => { m.subgraphs = 2; }))).toBeInstanceOf(UnsupportedOperatorError);
    expect(refusal(convModel((m) => { m.version = 2; }))).toBeInstanceOf(ModelFormatError);
  });

  it('refuses every truncation of a real model with ModelFormatError', () => {
    const model = new Uint8Array(readFileSync(new URL('../../../shared/vectors/tflite/micro_speech_quantized.tflite', import.meta.url)));
    for (let length = 0; length < model.length; length += 97) {
      expect(refusal(model.subarray(0, length))).toBeInstanceOf(ModelFormatError);
    }
  });

  it('answers corrupted bytes with a typed error or a model that still validates, never a crash', () => {
    const model = new Uint8Array(readFileSync(new URL('../../../shared/vectors/tflite/hello_world_int8.tflite', import.meta.url)));
    let refused = 0;
    for (let at = 0; at < model.length; at++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = model.slice();
        bad[at]! ^= flip;
        try {
          importTflite(bad);
        } catch (error) {
          expect(error).toBeInstanceOf(TernError);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
