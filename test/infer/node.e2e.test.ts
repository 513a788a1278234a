// Inference on a real node process: a satellite (20) whose configured model is missing starts
// without one; an operator uploads person_detect as a .tern file signed with their key (`tern gse
// upload`, to the file service), two operators sign INFER_ACTIVATE_MODEL with the file's SHA-256
// (`tern gse send`, critical, k = 2), and image bundles from a ground peer of the test (101) to
// the triage service are scored in executive slices: the person image comes back expedited (QoS
// priority 2), the other is dropped with the "deleted" status report it asked for. A corrupted
// model is refused at activation, a file that is no model and one signed by a key the node does
// not know are refused at upload (nothing stored), while person_detect keeps running. Events come
// from the node's log, counters from its final housekeeping record.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpclSession } from '../../flight/cla/tcpcl-session.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn, type Eid } from '../../flight/dtn/eid.js';
import { decodeStatusReport } from '../../flight/dtn/status-report.js';
import { INFER_SERVICE } from '../../flight/infer/config.js';
import { modelDigest, writeTern } from '../../flight/infer/format.js';
import { importTflite } from '../../flight/infer/importer.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { killAll, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { twoOperators } from '../support/operators.js';
import { until } from '../support/wait.js';

const SAT = 20;
const PEER = 101;
const VECTORS = new URL('../../../shared/vectors/tflite/', import.meta.url);
const vector = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, VECTORS)));
const person = writeTern(importTflite(vector('person_detect.tflite')));
const sha = modelDigest(person);

let dir: string;
let port: number;
let sat: TernProcess;
let peer: GroundPeer;
let session: TcpclSession;
let seq = 0;
type Line = Record<string, unknown>;
const service = (eid: Eid): number | undefined => (eid.scheme === 'ipn' ? eid.service : undefined);

/** A bundle from the test's peer to a service of the satellite. */
async function toSat(service: number, payload: Uint8Array, flags = 0): Promise<void> {
  await session.send(createBundle({
    destination: ipn(SAT, service), source: ipn(PEER, 1), reportTo: ipn(PEER, 0), flags,
    creationTime: dtnNow(), sequence: seq++, lifetime: 600_000, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
  }).bytes);
}

/** The satellite's log line of event `name` matching `args`, the `nth` such (from 1). */
function event(name: string, args: Record<string, unknown> = {}, nth = 1): Promise<Line> {
  const match = (l: Line) => l.event === name && Object.entries(args).every(([k, v]) => l[k] === v);
  return sat.waitForLine((l) => match(l) && sat.lines.filter(match).indexOf(l) === nth - 1, 30_000);
}

async function command(...args: string[]): Promise<void> {
  const sent = await runTern(['gse', 'send', String(SAT), ...args, '--key', 'alice.key', '--key', 'bob.key', '--from', join(dir, `data-${SAT}`), '--via', `127.0.0.1:${port}`], dir);
  expect(sent.code, sent.stderr).toBe(0);
}

/** `tern gse upload` of `bytes` as a model file signed with `key`; the SHA-256 it prints. */
async function upload(name: string, bytes: Uint8Array, key = 'alice.key'): Promise<string> {
  writeFileSync(join(dir, name), bytes);
  const sent = await runTern(['gse', 'upload', '--kind', 'model', '--file', name, '--to', String(SAT), '--key', key, '--via', `127.0.0.1:${port}`], dir);
  expect(sent.code, sent.stderr).toBe(0);
  const result = JSON.parse(sent.stdout) as { status: string; sha256: string; bytes: number };
  expect(result).toMatchObject({ status: 'sent', bytes: bytes.length });
  return result.sha256;
}

const incoming = (): string[] => readdirSync(join(dir, `data-${SAT}`, 'infer', 'incoming'));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-infer-e2e-'));
  const cmd = await twoOperators(dir);
  port = await freePort();
  const file = writeNodeConfig(dir, {
    id: SAT, port, routes: {}, cmd,
    tasks: [['cmd.dispatch', 'cmd.sequence'], ['infer.triage'], ['cmd.dispatch'], ['infer.triage'], []],
  });
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.infer = {
    model: 'no-such-model.tflite', budgetUs: 2000,
    triage: { scoreIndex: 1, expediteAbove: 0.9, keepAbove: 0.5, downlink: `ipn:${PEER}.${INFER_SERVICE.triage}` },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  sat = startTern(['flight', '--config', file]);
  await sat.waitForLine((l) => l.msg === 'node started', 30_000);
  peer = new GroundPeer(PEER);
  session = await peer.tcp.connect('127.0.0.1', port, `ipn:${SAT}.0`);
}, 60_000);

afterAll(async () => {
  killAll(sat ? [sat] : []);
  await peer?.close();
});

