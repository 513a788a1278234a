// The serial convergence layer on real pseudo-terminals: two LTP engines over CCSDS code blocks,
// paced at the configured baud, each side's contact brought up by the other's idle frames. A
// block of the BP client service holds bundles (CBOR items), so the bundles sent are real ones.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BundleRefusedError } from '../../flight/cla/errors.js';
import { LtpSessionCancelledError } from '../../flight/cla/ltp/errors.js';
import { parseSerialConfig } from '../../flight/cla/serial/config.js';
import { SerialPortError } from '../../flight/cla/serial/errors.js';
import { SerialCla } from '../../flight/cla/serial/serial-cla.js';
import { Fields } from '../../flight/config/fields.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { Prng } from '../support/prng.js';
import { until } from '../support/wait.js';
import { ptyPair } from './serial-support.js';
import { silent, testNode, TestSink, type TestNode } from './support.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface SerialEnd extends TestNode {
  cla: SerialCla;
  sink: TestSink;
  contacts: boolean[];
}

function serialEnd(node: number, peer: number, device: string, settings: Record<string, unknown> = {}): SerialEnd {
  const tlm = testNode();
  const sink = new TestSink();
  const contacts: boolean[] = [];
  const config = parseSerialConfig(new Fields('test'), { device, baud: 1_000_000, lossOfSignalMs: 500, ...settings }, 'cla.serial');
  const cla = new SerialCla(config, {
    node, sink, tlm: tlm.tlm, events: tlm.eventLog, log: silent, allNeighbourIds: [],
    neighbours: [{ node: peer, cla: 'serial' }],
    contact: (_n, up) => contacts.push(up),
  });
  closers.push(() => cla.close());
  return { ...tlm, cla, sink, contacts };
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let sequence = 0;
/** A real BPv7 bundle with `payloadBytes` of the generator's bytes as its payload. */
function bundle(rng: Prng, payloadBytes: number): Uint8Array {
  return createBundle({
    destination: ipn(2, 1), source: ipn(1, 1), creationTime: dtnNow(), sequence: sequence++, lifetime: 3_600_000, payload: rng.bytes(payloadBytes),
  }).bytes;
}

const concat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

/** Two serial ends over a fresh pseudo-terminal pair, in contact both ways. */
async function linkedPair(): Promise<{ a: SerialEnd; b: SerialEnd }> {
  const pty = await ptyPair();
  closers.push(() => pty.close());
  const a = serialEnd(1, 2, pty.a);
  const b = serialEnd(2, 1, pty.b);
  await a.cla.start();
  await b.cla.start();
  await until(() => a.cla.link(2) !== undefined && b.cla.link(1) !== undefined, 'contact both ways');
  return { a, b };
}

describe('serial CLA', () => {
  it('moves bundles both ways over a pseudo-terminal pair, each sent once and reported', async () => {
    const pty = await ptyPair();
    closers.push(() => pty.close());
    const a = serialEnd(1, 2, pty.a);
    const b = serialEnd(2, 1, pty.b);
    expect(await a.cla.start()).toEqual({ address: pty.a, port: 0 });
    await b.cla.start();
    await until(() => a.cla.link(2) !== undefined && b.cla.link(1) !== undefined, 'contact both ways');
    expect(a.contacts).toEqual([true]);
    expect(a.cla.link(3)).toBeUndefined();
    const rng = new Prng(11);
    const toB = Array.from({ length: 6 }, () => bundle(rng, 100 + rng.below(20_000)));
    const toA = Array.from({ length: 3 }, () => bundle(rng, 100 + rng.below(20_000)));
    await Promise.all([...toB.map((x) => a.cla.link(2)!.link.send(x)), ...toA.map((x) => b.cla.link(1)!.link.send(x))]);
    expect(b.sink.accepted.map((x) => digest(x.bytes)).sort()).toEqual(toB.map(digest).sort());
    expect(a.sink.accepted.map((x) => digest(x.bytes)).sort()).toEqual(toA.map(digest).sort());
    expect(b.sink.accepted[0]!.from).toEqual({ cla: 'serial', address: pty.b, port: 0, nodeId: 'ipn:1.0' });
    expect(a.value('cla.serial.idleFramesOut')).toBeGreaterThan(0);
    expect(b.value('cla.serial.ltp.blocksIn')).toBe(6);
    expect(a.value('cla.serial.ltp.blocksOut')).toBe(6);
    expect(b.value('cla.serial.uncorrectableFrames')).toBe(0);
  });

  it('paces bytes at the configured baud: 19,200 baud carries about 1,920 bytes a second', async () => {
    const pty = await ptyPair();
    closers.push(() => pty.close());
    const a = serialEnd(1, 2, pty.a, { baud: 19_200 });
    const b = serialEnd(2, 1, pty.b, { baud: 19_200 });
    await a.cla.start();
    await b.cla.start();
    const started = performance.now();
    const before = a.value('cla.serial.bytesOut');
    await until(() => b.value('cla.serial.bytesIn') - before >= 4 * 1024, 'four code blocks across');
    const seconds = (performance.now() - started) / 1000;
    // Four 1,024-byte blocks at 1,920 bytes/s take at least ~2 s (the first may leave at once).
    expect(seconds).toBeGreaterThan(1.4);
  });

  it('reports contact down when the other side stops, and up when it returns', async () => {
    const pty = await ptyPair();
    closers.push(() => pty.close());
    const a = serialEnd(1, 2, pty.a);
    let b = serialEnd(2, 1, pty.b);
    await a.cla.start();
    await b.cla.start();
    await until(() => a.contacts.length === 1, 'contact up');
    await b.cla.close();
    await until(() => a.contacts.length === 2, 'contact down after loss of signal');
    expect(a.contacts).toEqual([true, false]);
    expect(a.cla.link(2)).toBeUndefined();
    b = serialEnd(2, 1, pty.b);
    await b.cla.start();
    await until(() => a.contacts.length === 3, 'contact up again');
    await a.cla.link(2)!.link.send(bundle(new Prng(5), 500));
    expect(b.sink.accepted).toHaveLength(1);
  });

  it('hands each bundle of a block of three to the agent, as ION aggregates them', async () => {
    const { a, b } = await linkedPair();
    const rng = new Prng(21);
    const three = [bundle(rng, 200), bundle(rng, 5_000), bundle(rng, 300)];
    await a.cla.link(2)!.link.send(concat(three));
    expect(b.sink.accepted.map((x) => digest(x.bytes))).toEqual(three.map(digest));
    expect(b.value('cla.serial.ltp.blocksIn')).toBe(1);
    expect(b.value('cla.serial.ltp.badBlocks')).toBe(0);
  });

  it('refuses a block with trailing garbage as a bad block, counted, and takes the next', async () => {
    const { a, b } = await linkedPair();
    const rng = new Prng(22);
    const sent = a.cla.link(2)!.link.send(concat([bundle(rng, 400), new Uint8Array(37).fill(0xff)]));
    await expect(sent).rejects.toBeInstanceOf(LtpSessionCancelledError);
    expect(b.sink.accepted).toHaveLength(0);
    expect(b.value('cla.serial.ltp.badBlocks')).toBe(1);
    const bad = b.events.filter((e) => e.name === 'CLA_LTP_BAD_BLOCK');
    expect(bad).toHaveLength(1);
    expect(bad[0]!.args).toMatchObject({ engine: 1 });
    expect(String(bad[0]!.args['error'])).toMatch(/^LTP block: CBOR/);
    const next = bundle(rng, 400);
    await a.cla.link(2)!.link.send(next);
    expect(b.sink.accepted.map((x) => digest(x.bytes))).toEqual([digest(next)]);
  });

  it('completes a block whose bundle the agent refuses for good, and cancels one it refuses for now', async () => {
    const { a, b } = await linkedPair();
    const rng = new Prng(23);
    const [kept, refused] = [bundle(rng, 300), bundle(rng, 300)];
    b.sink.mode = async (bytes) => {
      if (digest(bytes) === digest(refused)) throw new BundleRefusedError('not-acceptable', 'policy');
    };
    await a.cla.link(2)!.link.send(concat([kept, refused]));
    expect(b.sink.accepted).toHaveLength(2);
    expect(b.value('cla.serial.ltp.blocksIn')).toBe(1);
    b.sink.mode = () => Promise.reject(new BundleRefusedError('no-resources', 'store full'));
    await expect(a.cla.link(2)!.link.send(bundle(rng, 300))).rejects.toBeInstanceOf(LtpSessionCancelledError);
    expect(b.value('cla.serial.ltp.blocksIn')).toBe(1);
  });

  it('refuses a device that does not exist with a typed error', async () => {
    const a = serialEnd(1, 2, '/dev/tern-no-such-tty');
    await expect(a.cla.start()).rejects.toBeInstanceOf(SerialPortError);
  });
});
