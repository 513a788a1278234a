// The segments Tern and ION-DTN 4.1.3 exchanged over UDP (captured by ion-live.test.ts, see
// vectors/README.md), replayed in CI without ION: ION's segments go into a Tern engine on the
// virtual clock, which must deliver the same bundles and answer with the same reports it sent
// to the real ION; and each side's segments for the same exchange must decode to the same
// fields (types, client service, sizes, report scope and claims).
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ltpChannelDefs } from '../../../flight/cla/dictionary.js';
import { BundleRefusedError } from '../../../flight/cla/errors.js';
import { splitBundles } from '../../../flight/cla/ltp/bundles.js';
import { parseLtpConfig } from '../../../flight/cla/ltp/config.js';
import { LtpEngine } from '../../../flight/cla/ltp/engine.js';
import { LtpBlockError } from '../../../flight/cla/ltp/errors.js';
import { VirtualTimers } from '../../../flight/cla/ltp/timers.js';
import { LtpUdpCla } from '../../../flight/cla/ltp/udp.js';
import { decodeSegment, encodeSegment, SEGMENT, type DataSegment, type ReportSegment, type Segment } from '../../../flight/cla/ltp/wire.js';
import { Fields } from '../../../flight/config/fields.js';
import { payloadBlock } from '../../../flight/dtn/bundle.js';
import { decodeBundle } from '../../../flight/dtn/codec.js';
import { Prng } from '../../support/prng.js';
import { until } from '../../support/wait.js';
import { silent, testNode, TestSink } from '../support.js';
import { parseCapture, type CapturedSegment } from './capture-relay.js';

const VECTORS = fileURLToPath(new URL('./vectors/', import.meta.url));
const TERN = 1;
const ION = 2;
const SEGMENT_BYTES = 1024;

const load = (name: string): CapturedSegment[] => parseCapture(readFileSync(join(VECTORS, `${name}.jsonl`), 'utf8'));
const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The payloads ion-live.test.ts sent, in its order: Prng(1113).bytes(n) for each bundle. */
function livePayloads(): Record<string, string[]> {
  const rng = new Prng(1113);
  const take = (sizes: number[]): string[] => sizes.map((n) => digest(rng.bytes(n)));
  return {
    'tern-to-ion-small': take([200]),
    'tern-to-ion-64k': take([64 * 1024]),
    'ion-to-tern-small': take([200]),
    'ion-to-tern-64k': take([64 * 1024]),
    'ion-to-tern-aggregated': take([100, 150, 200]),
    'tern-to-ion-64k-loss': take([64 * 1024]),
    'ion-to-tern-64k-loss': take([64 * 1024]),
    'ion-to-tern-refused': take([300]),
  };
}
const PAYLOADS = livePayloads();

const payloadsOf = (bundles: Uint8Array[]): string[] => bundles.map((b) => digest(payloadBlock(decodeBundle(b)).data)).sort();

/**
 * A Tern engine (engine 1) on the virtual clock that knows only ION, with segments of the span's
 * SEGMENT_BYTES: what it sends goes to `transmit`, blocks it receives to `deliver`.
 */
function ternEngine(transmit: (bytes: Uint8Array) => void, deliver: (block: Uint8Array) => void = () => undefined): LtpEngine {
  const node = testNode();
  const settings = parseLtpConfig(new Fields('test'), { listen: '127.0.0.1:0', segmentBytes: SEGMENT_BYTES }, 'cla.ltp');
  return new LtpEngine({
    engineId: TERN, settings, timers: new VirtualTimers(), channels: node.tlm.defineAll(ltpChannelDefs('cla.ltp')),
    transmit: (bytes) => {
      transmit(bytes);
      return Promise.resolve();
    },
    deliver: (block) => {
      deliver(block);
      return Promise.resolve();
    },
    knows: (engine) => engine === ION, events: node.eventLog, log: silent,
  });
}

