// A contact plan by file uplink on a real node process: satellite 20 routes by a small plan of its
// config; an operator uploads the constellation's 24 h plan (some 200 KB, five times what a
// command argument may hold) with `tern gse upload`, and two operators activate it by its SHA-256
// with ROUTE_PLAN_ACTIVATE (critical, k = 2): the node routes by it and keeps it across a
// restart. A bad plan, uploaded and activated the same way, is refused and the node stays on the
// constellation plan. An unsigned file and one whose signature was forged, sent by a ground peer
// of the test, are refused at the file service with their counters, and nothing of them is stored.
// The bad plan, never activated, is deleted with FILE_DELETE by one operator; activating it then
// fails, and a SHA-256 no file was stored under is refused.
import { Encoder } from 'cbor-x';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TcpclSession } from '../../flight/cla/tcpcl-session.js';
import { UPLINK_SERVICE } from '../../flight/cmd/uplink.js';
import { sha256Hex } from '../../flight/cmd/uplink-envelope.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { readPlanFile } from '../../flight/route/plan-load.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { killAll, REPO, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { twoOperators } from '../support/operators.js';

const SAT = 20;
const PEER = 101;
const CONSTELLATION_PLAN = join(REPO, 'flight/config/missions/constellation/plan.json');
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
type Line = Record<string, unknown>;

let dir: string;
let port: number;
let config: string;
let sat: TernProcess;
let peer: GroundPeer;
let session: TcpclSession;

/** The satellite's log line of event `name` matching `args`, the `nth` such (from 1). */
function event(name: string, args: Record<string, unknown> = {}, nth = 1): Promise<Line> {
  const match = (l: Line) => l.event === name && Object.entries(args).every(([k, v]) => l[k] === v);
  return sat.waitForLine((l) => match(l) && sat.lines.filter(match).indexOf(l) === nth - 1, 60_000);
}

async function command(...args: string[]): Promise<void> {
  await commandBy(['alice.key', 'bob.key'], ...args);
}

async function commandBy(keys: string[], ...args: string[]): Promise<void> {
  const sent = await runTern(['gse', 'send', String(SAT), ...args, ...keys.flatMap((key) => ['--key', key]), '--from', join(dir, `data-${SAT}`), '--via', `127.0.0.1:${port}`], dir);
  expect(sent.code, sent.stderr).toBe(0);
}

/** `tern gse upload --kind plan`; the JSON line it prints. */
async function upload(file: string, ...more: string[]): Promise<{ status: string; sha256: string; bytes: number }> {
  const sent = await runTern(['gse', 'upload', '--kind', 'plan', '--file', file, '--to', String(SAT), '--key', 'alice.key', ...more], dir);
  expect(sent.code, sent.stderr).toBe(0);
  return JSON.parse(sent.stdout) as { status: string; sha256: string; bytes: number };
}

const dataDir = (): string => join(dir, `data-${SAT}`);
const incoming = (): string[] => readdirSync(join(dataDir(), 'route', 'incoming')).sort();

function start(): Promise<Line> {
  sat = startTern(['flight', '--config', config]);
  return sat.waitForLine((l) => l.msg === 'node started', 30_000);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-plan-uplink-e2e-'));
  const cmd = await twoOperators(dir);
  port = await freePort();
  config = writeNodeConfig(dir, { id: SAT, port, routes: {}, cmd, tasks: [['cmd.dispatch', 'cmd.sequence'], [], ['cmd.dispatch'], [], []] });
  writeFileSync(join(dir, 'plan-0.json'), JSON.stringify({ format: 'tern-contact-plan/1', contacts: [{ from: SAT, to: 10, start: 0, end: 86_400, rate: 1e6, owlt: 0.01 }, { from: 10, to: SAT, start: 0, end: 86_400, rate: 1e6, owlt: 0.01 }] }));
  const raw = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  raw.contactPlan = { file: 'plan-0.json', epoch: new Date().toISOString() };
  writeFileSync(config, JSON.stringify(raw, null, 2));
  await start();
  peer = new GroundPeer(PEER);
  session = await peer.tcp.connect('127.0.0.1', port, `ipn:${SAT}.0`);
}, 60_000);

afterAll(async () => {
  killAll(sat ? [sat] : []);
  await peer?.close();
});

