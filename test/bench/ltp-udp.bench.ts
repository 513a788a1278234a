// LTP over UDP on loopback, 64 KiB bundles: goodput (bytes reported received per second) against
// bare UDP datagrams carrying the same bytes in the same run, cut the same way (1,024-byte
// datagrams, ION's segment size) and sent with the same window (8 bundles in flight), counted at
// the receiving socket. The difference is LTP's headers, reports, acknowledgements and session
// state. Target: LTP >= 0.5x bare UDP. Figures in test/bench/results/ltp-udp.json.
import { createSocket, type Socket } from 'node:dgram';
import { expect, it } from 'vitest';
import { parseLtpConfig } from '../../flight/cla/ltp/config.js';
import { LtpUdpCla } from '../../flight/cla/ltp/udp.js';
import { Fields } from '../../flight/config/fields.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { silent, testNode, TestSink } from '../cla/support.js';
import { Prng } from '../support/prng.js';
import { writeResult } from './results.js';

const BUNDLES = 64;
const BUNDLE_BYTES = 64 * 1024;
const SEGMENT = 1024;
const WINDOW = 8;
const ROUNDS = 5;

async function ltpRun(bundles: Uint8Array[]): Promise<number> {
  const ends = [1, 2].map((node) => {
    const t = testNode();
    const config = parseLtpConfig(new Fields('bench'), { listen: '127.0.0.1:0', segmentBytes: SEGMENT, maxExportSessions: WINDOW, oneWayLightTimeMs: 1, marginMs: 100 }, 'cla.ltp');
    return { t, config, sink: new TestSink() };
  });
  // Ports first, then the engines that know each other's.
  const sockets = await Promise.all(ends.map(() => freeUdpPort()));
  const clas = ends.map((e, i) => new LtpUdpCla({ ...e.config, listen: { host: '127.0.0.1', port: sockets[i]! } }, {
    node: i + 1, sink: e.sink, tlm: e.t.tlm, events: e.t.eventLog, log: silent, contact: () => undefined, allNeighbourIds: [],
    neighbours: [{ node: 2 - i, cla: 'ltp', host: '127.0.0.1', port: sockets[1 - i]! }],
  }));
  for (const c of clas) await c.start();
  try {
    const started = performance.now();
    await Promise.all(bundles.map((b) => clas[0]!.link(2)!.link.send(b)));
    const seconds = (performance.now() - started) / 1000;
    expect(ends[1]!.sink.accepted).toHaveLength(bundles.length);
    return bundles.reduce((n, b) => n + b.length, 0) / seconds;
  } finally {
    await Promise.all(clas.map((c) => c.close()));
  }
}

async function bareRun(bundles: Uint8Array[]): Promise<number> {
  const receiver = createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  receiver.setRecvBufferSize(4 << 20);
  const sender = createSocket('udp4');
  let received = 0;
  let last = 0;
  let waiting: { bytes: number; resolve: () => void } | undefined;
  receiver.on('message', (m) => {
    received += m.length;
    last = performance.now();
    if (waiting && received >= waiting.bytes) {
      waiting.resolve();
      waiting = undefined;
    }
  });
  // Woken by the datagram that brings the count to `bytes` (no polling delay in the baseline).
  const arrived = (bytes: number): Promise<void> => (received >= bytes ? Promise.resolve() : new Promise((resolve) => (waiting = { bytes, resolve })));
  const port = receiver.address().port;
  const send = (bytes: Uint8Array): Promise<void> => new Promise((resolve, reject) => sender.send(bytes, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  const started = performance.now();
  // The same window as LTP's: a bundle's datagrams go out once the one WINDOW bundles back has
  // arrived. A lost datagram would stall it: the deadline fails the run rather than flatter LTP.
  let sentBytes = 0;
  const sentBefore: number[] = [];
  const deadline = setTimeout(() => waiting?.resolve(), 10_000);
  for (const [i, b] of bundles.entries()) {
    if (i >= WINDOW) await arrived(sentBefore[i - WINDOW + 1]!);
    sentBefore.push(sentBytes);
    for (let at = 0; at < b.length; at += SEGMENT) await send(b.subarray(at, at + SEGMENT));
    sentBytes += b.length;
  }
  await arrived(sentBytes);
  clearTimeout(deadline);
  expect(received).toBe(sentBytes);
  const seconds = (last - started) / 1000;
  await Promise.all([receiver, sender].map((s: Socket) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return received / seconds;
}

function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => {
    const port = s.address().port;
    s.close(() => resolve(port));
  }));
}

it('LTP over UDP with 64 KiB bundles vs bare UDP datagrams of the same bytes', async () => {
  const rng = new Prng(64);
  // Real bundles: an LTP block of the BP client service is split at its bundles' CBOR ends.
  const bundles = Array.from({ length: BUNDLES }, (_, i) => createBundle({
    destination: ipn(2, 1), source: ipn(1, 1), creationTime: dtnNow(), sequence: i, lifetime: 3_600_000, payload: rng.bytes(BUNDLE_BYTES),
  }).bytes);
  const ltp: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(await bareRun(bundles));
    ltp.push(await ltpRun(bundles));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(ltp) / median(bare);
  writeResult('ltp-udp', {
    command: 'npm run bench -- test/bench/ltp-udp.bench.ts',
    bundles: BUNDLES, bundleBytes: BUNDLE_BYTES, segmentBytes: SEGMENT, window: WINDOW, rounds: ROUNDS,
    mbPerSecond: { ltp: median(ltp) / 1e6, bareUdp: median(bare) / 1e6 },
    ratios: { ltpVsBareUdp: ratio },
    targets: { ltpVsBareUdp: 0.5 },
  });
  expect(ratio).toBeGreaterThanOrEqual(0.5);
});