/**
 * Replays ION's side of an ION -> Tern capture into a Tern engine (engine 1) on the virtual
 * clock. ION's report acknowledgements and retransmitted checkpoints name the serial numbers of
 * the reports Tern sent then; they are mapped onto the reports this engine sends now, in order.
 */
async function replayIntoTern(capture: CapturedSegment[]): Promise<{ bundles: Uint8Array[]; sent: Segment[]; engine: LtpEngine }> {
  const sent: Segment[] = [];
  const bundles: Uint8Array[] = [];
  const engine = ternEngine((bytes) => sent.push(decodeSegment(bytes)), (block) => bundles.push(...splitBundles(block)));
  const serials = new Map<number, number>();
  let capturedReports = 0;
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  for (const c of capture) {
    const segment = decodeSegment(c.bytes);
    if (c.from === 'tern') {
      if (segment.kind === 'report') {
        await until(() => sent.filter((s) => s.kind === 'report').length > capturedReports, 'Tern to send the report it sent to ION');
        serials.set(segment.serial, (sent.filter((s) => s.kind === 'report')[capturedReports++] as ReportSegment).serial);
      }
      continue;
    }
    if (c.dropped) continue;
    const mapped: Segment = segment.kind === 'report-ack'
      ? { ...segment, reportSerial: serials.get(segment.reportSerial) ?? segment.reportSerial }
      : segment.kind === 'data' && segment.checkpoint && segment.checkpoint.reportSerial !== 0
        ? { ...segment, checkpoint: { ...segment.checkpoint, reportSerial: serials.get(segment.checkpoint.reportSerial) ?? 0 } }
        : segment;
    engine.receive(encodeSegment(mapped), 'ion capture');
    await settle();
  }
  await settle();
  return { bundles, sent, engine };
}

/** What a receiver's reports say, serial numbers aside. */
const reportFacts = (segments: Segment[]): Array<Omit<ReportSegment, 'kind' | 'session' | 'serial' | 'checkpointSerial'>> =>
  segments.flatMap((s) => (s.kind === 'report' ? [{ lowerBound: s.lowerBound, upperBound: s.upperBound, claims: s.claims }] : []));

describe('ION-DTN 4.1.3 captures replayed into Tern', () => {
  for (const name of ['ion-to-tern-small', 'ion-to-tern-64k', 'ion-to-tern-aggregated', 'ion-to-tern-64k-loss', 'ion-to-tern-refused']) {
    it(`${name}: Tern delivers the bundles ION sent, reports as it did to ION, and closes the session`, async () => {
      const capture = load(name);
      const { bundles, sent, engine } = await replayIntoTern(capture);
      expect(payloadsOf(bundles)).toEqual([...PAYLOADS[name]!].sort());
      const captured = capture.filter((c) => c.from === 'tern').map((c) => decodeSegment(c.bytes));
      expect(reportFacts(sent)).toEqual(reportFacts(captured));
      expect(sent.map((s) => s.kind)).toEqual(captured.map((s) => s.kind));
      // Every report acknowledged by ION's RA: nothing left open (RFC 5326 6.13).
      expect(engine.openSessions).toEqual({ exports: 0, imports: 0 });
    });
  }

  it('ion-to-tern-aggregated: one block of three bundles (ION aggregates a span\'s bundles), split at the CBOR item ends', () => {
    const data = load('ion-to-tern-aggregated').map((c) => decodeSegment(c.bytes)).filter((s): s is DataSegment => s.kind === 'data');
    expect(data).toHaveLength(1);
    const bundles = splitBundles(data[0]!.data);
    expect(bundles.map((b) => b.length).reduce((a, b) => a + b)).toBe(data[0]!.data.length);
    expect(payloadsOf(bundles)).toEqual([...PAYLOADS['ion-to-tern-aggregated']!].sort());
    // Cut anywhere inside the last bundle, the block is refused as a whole, with a typed error.
    for (const cut of [1, 17, bundles[2]!.length - 1]) {
      expect(() => splitBundles(data[0]!.data.subarray(0, data[0]!.data.length - cut))).toThrow(LtpBlockError);
    }
  });
});

