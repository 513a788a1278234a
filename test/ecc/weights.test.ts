// A model's weights protected in place (flight/ecc/weights.ts): person_detect, activated through
// the model manager from a verified .tern, still classifies person.bmp as [-113, 113] after
// upsets in its weights are scrubbed: single-bit ones corrected in place, double-bit and bursts
// by reloading the model from its file. Without the scrub the same upsets change the output.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { SeuInjector, type UpsetPattern } from '../../flight/ecc/injector.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import type { ProtectedWeights } from '../../flight/ecc/weights.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { modelDigest, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { ModelManager } from '../../flight/infer/models.js';
import { protectModels } from '../../flight/infer/protection.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

const CORE = new Core();
const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const PERSON = writeTern(importTflite(new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS)))));
const IMAGE = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;

function node() {
  const dir = mkdtempSync(join(tmpdir(), 'tern-ecc-weights-'));
  const tlm = new TelemetryRegistry();
  const log = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const events: EventRecord[] = [];
  log.onEvent((e) => events.push(e));
  const p = new NodeProtection({ core: CORE, tlm, events: log, dir: join(dir, 'ecc'), config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
  const manager = new ModelManager({ dir: join(dir, 'models') });
  // As the app wires it: every model that becomes active is protected, and reloads itself.
  protectModels(p, manager);
  manager.activate(PERSON, modelDigest(PERSON));
  const weights = (): ProtectedWeights => p.memory.scrubbed.find((s) => s.name === 'model-weights') as ProtectedWeights;
  const output = (): number[] => {
    const model = manager.model!;
    model.setInput(IMAGE);
    model.run();
    return [...model.output().int8];
  };
  const scrubPass = (): void => {
    const w = weights();
    for (let b = 0; b < w.blocks; b++) w.scrubBlock(b);
  };
  return { p, manager, output, scrubPass, weights, events, value: (name: string) => tlm.get(name)!.value };
}

describe('protected model weights', () => {
  it('covers every constant the kernels read, and the scrubber walks them', () => {
    const { p, manager, weights } = node();
    expect(weights().codewords * 8).toBe(manager.model!.constants.length);
    expect(manager.model!.constants.length).toBeGreaterThan(200_000); // person_detect's prepacked filters and blocks
    expect(p.memory.scrubbed.map((s) => s.name)).toContain('model-weights');
  });

  it('unscrubbed upsets in the weights change the output or trap the run (what protection is for)', () => {
    const { output, weights } = node();
    expect(output()).toEqual([-113, 113]);
    spreadSingles(weights());
    let result: unknown;
    try {
      result = output();
    } catch (error) {
      result = error; // a flipped pointer in a parameter block: the kernel reads out of bounds
    }
    expect(result).not.toEqual([-113, 113]);
  });

  it('single-bit upsets are corrected in place by the scrub: [-113, 113] again, none reloaded', () => {
    const { output, weights, scrubPass, value } = node();
    spreadSingles(weights());
    scrubPass();
    expect(output()).toEqual([-113, 113]);
    expect(value('ecc.region.model-weights.corrected')).toBe(2000);
    expect(value('ecc.region.model-weights.reloads')).toBe(0);
  });

  it.each(['double', 'burst'] as UpsetPattern[])('%s upsets reload the model from its verified file: [-113, 113] again', (pattern) => {
    const { output, weights, scrubPass, value, manager, events } = node();
    const before = manager.model;
    const protection = weights();
    new SeuInjector(9).injectInto(weights(), pattern);
    scrubPass();
    expect(value('ecc.region.model-weights.reloads')).toBe(1);
    expect(manager.model).not.toBe(before);
    // The reloaded model is protected by the same check bits, re-encoded: a reload takes no core memory.
    expect(weights()).toBe(protection);
    expect(events.some((e) => e.name === 'ECC_REGION_RELOADED')).toBe(true);
    expect(output()).toEqual([-113, 113]);
    scrubPass(); // the new model's weights are protected and clean
    expect(value('ecc.region.model-weights.reloads')).toBe(1);
  });
});

/** 2000 single-bit upsets, one per word, spread over every block, data and check bits alike (two
 *  in one word would be a double: the reload cases below). */
function spreadSingles(weights: ProtectedWeights): void {
  const stride = Math.floor(weights.codewords / 2000);
  for (let i = 0; i < 2000; i++) weights.flip(i * stride, (i * 37) % 72);
}
