// Model activation and rollback: verified before activation (checksum, approved digest, plan),
// stored durably with the active/previous record, the running model kept on any failure,
// recovered at restart; the critical commands that drive it; the infer task switching models
// between runs. Only the active and the previous model files are kept (what restart and rollback
// read); uplinked through the real file service, an activated file leaves the incoming directory.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRegistry } from '../../flight/cmd/commands.js';
import type { StoredFile } from '../../flight/cmd/uplink.js';
import { signFile } from '../../flight/cmd/uplink-envelope.js';
import { bindInferCommands, INFER_COMMANDS } from '../../flight/infer/commands.js';
import { InferInputError, ModelFormatError } from '../../flight/infer/errors.js';
import { modelDigest, readTern, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { ModelManager } from '../../flight/infer/models.js';
import { InferNode } from '../../flight/infer/node.js';
import { InferTask, type InferResult } from '../../flight/infer/task.js';
import { readGrayBmp } from '../../flight/infer/bmp.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { dsa, envelope, harness, NODE, testOperator } from '../cmd/support/harness.js';
import { until } from '../support/wait.js';

const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const tern = (name: string): Uint8Array => writeTern(importTflite(new Uint8Array(readFileSync(new URL(name, VECTORS)))));
const person = tern('person_detect.tflite');
const hello = tern('hello_world_int8.tflite');
const speech = tern('micro_speech_quantized.tflite');
const personImage = readGrayBmp(new Uint8Array(readFileSync(new URL('person.bmp', VECTORS)))).pixels;
const frame = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function setup(dir = mkdtempSync(join(tmpdir(), 'tern-models-'))) {
  dirs.push(dir);
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const emitted: EventRecord[] = [];
  events.onEvent((e) => emitted.push(e));
  const manager = new ModelManager({ dir: join(dir, 'models') });
  manager.bindTelemetry(tlm, events);
  return { dir, manager, tlm, emitted, refused: () => tlm.get('infer.modelsRefused')!.value };
}

function personOutput(manager: ModelManager): number[] {
  const model = manager.model!;
  model.setInput(personImage);
  model.run();
  return [...model.output().int8];
}

describe('model manager', () => {
  it('activates a verified model, keeps the previous one and rolls back to it', () => {
    const { manager, emitted } = setup();
    manager.activate(person, modelDigest(person));
    expect(personOutput(manager)).toEqual([-113, 113]);
    manager.activate(hello, modelDigest(hello));
    expect(manager.active).toBe(modelDigest(hello));
    expect(manager.previous).toBe(modelDigest(person));
    manager.rollback();
    expect(manager.active).toBe(modelDigest(person));
    expect(personOutput(manager)).toEqual([-113, 113]);
    expect(emitted.filter((e) => e.name === 'INFER_MODEL_ACTIVATED')).toHaveLength(3);
  });

  it('refuses a corrupt file, a digest the operators did not approve and a .tflite, and keeps the running model', () => {
    const { manager, refused, emitted } = setup();
    manager.activate(person, modelDigest(person));
    const corrupt = hello.slice();
    corrupt[200]! ^= 1;
    expect(() => manager.activate(corrupt, modelDigest(hello))).toThrow(ModelFormatError);
    expect(() => manager.activate(hello, modelDigest(person))).toThrow(/approved digest/);
    expect(() => manager.activate(new Uint8Array(readFileSync(new URL('hello_world_int8.tflite', VECTORS))), modelDigest(hello))).toThrow(ModelFormatError);
    expect(refused()).toBe(3);
    expect(emitted.filter((e) => e.name === 'INFER_MODEL_REFUSED')).toHaveLength(3);
    expect(manager.active).toBe(modelDigest(person));
    expect(personOutput(manager)).toEqual([-113, 113]);
    expect(() => setup().manager.rollback()).toThrow(ModelFormatError);
  });

  it('restores the active model at restart, and the previous one if the active file was damaged', () => {
    const first = setup();
    first.manager.activate(person, modelDigest(person));
    first.manager.activate(hello, modelDigest(hello));
    const again = setup(first.dir);
    expect(again.manager.open()).toBeDefined();
    expect(again.manager.active).toBe(modelDigest(hello));
    // An upset in the stored active model: the node comes up on the previous one, and says so.
    const stored = join(first.dir, 'models', `${modelDigest(hello)}.tern`);
    const damaged = readFileSync(stored);
    damaged[100]! ^= 0x40;
    writeFileSync(stored, damaged);
    const third = setup(first.dir);
    third.manager.open();
    expect(third.manager.active).toBe(modelDigest(person));
    expect(personOutput(third.manager)).toEqual([-113, 113]);
    expect(third.refused()).toBe(1);
  });
});

describe('INFER_ACTIVATE_MODEL and INFER_ROLLBACK_MODEL', () => {
  it('are critical, activate an uplinked file named by its SHA-256 and roll back; a file that is not the approved one is refused', async () => {
    const { dir, manager, refused } = setup();
    expect(INFER_COMMANDS.activateModel.criticality).toBe('critical');
    expect(INFER_COMMANDS.rollbackModel.criticality).toBe('critical');
    const registry = new CommandRegistry();
    registry.declare(INFER_COMMANDS);
    bindInferCommands(registry, manager, dir);
    // As the file service stores them: named by the SHA-256 of the whole file.
    const file = (bytes: Uint8Array): string => {
      const sha = createHash('sha256').update(bytes).digest('hex');
      writeFileSync(join(dir, sha), bytes);
      return sha;
    };
    const personFile = file(person);
    const helloFile = file(hello);
    const run = (name: string, args: Record<string, string>) => registry.lookup(registry.named(name)!.opcode)!.binding.handler(args, { operator: 1, approvers: [2, 3], source: 'ground', nowMs: 0 });
    expect(run('INFER_ACTIVATE_MODEL', { sha256: personFile })).toMatchObject({ status: 'activating', sha256: personFile });
    await until(() => manager.active === modelDigest(person), 'person_detect active');
    run('INFER_ACTIVATE_MODEL', { sha256: helloFile });
    await until(() => manager.active === modelDigest(hello), 'hello_world active');
    expect(run('INFER_ROLLBACK_MODEL', {})).toMatchObject({ status: 'active', sha256: modelDigest(person) });
    expect(() => run('INFER_ACTIVATE_MODEL', { sha256: '../models/models.json' })).toThrow(InferInputError);
    // The file under the approved name was replaced: not what the operators approved.
    writeFileSync(join(dir, helloFile), person);
    const before = refused();
    run('INFER_ACTIVATE_MODEL', { sha256: helloFile });
    await until(() => refused() === before + 1, 'the altered file refused');
    expect(manager.active).toBe(modelDigest(person));
  });
});

describe('models uplinked through the file service', () => {
  /** An InferNode as flight/app.ts builds it, its model kind registered with commanding's file service. */
  function inferNode(dir: string) {
    const h = harness({ operators: [testOperator(1)], dataDir: dir });
    const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
    const infer = new InferNode({
      config: { budgetUs: 2000, derate: 0.5, queueLength: 4, maxModelBytes: 1 << 20 },
      node: NODE, dataDir: dir, tlm: h.tlm, events, log: createRootLogger({ level: 'silent' }), nowUs: () => 0,
      send: () => Promise.resolve('id'), register: () => {},
    });
    const registry = new CommandRegistry();
    infer.bindCommands(registry);
    h.commanding.uplink.accept('model', infer.uplinkKind());
    const upload = (bytes: Uint8Array): Promise<StoredFile> => h.deliverFile(signFile(dsa, bytes, { target: NODE, kind: 'model', name: 'm.tern', signer: testOperator(1) }));
    const run = (name: string, args: Record<string, string>) => registry.lookup(registry.named(name)!.opcode)!.binding.handler(args, { operator: 1, approvers: [2], source: 'ground', nowMs: 0 });
    const activate = async (sha256: string): Promise<void> => {
      run('INFER_ACTIVATE_MODEL', { sha256 });
      await until(() => infer.models.active === sha256, `${sha256} active`);
    };
    const files = (sub: string): string[] => readdirSync(join(dir, 'infer', sub)).sort();
    let seq = 1;
    /** FILE_DELETE signed by one operator; its outcome. */
    const fileDelete = (sha256: string) => h.send(envelope({ command: 'FILE_DELETE', args: [sha256], seq: seq++, signers: [testOperator(1)] }, h.wall.ms)).at(-1);
    return { h, infer, upload, run, activate, files, fileDelete, events };
  }

  it('after A, B, C keeps only C and B (active, previous) and no activated file in incoming; a restart runs C and rolls back to B', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-models-uplink-'));
    dirs.push(dir);
    const n = inferNode(dir);
    const [a, b, c] = [person, hello, speech].map(modelDigest);
    for (const bytes of [person, hello, speech]) await n.upload(bytes);
    expect(n.files('incoming')).toEqual([a!, b!, c!].sort());
    await n.activate(a!);
    await n.activate(b!);
    await until(() => n.h.value('cmd.uplink.removed') === 2, 'A and B removed from incoming');
    // C was never activated: it stays for the operators.
    expect(n.files('incoming')).toEqual([c!]);
    await n.activate(c!);
    await until(() => n.h.value('cmd.uplink.removed') === 3, 'C removed from incoming');
    expect(n.files('incoming')).toEqual([]);
    expect(n.h.value('cmd.uplink.incomingBytes')).toBe(0);
    expect(n.files('models')).toEqual([`${b!}.tern`, `${c!}.tern`, 'models.json'].sort());
    expect(n.h.value('infer.modelsRemoved')).toBe(1);

    const restarted = inferNode(dir);
    expect(restarted.infer.models.active).toBe(c);
    expect(restarted.infer.models.model!.plan.layers.length).toBe(readTern(speech).layers.length);
    expect(restarted.run('INFER_ROLLBACK_MODEL', {})).toMatchObject({ status: 'active', sha256: b });
    expect(restarted.files('models')).toEqual([`${b!}.tern`, `${c!}.tern`, 'models.json'].sort());
    expect(restarted.h.value('infer.modelsRemoved')).toBe(0);
  });

  it('FILE_DELETE: a deleted model cannot be activated (refused, the active one keeps running); the active model is not deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-models-delete-'));
    dirs.push(dir);
    const n = inferNode(dir);
    const refused: EventRecord[] = [];
    n.events.onEvent((e) => { if (e.name === 'INFER_MODEL_REFUSED') refused.push(e); });
    const [a, b] = [person, hello].map(modelDigest);
    await n.upload(person);
    await n.upload(hello);
    await n.activate(a!);
    expect(n.fileDelete(b!)).toMatchObject({ status: 'executed', result: { kind: 'model', sha256: b } });
    expect(n.run('INFER_ACTIVATE_MODEL', { sha256: b! })).toMatchObject({ status: 'activating' });
    await until(() => refused.length === 1, 'the deleted model refused');
    expect(refused[0]!.args).toMatchObject({ code: 'ENOENT' });
    expect(n.infer.models.active).toBe(a);
    // The active model, uploaded again: its copy in incoming is not FILE_DELETE's to remove.
    await until(() => n.files('incoming').length === 0, 'A removed once activated, B deleted');
    await n.upload(person);
    expect(n.fileDelete(a!)).toMatchObject({ status: 'failed', reason: 'UPLINK_DELETE_ACTIVE' });
    expect(n.files('incoming')).toEqual([a!]);
  });
});

describe('infer task and model changes', () => {
  it('finishes a run on the model it began with and uses the new one from the next input', () => {
    const { manager } = setup();
    const first = manager.activate(person, modelDigest(person));
    const results: InferResult[] = [];
    const task = new InferTask(first, { name: 'infer.t', criticality: 'low', budgetUs: 1000, workPerUs: 1000 }, (r) => results.push(r));
    manager.onActivate((model) => task.useModel(model));
    task.submit(personImage, 'a');
    task.run(frame);
    manager.activate(hello, modelDigest(hello));
    while (task.pending > 0) task.run(frame);
    expect(task.submit(new Uint8Array([0]), 'b')).toBe(true);
    while (task.pending > 0) task.run(frame);
    expect(results.map((r) => [r.tag, r.output.int8.length])).toEqual([['a', 2], ['b', 1]]);
    expect(results[0]!.output.int8).toEqual([-113, 113]);
  });
});