describe('inference on a node process: uplink, k-of-n activation, triage, refusals', () => {
  it('starts without its missing configured model, and refuses images until a model is active', async () => {
    await event('INFER_MODEL_REFUSED', { file: join(dir, 'no-such-model.tflite'), code: 'ENOENT' });
    await toSat(INFER_SERVICE.triage, vector('person.bmp'));
    await event('INFER_TRIAGE_REFUSED');
  });

  it('stores an uploaded .tern, activates it by a command two operators signed, and triages images in slices', async () => {
    const file = await upload('person_detect.tern', person);
    // One digest for the model everywhere: the one `tern infer import` and the upload print.
    expect(file).toBe(sha);
    await event('CMD_FILE_STORED', { sha256: file, kind: 'model', operator: 1 });
    expect(incoming()).toEqual([file]);
    await command('INFER_ACTIVATE_MODEL', file);
    expect(await event('INFER_MODEL_ACTIVATED', { sha256: sha })).toMatchObject({ layers: 31 });
    // Activated, the model is kept in infer/models: the uplinked file leaves the incoming directory.
    await event('CMD_FILE_REMOVED', { kind: 'model', sha256: sha });
    expect(incoming()).toEqual([]);

    await toSat(INFER_SERVICE.triage, vector('person.bmp'));
    expect(await event('INFER_TRIAGE_DECISION', { decision: 'expedite' })).toMatchObject({ score: 0.941 });
    const result = await event('INFER_RESULT');
    expect(result.output).toBe('-113, 113');
    expect(result.slots as number).toBeGreaterThan(1);
    // The image comes down first: a new bundle to the downlink endpoint at expedited priority.
    await until(() => peer.received.some(({ bytes }) => service(decodeBundle(bytes).primary.destination) === INFER_SERVICE.triage), 'the expedited image');
    const image = peer.received.map(({ bytes }) => decodeBundle(bytes)).find((b) => service(b.primary.destination) === INFER_SERVICE.triage)!;
    expect(image.qos?.priority).toBe(2);
    expect(image.primary.source).toMatchObject({ node: SAT, service: INFER_SERVICE.triage });

    await toSat(INFER_SERVICE.triage, vector('no_person.bmp'), BundleFlag.reportDeletion);
    expect(await event('INFER_TRIAGE_DECISION', { decision: 'drop' })).toMatchObject({ score: 0.277 });
    await until(() => peer.received.some(({ bytes }) => (decodeBundle(bytes).primary.flags & BundleFlag.adminRecord) !== 0), 'the deletion report');
    const report = peer.received.map(({ bytes }) => decodeBundle(bytes)).find((b) => (b.primary.flags & BundleFlag.adminRecord) !== 0)!;
    expect(decodeStatusReport(report).asserted.deleted).toBeDefined();
  }, 60_000);

  it('refuses a corrupted model at activation, a file that is no model and a forged one at upload; person_detect keeps running', async () => {
    const corrupt = person.slice();
    corrupt[5000]! ^= 0x10;
    // Signed and stored as it was uploaded; the model's own checksum refuses it at activation.
    const corruptFile = await upload('corrupt.tern', corrupt);
    await event('CMD_FILE_STORED', { sha256: corruptFile });
    await command('INFER_ACTIVATE_MODEL', corruptFile);
    expect(await event('INFER_MODEL_REFUSED', { code: 'INFER_BAD_MODEL' })).toMatchObject({ file: join(dir, `data-${SAT}`, 'infer', 'incoming', corruptFile) });

    await upload('not-a-model.tern', new TextEncoder().encode('not a model'));
    await event('CMD_FILE_REFUSED', { reason: 'wrongKind' });
    // Signed by a key of its own that no operator table on board holds.
    const made = await runTern(['gse', 'keygen', '--out', 'mallory.key', '--id', '1', '--name', 'mallory'], dir);
    expect(made.code, made.stderr).toBe(0);
    await upload('forged.tern', person.slice().reverse(), 'mallory.key');
    await event('CMD_FILE_REFUSED', { reason: 'unknownOperator' });
    expect(incoming()).toEqual([corruptFile]);

    await toSat(INFER_SERVICE.triage, vector('person.bmp'));
    expect(await event('INFER_TRIAGE_DECISION', { decision: 'expedite' }, 2)).toMatchObject({ score: 0.941 });

    sat.child.kill('SIGTERM');
    expect((await sat.exited).code).toBe(0);
    const hk = JSON.parse(readFileSync(join(dir, `data-${SAT}`, 'housekeeping.json'), 'utf8')) as { channels: Record<string, number> };
    expect(hk.channels).toMatchObject({
      'infer.runs': 3, 'infer.triage.expedited': 2, 'infer.triage.dropped': 1, 'infer.triage.refused': 1,
      'infer.modelsRefused': 2, 'cmd.uplink.stored': 2, 'cmd.uplink.refused': 2, 'cmd.uplink.removed': 1, 'cmd.uplink.incomingBytes': corrupt.length,
      'cmd.uplink.refused.wrongKind': 1, 'cmd.uplink.refused.unknownOperator': 1,
    });
  }, 60_000);
});
