// BPSec with session keys: sealing and opening a bundle's payload under a BCB (RFC 9173
// BCB-AES-GCM through flight/dtn/bpsec.ts, the session's counter IV), 1 KiB and 64 KiB payloads,
// next to bare AES-256-GCM on the same bytes with node:crypto; and what an offer and a whole
// handshake (offer, accept with its durable write, complete) cost, next to one ML-DSA-65
// verification in the same run.
// Figures go to test/bench/results/session.json.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { SessionKeys } from '../../flight/cmd/session.js';
import { decryptBundle, encryptBundle } from '../../flight/dtn/bpsec.js';
import { payloadBlock } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { writeResult } from './results.js';
import { compare, settings } from './throughput.js';

const dsa = mlDsa('ML-DSA-65');
const seedOf = (n: number): Uint8Array => new Uint8Array(createHash('sha256').update(`bench node ${n}`).digest());
const PEERS = new Map([1, 2].map((n) => [n, { publicKey: dsa.publicKey(seedOf(n)), gatewayFor: new Set<number>() }]));

function endpoint(node: number, outbox: Uint8Array[]): SessionKeys {
  const tlm = new TelemetryRegistry();
  const def = (name: string) => tlm.define({ name, type: 'u64', units: '', doc: '' });
  return new SessionKeys({
    node, identitySeed: seedOf(node), peers: PEERS, gatewayFor: new Set(), dsa, dataDir: mkdtempSync(join(tmpdir(), 'tern-bench-session-')),
    wallMs: Date.now, rekeyMs: 3_600_000, rekeyBlocks: 0xffff_fff0, offerMaxAgeMs: 600_000, offerRetryMs: 0, handshakesPerMinute: 6000,
    send: async (_peer, wire) => void outbox.push(wire),
    events: new EventLog(createRootLogger({ level: 'silent' }), () => 0),
    channels: { rekeys: def('r'), offers: def('o'), rejected: def('j'), rateLimited: def('l') },
    onError: (error) => {
      throw error;
    },
  });
}

it('seals and opens BCBs with session keys next to bare AES-256-GCM, and times each handshake step', async () => {
  const toTwo: Uint8Array[] = [];
  const toOne: Uint8Array[] = [];
  const one = endpoint(1, toTwo);
  const two = endpoint(2, toOne);
  one.sealFor(2);
  await two.receive(toTwo.pop()!);
  await one.receive(toOne.pop()!);
  const session = one.sealFor(2)!;
  const opening = two.openingKeys();

  const figures: Record<string, unknown> = {};
  for (const size of [1024, 65_536]) {
    const bundle = createBundle({ source: ipn(1, 2), destination: ipn(2, 2), creationTime: 1, sequence: 0, lifetime: 60_000, payload: randomBytes(size) });
    const sealed = encryptBundle(bundle, { key: session.key, source: ipn(1, 0), targets: [1], nextIv: () => session.nextIv() });
    expect(payloadBlock(decryptBundle(sealed, opening).bundle).data).toEqual(payloadBlock(bundle).data);
    const key = session.key.key;
    const data = payloadBlock(bundle).data;
    const aad = randomBytes(64);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
    const ciphertext = Buffer.concat([c.update(data), c.final()]);
    const tag = c.getAuthTag();
    const rates = await compare({
      gcmSeal: { bytes: size, run: () => { const e = createCipheriv('aes-256-gcm', key, iv).setAAD(aad); e.update(data); e.final(); e.getAuthTag(); } },
      bcbSeal: { bytes: size, run: () => encryptBundle(bundle, { key: session.key, source: ipn(1, 0), targets: [1], nextIv: () => session.nextIv() }) },
      gcmOpen: { bytes: size, run: () => { const d = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(tag); d.update(ciphertext); d.final(); } },
      bcbOpen: { bytes: size, run: () => decryptBundle(sealed, opening) },
    });
    figures[`payload${size}`] = {
      us: Object.fromEntries(Object.entries(rates).map(([n, r]) => [n, r.opUs])),
      sealVsGcm: rates.gcmSeal.opUs / rates.bcbSeal.opUs,
      openVsGcm: rates.gcmOpen.opUs / rates.bcbOpen.opUs,
    };
  }

  // Handshake steps, each with fresh messages so nothing is a replay.
  const message = randomBytes(64);
  const context = new TextEncoder().encode('bench');
  const signature = dsa.sign(seedOf(1), message, context);
  const publicKey = PEERS.get(1)!.publicKey;
  const rekeysBefore = one.sealFor(2)!.epoch;
  const steps = await compare({
    verify: { bytes: 1, run: () => dsa.verify(publicKey, message, signature, context) },
    offer: { bytes: 1, run: () => one.offer(2) },
    // Offer, accept (with the durable write of the opening key), complete: one direction's handshake.
    handshake: { bytes: 1, run: async () => { await two.receive(one.offer(2)); await one.receive(toOne.pop()!); } },
  });
  expect(one.sealFor(2)!.epoch).toBeGreaterThan(rekeysBefore);
  writeResult('session', {
    command: 'npm run bench -- test/bench/session.bench.ts',
    backend: dsa.backend, ...settings,
    ...figures,
    handshakeMs: {
      mlDsaVerify: steps.verify.opUs / 1000,
      offer: steps.offer.opUs / 1000,
      wholeHandshake: steps.handshake.opUs / 1000,
      wholeHandshakeInVerifies: steps.handshake.opUs / steps.verify.opUs,
    },
  });
});
