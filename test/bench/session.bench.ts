// BPSec with session keys: sealing and opening a bundle's payload under a BCB (RFC 9173
// BCB-AES-GCM through flight/dtn/bpsec.ts, the session's counter IV), 1 KiB and 64 KiB payloads,
// next to bare AES-256-GCM on the same bytes with node:crypto; what an offer and a whole
// handshake (offer, accept with its durable write, complete) cost, next to one ML-DSA-65
// verification in the same run; and the longest event-loop stall handshakes cause with their
// crypto in-thread and in the worker thread a flight node uses.
// Figures go to test/bench/results/session.json.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { mlDsa } from '../../flight/cmd/mldsa.js';
import { InThreadCrypto, WorkerCrypto, type HandshakeCrypto } from '../../flight/cmd/handshake-crypto.js';
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

/** The worker as a flight node starts it: from the build (npm run bench builds first). */
const WORKER = new URL('../../dist/flight/cmd/handshake-worker.js', import.meta.url);

function endpoint(node: number, outbox: Uint8Array[], crypto: HandshakeCrypto = new InThreadCrypto(dsa, seedOf(node))): SessionKeys {
  const tlm = new TelemetryRegistry();
  const def = (name: string) => tlm.define({ name, type: 'u64', units: '', doc: '' });
  return new SessionKeys({
    node, crypto, peers: PEERS, gatewayFor: new Set(), dataDir: mkdtempSync(join(tmpdir(), 'tern-bench-session-')),
    wallMs: Date.now, rekeyMs: 3_600_000, rekeyBlocks: 0xffff_fff0, offerMaxAgeMs: 600_000, offerRetryMs: 0, handshakesPerMinute: 6000,
    send: async (_peer, wire) => void outbox.push(wire),
    events: new EventLog(createRootLogger({ level: 'silent' }), () => 0),
    channels: { rekeys: def('r'), rekeyRequests: def('q'), offers: def('o'), rejected: def('j'), rateLimited: def('l') },
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
  await two.receive(await one.offer(2));
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

  // Handshake steps, each with fresh messages so nothing is a replay: in-thread, and with the
  // crypto in the worker thread as a flight node runs it.
  const message = randomBytes(64);
  const context = new TextEncoder().encode('bench');
  const signature = dsa.sign(seedOf(1), message, context);
  const publicKey = PEERS.get(1)!.publicKey;
  const workerOne = endpoint(1, toTwo, new WorkerCrypto(dsa, seedOf(1), WORKER));
  const workerTwo = endpoint(2, toOne, new WorkerCrypto(dsa, seedOf(2), WORKER));
  const epochBefore = one.sealFor(2)!.epoch;
  const steps = await compare({
    verify: { bytes: 1, run: () => dsa.verify(publicKey, message, signature, context) },
    offer: { bytes: 1, run: () => one.offer(2) },
    // Offer, accept (with the durable write of the opening key), complete: one direction's handshake.
    handshake: { bytes: 1, run: async () => { await two.receive(await one.offer(2)); await one.receive(toOne.pop()!); } },
    workerHandshake: { bytes: 1, run: async () => { await workerTwo.receive(await workerOne.offer(2)); await workerOne.receive(toOne.pop()!); } },
  });
  expect(one.sealFor(2)!.epoch).toBeGreaterThan(epochBefore);
  expect(workerOne.sealFor(2)).toBeDefined();

  // What the frame thread feels: the longest the event loop stays blocked, seen as the largest
  // gap between runs of a 1 ms interval timer, while handshakes run step by step as they do
  // between two nodes (the offer, the accept and the completion each in its own turn), against
  // the same time with nothing to do.
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
  const stall = async (steps: ReadonlyArray<() => Promise<unknown>>): Promise<number> => {
    let last = performance.now();
    let worst = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 1);
    for (let i = 0; i < 10; i++) {
      for (const step of steps) {
        await step();
        await pause();
      }
    }
    clearInterval(ticker);
    return Math.max(worst, performance.now() - last);
  };
  const handshakeSteps = (a: SessionKeys, b: SessionKeys): Array<() => Promise<unknown>> => {
    let offer: Uint8Array = new Uint8Array();
    return [async () => (offer = await a.offer(2)), () => b.receive(offer), () => a.receive(toOne.pop()!)];
  };
  const stallIdle = await stall([async () => undefined, async () => undefined, async () => undefined]);
  const stallInThread = await stall(handshakeSteps(one, two));
  const stallWorker = await stall(handshakeSteps(workerOne, workerTwo));
  await Promise.all([workerOne.close(), workerTwo.close()]);
  figures.eventLoopStallMs = { idle: stallIdle, inThread: stallInThread, worker: stallWorker, inThreadVsWorker: stallInThread / stallWorker };
  writeResult('session', {
    command: 'npm run bench -- test/bench/session.bench.ts',
    backend: dsa.backend, ...settings,
    ...figures,
    handshakeMs: {
      mlDsaVerify: steps.verify.opUs / 1000,
      offer: steps.offer.opUs / 1000,
      wholeHandshake: steps.handshake.opUs / 1000,
      wholeHandshakeInVerifies: steps.handshake.opUs / steps.verify.opUs,
      wholeHandshakeWorker: steps.workerHandshake.opUs / 1000,
    },
  });
});
