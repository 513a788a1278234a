// The onboard format: header fields, 16-byte aligned weights, a round trip that keeps every
// bit, and refusal of truncated, corrupted or well-signed but inconsistent files.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARAM_SLOTS, SLOT } from '../../flight/core/infer-kernels.js';
import { core } from '../../flight/core/wasm.js';
import { ModelFormatError } from '../../flight/infer/errors.js';
import { modelDigest, readTern, TERN_MAGIC, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { InferenceCore } from '../../flight/core/wasm.js';
import { TernError } from '../../flight/errors.js';
import { LoadedModel } from '../../flight/infer/model.js';
import { tensorBytes } from '../../flight/infer/plan.js';

const plan = importTflite(new Uint8Array(readFileSync(new URL('../../../shared/vectors/tflite/person_detect.tflite', import.meta.url))));
const file = writeTern(plan);
const view = (f: Uint8Array): DataView => new DataView(f.buffer, f.byteOffset, f.length);

/** Rewrites the checksum and digest after an edit, as a forger (or a buggy tool) would. */
function resign(f: Uint8Array): Uint8Array {
  const body = f.subarray(64);
  view(f).setUint32(16, core().crc32c(body), true);
  f.set(createHash('sha256').update(body).digest(), 20);
  return f;
}

function refused(f: Uint8Array): ModelFormatError {
  try {
    readTern(f);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFormatError);
    return error as ModelFormatError;
  }
  throw new Error('the file was accepted');
}

// Layout constants of format.ts, restated: counts at body offset 0, records after the lists.
const layerRecord = (i: number): number => {
  const v = view(file);
  const [tensors, , inputs, outputs] = [0, 1, 2, 3].map((k) => v.getUint32(64 + 4 * k, true)) as [number, number, number, number];
  const tensorsAt = Math.ceil((24 + 4 * (inputs + outputs)) / 16) * 16;
  return 64 + tensorsAt + 40 * tensors + (64 + PARAM_SLOTS * 4) * i;
};

describe('.tern onboard format', () => {
  it('has the magic, version, body length, CRC-32C and SHA-256 in its header', () => {
    expect(new TextDecoder().decode(file.subarray(0, 8))).toBe(TERN_MAGIC);
    expect(view(file).getUint16(8, true)).toBe(1);
    expect(view(file).getUint32(12, true)).toBe(file.length - 64);
    expect(view(file).getUint32(16, true)).toBe(core().crc32c(file.subarray(64)));
    expect(Buffer.from(file.subarray(20, 52)).toString('hex')).toBe(createHash('sha256').update(file.subarray(64)).digest('hex'));
    // The model's identity is the whole file's SHA-256, what an operator uploads and approves.
    expect(modelDigest(file)).toBe(createHash('sha256').update(file).digest('hex'));
  });

  it('keeps weights 16-byte aligned in the file', () => {
    const v = view(file);
    const blobAt = 64 + v.getUint32(64 + 16, true);
    expect(blobAt % 16).toBe(0);
    for (let i = 0; i < plan.layers.length; i++) {
      const filterOffset = v.getUint32(layerRecord(i) + 28, true);
      expect((blobAt + filterOffset) % 16).toBe(0);
    }
  });

  it('reads back the plan it wrote, bit for bit, and writes the same file again', () => {
    const back = readTern(file);
    const digest = (b: Uint8Array | undefined): string => (b ? createHash('sha256').update(b).digest('hex') : '-');
    const summary = (p: typeof plan) => p.layers.map((l) => [l.op, [...l.params], ...[l.filter, l.bias, l.multiplier, l.shift].map(digest)]);
    expect(summary(back)).toEqual(summary(plan));
    expect(Buffer.from(writeTern(back)).equals(Buffer.from(file))).toBe(true);
  });

  it('refuses every truncation', () => {
    for (let length = 0; length < file.length; length += 4099) refused(file.subarray(0, length));
    refused(file.subarray(0, file.length - 1));
  });

  it('refuses a flipped bit anywhere (checksum or digest)', () => {
    for (let at = 0; at < file.length; at += 997) {
      if (at >= 8 && at < 12) continue; // version and reserved bytes have their own checks below
      const bad = file.slice();
      bad[at]! ^= 0x10;
      refused(bad);
    }
  });

  it('refuses another version', () => {
    const bad = file.slice();
    view(bad).setUint16(8, 2, true);
    expect(refused(bad).field).toBe('version');
  });

  it('refuses a correctly signed file whose layer geometry does not match its tensors', () => {
    const bad = file.slice();
    view(bad).setInt32(layerRecord(3) + 64 + 4 * SLOT.IN_C, 9999, true);
    expect(refused(resign(bad)).message).toMatch(/layer 3/);
  });

  it('refuses a correctly signed file whose weights point outside the blob area', () => {
    const bad = file.slice();
    view(bad).setUint32(layerRecord(2) + 28, 0x7ffffff0, true);
    expect(refused(resign(bad)).message).toMatch(/layer 2 filter/);
  });

  it('answers correctly signed random damage to the records with a typed error or a model that runs', () => {
    const hello = writeTern(importTflite(new Uint8Array(readFileSync(new URL('../../../shared/vectors/tflite/hello_world_int8.tflite', import.meta.url)))));
    const blobAt = 64 + view(hello).getUint32(64 + 16, true);
    const inference = new InferenceCore('scalar');
    let seed = 12345;
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    let refusedCount = 0;
    let ran = 0;
    for (let trial = 0; trial < 300; trial++) {
      const bad = hello.slice();
      for (let k = 0; k <= random(3); k++) bad[64 + random(blobAt - 64)] = random(256);
      let plan;
      try {
        plan = readTern(resign(bad));
      } catch (error) {
        expect(error).toBeInstanceOf(TernError);
        refusedCount++;
        continue;
      }
      // What passes every check must run inside its own memory: no trap, no out-of-range access.
      let model;
      try {
        model = new LoadedModel(inference, plan);
      } catch (error) {
        expect(error).toBeInstanceOf(TernError);
        continue;
      }
      model.setInput(new Uint8Array(tensorBytes(plan.tensors[plan.inputs[0]!]!)));
      model.run();
      expect(model.output().int8.length).toBeGreaterThan(0);
      ran++;
    }
    expect(refusedCount).toBeGreaterThan(0);
    expect(refusedCount + ran).toBeGreaterThan(250);
  });

  it('refuses a correctly signed file that understates a layer\'s work (the slicer budgets by it)', () => {
    const bad = file.slice();
    view(bad).setUint32(layerRecord(2) + 20, 1, true);
    expect(refused(resign(bad)).message).toMatch(/layer 2 work per unit/);
  });

  it('refuses a correctly signed file with an unknown operator', () => {
    const bad = file.slice();
    view(bad).setUint16(layerRecord(0), 28, true); // TANH
    expect(refused(resign(bad)).message).toMatch(/TANH/);
  });
});
