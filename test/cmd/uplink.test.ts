// The file service: a file signed by an operator of the node's key store (operate role), for this
// node, of a kind it takes, within its size and with the signed SHA-256 is stored durably as
// `<sha256>` in its kind's directory; every other file is an UplinkRefused with its reason, a
// counter per reason and an event, and nothing is stored.
import { Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyId } from '../../flight/cmd/envelope.js';
import { decodeFile, fileContext, signFile, UplinkRefused, type UplinkReason } from '../../flight/cmd/uplink-envelope.js';
import { dsa, harness, NODE, testOperator } from './support/harness.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const alice = testOperator(1, ['operate', 'approve']);
const bob = testOperator(2, ['approve']);
const mallory = testOperator(9, ['operate', 'approve'], 'mallory');
const TERN = new Uint8Array([...new TextEncoder().encode('TERNMDL1'), ...new Uint8Array(200).fill(7)]);
const PLAN = new TextEncoder().encode(JSON.stringify({ format: 'tern-contact-plan/1', contacts: [] }));
const MAX_MODEL = 1024;

function service() {
  const h = harness({ operators: [alice, bob] });
  const dirs = { model: join(h.dataDir, 'models-in'), plan: join(h.dataDir, 'plans-in') };
  for (const dir of Object.values(dirs)) mkdirSync(dir);
  h.commanding.uplink.accept('model', { dir: dirs.model, maxBytes: MAX_MODEL, looksRight: (b) => new TextDecoder().decode(b.subarray(0, 8)) === 'TERNMDL1' });
  h.commanding.uplink.accept('plan', { dir: dirs.plan, maxBytes: 1 << 20 });
  const stored = (): string[] => Object.values(dirs).flatMap((d) => readdirSync(d));
  return { ...h, dirs, stored };
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
    const model = await s.commanding.uplink.receive(signFile(dsa, TERN, { target: NODE, kind: 'model', name: 'dir/person.tern', signer: alice }));
    const sha = createHash('sha256').update(TERN).digest('hex');
    expect(model).toEqual({ kind: 'model', sha256: sha, path: join(s.dirs.model, sha) });
    expect(readFileSync(model.path)).toEqual(Buffer.from(TERN));
    const plan = await s.commanding.uplink.receive(signFile(dsa, PLAN, { target: NODE, kind: 'plan', name: 'plan.json', signer: alice }));
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
    const refusal = await s.commanding.uplink.receive(file()).then(() => undefined, (error: unknown) => error);
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
    await s.commanding.uplink.receive(file(1));
    await s.commanding.uplink.receive(file(2));
    await expect(s.commanding.uplink.receive(file(3))).rejects.toMatchObject({ reason: 'rateLimited' });
    s.clock.advance(30_000_000);
    await s.commanding.uplink.receive(file(4));
    expect(s.value('cmd.uplink.stored')).toBe(3);
    expect(s.value('cmd.uplink.refused.rateLimited')).toBe(1);
    expect(s.stored()).toHaveLength(3);
  });

  it('a file signature is not a command signature: the contexts differ', () => {
    expect(new TextDecoder().decode(fileContext(NODE))).toBe(`tern-file-v1:${NODE}`);
  });
});
