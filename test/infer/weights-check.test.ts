// The inference task's check of protected weights before each run (flight/infer/task.ts): with
// ecc on, the kernels read person_detect's weights in place and only the scrubber corrects them,
// so an upset since its last pass would reach the next run. Each run therefore begins by checking
// every block (corrected in place, or the model reloaded from its verified file), in the first
// slots of the run and within the slot's budget. The upset used, a high bit of a weight near the
// end of the constants (the output layer's), turns [-113, 113] into [-40, 40] when not caught.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Core } from '../../flight/core/wasm.js';
import { ECC_DEFAULTS } from '../../flight/ecc/config.js';
import { NodeProtection } from '../../flight/ecc/node.js';
import type { ProtectedWeights } from '../../flight/ecc/weights.js';
import type { ServiceHandler } from '../../flight/dtn/agent/context.js';
import type { Outgoing } from '../../flight/dtn/agent/originate.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import type { FrameInfo } from '../../flight/exec/task.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { modelDigest, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { ModelManager } from '../../flight/infer/models.js';
import { InferNode } from '../../flight/infer/node.js';
import { protectModels } from '../../flight/infer/protection.js';
import { InferTask, type InferResult, type WeightsCheck } from '../../flight/infer/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';

const CORE = new Core();
const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const PERSON = writeTern(importTflite(new Uint8Array(readFileSync(new URL('person_detect.tflite', VECTORS)))));
const IMAGE = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;
const BUDGET_US = 1000;
/** 100 KB of weights checked per slot: person_detect's 456 KB take the first five slots of a run. */
const CHECK_BYTES_PER_SLOT = 100_000;
/** A high bit (byte 7, bit 6) of a word of the output layer's weights. */
const UPSET = { word: 56914, bit: 62 };
const FRAME = {} as FrameInfo;

function node(checked: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'tern-infer-weights-check-'));
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const p = new NodeProtection({ core: CORE, tlm, events, dir: join(dir, 'ecc'), config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
  const manager = new ModelManager({ dir: join(dir, 'models') });
  const model = manager.activate(PERSON, modelDigest(PERSON));
  const results: InferResult[] = [];
  const task = new InferTask(model, { name: 'infer.triage', criticality: 'low', budgetUs: BUDGET_US, workPerUs: model.maxUnitWork }, (r) => results.push(r));
  task.bindTelemetry(tlm, events);
  manager.onActivate((m) => task.useModel(m));
  // Bytes each slot's check touched (the check seen through a counter), per slot.
  let slotBytes = 0;
  const counted = (w: ProtectedWeights): WeightsCheck => ({
    blocks: w.blocks,
    blockLength: (b) => w.blockLength(b),
    scrubBlock: (b) => {
      slotBytes += w.blockLength(b);
      return w.scrubBlock(b);
    },
  });
  // As the app wires it, with a fixed check rate so that the slots a check takes are known.
  protectModels(p, manager, checked ? {
    checkWeightsBeforeRuns: (checkOf) => task.checkWeights({
      checkOf: (m) => {
        const w = checkOf(m);
        return w && counted(w as ProtectedWeights);
      },
      bytesPerUs: CHECK_BYTES_PER_SLOT / BUDGET_US,
    }),
  } : undefined);
  const weights = (): ProtectedWeights => p.memory.scrubbed.find((s) => s.name === 'model-weights') as ProtectedWeights;
  /** Submits the image and runs the task slot by slot to its result; the bytes checked per slot. */
  const infer = (): { result: InferResult; checkedPerSlot: number[] } => {
    expect(task.submit(IMAGE, `image-${results.length}`)).toBe(true);
    const checkedPerSlot: number[] = [];
    const before = results.length;
    for (let slot = 0; results.length === before; slot++) {
      expect(slot).toBeLessThan(10_000);
      slotBytes = 0;
      task.run(FRAME);
      checkedPerSlot.push(slotBytes);
    }
    return { result: results.at(-1)!, checkedPerSlot };
  };
  return { manager, weights, infer, value: (name: string) => tlm.get(name)!.value };
}

describe('weights checked before each inference run', () => {
  it('without the check, an upset between scrubs changes the next result (what the check is for)', () => {
    const { infer, weights } = node(false);
    expect(infer().result.output.int8).toEqual([-113, 113]);
    weights().flip(UPSET.word, UPSET.bit);
    expect(infer().result.output.int8).toEqual([-40, 40]);
  });

  it('a single-bit upset is corrected before the next run: the upset-free result, the repair counted', () => {
    const { infer, weights, value } = node(true);
    const clean = infer().result.output.int8;
    expect(clean).toEqual([-113, 113]);
    expect(value('infer.weightsRepaired')).toBe(0);
    weights().flip(UPSET.word, UPSET.bit);
    expect(infer().result.output.int8).toEqual(clean);
    expect(value('infer.weightsChecked')).toBe(2);
    expect(value('infer.weightsRepaired')).toBe(1);
    expect(value('ecc.region.model-weights.corrected')).toBe(1);
    expect(value('ecc.region.model-weights.reloads')).toBe(0);
  });

  it('a double-bit upset reloads the model from its file before the run, which then runs on the reloaded model', () => {
    const { infer, weights, value, manager } = node(true);
    const before = manager.model;
    weights().flip(UPSET.word, UPSET.bit);
    weights().flip(UPSET.word, UPSET.bit - 8);
    expect(infer().result.output.int8).toEqual([-113, 113]);
    expect(manager.model).not.toBe(before);
    expect(value('ecc.region.model-weights.reloads')).toBe(1);
    expect(value('infer.weightsRepaired')).toBe(1);
    expect(value('infer.weightsChecked')).toBe(1);
  });

  it('the check takes the first slots of a run, never more than its budget per slot', () => {
    const { infer, weights } = node(true);
    const total = weights().codewords * 8;
    const { checkedPerSlot } = infer();
    const checking = checkedPerSlot.filter((bytes) => bytes > 0);
    expect(checkedPerSlot.slice(0, checking.length)).toEqual(checking); // a cursor: the first slots, in a row
    expect(checking.reduce((a, b) => a + b, 0)).toBe(total);
    expect(Math.max(...checking)).toBeLessThanOrEqual(CHECK_BYTES_PER_SLOT);
    expect(checking.length).toBe(Math.ceil(total / (Math.floor(CHECK_BYTES_PER_SLOT / weights().blockBytes) * weights().blockBytes)));
  });
});

describe('on a node: triage wired to protected memory as the app wires it', () => {
  /** An InferNode with person_detect and NodeProtection; `checked` as flight/app.ts passes the node to protectModels. */
  function triageNode(checked: boolean) {
    const dir = mkdtempSync(join(tmpdir(), 'tern-infer-weights-node-'));
    const tlm = new TelemetryRegistry();
    const log = createRootLogger({ level: 'silent' });
    const events = new EventLog(log, () => 0);
    const p = new NodeProtection({ core: CORE, tlm, events, dir: join(dir, 'ecc'), config: { scrub: ECC_DEFAULTS.scrub, store: ECC_DEFAULTS.store } });
    const sent: Outgoing[] = [];
    let handler: ServiceHandler | undefined;
    const infer = new InferNode({
      config: {
        model: fileURLToPath(new URL('person_detect.tflite', VECTORS)), budgetUs: 2000, derate: 0.5, queueLength: 4, maxModelBytes: 1 << 20,
        triage: { scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.5, downlink: ipn(100, 14), lifetimeS: 60 },
      },
      node: 20, dataDir: dir, tlm, events, log, nowUs: () => 0,
      send: async (out) => {
        sent.push(out);
        return 'sent';
      },
      register: (_service, h) => (handler = h),
    });
    protectModels(p, infer.models, checked ? infer : undefined);
    const [task] = infer.tasks();
    let sequence = 0;
    /** The priority person.bmp is sent down at: 2 expedited, 1 kept. */
    const triage = async (): Promise<number | undefined> => {
      let done = false;
      const delivery = Promise.resolve(handler!(createBundle({ destination: ipn(20, 14), source: ipn(9, 1), creationTime: 1, sequence: sequence++, lifetime: 60_000, payload: IMAGE }), {})).then(() => (done = true));
      for (let slot = 0; !done; slot++) {
        expect(slot).toBeLessThan(10_000);
        task!.run(FRAME);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await delivery;
      return sent.at(-1)?.priority;
    };
    const weights = (): ProtectedWeights => p.memory.scrubbed.find((s) => s.name === 'model-weights') as ProtectedWeights;
    return { triage, weights, value: (name: string) => tlm.get(name)!.value };
  }

  it('an upset between scrubs leaves the next image expedited, the repair counted (unchecked: only kept)', async () => {
    const unchecked = triageNode(false);
    expect(await unchecked.triage()).toBe(2);
    unchecked.weights().flip(UPSET.word, UPSET.bit);
    expect(await unchecked.triage()).toBe(1);

    const node = triageNode(true);
    expect(await node.triage()).toBe(2);
    node.weights().flip(UPSET.word, UPSET.bit);
    expect(await node.triage()).toBe(2);
    expect(node.value('infer.weightsChecked')).toBe(2);
    expect(node.value('infer.weightsRepaired')).toBe(1);
  });
});
