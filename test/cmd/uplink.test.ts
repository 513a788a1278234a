// The file service: a file signed by an operator of the node's key store (operate role), for this
// node, of a kind it takes, within its size and with the signed SHA-256 is stored durably as
// `<sha256>` in its kind's directory; every other file is an UplinkRefused with its reason, a
// counter per reason and an event, and nothing is stored. The cheap checks refuse at once; the
// signature and the SHA-256 run in the dispatcher task's slots, the hash a slot's budget at a time.
// A file its kind activated leaves the incoming directory; the files never activated are bounded
// by cmd.uplink.incomingBytes, the oldest dropped first. FILE_DELETE deletes a stored file never
// activated, by its SHA-256; anything else it refuses with a typed code, changing nothing.
import { Encoder } from 'cbor-x';
import { createHash, Hash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyId } from '../../flight/cmd/envelope.js';
import { HASH_BYTES_PER_US } from '../../flight/cmd/uplink.js';
import { decodeFile, fileContext, signFile, UplinkRefused, type UplinkReason } from '../../flight/cmd/uplink-envelope.js';
import { until } from '../support/wait.js';
import { dsa, envelope, harness, NODE, testOperator, type HarnessOptions } from './support/harness.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const alice = testOperator(1, ['operate', 'approve']);
const bob = testOperator(2, ['approve']);
const mallory = testOperator(9, ['operate', 'approve'], 'mallory');
const TERN = new Uint8Array([...new TextEncoder().encode('TERNMDL1'), ...new Uint8Array(200).fill(7)]);
const PLAN = new TextEncoder().encode(JSON.stringify({ format: 'tern-contact-plan/1', contacts: [] }));
const MAX_MODEL = 1024;

function service(o: { planBytes?: number; dispatch?: HarnessOptions['dispatch']; incomingBytes?: number; dataDir?: string } = {}) {
  const h = harness({
    operators: [alice, bob], ...(o.dispatch ? { dispatch: o.dispatch } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}),
    ...(o.incomingBytes ? { uplink: { incomingBytes: o.incomingBytes } } : {}),
  });
  const dirs = { model: join(h.dataDir, 'models-in'), plan: join(h.dataDir, 'plans-in') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  // What a kind does once it activated a file (and kept its own copy): tells the file service.
  const activated: Record<'model' | 'plan', Array<(sha256: string) => void>> = { model: [], plan: [] };
  // The SHA-256 each kind has in use, as its kind tells (set by a test).
  const inUse: Partial<Record<'model' | 'plan', string>> = {};
  h.commanding.uplink.accept('model', {
    dir: dirs.model, maxBytes: MAX_MODEL, looksRight: (b) => new TextDecoder().decode(b.subarray(0, 8)) === 'TERNMDL1',
    onActivated: (listener) => activated.model.push(listener), active: () => inUse.model,
  });
  h.commanding.uplink.accept('plan', { dir: dirs.plan, maxBytes: o.planBytes ?? 1 << 20, onActivated: (listener) => activated.plan.push(listener), active: () => inUse.plan });
  const stored = (): string[] => Object.values(dirs).flatMap((d) => readdirSync(d));
  const activate = (kind: 'model' | 'plan', sha256: string): void => activated[kind].forEach((listener) => listener(sha256));
  let seq = 100;
  /** FILE_DELETE signed by one operator; its outcome (after the `accepted` response of its slot). */
  const fileDelete = (sha256: string) => h.send(envelope({ command: 'FILE_DELETE', args: [sha256], seq: seq++, signers: [alice] }, h.wall.ms)).at(-1);
  return { ...h, dirs, stored, activate, inUse, fileDelete };
}

/** A signed plan file of exactly `bytes` bytes, told apart by `n`. */
function planFile(n: number, bytes: number): { envelope: Uint8Array; sha256: string } {
  const head = `{"format":"tern-contact-plan/1","contacts":[],"n":${n},"pad":"`;
  const content = new TextEncoder().encode(`${head}${'x'.repeat(bytes - head.length - 2)}"}`);
  return { envelope: signFile(dsa, content, { target: NODE, kind: 'plan', name: `p${n}.json`, signer: alice }), sha256: createHash('sha256').update(content).digest('hex') };
}