describe("ION's reports replayed into a Tern sender", () => {
  it('tern-to-ion-64k-loss: Tern sends again exactly the gaps ION reported, ends them in a checkpoint naming the report, and completes on ION\'s final report', async () => {
    const capture = load('tern-to-ion-64k-loss').map((c) => ({ ...c, segment: decodeSegment(c.bytes) }));
    const ternData = capture.filter((c) => c.from === 'tern' && c.segment.kind === 'data').map((c) => c.segment as DataSegment);
    const eob = ternData.find((d) => d.type === SEGMENT.redCheckpointEob)!;
    const block = new Uint8Array(eob.offset + eob.data.length);
    for (const d of ternData) block.set(d.data, d.offset);
    const ionReports = capture.filter((c) => c.from === 'ion' && c.segment.kind === 'report').map((c) => c.segment as ReportSegment);
    expect(ionReports).toHaveLength(2);

    const sent: Segment[] = [];
    const engine = ternEngine((bytes) => sent.push(decodeSegment(bytes)));
    let done = false;
    void engine.send(block, ION).then(() => (done = true));
    const checkpoints = (): DataSegment[] => sent.filter((s): s is DataSegment => s.kind === 'data' && s.checkpoint !== undefined);
    await until(() => checkpoints().length === 1, 'the first pass');
    const session = checkpoints()[0]!.session;
    // ION's first report, as if it answered this session's checkpoint.
    const first = { ...ionReports[0]!, session, checkpointSerial: checkpoints()[0]!.checkpoint!.serial };
    const before = sent.length;
    engine.receive(encodeSegment(first), 'ion capture');
    await until(() => checkpoints().length === 2, 'the retransmission');
    const again = sent.slice(before);
    expect(again[0]).toMatchObject({ kind: 'report-ack', reportSerial: first.serial });
    const resent = again.filter((s): s is DataSegment => s.kind === 'data');
    // Exactly the gaps between ION's claims, each in order, the last segment a type-1 checkpoint.
    const gaps: Array<[number, number]> = [];
    let at = 0;
    for (const c of first.claims) {
      if (c.offset > at) gaps.push([at, c.offset]);
      at = c.offset + c.length;
    }
    const covered: Array<[number, number]> = [];
    for (const d of resent) {
      const last = covered.at(-1);
      if (last && last[1] === d.offset) last[1] = d.offset + d.data.length;
      else covered.push([d.offset, d.offset + d.data.length]);
    }
    expect(covered).toEqual(gaps);
    expect(resent.at(-1)).toMatchObject({ type: SEGMENT.redCheckpoint, checkpoint: { reportSerial: first.serial } });
    expect(resent.every((d) => encodeSegment(d).length <= SEGMENT_BYTES)).toBe(true);
    // ION's second report claims the whole block: the send completes, the session closes.
    engine.receive(encodeSegment({ ...ionReports[1]!, session, checkpointSerial: checkpoints()[1]!.checkpoint!.serial }), 'ion capture');
    await until(() => done, 'the send to resolve');
    expect(sent.at(-1)).toMatchObject({ kind: 'report-ack', reportSerial: ionReports[1]!.serial });
    expect(engine.openSessions).toEqual({ exports: 0, imports: 0 });
  });
});

