// LTP over real UDP sockets on 127.0.0.1 (port 0), through a relay in the test that loses and
// delays datagrams: every block arrives once and whole, and every send resolves only after it.
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClaConfig } from '../../flight/cla/config.js';
import { LTP_PORT, parseLtpConfig } from '../../flight/cla/ltp/config.js';
import { LtpUdpCla } from '../../flight/cla/ltp/udp.js';
import { Neighbours } from '../../flight/cla/neighbours.js';
import { Fields } from '../../flight/config/fields.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { Prng } from '../support/prng.js';
import { until } from '../support/wait.js';
import { LossyRelay } from './ltp-relay.js';
import { silent, testNode, TestSink } from './support.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

function ltpNode(node: number, peer: number, peerPort: number, settings: Record<string, unknown>): { cla: LtpUdpCla; sink: TestSink; tlm: ReturnType<typeof testNode> } {
  const tlm = testNode();
  const sink = new TestSink();
  const config = parseLtpConfig(new Fields('test'), { listen: '127.0.0.1:0', ...settings }, 'cla.ltp');
  const cla = new LtpUdpCla(config, {
    node, sink, tlm: tlm.tlm, events: tlm.eventLog, log: silent, contact: () => undefined,
    neighbours: [{ node: peer, cla: 'ltp', host: '127.0.0.1', port: peerPort }], allNeighbourIds: [],
  });
  closers.push(() => cla.close());
  return { cla, sink, tlm };
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function exchange(loss: number, delayMs: number, count: number, seed: number): Promise<{ a: ReturnType<typeof ltpNode>; b: ReturnType<typeof ltpNode> }> {
  const rng = new Prng(seed);
  const toB = new LossyRelay(loss, delayMs, rng);
  const toA = new LossyRelay(loss, delayMs, rng);
  const [toBPort, toAPort] = [await toB.bind(), await toA.bind()];
  closers.push(() => toB.close(), () => toA.close());
  const settings = { oneWayLightTimeMs: delayMs + 5, marginMs: 200, maxRetries: 20, maxExportSessions: 8 };
  const a = ltpNode(1, 2, toBPort, settings);
  const b = ltpNode(2, 1, toAPort, settings);
  toA.target = (await a.cla.start()).port;
  toB.target = (await b.cla.start()).port;
  // A block of the BP client service holds bundles: one each here, of 100 B to 64 KiB of payload.
  const blocks = Array.from({ length: count }, (_, i) => createBundle({
    destination: ipn(2, 1), source: ipn(1, 1), creationTime: dtnNow(), sequence: i, lifetime: 3_600_000, payload: rng.bytes(100 + rng.below(64 * 1024 - 100)),
  }).bytes);
  await Promise.all(blocks.map((block) => a.cla.link(2)!.link.send(block)));
  // Every send resolved: the receiver reported each block whole, so it must hold each already.
  const received = b.sink.accepted.map((x) => digest(x.bytes)).sort();
  expect(received).toEqual(blocks.map(digest).sort());
  expect(b.sink.accepted.every((x) => x.from.cla === 'ltp' && x.from.nodeId === 'ipn:1.0')).toBe(true);
  await until(() => a.cla.engine.openSessions.exports === 0 && b.cla.engine.openSessions.imports === 0, 'all sessions closed');
  return { a, b };
}

describe('LTP over UDP', () => {
  it('delivers every block exactly once over a lossless link', async () => {
    const { a, b } = await exchange(0, 0, 40, 1);
    expect(a.tlm.value('cla.ltp.blocksOut')).toBe(40);
    expect(b.tlm.value('cla.ltp.blocksIn')).toBe(40);
    expect(a.tlm.value('cla.ltp.dataRetransmitted')).toBe(0);
  });

  it('delivers every block exactly once with 5% datagram loss and 20 ms delay each way', async () => {
    const { a, b } = await exchange(0.05, 20, 60, 2);
    expect(b.tlm.value('cla.ltp.blocksIn')).toBe(60);
    // Loss was recovered by LTP, not by luck.
    expect(a.tlm.value('cla.ltp.dataRetransmitted')).toBeGreaterThan(0);
    expect(b.tlm.value('cla.ltp.duplicates') + b.tlm.value('cla.ltp.blocksIn')).toBeGreaterThanOrEqual(60);
  }, 120_000);

  it('drops segments from engines that are not neighbours, as malformed', async () => {
    const a = ltpNode(1, 2, 9, {});
    const port = (await a.cla.start()).port;
    const stranger = createSocket('udp4');
    closers.push(() => new Promise((resolve) => stranger.close(() => resolve())));
    // A red checkpoint of engine 7's session 1: 1 byte of data.
    stranger.send(Uint8Array.from([0x03, 0x07, 0x01, 0x00, 0x01, 0x00, 0x01, 0x01, 0x00, 0xaa]), port, '127.0.0.1');
    await until(() => a.tlm.value('cla.ltp.malformed') === 1, 'the stranger counted');
    expect(a.cla.engine.errorCounts.get('LTP_UNKNOWN_ENGINE')).toBe(1);
    expect(a.sink.accepted).toHaveLength(0);
  });

  it('is one of the layers the link table builds from the config: a link to an LTP neighbour', async () => {
    const tlm = testNode();
    const config: ClaConfig = {
      ltp: parseLtpConfig(new Fields('test'), { listen: '127.0.0.1:0' }, 'cla.ltp'),
      neighbours: [{ node: 5, cla: 'ltp', host: '127.0.0.1', port: LTP_PORT }],
    };
    const contacts: number[] = [];
    const table = new Neighbours({ config, node: 4, sink: new TestSink(), tlm: tlm.tlm, events: tlm.eventLog, log: silent, onContact: () => contacts.push(1) });
    closers.push(() => table.stop());
    const listening = await table.start();
    expect(listening.ltp?.port).toBeGreaterThan(0);
    expect(table.link(5)?.link.peer).toEqual({ cla: 'ltp', address: '127.0.0.1', port: LTP_PORT, nodeId: 'ipn:5.0' });
    expect(table.link(5)?.maxBundleBytes).toBe(1 << 20);
    expect(table.link(6)).toBeUndefined();
    expect(contacts).toEqual([1]);
    expect(table.counters()['cla.ltp.blocksOut']).toBe(0);
  });
});
