// The bundle agent in process, with a real bundle store on disk and links the test controls.
import { afterEach, describe, expect, it } from 'vitest';
import { BundleRefusedError } from '../../flight/cla/errors.js';
import { SERVICE } from '../../flight/dtn/agent.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, dtnNow, payloadBlock } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { eidToString, ipn } from '../../flight/dtn/eid.js';
import { signBundle } from '../../flight/dtn/bpsec.js';
import { fragmentBundle } from '../../flight/dtn/fragment.js';
import { parseKeys } from '../../flight/dtn/keys.js';
import { decodeStatusReport } from '../../flight/dtn/status-report.js';
import type { Router } from '../../flight/route/router.js';
import { until } from '../support/wait.js';
import { FROM, bundle, closeStores, setup } from './agent-harness.js';

afterEach(closeStores);

describe('bundle agent', () => {
  it('acknowledges a bundle only once it is in the store, and forwards it with one more hop', async () => {
    const s = await setup();
    const b = bundle(3, 1, 0);
    await s.agent.accept(b.bytes, FROM);
    expect(s.store.list().map((x) => x.destination)).toEqual(['ipn:3.1']);
    await s.dispatch();
    expect(s.link.sent).toHaveLength(1);
    const sent = decodeBundle(s.link.sent[0]!);
    expect(sent.hopCount).toEqual({ limit: 4, count: 1 });
    expect(eidToString(sent.previousNode!)).toBe('ipn:1.0');
    expect(s.store.list()).toEqual([]); // acknowledged by the next hop: gone from the store
    expect(s.value('dtn.agent.forwarded')).toBe(1);
  });

  it('keeps a bundle when the send fails, and sends it on a later attempt', async () => {
    const s = await setup();
    s.link.fail = true;
    await s.agent.accept(bundle(3, 1, 0).bytes, FROM);
    await s.dispatch();
    expect(s.value('dtn.agent.forwardFailures')).toBe(1);
    expect(s.store.list()).toHaveLength(1);
    s.link.fail = false;
    await s.dispatch();
    expect(s.link.sent).toHaveLength(1);
    expect(s.store.list()).toHaveLength(0);
  });

  it('keeps running when dispatch meets a bug: the bundle stays stored, an error event says so, and it is tried again', async () => {
    let broken = true;
    const router: Router = {
      computations: 0, release: () => undefined, contactOpen: () => true, reaches: () => true, openContacts: () => [],
      route: () => { if (broken) throw new Error('router bug'); return { nextHop: 2 }; },
    };
    const s = await setup({ router });
    await s.agent.accept(bundle(3, 1, 0).bytes, FROM);
    await s.dispatch();
    expect(s.events).toContain('DTN_DISPATCH_FAULT');
    expect(s.store.list()).toHaveLength(1);
    broken = false;
    await s.dispatch();
    expect(s.link.sent).toHaveLength(1);
  });

  it('holds bundles without a route, and for a service that has not registered yet', async () => {
    const s = await setup();
    await s.agent.accept(bundle(9, 1, 0).bytes, FROM); // no route to node 9
    await s.agent.accept(bundle(1, 42, 1, 'for 42').bytes, FROM);
    await s.dispatch();
    expect(s.store.list()).toHaveLength(2);
    expect(s.value('dtn.agent.noRoute')).toBe(1);
    const got: string[] = [];
    s.agent.register(42, (b) => void got.push(new TextDecoder().decode(payloadBlock(b).data)));
    await s.dispatch();
    expect(got).toEqual(['for 42']);
    expect(s.store.list().map((x) => x.destination)).toEqual(['ipn:9.1']);
  });

  it('reassembles fragments for a local service, holding them in the store until the bundle is whole', async () => {
    const s = await setup();
    const got: Uint8Array[] = [];
    s.agent.register(42, (b) => void got.push(payloadBlock(b).data));
    const text = 'a payload long enough to be cut into several fragments by the sender. '.repeat(4);
    const whole = bundle(1, 42, 0, text);
    const fragments = fragmentBundle(whole, 160);
    expect(fragments.length).toBeGreaterThan(2);
    for (const f of fragments.slice(1)) await s.agent.accept(f.bytes, FROM);
    await s.dispatch();
    expect(got).toEqual([]);
    expect(s.store.list()).toHaveLength(fragments.length - 1); // held, not lost
    await s.agent.accept(fragments[0]!.bytes, FROM);
    await s.dispatch();
    expect(got.map((p) => new TextDecoder().decode(p))).toEqual([text]);
    expect(s.store.list()).toEqual([]);
  });

  it('parks bundles without a link in limbo, without touching them, until a contact begins', async () => {
    const s = await setup();
    s.link.up = false;
    await s.agent.accept(bundle(3, 1, 0).bytes, FROM);
    for (let slot = 0; slot < 5; slot++) {
      await s.dispatch();
    }
    expect(s.value('dtn.agent.noRoute')).toBe(1); // looked at once, then left alone
    expect(s.value('dtn.agent.pending')).toBe(1);
    s.link.up = true;
    s.agent.sessionUp();
    await s.dispatch();
    expect(s.link.sent).toHaveLength(1);
    expect(s.store.list()).toEqual([]);
  });

  it('deletes a bundle that expired waiting for a contact, with the status report it asked for', async () => {
    let clock = Date.now();
    const s = await setup({ limits: { limboMs: 1000 }, now: () => clock });
    s.link.up = false;
    const doomed = createBundle({
      destination: ipn(3, 1), source: ipn(5, 1), flags: BundleFlag.reportDeletion, creationTime: dtnNow(clock),
      lifetime: 500, payload: Uint8Array.of(9),
    });
    await s.agent.accept(doomed.bytes, FROM);
    await s.dispatch(); // no contact: limbo
    clock += 1500; // expired, and the limbo period is over
    await s.dispatch();
    expect(s.value('dtn.agent.expired')).toBe(1);
    await until(() => s.store.list().some((b) => b.source === 'ipn:1.0'), 'the status report to be stored');
    const left = s.store.list();
    expect(left.map((b) => [b.source, b.destination])).toEqual([['ipn:1.0', 'ipn:5.1']]); // only the report
    const report = decodeStatusReport(decodeBundle((await s.store.get(left[0]!.id))!));
    expect(report.reason).toBe(1); // lifetime expired
    expect(Object.keys(report.asserted)).toEqual(['deleted']);
    expect(report.subject.sequence).toBe(doomed.primary.sequence);
  });

  it('echoes to the source through the store', async () => {
    const s = await setup();
    s.agent.registerEcho();
    const back = createBundle({ destination: ipn(1, SERVICE.echo), source: ipn(3, 9), creationTime: dtnNow(), lifetime: 60_000, payload: Uint8Array.of(1, 2, 3) });
    await s.agent.accept(back.bytes, FROM);
    await s.dispatch();
    await s.dispatch(); // the reply, stored by the echo service, goes out via node 2
    const reply = decodeBundle(s.link.sent[0]!);
    expect(eidToString(reply.primary.destination)).toBe('ipn:3.9');
    expect([...payloadBlock(reply).data]).toEqual([1, 2, 3]);
  });

  it('refuses malformed bundles with a typed reason and a counter, and suppresses duplicates', async () => {
    const s = await setup();
    const good = bundle(9, 1, 0);
    await s.agent.accept(good.bytes, FROM);
    await s.agent.accept(good.bytes, FROM); // duplicate: acknowledged, not stored twice
    expect(s.value('dtn.agent.duplicates')).toBe(1);
    const bad = Uint8Array.from(good.bytes);
    bad[bad.length - 3]! ^= 0x40; // inside the payload block's CRC-protected bytes
    const refusal = await s.agent.accept(bad, FROM).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(BundleRefusedError);
    expect((refusal as BundleRefusedError).reason).toBe('not-acceptable');
    expect(s.value('dtn.reject.crc')).toBe(1);
    expect(s.store.list()).toHaveLength(1);
  });

  it('verifies BIBs with the keys it holds: a tampered payload is refused, an intact one stored', async () => {
    const keys = parseKeys([{ kty: 'oct', kid: 'ipn:5.0', alg: 'HS256', k: Buffer.alloc(32, 7).toString('base64url') }], 'test');
    const s = await setup({ keys });
    // No CRCs: the BIB alone protects the primary block and the payload (RFC 9171 4.3.1 allows it).
    const plain = createBundle({
      destination: ipn(9, 1), source: ipn(5, 1), creationTime: dtnNow(), lifetime: 60_000, crcType: 0,
      blocks: [hopCountBlock({ limit: 4, count: 0 })], payload: new TextEncoder().encode('signed payload'),
    });
    const signed = signBundle(plain, { key: keys[0]!, source: ipn(5, 0), targets: [0, 1] });
    const tampered = Uint8Array.from(signed.bytes);
    const at = Buffer.from(tampered).indexOf(Buffer.from('signed payload'));
    tampered[at] = 'S'.charCodeAt(0);
    const refused = decodeBundle(tampered); // still well-formed: only the MAC can tell
    expect(refused.bytes.length).toBe(signed.bytes.length);
    await expect(s.agent.accept(tampered, FROM)).rejects.toBeInstanceOf(BundleRefusedError);
    expect(s.value('dtn.reject.integrity')).toBe(1);
    await s.agent.accept(signed.bytes, FROM);
    expect(s.value('dtn.bpsec.bibVerified')).toBe(2); // targets: primary block and payload
    expect(s.store.list()).toHaveLength(1);
  });

  it('bounds a flood: a credit of validations per slot, a bounded queue, refusals beyond it', async () => {
    const s = await setup({ limits: { ingestPerSlot: 4, inboundQueue: 8 } });
    const results = Array.from({ length: 20 }, (_, i) => s.agent.accept(bundle(9, 1, i).bytes, FROM).then(() => 'ok', (e: BundleRefusedError) => e.reason));
    await until(() => s.store.list().length >= 4, 'the credit of this slot to be stored');
    expect(s.store.list()).toHaveLength(4); // the credit of this slot
    expect(s.value('dtn.agent.inboundQueued')).toBe(8);
    expect(s.value('dtn.agent.queueFull')).toBe(8);
    s.run('dtn.ingest');
    s.run('dtn.ingest');
    const outcome = await Promise.all(results);
    expect(outcome.filter((r) => r === 'ok')).toHaveLength(12);
    expect(outcome.filter((r) => r === 'no-resources')).toHaveLength(8);
  });

  it('survives 20,000 mutated bundles with typed refusals and leaves what it stored intact', async () => {
    const s = await setup({ limits: { ingestPerSlot: 1_000_000, inboundQueue: 1_000_000 } });
    const kept = [bundle(9, 1, 0, 'keep me'), bundle(9, 1, 1, 'and me')];
    for (const b of kept) await s.agent.accept(b.bytes, FROM);
    let seed = 1;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const outcomes = { accepted: 0, refused: 0 };
    for (let i = 0; i < 20_000; i++) {
      const source = bundle(9, 1, 2 + rand(1000), 'x'.repeat(rand(64))).bytes;
      const m = Uint8Array.from(source.subarray(0, rand(4) === 0 ? rand(source.length) : source.length));
      for (let flips = 1 + rand(3); flips > 0 && m.length > 0; flips--) m[rand(m.length)]! ^= 1 << rand(8);
      try {
        await s.agent.accept(m, FROM);
        outcomes.accepted++;
      } catch (error) {
        expect(error).toBeInstanceOf(BundleRefusedError);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(15_000);
    expect(s.value('dtn.bundlesRejected')).toBe(outcomes.refused);
    for (const b of kept) {
      const id = s.store.list().find((x) => x.id.endsWith(`|${b.primary.sequence}`) && x.source === 'ipn:5.1' && x.size === b.bytes.length)!.id;
      expect(Buffer.from((await s.store.get(id))!).equals(Buffer.from(b.bytes))).toBe(true);
    }
  });
});
