// The starting model and the models service of a node (service 13): a configured .tflite is
// imported and activated once, then loaded from the store at restart; an uplinked .tern is stored durably under its
// body's digest for INFER_ACTIVATE_MODEL; a file too large, one that is not a .tern, and, on a node
// with BPSec sessions, one whose last hop no session sealed are refused with a counter and an event.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ServiceHandler } from '../../flight/dtn/agent/context.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { INFER_SERVICE } from '../../flight/infer/config.js';
import { InferInputError, ModelFormatError } from '../../flight/infer/errors.js';
import { modelDigest, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { InferNode } from '../../flight/infer/node.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

const hello = writeTern(importTflite(new Uint8Array(readFileSync(new URL('../../../shared/vectors/tflite/hello_world_int8.tflite', import.meta.url)))));
const bundle = (payload: Uint8Array) => createBundle({ destination: ipn(20, INFER_SERVICE.models), source: ipn(101, 1), creationTime: 1, sequence: 0, lifetime: 60_000, payload });

function node(sealedModelsOnly: boolean, maxModelBytes = 1 << 20, model?: string, dir = mkdtempSync(join(tmpdir(), 'tern-models-service-'))) {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const emitted: EventRecord[] = [];
  events.onEvent((e) => emitted.push(e));
  const services = new Map<number, ServiceHandler>();
  const infer = new InferNode({
    config: { ...(model ? { model } : {}), budgetUs: 2000, derate: 0.5, queueLength: 4, maxModelBytes, triage: { scoreIndex: 0, expediteAbove: 0.9, keepAbove: 0.5, downlink: { scheme: 'ipn', node: 100, service: 14 }, lifetimeS: 60 } },
    node: 20, dataDir: dir, tlm, events, log: createRootLogger({ level: 'silent' }), nowUs: () => 0, sealedModelsOnly,
    send: () => Promise.resolve('id'), register: (service, handler) => services.set(service, handler),
  });
  return { dir, infer, receive: services.get(INFER_SERVICE.models)!, emitted, value: (n: string) => tlm.get(n)!.value };
}

describe('models service', () => {
  it('stores a .tern under its digest, durably, for activation', async () => {
    const n = node(false);
    await n.receive(bundle(hello), {});
    const stored = join(n.infer.incoming, `${modelDigest(hello)}.tern`);
    expect(Buffer.from(readFileSync(stored)).equals(Buffer.from(hello))).toBe(true);
    expect(n.value('infer.modelFiles')).toBe(1);
  });

  it('refuses a file too large, one that is no .tern, and an unsealed one on a node with sessions', async () => {
    const small = node(false, 64);
    await expect(small.receive(bundle(hello), {})).rejects.toThrow(ModelFormatError);
    const plain = node(false);
    await expect(plain.receive(bundle(new TextEncoder().encode('not a model')), {})).rejects.toThrow(/a \.tern model/);
    const sealed = node(true);
    await expect(sealed.receive(bundle(hello), {})).rejects.toThrow(InferInputError);
    expect(existsSync(join(sealed.infer.incoming, `${modelDigest(hello)}.tern`))).toBe(false);
    expect(sealed.value('infer.modelsRefused')).toBe(1);
    expect(sealed.emitted.filter((e) => e.name === 'INFER_MODEL_REFUSED').map((e) => e.args.code)).toEqual(['INFER_BAD_INPUT']);
    await sealed.receive(bundle(hello), { sealedBy: 10 });
    expect(sealed.value('infer.modelFiles')).toBe(1);
    for (const n of [small, plain]) expect(n.value('infer.modelsRefused')).toBe(1);
  });

  it('imports the configured .tflite to .tern and activates it once; a restart loads the stored model', () => {
    const tflite = fileURLToPath(new URL('../../../shared/vectors/tflite/person_detect.tflite', import.meta.url));
    const first = node(false, 1 << 20, tflite);
    const person = writeTern(importTflite(new Uint8Array(readFileSync(tflite))));
    expect(first.infer.models.active).toBe(modelDigest(person));
    expect(first.emitted.filter((e) => e.name === 'INFER_MODEL_ACTIVATED')).toHaveLength(1);
    expect(first.infer.tasks().map((t) => t.name)).toEqual(['infer.triage']);
    // Started again on another configured file: the model the node had activated stays.
    const again = node(false, 1 << 20, '/nonexistent.tflite', first.dir);
    expect(again.infer.models.active).toBe(modelDigest(person));
    expect(again.emitted.filter((e) => e.name === 'INFER_MODEL_REFUSED')).toHaveLength(0);
  });
});