describe('a contact plan uplinked as a signed file and activated by k-of-n command, on a node process', () => {
  const contacts = readPlanFile(CONSTELLATION_PLAN).contacts.length;
  let planSha: string;
  let badSha: string;

  it('takes a 200 KB plan uploaded by the CLI, activates it with two operators\' signatures and routes by it', async () => {
    const sent = await upload(CONSTELLATION_PLAN, '--via', `127.0.0.1:${port}`);
    expect(sent.status).toBe('sent');
    expect(sent.bytes).toBeGreaterThan(40 * 1024);
    planSha = sent.sha256;
    expect(planSha).toBe(sha256Hex(readFileSync(CONSTELLATION_PLAN)));
    await event('CMD_FILE_STORED', { kind: 'plan', sha256: planSha, operator: 1, bytes: sent.bytes });
    expect(incoming()).toEqual([planSha]);
    // Stored, not in use: only the command two operators signed changes the plan.
    expect(sat.lines.some((l) => l.event === 'ROUTE_PLAN_ACTIVATED')).toBe(false);
    await command('ROUTE_PLAN_ACTIVATE', planSha);
    expect(await event('ROUTE_PLAN_ACTIVATED')).toMatchObject({ contacts });
    await event('CMD_EXECUTED', { command: 'ROUTE_PLAN_ACTIVATE' });
    expect(readFileSync(join(dataDir(), 'contact-plan'))).toEqual(readFileSync(CONSTELLATION_PLAN));
    // Kept as the node's plan, the uplinked file leaves the incoming directory.
    await event('CMD_FILE_REMOVED', { kind: 'plan', sha256: planSha });
    expect(incoming()).toEqual([]);
  }, 90_000);

  it('refuses a bad plan at activation and stays on the constellation plan', async () => {
    writeFileSync(join(dir, 'bad-plan.json'), JSON.stringify({ format: 'tern-contact-plan/1', contacts: [{ from: 21, to: SAT, start: 10, end: 5, rate: 1, owlt: 0 }] }));
    const bad = await upload('bad-plan.json', '--via', `127.0.0.1:${port}`);
    await event('CMD_FILE_STORED', { sha256: bad.sha256 });
    await command('ROUTE_PLAN_ACTIVATE', bad.sha256);
    expect(String((await event('CMD_FAILED', { command: 'ROUTE_PLAN_ACTIVATE' })).error)).toContain('contacts[0] end');
    await event('ROUTE_PLAN_REJECTED');
    expect(sat.lines.filter((l) => l.event === 'ROUTE_PLAN_ACTIVATED')).toHaveLength(1);
    expect(readFileSync(join(dataDir(), 'contact-plan'))).toEqual(readFileSync(CONSTELLATION_PLAN));
    // Never activated: it stays.
    expect(incoming()).toEqual([bad.sha256]);
    badSha = bad.sha256;
  }, 90_000);

  it('deletes the never-activated bad plan with FILE_DELETE signed by one operator; activating it then fails; an unknown SHA-256 is refused', async () => {
    await commandBy(['alice.key'], 'FILE_DELETE', badSha);
    await event('CMD_FILE_DELETED', { kind: 'plan', sha256: badSha, operator: 1 });
    await event('CMD_EXECUTED', { command: 'FILE_DELETE' });
    expect(incoming()).toEqual([]);
    await command('ROUTE_PLAN_ACTIVATE', badSha);
    expect(String((await event('CMD_FAILED', { command: 'ROUTE_PLAN_ACTIVATE' }, 2)).error)).toContain('ENOENT');
    expect(readFileSync(join(dataDir(), 'contact-plan'))).toEqual(readFileSync(CONSTELLATION_PLAN));
    await commandBy(['alice.key'], 'FILE_DELETE', badSha);
    expect(String((await event('CMD_FAILED', { command: 'FILE_DELETE' })).error)).toContain('FILE_DELETE refused (notStored)');
  }, 90_000);

  it('refuses an unsigned and a forged file at the file service: counters, events, nothing stored', async () => {
    const send = (payload: Uint8Array) => session.send(createBundle({
      destination: ipn(SAT, UPLINK_SERVICE), source: ipn(PEER, 1), creationTime: dtnNow(), sequence: Math.floor(Math.random() * 1e9),
      lifetime: 600_000, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
    }).bytes).catch(() => undefined); // the node may refuse the transfer: what counts is what it stored
    const before = incoming();
    writeFileSync(join(dir, 'other-plan.json'), JSON.stringify({ format: 'tern-contact-plan/1', contacts: [{ from: SAT, to: 11, start: 0, end: 100, rate: 1, owlt: 0 }] }));
    await upload('other-plan.json', '--out', 'signed.cbor');
    const [header, signature, content] = cbor.decode(readFileSync(join(dir, 'signed.cbor'))) as [Uint8Array, [number, Uint8Array, Uint8Array], Uint8Array];
    await send(Uint8Array.from(cbor.encode([header, null, content])));
    await event('CMD_FILE_REFUSED', { reason: 'unsigned' });
    const forged = signature[2].slice();
    forged[7]! ^= 0x40;
    await send(Uint8Array.from(cbor.encode([header, [signature[0], signature[1], forged], content])));
    await event('CMD_FILE_REFUSED', { reason: 'badSignature' });
    expect(incoming()).toEqual(before);
  }, 60_000);

  it('is on the activated plan after a restart; the refusals are in its housekeeping', async () => {
    sat.child.kill('SIGTERM');
    expect((await sat.exited).code).toBe(0);
    const hk = JSON.parse(readFileSync(join(dataDir(), 'housekeeping.json'), 'utf8')) as { channels: Record<string, number> };
    expect(hk.channels).toMatchObject({
      'route.planContacts': contacts, 'route.plansRejected': 2, 'cmd.uplink.stored': 2, 'cmd.uplink.refused': 2,
      'cmd.uplink.refused.unsigned': 1, 'cmd.uplink.refused.badSignature': 1, 'cmd.uplink.removed': 2, 'cmd.uplink.deleted': 1,
      'cmd.uplink.deleteRefused': 1, 'cmd.uplink.incomingBytes': 0,
    });
    await start();
    expect(await event('ROUTE_PLAN_ACTIVATED')).toMatchObject({ contacts });
  }, 60_000);
});
