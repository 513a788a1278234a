// ML-KEM-768 session keys for BPSec: the KEM against all NIST ACVP encapDecap vectors, and the
// signed handshake between two endpoints, the BCBs sealed and opened with its keys (RFC 9173
// BCB-AES-GCM through flight/dtn/bpsec.ts), rekeying, persistence of the opening side and every
// refusal.
import { Decoder, Encoder } from 'cbor-x';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { MlKem, type MlKemParameterSet } from '../../flight/cmd/mlkem.js';
import { InThreadCrypto } from '../../flight/cmd/handshake-crypto.js';
import { SessionKeys, SessionRejected, type SealingSession } from '../../flight/cmd/session.js';
import { decryptBundle, encryptBundle } from '../../flight/dtn/bpsec.js';
import { payloadBlock, type Bundle } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { hex, loadAcvp } from './support/acvp.js';
import { dsa } from './support/harness.js';

interface KemTest { ek?: string; dk?: string; m?: string; c?: string }
const GROUPS = loadAcvp<KemTest>('ML-KEM-encapDecap-FIPS203');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('ML-KEM: ACVP encapDecap (all groups)', () => {
  for (const group of GROUPS) {
    it(`${group.info.parameterSet} ${group.info.function}: ${group.tests.length} tests`, () => {
      const kem = new MlKem(group.info.parameterSet as MlKemParameterSet);
      const wrong: number[] = [];
      for (const t of group.tests) {
        const e = t.expected;
        switch (group.info.function) {
          case 'encapsulation': {
            const { ciphertext, sharedSecret } = kem.encapsulate(hex(t.ek!), hex(t.m!));
            if (toHex(ciphertext) !== e.c || toHex(sharedSecret) !== e.k) wrong.push(t.tcId);
            break;
          }
          case 'decapsulation':
            if (toHex(kem.decapsulate(hex(t.c!), hex(t.dk!))) !== e.k) wrong.push(t.tcId);
            break;
          case 'encapsulationKeyCheck': {
            let passed = true;
            try {
              kem.encapsulate(hex(t.ek!));
            } catch (error) {
              expect((error as Error).name).toBe('KemInputInvalid');
              passed = false;
            }
            if (passed !== e.testPassed) wrong.push(t.tcId);
            break;
          }
          case 'decapsulationKeyCheck': {
            let passed = true;
            try {
              kem.decapsulate(new Uint8Array(kem.lengths.ciphertext), hex(t.dk!));
            } catch (error) {
              expect((error as Error).name).toBe('KemInputInvalid');
              passed = false;
            }
            if (passed !== e.testPassed) wrong.push(t.tcId);
            break;
          }
          default:
            throw new Error(`unknown ACVP function ${String(group.info.function)}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
  it('covers every group of the file', () => {
    expect(GROUPS.map((g) => `${g.info.parameterSet} ${g.info.function}`)).toHaveLength(12);
  });
});

const seed = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());
const SEEDS = { 1: seed('node 1 identity'), 2: seed('node 2 identity'), 3: seed('node 3 identity') };
const PEERS = new Map([1, 2, 3].map((n) => [n, { publicKey: dsa.publicKey(SEEDS[n as 1 | 2 | 3]), gatewayFor: new Set(n === 2 ? [100] : []) }]));
const T0 = 1_900_000_000_000;

interface Endpoint {
  keys: SessionKeys;
  /** Handshake messages this endpoint sent, by peer. */
  outbox: Array<{ peer: number; wire: Uint8Array }>;
  channel(name: string): number;
  events: EventRecord[];
  errors: Error[];
}

function endpoint(node: 1 | 2 | 3, wall: { ms: number }, dataDir = mkdtempSync(join(tmpdir(), 'tern-session-')), over: { handshakesPerMinute?: number } = {}): Endpoint {
  const tlm = new TelemetryRegistry();
  const def = (name: string) => tlm.define({ name, type: 'u64', units: '', doc: '' });
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const seen: EventRecord[] = [];
  events.onEvent((r) => seen.push(r));
  const outbox: Endpoint['outbox'] = [];
  const errors: Error[] = [];
  const keys = new SessionKeys({
    node, crypto: new InThreadCrypto(dsa, SEEDS[node]), peers: PEERS, gatewayFor: new Set(node === 2 ? [100] : []), dataDir, wallMs: () => wall.ms,
    rekeyMs: 3_600_000, rekeyBlocks: 3, offerMaxAgeMs: 600_000, offerRetryMs: 60_000,
    handshakesPerMinute: over.handshakesPerMinute ?? 600,
    send: async (peer, wire) => void outbox.push({ peer, wire }),
    events,
    channels: { rekeys: def('rekeys'), rekeyRequests: def('rekeyRequests'), offers: def('offers'), rejected: def('rejected'), rateLimited: def('rateLimited') },
    onError: (error) => errors.push(error),
  });
  return { keys, outbox, channel: (name) => tlm.get(name)!.value, events: seen, errors };
}

/** Waits until `e` has sent a handshake message (its crypto runs asynchronously), and takes it. */
async function sent(e: Endpoint): Promise<{ peer: number; wire: Uint8Array }> {
  for (let i = 0; i < 100 && e.outbox.length === 0; i++) await new Promise((r) => setImmediate(r));
  expect(e.outbox).toHaveLength(1);
  return e.outbox.pop()!;
}

/** Runs the handshake `from` starts for `to` (sealFor asks for it) to the end. */
async function handshake(from: Endpoint, to: Endpoint, toNode: number): Promise<SealingSession> {
  from.keys.sealFor(toNode);
  const offer = await sent(from);
  expect(offer.peer).toBe(toNode);
  await to.keys.receive(offer.wire);
  await from.keys.receive(to.outbox.pop()!.wire);
  return from.keys.sealFor(toNode)!;
}

const bundleFrom = (node: number, to: number, text: string): Bundle => createBundle({
  source: ipn(node, 7), destination: ipn(to, 7), creationTime: 1, sequence: 0, lifetime: 60_000, payload: new TextEncoder().encode(text),
});

function seal(bundle: Bundle, session: SealingSession, from: number): Bundle {
  return encryptBundle(bundle, { key: session.key, source: ipn(from, 0), targets: [1], nextIv: () => session.nextIv() });
}

const text = (bundle: Bundle): string => new TextDecoder().decode(payloadBlock(bundle).data);

describe('BPSec session keys (ML-KEM-768 + ML-DSA-65 + HKDF + AES-256-GCM)', () => {
  it('a node seals for a peer only after its own handshake completed; the peer opens the BCB, nobody else does', async () => {
    const wall = { ms: T0 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    const c = endpoint(3, wall);
    // Who opens bundles for a node: the node itself when it is a peer, its gateway peer, or nobody.
    expect([2, 1, 100, 7].map((n) => a.keys.acceptor(n))).toEqual([2, undefined, 2, undefined]);
    expect([b.keys.gatewayFor(100), a.keys.gatewayFor(100)]).toEqual([true, false]);
    expect(a.keys.sealFor(2)).toBeUndefined(); // no session yet: an offer is made
    expect(a.keys.sealFor(2)).toBeUndefined(); // not a second one while it is being made ...
    const offer = await sent(a);
    expect(a.keys.sealFor(2)).toBeUndefined(); // ... nor within offerRetryMs
    await new Promise((r) => setImmediate(r));
    expect(a.outbox).toHaveLength(0);
    await b.keys.receive(offer.wire);
    expect(b.outbox[0]!.peer).toBe(1);
    // B holds the opening key from here on; A seals only once the accept reached it.
    expect(b.keys.openingKeys().map((k) => k.kid)).toEqual(['ipn:1.0']);
    expect(a.keys.sealFor(2)).toBeUndefined();
    await a.keys.receive(b.outbox.pop()!.wire);
    const session = a.keys.sealFor(2)!;
    expect(session.peer).toBe(2);

    const sealed = seal(bundleFrom(1, 2, 'for node 2 only'), session, 1);
    expect(Buffer.from(payloadBlock(sealed).data).toString()).not.toContain('for node 2 only');
    const opened = decryptBundle(sealed, b.keys.openingKeys());
    expect(opened.results.map((r) => r.status)).toEqual(['decrypted']);
    expect(text(opened.bundle)).toBe('for node 2 only');
    // A's key is for its direction only: B's sealing for A needs B's own handshake.
    expect(a.keys.openingKeys()).toEqual([]);
    expect(b.keys.sealFor(1)).toBeUndefined();
    // Another peer's keys do not open it, and a flipped ciphertext bit fails the tag.
    await handshake(c, b, 2);
    expect(decryptBundle(sealed, c.keys.openingKeys()).results.map((r) => r.status)).toEqual(['no-key']);
    const data = payloadBlock(sealed).data;
    data[0]! ^= 1;
    expect(() => decryptBundle(sealed, b.keys.openingKeys())).toThrow(/authentication tag does not verify/);
    expect(a.channel('rekeys')).toBe(1);
    expect(b.channel('rekeys')).toBe(2);
    expect(a.events.map((e) => e.name)).toContain('CMD_SESSION_REKEYED');
  });

  it('IVs are a counter under one key; rekeys after rekeyBlocks, and the previous key still opens bundles sealed before', async () => {
    const wall = { ms: T0 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    const first = await handshake(a, b, 2);
    const old = [1, 2, 3].map((i) => seal(bundleFrom(1, 2, `old ${i}`), first, 1));
    const ivs = old.map((bundle) => Buffer.from(bundle.security[0]!.asb!.parameters.find((p) => p.id === 1)!.value as Uint8Array).toString('hex'));
    expect(ivs).toEqual(['000000000000000000000001', '000000000000000000000002', '000000000000000000000003']);
    // Three blocks sealed = rekeyBlocks: the next sealFor offers again and keeps sealing under the old key meanwhile.
    wall.ms += 1;
    expect(a.keys.sealFor(2)).toBe(first);
    await b.keys.receive((await sent(a)).wire);
    await a.keys.receive(b.outbox.pop()!.wire);
    const second = a.keys.sealFor(2)!;
    expect(second.epoch).toBeGreaterThan(first.epoch);
    expect(second.key.key.equals(first.key.key)).toBe(false);
    expect(text(decryptBundle(old[0]!, b.keys.openingKeys()).bundle)).toBe('old 1');
    expect(text(decryptBundle(seal(bundleFrom(1, 2, 'new'), second, 1), b.keys.openingKeys()).bundle)).toBe('new');
    // Time also rekeys.
    wall.ms += 3_600_000;
    a.keys.sealFor(2);
    await sent(a);
  });

  it('the opening side survives a restart: keys and the last epoch persist, so old bundles open and old offers are replays', async () => {
    const wall = { ms: T0 };
    const dir = mkdtempSync(join(tmpdir(), 'tern-session-'));
    const a = endpoint(1, wall);
    const b = endpoint(2, wall, dir);
    const session = await handshake(a, b, 2);
    const sealed = seal(bundleFrom(1, 2, 'sealed before the reboot'), session, 1);
    const captured = await a.keys.offer(2); // an offer an attacker recorded
    const rebooted = endpoint(2, wall, dir);
    expect(text(decryptBundle(sealed, rebooted.keys.openingKeys()).bundle)).toBe('sealed before the reboot');
    await rebooted.keys.receive(captured); // newer than the last accepted epoch: fine
    await expect(rebooted.keys.receive(captured)).rejects.toThrow(/not newer .* \(replay\?\)/);
    // One damaged copy is restored from the other; both damaged: keys start empty, with an event.
    writeFileSync(join(dir, 'sessions.rec'), 'garbage');
    const repaired = endpoint(2, wall, dir);
    expect(repaired.keys.openingKeys()).toHaveLength(2);
    expect(repaired.events.map((e) => e.name)).toContain('CMD_RECORD_RECOVERED');
    writeFileSync(join(dir, 'sessions.rec'), 'garbage');
    writeFileSync(join(dir, 'sessions.rec.bak'), 'garbage');
    const lost = endpoint(2, wall, dir);
    expect(lost.keys.openingKeys()).toEqual([]);
    expect(lost.events.map((e) => e.name)).toContain('CMD_RECORD_LOST');
  });

  it('a node that lost its keys asks the sealer for new ones: the sealer drops its session, holds, offers, and seals what opens again', async () => {
    const wall = { ms: T0 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    const old = await handshake(a, b, 2);
    const lost = endpoint(2, wall); // node 2 with a new data directory: no opening keys
    expect(decryptBundle(seal(bundleFrom(1, 2, 'x'), old, 1), lost.keys.openingKeys()).results.map((r) => r.status)).toEqual(['no-key']);
    lost.keys.unreadable(1);
    lost.keys.unreadable(1); // once per offerRetryMs
    const request = await sent(lost);
    expect(request.peer).toBe(1);
    expect(lost.channel('rekeyRequests')).toBe(1);
    expect(lost.events.map((e) => e.name)).toContain('CMD_SESSION_UNREADABLE');
    lost.keys.unreadable(7); // not a peer: nothing to ask
    wall.ms += 1;
    await a.keys.receive(request.wire);
    expect(a.keys.sealFor(2)).toBeUndefined(); // dropped: bundles wait instead of going out unreadable
    await lost.keys.receive((await sent(a)).wire);
    await a.keys.receive((await sent(lost)).wire);
    const fresh = a.keys.sealFor(2)!;
    expect(fresh.epoch).toBeGreaterThan(old.epoch);
    expect(text(decryptBundle(seal(bundleFrom(1, 2, 'readable again'), fresh, 1), lost.keys.openingKeys()).bundle)).toBe('readable again');
    // A request older than the session it would drop is ignored; a stale one is refused.
    await a.keys.receive(request.wire);
    expect(a.keys.sealFor(2)).toBe(fresh);
    wall.ms += 600_001;
    lost.keys.unreadable(1);
    const stale = await sent(lost);
    wall.ms += 600_001;
    await expect(a.keys.receive(stale.wire)).rejects.toThrow(/rekey request issued at .* is outside 600000 ms/);
  });

  it('refuses a replayed offer, a forged signature, the wrong addressee, a stale offer, an unknown peer, garbage and an unasked accept', async () => {
    const wall = { ms: T0 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall);
    const c = endpoint(3, wall);
    const offer = (await a.keys.offer(2));
    await b.keys.receive(offer);
    await expect(b.keys.receive(offer)).rejects.toThrow(/not newer .* \(replay\?\)/);
    await expect(c.keys.receive((await a.keys.offer(2)))).rejects.toThrow(/addressed to node 2/);
    // Node 3 signs an offer claiming to be node 1.
    const cbor = new Encoder({ useRecords: false, tagUint8Array: false });
    const [body] = cbor.decode((await a.keys.offer(2))) as [Uint8Array, Uint8Array];
    const forged = cbor.encode([body, dsa.sign(SEEDS[3], body, new TextEncoder().encode('tern-session-v1:2'))]);
    await expect(b.keys.receive(forged)).rejects.toThrow(/signature of node 1 does not verify/);
    const stale = (await a.keys.offer(2));
    wall.ms += 600_001;
    await expect(b.keys.receive(stale)).rejects.toThrow(/outside 600000 ms/);
    await expect(b.keys.receive(Uint8Array.of(1, 2, 3))).rejects.toThrow(SessionRejected);
    await expect(a.keys.offer(9)).rejects.toThrow(/node 9 is not a known peer/);
    // An accept for an offer never made (a fresh endpoint 1 made none).
    await b.keys.receive((await a.keys.offer(2)));
    const d = endpoint(1, wall);
    await expect(d.keys.receive(b.outbox.pop()!.wire)).rejects.toThrow(/no outstanding offer/);
    expect(b.channel('rejected')).toBe(4); // replay, forged, stale, garbage
    expect(c.channel('rejected') + d.channel('rejected')).toBe(2);
  });

  it('refuses a bignum, in place of the message or of its body, before cbor-x decodes it (counted)', async () => {
    const wall = { ms: T0 };
    const b = endpoint(2, wall);
    const bignum = Uint8Array.of(0xc2, 0x59, 0x1f, 0x40, ...new Uint8Array(8000).fill(0xff));
    const cbor = new Encoder({ useRecords: false, tagUint8Array: false });
    const inBody = cbor.encode([bignum, new Uint8Array(3309)]);
    const decode = vi.spyOn(Decoder.prototype, 'decode');
    try {
      await expect(b.keys.receive(bignum)).rejects.toThrow(/malformed handshake message: CBOR refused at byte 0: a tag \(2, a bignum\)/);
      expect(decode).not.toHaveBeenCalled();
      await expect(b.keys.receive(inBody)).rejects.toThrow(/a tag \(2, a bignum\)/);
      expect(decode).toHaveBeenCalledTimes(1); // the outer [body, signature], not the body
    } finally {
      decode.mockRestore();
    }
    expect(b.channel('rejected')).toBe(2);
  });

  it('verifies at most handshakesPerMinute messages; the rest are dropped unverified and counted', async () => {
    const wall = { ms: T0 };
    const a = endpoint(1, wall);
    const b = endpoint(2, wall, undefined, { handshakesPerMinute: 6 });
    const garbage = Uint8Array.of(0x82, 0x40, 0x40);
    // A minute's worth (6) at once, verified (and refused: garbage); the rest dropped unverified.
    const outcomes = await Promise.allSettled(Array.from({ length: 9 }, () => b.keys.receive(garbage)));
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'));
    expect(reasons.slice(0, 6).every((r) => /malformed handshake message/.test(r))).toBe(true);
    expect(reasons.slice(6).every((r) => /more than 6 handshake messages a minute/.test(r))).toBe(true);
    expect(b.channel('rateLimited')).toBe(3);
    expect(b.channel('rejected')).toBe(6);
    wall.ms += 10_000; // one more token
    await b.keys.receive((await a.keys.offer(2)));
    expect(b.outbox).toHaveLength(1);
  });
});
