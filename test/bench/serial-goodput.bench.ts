// Goodput of the serial link at 115,200 baud: bundles sent over LTP in CCSDS code blocks on a
// pseudo-terminal pair, paced at the line rate, as a share of the line rate (8N1: 11,520 bytes a
// second; a pseudo-terminal ignores baud, so the link's own pacing is what is measured). Clean,
// then through the fault proxy (BER 1e-4 and a 50-byte burst in every 20,000 bytes).
// Targets: >= 0.80 clean (RS(255,223) alone costs 12.5%), >= 0.65 with errors.
// Figures in test/bench/results/serial-goodput.json.
import { expect, it } from 'vitest';
import { parseSerialConfig } from '../../flight/cla/serial/config.js';
import { SerialCla } from '../../flight/cla/serial/serial-cla.js';
import { Fields } from '../../flight/config/fields.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { SerialProxy } from '../../hil/proxy.js';
import { ptyPair } from '../cla/serial-support.js';
import { silent, testNode, TestSink } from '../cla/support.js';
import { Prng } from '../support/prng.js';
import { until } from '../support/wait.js';
import { writeResult } from './results.js';

const BAUD = 115_200;
const BUNDLES = 6;
const BUNDLE_BYTES = 40 * 1024;

function end(node: number, peer: number, device: string): { cla: SerialCla; sink: TestSink; value: (c: string) => number } {
  const t = testNode();
  const sink = new TestSink();
  const config = parseSerialConfig(new Fields('bench'), { device, baud: BAUD }, 'cla.serial');
  const cla = new SerialCla(config, {
    node, sink, tlm: t.tlm, events: t.eventLog, log: silent, allNeighbourIds: [], neighbours: [{ node: peer, cla: 'serial' }], contact: () => undefined,
  });
  return { cla, sink, value: t.value };
}

/** Seconds to move BUNDLES bundles from a to b, from the first send to the last full report. */
async function run(devices: [string, string]): Promise<{ seconds: number; ratio: number; corrected: number; retransmitted: number }> {
  const a = end(1, 2, devices[0]);
  const b = end(2, 1, devices[1]);
  await a.cla.start();
  await b.cla.start();
  try {
    await until(() => a.cla.link(2) !== undefined, 'contact');
    const rng = new Prng(BUNDLES);
    // Real bundles: a received block of the BP client service is split at its bundles' CBOR ends.
    const bundles = Array.from({ length: BUNDLES }, (_, i) => createBundle({
      destination: ipn(2, 1), source: ipn(1, 1), creationTime: dtnNow(), sequence: i, lifetime: 3_600_000, payload: rng.bytes(BUNDLE_BYTES),
    }).bytes);
    const started = performance.now();
    await Promise.all(bundles.map((x) => a.cla.link(2)!.link.send(x)));
    const seconds = (performance.now() - started) / 1000;
    expect(b.sink.accepted).toHaveLength(BUNDLES);
    return {
      seconds,
      ratio: bundles.reduce((n, x) => n + x.length, 0) / seconds / (BAUD / 10),
      corrected: b.value('cla.serial.correctedSymbols'),
      retransmitted: a.value('cla.serial.ltp.dataRetransmitted'),
    };
  } finally {
    await a.cla.close();
    await b.cla.close();
  }
}

it('goodput over the paced serial link at 115,200 baud, clean and with bit errors and bursts', async () => {
  const direct = await ptyPair();
  const clean = await run([direct.a, direct.b]).finally(() => direct.close());

  const left = await ptyPair();
  const right = await ptyPair();
  const proxy = new SerialProxy({ a: left.b, b: right.b, baud: BAUD, ber: 1e-4, burst: { length: 50, period: 20_000 }, drop: 0, delayMs: 0, seed: 3 });
  await proxy.start();
  const noisy = await run([left.a, right.a]).finally(async () => {
    await proxy.close();
    await left.close();
    await right.close();
  });

  writeResult('serial-goodput', {
    command: 'npm run bench -- test/bench/serial-goodput.bench.ts',
    baud: BAUD, lineBytesPerSecond: BAUD / 10, bundles: BUNDLES, bundleBytes: BUNDLE_BYTES,
    interleave: 4, frameBytes: 892, segmentBytes: 1024,
    clean, noisy: { ...noisy, ber: 1e-4, burst: '50/20000', proxy: proxy.stats().aToB },
    targets: { clean: 0.8, noisy: 0.65 },
  });
  expect(clean.ratio).toBeGreaterThanOrEqual(0.8);
  expect(noisy.ratio).toBeGreaterThanOrEqual(0.65);
  expect(noisy.corrected).toBeGreaterThan(0);
});