describe('Tern and ION segments for the same exchange decode to the same fields', () => {
  /** The fields of one direction of an exchange that do not depend on the engine's random numbers. */
  function facts(capture: CapturedSegment[], sender: string) {
    const decoded = capture.map((c) => ({ ...c, segment: decodeSegment(c.bytes) }));
    const data = decoded.filter((d) => d.from === sender && d.segment.kind === 'data');
    const segments = data.map((d) => d.segment as DataSegment);
    const firstPass = segments.findIndex((s) => s.type === SEGMENT.redCheckpointEob) + 1;
    const blockLength = segments[firstPass - 1]!.offset + segments[firstPass - 1]!.data.length;
    const reports = decoded.filter((d) => d.from !== sender && d.segment.kind === 'report').map((d) => d.segment as ReportSegment);
    const dropped = data.filter((d) => d.dropped).map((d) => d.segment as DataSegment);
    return {
      // Versions and extension counts are 0 on every segment of both engines.
      headers: [...new Set(decoded.map((d) => `${d.bytes[0]! >> 4}/${d.bytes[1 + sdnvBytes(d.bytes, 1) + sdnvBytes(d.bytes, 1 + sdnvBytes(d.bytes, 1))]}`))],
      clientServices: [...new Set(segments.map((s) => s.clientServiceId))],
      firstPassTypes: segments.slice(0, firstPass).map((s) => s.type),
      contiguous: segments.slice(0, firstPass).every((s, i, all) => i === 0 ? s.offset === 0 : s.offset === all[i - 1]!.offset + all[i - 1]!.data.length),
      withinSegmentSize: data.every((d) => d.bytes.length <= SEGMENT_BYTES),
      firstCheckpointReportSerial: segments[firstPass - 1]!.checkpoint!.reportSerial,
      retransmissionTypes: [...new Set(segments.slice(firstPass).map((s) => s.type))].sort(),
      reports: reports.map((r) => ({
        lowerBound: r.lowerBound,
        upperIsBlock: r.upperBound === blockLength,
        // A claim per run of received data: the dropped segments are the gaps, nothing else.
        gaps: gapsOf(r, blockLength).length,
        gapsAreDropped: gapsOf(r, blockLength).every((g) => dropped.some((d) => d.offset === g.start)),
      })),
    };
  }

  function sdnvBytes(b: Uint8Array, at: number): number {
    let n = 1;
    while (b[at + n - 1]! & 0x80) n++;
    return n;
  }

  function gapsOf(r: ReportSegment, blockLength: number): Array<{ start: number; end: number }> {
    const gaps: Array<{ start: number; end: number }> = [];
    let at = r.lowerBound;
    for (const c of r.claims) {
      if (r.lowerBound + c.offset > at) gaps.push({ start: at, end: r.lowerBound + c.offset });
      at = r.lowerBound + c.offset + c.length;
    }
    if (at < Math.min(r.upperBound, blockLength)) gaps.push({ start: at, end: r.upperBound });
    return gaps;
  }

  for (const exchange of ['64k', '64k-loss']) {
    it(`${exchange}: Tern's segments to ION and ION's to Tern have the same fields, and each side's reports claim what arrived`, () => {
      const tern = facts(load(`tern-to-ion-${exchange}`), 'tern');
      const ion = facts(load(`ion-to-tern-${exchange}`), 'ion');
      expect(tern).toEqual(ion);
      expect(tern.headers).toEqual(['0/0']);
      expect(tern.clientServices).toEqual([1]);
      expect(tern.withinSegmentSize).toBe(true);
      expect(tern.firstCheckpointReportSerial).toBe(0);
      if (exchange === '64k-loss') {
        expect(tern.reports.map((r) => r.gaps)).toEqual([3, 0]);
        expect(tern.retransmissionTypes).toEqual([SEGMENT.red, SEGMENT.redCheckpoint]);
      } else {
        expect(tern.reports.map((r) => r.gaps)).toEqual([0]);
      }
    });
  }

  it('tern-to-ion-small: ION cancels a session it cannot serve yet (CR, client service unreachable) and Tern acknowledges it and sends the bundle again', () => {
    const segments = load('tern-to-ion-small').map((c) => ({ from: c.from, segment: decodeSegment(c.bytes) }));
    const cancel = segments.find((s) => s.segment.kind === 'cancel');
    expect(cancel).toMatchObject({ from: 'ion', segment: { fromSender: false, reason: 1 } });
    expect(segments.find((s) => s.segment.kind === 'cancel-ack')).toMatchObject({ from: 'tern', segment: { toSender: false, session: cancel!.segment.session } });
    const sessions = new Set(segments.map((s) => s.segment.session.number));
    expect(sessions.size).toBe(2);
    expect(segments.at(-2)).toMatchObject({ from: 'ion', segment: { kind: 'report', upperBound: 286, claims: [{ offset: 0, length: 286 }] } });
  });
});