/** A file envelope built field by field, signed (or not) over the header as given. */
function craft(o: { header?: Partial<Record<'target' | 'operator' | 'kind' | 'name' | 'size', unknown>>; content?: Uint8Array; signedContent?: Uint8Array; signer?: typeof alice | null; flip?: boolean }): Uint8Array {
  const signer = o.signer === undefined ? alice : o.signer;
  const content = o.content ?? TERN;
  const signedContent = o.signedContent ?? content;
  const h = { target: NODE, operator: signer?.operator ?? 1, kind: 'model', name: 'm.tern', size: signedContent.length, ...o.header };
  const header = Uint8Array.from(cbor.encode([1, h.target, h.operator, h.kind, h.name, new Uint8Array(createHash('sha256').update(signedContent).digest()), h.size]));
  const sig = signer ? dsa.sign(signer.seed, header, fileContext(typeof h.target === 'number' ? h.target : NODE)) : undefined;
  if (sig && o.flip) sig[100]! ^= 1;
  return Uint8Array.from(cbor.encode([header, signer ? [signer.operator, keyId(signer.publicKey), sig] : null, content]));
}

describe('the file service (cmd.uplink)', () => {
  it('stores a model and a plan signed by an operator durably as <sha256> in their kind\'s directory, with an event each', async () => {
    const s = service();
    const model = await s.deliverFile(signFile(dsa, TERN, { target: NODE, kind: 'model', name: 'dir/person.tern', signer: alice }));
    const sha = createHash('sha256').update(TERN).digest('hex');
    expect(model).toEqual({ kind: 'model', sha256: sha, path: join(s.dirs.model, sha) });
    expect(readFileSync(model.path)).toEqual(Buffer.from(TERN));
    const plan = await s.deliverFile(signFile(dsa, PLAN, { target: NODE, kind: 'plan', name: 'plan.json', signer: alice }));
    expect(readFileSync(join(s.dirs.plan, plan.sha256), 'utf8')).toBe(new TextDecoder().decode(PLAN));
    expect(s.value('cmd.uplink.stored')).toBe(2);
    expect(s.value('cmd.uplink.refused')).toBe(0);
    expect(s.events.filter((e) => e.name === 'CMD_FILE_STORED').map((e) => e.args)).toEqual([
      { kind: 'model', name: 'person.tern', sha256: sha, bytes: TERN.length, operator: 1 },
      { kind: 'plan', name: 'plan.json', sha256: plan.sha256, bytes: PLAN.length, operator: 1 },
    ]);
  });

  it('decodes what signFile writes: header fields, one signature, the content', () => {
    const file = decodeFile(signFile(dsa, PLAN, { target: NODE, kind: 'plan', name: 'p.json', signer: alice }));
    expect(file.header).toMatchObject({ version: 1, target: NODE, operator: 1, kind: 'plan', name: 'p.json', size: PLAN.length, sha256: createHash('sha256').update(PLAN).digest('hex') });
    expect(file.signature?.operator).toBe(1);
    expect(file.content).toEqual(PLAN);
  });

  const altered = TERN.slice();
  altered[50]! ^= 1;
  const cases: Array<[string, UplinkReason, () => Uint8Array]> = [
    ['bytes that are no file envelope (a bare .tern)', 'malformed', () => TERN],
    ['a CBOR tag inside (bounds refuse it before decoding)', 'malformed', () => Uint8Array.of(0x83, 0xc2, 0x41, 0x01, 0xf6, 0x40)],
    ['an unsigned file', 'unsigned', () => craft({ signer: null })],
    ['a file signed by an operator the node does not know', 'unknownOperator', () => craft({ signer: mallory })],
    ['a file signed by an approver without the operate role', 'notAuthorized', () => craft({ signer: bob })],
    ['a forged signature (one bit flipped)', 'badSignature', () => craft({ flip: true })],
    ['a signature by another operator than the header names', 'badSignature', () => craft({ header: { operator: 2 } })],
    ['a file signed for another spacecraft', 'wrongTarget', () => craft({ header: { target: NODE + 1 } })],
    ['a kind the node does not take', 'wrongKind', () => craft({ header: { kind: 'firmware' } })],
    ['a model that is no .tern', 'wrongKind', () => craft({ content: PLAN })],
    ['content altered after signing', 'wrongDigest', () => craft({ content: altered, signedContent: TERN })],
    ['content of another size than signed', 'wrongDigest', () => craft({ header: { size: TERN.length + 1 } })],
    ['a model larger than the kind allows', 'oversize', () => craft({ content: new Uint8Array(MAX_MODEL + 1) })],
    ['an envelope larger than any kind allows (refused before decoding)', 'oversize', () => new Uint8Array(2 << 20)],
  ];
  it.each(cases)('refuses %s: typed error, its counter, an event, nothing stored', async (_what, reason, file) => {
    const s = service();
    const refusal = await s.deliverFile(file()).then(() => undefined, (error: unknown) => error);
    expect(refusal).toBeInstanceOf(UplinkRefused);
    expect((refusal as UplinkRefused).reason).toBe(reason);
    expect(s.value(`cmd.uplink.refused.${reason}`)).toBe(1);
    expect(s.value('cmd.uplink.refused')).toBe(1);
    expect(s.value('cmd.uplink.stored')).toBe(0);
    expect(s.events.filter((e) => e.name === 'CMD_FILE_REFUSED').map((e) => e.args.reason)).toEqual([reason]);
    expect(s.stored()).toEqual([]);
  });

  it('verifies at most cmd.uplinkPerMinute files a minute: the rest are refused unverified until the bucket refills', async () => {
    const s = service();
    s.commanding.params.set('cmd.uplinkPerMinute', 2);
    const file = (i: number) => signFile(dsa, new TextEncoder().encode(`{"format":"tern-contact-plan/1","contacts":[],"n":${i}}`), { target: NODE, kind: 'plan', name: 'p.json', signer: alice });
    await s.deliverFile(file(1));
    await s.deliverFile(file(2));
    await expect(s.deliverFile(file(3))).rejects.toMatchObject({ reason: 'rateLimited' });
    s.clock.advance(30_000_000);
    await s.deliverFile(file(4));
    expect(s.value('cmd.uplink.stored')).toBe(3);
    expect(s.value('cmd.uplink.refused.rateLimited')).toBe(1);
    expect(s.stored()).toHaveLength(3);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('verifies in the dispatcher\'s slots: an 8 MiB file is hashed across slots, none past its budget\'s share of bytes', async () => {
    const budgetUs = 5000;
    const s = service({ planBytes: 16 << 20, dispatch: { budgetUs } });
    const content = new Uint8Array(8 << 20).map((_, i) => (i * 31) & 0xff);
    const done = s.commanding.uplink.receive(signFile(dsa, content, { target: NODE, kind: 'plan', name: 'big.json', signer: alice }));
    let settled = false;
    done.then(() => (settled = true), () => (settled = true));
    const update = vi.spyOn(Hash.prototype, 'update');
    const perSlot: number[] = [];
    while (perSlot.reduce((a, b) => a + b, 0) < content.length && perSlot.length < 1000) {
      update.mockClear();
      s.run(1);
      perSlot.push(update.mock.calls.reduce((sum, [chunk]) => sum + (chunk as unknown as Uint8Array).length, 0));
    }
    update.mockRestore();
    const share = budgetUs * HASH_BYTES_PER_US;
    expect(perSlot.reduce((a, b) => a + b, 0)).toBe(content.length);
    expect(perSlot.length).toBe(Math.ceil(content.length / share));
    expect(Math.max(...perSlot)).toBeLessThanOrEqual(share);
    const stored = await done;
    expect(settled).toBe(true);
    expect(stored.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    expect(readFileSync(stored.path).equals(Buffer.from(content))).toBe(true);
    expect(s.value('cmd.uplink.stored')).toBe(1);
  });

  it('takes its ML-DSA verification from the slot\'s cap, after the commands: none left, the file waits a slot', async () => {
    const s = service({ dispatch: { verificationsPerSlot: 1 } });
    const verify = vi.spyOn(s.commanding.keys, 'verify');
    const fileVerifications = () => verify.mock.calls.filter((call) => call[3] !== undefined).length;
    const done = s.commanding.uplink.receive(signFile(dsa, PLAN, { target: NODE, kind: 'plan', name: 'p.json', signer: alice }));
    s.commanding.submit(envelope({ command: 'NOOP', seq: 1, signers: [alice] }, s.wall.ms));
    s.run(1);
    expect(s.responses.map((r) => r.status)).toEqual(['accepted', 'executed']);
    expect(fileVerifications()).toBe(0);
    s.run(1);
    expect(fileVerifications()).toBe(1);
    await done;
    expect(s.value('cmd.uplink.stored')).toBe(1);
  });

  it('removes a file its kind activated from the incoming directory, durably, counted and reported; a file never activated stays, a torn write goes at start', async () => {
    const s = service();
    const [a, b, c] = [1, 2, 3].map((n) => planFile(n, 300));
    for (const file of [a!, b!, c!]) await s.deliverFile(file.envelope);
    expect(s.value('cmd.uplink.incomingBytes')).toBe(900);
    s.activate('plan', a!.sha256);
    s.activate('plan', c!.sha256);
    // A model the manager activated from elsewhere (the configured one) is no file of the service.
    s.activate('model', createHash('sha256').update('not uplinked').digest('hex'));
    await until(() => s.value('cmd.uplink.removed') === 2, 'the activated files removed');
    expect(s.stored()).toEqual([b!.sha256]);
    expect(s.value('cmd.uplink.incomingBytes')).toBe(300);
    expect(s.value('cmd.uplink.dropped')).toBe(0);
    // Removals end in any order (each its own unlink and directory sync).
    expect(s.events.filter((e) => e.name === 'CMD_FILE_REMOVED').map((e) => e.args).sort((x, y) => String(x.sha256).localeCompare(String(y.sha256)))).toEqual(
      [a!, c!].map((f) => ({ kind: 'plan', sha256: f.sha256, bytes: 300 })).sort((x, y) => x.sha256.localeCompare(y.sha256)));
    // A restart counts what is there, and removes what a crash left half written.
    const torn = join(s.dirs.plan, `${c!.sha256}.tmp-12345`);
    writeFileSync(torn, 'half a pl');
    expect(service({ dataDir: s.dataDir }).value('cmd.uplink.incomingBytes')).toBe(300);
    expect(s.stored()).toEqual([b!.sha256]);
  });

  it('holds at most cmd.uplink.incomingBytes: a new file drops the oldest never-activated ones (counted, reported), also after a restart; a larger file is refused', async () => {
    const s = service({ incomingBytes: 1000 });
    const [a, b, c, d] = [1, 2, 3, 4].map((n) => planFile(n, 400));
    await s.deliverFile(a!.envelope);
    await s.deliverFile(b!.envelope);
    expect(s.value('cmd.uplink.incomingBytes')).toBe(800);
    await s.deliverFile(c!.envelope);
    expect(s.stored().sort()).toEqual([b!.sha256, c!.sha256].sort());
    expect(s.value('cmd.uplink.incomingBytes')).toBe(800);
    expect(s.value('cmd.uplink.dropped')).toBe(1);
    expect(s.value('cmd.uplink.removed')).toBe(1);
    expect(s.events.filter((e) => e.name === 'CMD_FILE_DROPPED').map((e) => e.args)).toEqual([{ kind: 'plan', sha256: a!.sha256, bytes: 400 }]);
    expect(statSync(join(s.dirs.plan, b!.sha256)).mtimeMs).toBeLessThanOrEqual(statSync(join(s.dirs.plan, c!.sha256)).mtimeMs);

    const restarted = service({ incomingBytes: 1000, dataDir: s.dataDir });
    expect(restarted.value('cmd.uplink.incomingBytes')).toBe(800);
    await restarted.deliverFile(d!.envelope);
    expect(restarted.stored().sort()).toEqual([c!.sha256, d!.sha256].sort());
    expect(restarted.value('cmd.uplink.dropped')).toBe(1);

    await expect(restarted.deliverFile(planFile(5, 1001).envelope)).rejects.toMatchObject({ reason: 'oversize', message: expect.stringContaining('cmd.uplink.incomingBytes') });
    expect(restarted.stored().sort()).toEqual([c!.sha256, d!.sha256].sort());
    expect(restarted.value('cmd.uplink.incomingBytes')).toBe(800);
  });

  it('FILE_DELETE (one operator) deletes a stored, never-activated file of any kind: gone from disk at once, durably, incomingBytes down, counted and reported', async () => {
    const s = service();
    const plan = planFile(1, 300);
    await s.deliverFile(plan.envelope);
    const model = await s.deliverFile(signFile(dsa, TERN, { target: NODE, kind: 'model', name: 'm.tern', signer: alice }));
    expect(s.value('cmd.uplink.incomingBytes')).toBe(300 + TERN.length);
    const response = s.fileDelete(model.sha256);
    expect(response).toMatchObject({ status: 'executed', command: 'FILE_DELETE', result: { kind: 'model', sha256: model.sha256, bytes: TERN.length } });
    // Unlinked in the command's slot: an activation after it finds nothing.
    expect(existsSync(model.path)).toBe(false);
    expect(s.value('cmd.uplink.incomingBytes')).toBe(300);
    await until(() => s.value('cmd.uplink.deleted') === 1, 'the deletion durable and counted');
    expect(s.value('cmd.uplink.removed')).toBe(1);
    expect(s.value('cmd.uplink.dropped')).toBe(0);
    expect(s.value('cmd.uplink.deleteRefused')).toBe(0);
    expect(s.events.filter((e) => e.name === 'CMD_FILE_DELETED').map((e) => e.args)).toEqual([{ kind: 'model', sha256: model.sha256, bytes: TERN.length, operator: 1 }]);
    expect(s.stored()).toEqual([plan.sha256]);
    // The kind activating it anyway (it read the file before) changes nothing more.
    s.activate('model', model.sha256);
    expect(s.value('cmd.uplink.removed')).toBe(1);
    // A plan goes the same way; a restart counts nothing of either.
    expect(s.fileDelete(plan.sha256)).toMatchObject({ status: 'executed', result: { kind: 'plan', sha256: plan.sha256, bytes: 300 } });
    await until(() => s.value('cmd.uplink.deleted') === 2, 'the plan deleted');
    expect(s.stored()).toEqual([]);
    expect(service({ dataDir: s.dataDir }).value('cmd.uplink.incomingBytes')).toBe(0);
  });

  const unknown = createHash('sha256').update('never uplinked').digest('hex');
  const refusals: Array<[string, string, (sha256: string) => string]> = [
    ['a string that is no SHA-256', 'UPLINK_DELETE_BAD_SHA256', () => 'not a digest'],
    ['a SHA-256 in upper case (files are named in lower case)', 'UPLINK_DELETE_BAD_SHA256', (sha256) => sha256.toUpperCase()],
    ['an empty string', 'UPLINK_DELETE_BAD_SHA256', () => ''],
    ['a SHA-256 no file was stored under', 'UPLINK_DELETE_NOT_STORED', () => unknown],
    ['the SHA-256 of the plan in use (uploaded again)', 'UPLINK_DELETE_ACTIVE', (sha256) => sha256],
  ];
  it.each(refusals)('FILE_DELETE refuses %s: typed code in the response, counted, nothing changes', async (_what, code, name) => {
    const s = service();
    const plan = planFile(1, 300);
    await s.deliverFile(plan.envelope);
    if (code === 'UPLINK_DELETE_ACTIVE') s.inUse.plan = plan.sha256;
    const response = s.fileDelete(name(plan.sha256));
    expect(response).toMatchObject({ status: 'failed', command: 'FILE_DELETE', reason: code, detail: expect.stringContaining('FILE_DELETE refused') });
    expect(s.value('cmd.uplink.deleteRefused')).toBe(1);
    expect(s.value('cmd.failed')).toBe(1);
    expect(s.stored()).toEqual([plan.sha256]);
    expect(s.value('cmd.uplink.incomingBytes')).toBe(300);
    expect(s.value('cmd.uplink.removed')).toBe(0);
    expect(s.value('cmd.uplink.deleted')).toBe(0);
    expect(s.events.filter((e) => e.name === 'CMD_FILE_DELETED')).toEqual([]);
  });

  it('FILE_DELETE refuses a file whose durable write has not ended (not stored yet), and deletes it once stored', async () => {
    const s = service();
    const plan = planFile(1, 300);
    const done = s.commanding.uplink.receive(plan.envelope);
    s.run(1);
    // Verified and hashed in that slot; its write runs beside the frames and cannot have ended.
    expect(s.value('cmd.uplink.incomingBytes')).toBe(300);
    expect(s.fileDelete(plan.sha256)).toMatchObject({ status: 'failed', reason: 'UPLINK_DELETE_NOT_STORED' });
    await done;
    expect(s.stored()).toEqual([plan.sha256]);
    expect(s.fileDelete(plan.sha256)).toMatchObject({ status: 'executed' });
    expect(s.stored()).toEqual([]);
    expect(s.value('cmd.uplink.incomingBytes')).toBe(0);
  });

  it('a file signature is not a command signature: the contexts differ', () => {
    expect(new TextDecoder().decode(fileContext(NODE))).toBe(`tern-file-v1:${NODE}`);
  });
});