describe('segment size as ION counts it', () => {
  it('Tern sends the block ION sent in segments of at most the span\'s 1024 bytes, header included, as many as ION did', async () => {
    const ion = load('ion-to-tern-64k').filter((c) => c.from === 'ion').map((c) => decodeSegment(c.bytes)).filter((s): s is DataSegment => s.kind === 'data');
    const block = new Uint8Array(ion.at(-1)!.offset + ion.at(-1)!.data.length);
    for (const s of ion) block.set(s.data, s.offset);
    const sizes: number[] = [];
    const engine = ternEngine((bytes) => sizes.push(bytes.length));
    void engine.send(block, ION).catch(() => undefined);
    await until(() => sizes.length > 0, 'the first pass');
    expect(Math.max(...sizes)).toBeLessThanOrEqual(SEGMENT_BYTES);
    // ION's session numbers are short SDNVs, Tern's random ones up to 5 bytes: one segment more at most.
    expect(sizes.length - ion.length).toBeGreaterThanOrEqual(0);
    expect(sizes.length - ion.length).toBeLessThanOrEqual(1);
    engine.close();
  });
});

describe('LTP over UDP takes an aggregated block as ION sends it', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  /** A Tern LTP layer (engine 1) and a socket as ION's engine 2; sends ION's aggregated block to it. */
  async function ionBlockInto(sink: TestSink): Promise<Segment[]> {
    const node = testNode();
    const peer = createSocket('udp4');
    await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => peer.close(() => resolve())));
    const replies: Segment[] = [];
    peer.on('message', (msg) => replies.push(decodeSegment(msg)));
    const config = parseLtpConfig(new Fields('test'), { listen: '127.0.0.1:0' }, 'cla.ltp');
    const cla = new LtpUdpCla(config, {
      node: TERN, sink, tlm: node.tlm, events: node.eventLog, log: silent, contact: () => undefined,
      neighbours: [{ node: ION, cla: 'ltp', host: '127.0.0.1', port: peer.address().port }], allNeighbourIds: [],
    });
    closers.push(() => cla.close());
    const port = (await cla.start()).port;
    const block = load('ion-to-tern-aggregated').find((c) => c.from === 'ion' && decodeSegment(c.bytes).kind === 'data')!;
    peer.send(block.bytes, port, '127.0.0.1');
    await until(() => replies.some((r) => r.kind === 'cancel' || (r.kind === 'report' && r.claims.length === 1 && r.claims[0]!.length === r.upperBound)), 'a report of the whole block or a cancel');
    return replies;
  }

  it('hands each of the three bundles of ION\'s block to the agent, and reports the block received', async () => {
    const sink = new TestSink();
    const replies = await ionBlockInto(sink);
    expect(sink.accepted.map((a) => digest(payloadBlock(decodeBundle(a.bytes)).data)).sort()).toEqual([...PAYLOADS['ion-to-tern-aggregated']!].sort());
    expect(sink.accepted.every((a) => a.from.nodeId === `ipn:${ION}.0`)).toBe(true);
    expect(replies.some((r) => r.kind === 'cancel')).toBe(false);
  });

  it('a bundle the agent refuses for good does not cancel the block (ION would send it again at once, for ever); one refused for now does', async () => {
    let n = 0;
    const forGood = new TestSink(() => (n++ === 1 ? Promise.reject(new BundleRefusedError('not-acceptable', 'no route')) : Promise.resolve()));
    expect((await ionBlockInto(forGood)).some((r) => r.kind === 'cancel')).toBe(false);
    expect(forGood.accepted).toHaveLength(3);
    let m = 0;
    const forNow = new TestSink(() => (m++ === 1 ? Promise.reject(new BundleRefusedError('no-resources', 'store full')) : Promise.resolve()));
    expect((await ionBlockInto(forNow)).find((r) => r.kind === 'cancel')).toMatchObject({ fromSender: false, reason: 0 });
  });
});
