// Tern against a real ION node (NASA JPL's ION-DTN) over LTP on UDP, 127.0.0.1 only. Opt-in:
// runs when TERN_ION_PREFIX names an ION install (bin/ionadmin ...); see
// flight/cla/ltp/ION-INTEROP.md. Bundles go both ways, small and of many segments, with and
// without lost segments (dropped by the relays between the engines), and what crosses the wire
// is recorded; TERN_ION_CAPTURE=<folder> writes the captures there (the test vectors of
// test/cla/ltp/vectors were made that way).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dtnNow, payloadBlock } from '../../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../../flight/dtn/codec.js';
import { ipn } from '../../../flight/dtn/eid.js';
import { hopCountBlock } from '../../../flight/dtn/blocks.js';
import { freePort, GroundPeer, writeNodeConfig } from '../../support/mission.js';
import { startTern, type TernProcess } from '../../support/node-process.js';
import { Prng } from '../../support/prng.js';
import { until } from '../../support/wait.js';
import { Capture, CaptureRelay } from './capture-relay.js';
import { IonNode } from './ion-node.js';
import { decodeSegment, type Segment } from '../../../flight/cla/ltp/wire.js';

const PREFIX = process.env.TERN_ION_PREFIX;
const CAPTURE_DIR = process.env.TERN_ION_CAPTURE;
const skipReason = !PREFIX
  ? 'skipped: TERN_ION_PREFIX is not set (an ION-DTN install prefix)'
  : !existsSync(join(PREFIX, 'bin', 'ionadmin'))
    ? `skipped: no bin/ionadmin under TERN_ION_PREFIX=${PREFIX}`
    : '';

const TERN = 1;
const ION = 2;
const GROUND = 100;
/** A node ION routes through Tern, which Tern has no route to: its agent refuses such bundles. */
const NOWHERE = 7;
const SEGMENT = 1024;

function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => {
    const port = s.address().port;
    s.close(() => resolve(port));
  }));
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** Whether a segment is LTP data (its type code below 8), the only kind the relays drop. */
const isData = (bytes: Uint8Array): boolean => (bytes[0]! & 0x0f) < 8;

describe.skipIf(skipReason !== '')(`LTP interop with ION ${skipReason}`, () => {
  const rng = new Prng(1113);
  let dir: string;
  let ion: IonNode;
  let tern: TernProcess;
  let ground: GroundPeer;
  let toIon: CaptureRelay;
  let toTern: CaptureRelay;
  let sequence = 0;
  let ternPort = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tern-ion-'));
    const ionDir = join(dir, 'ion');
    mkdirSync(ionDir);
    const [ionLtp, ternLtp] = [await freeUdpPort(), await freeUdpPort()];
    toIon = new CaptureRelay('tern', ionLtp);
    toTern = new CaptureRelay('ion', ternLtp);
    const [toIonPort, toTernPort] = [await toIon.bind(), await toTern.bind()];

    ion = new IonNode({
      prefix: PREFIX!, dir: ionDir, node: ION, peer: TERN, via: [GROUND, NOWHERE], ltpPort: ionLtp, peerPort: toTernPort,
      segmentBytes: SEGMENT, aggregationBytes: SEGMENT, aggregationSeconds: 1,
    });
    await ion.start();

    ground = new GroundPeer(GROUND);
    const groundPort = (await ground.tcp.listen('127.0.0.1', 0)).port;
    ternPort = await freePort();
    const file = writeNodeConfig(dir, { id: TERN, port: ternPort, neighbours: { [GROUND]: ['tcp', groundPort] } });
    const config = JSON.parse(readFileSync(file, 'utf8')) as { cla: Record<string, unknown> & { neighbours: Record<string, unknown> } };
    // ION's timers run in whole seconds, so its reports may take a second or two: Tern waits
    // that long before it sends a checkpoint again.
    config.cla.ltp = { listen: `127.0.0.1:${ternLtp}`, segmentBytes: SEGMENT, oneWayLightTimeMs: 1000, marginMs: 1000, maxRetries: 10 };
    config.cla.neighbours[String(ION)] = { cla: 'ltp', address: `127.0.0.1:${toIonPort}` };
    writeFileSync(file, JSON.stringify(config, null, 2));
    tern = startTern(['flight', '--config', file]);
    await tern.waitForLine((l) => l.msg === 'node started');
  }, 120_000);

  afterAll(async () => {
    if (tern && tern.child.exitCode === null) tern.child.kill('SIGKILL');
    await ion?.stop();
    await ground?.close();
    await toIon?.close();
    await toTern?.close();
  }, 120_000);

  /** Starts a fresh capture in both directions, dropping the listed data segments of each. */
  function capture(drops: { tern?: number[]; ion?: number[] } = {}): Capture {
    const shared = new Capture();
    for (const [relay, list] of [[toIon, drops.tern ?? []], [toTern, drops.ion ?? []]] as const) {
      relay.capture = shared;
      let data = 0;
      relay.drop = (_i, bytes) => isData(bytes) && list.includes(data++);
    }
    return shared;
  }

  function save(name: string, c: Capture): void {
    if (!CAPTURE_DIR) return;
    mkdirSync(CAPTURE_DIR, { recursive: true });
    writeFileSync(join(CAPTURE_DIR, `${name}.jsonl`), c.toJsonLines());
  }

  /** Every segment fits the span's segment size; the relays dropped what they were told to. */
  function expectWire(c: Capture, sender: string, drops: number[]): void {
    expect(Math.max(...c.segments.map((s) => s.bytes.length))).toBeLessThanOrEqual(SEGMENT);
    expect(c.segments.filter((s) => s.dropped && s.from === sender)).toHaveLength(drops.length);
    if (drops.length > 0) expect(c.segments.some((s) => s.from !== sender && (s.bytes[0]! & 0x0f) === 8)).toBe(true);
  }

  /** Ground -> Tern (TCPCL) -> ION (LTP), received by bprecvfile as files. */
  async function ternToIon(name: string, sizes: number[], drops: number[] = []): Promise<void> {
    const c = capture({ tern: drops });
    // bprecvfile numbers its files from 1 each run: a folder of their own for each exchange.
    const into = join(ion.spec.dir, name);
    mkdirSync(into);
    const receiver = spawn(join(PREFIX!, 'bin', 'bprecvfile'), [`ipn:${ION}.1`, String(sizes.length)], { cwd: into, env: ion.env, stdio: 'ignore' });
    const received = new Promise<number | null>((resolve) => receiver.on('exit', (code) => resolve(code)));
    const session = await ground.tcp.connect('127.0.0.1', ternPort, `ipn:${TERN}.0`);
    const payloads = sizes.map((n) => rng.bytes(n));
    for (const payload of payloads) {
      await session.send(createBundle({
        destination: ipn(ION, 1), source: ipn(GROUND, 1), creationTime: dtnNow(), sequence: sequence++,
        lifetime: 3_600_000, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
      }).bytes);
    }
    let code: number | null | undefined;
    void received.then((c) => (code = c));
    try {
      await until(() => code !== undefined, `bprecvfile to receive ${sizes.length} bundles`, 90_000);
    } catch (error) {
      receiver.kill('SIGTERM');
      throw new Error(`${(error as Error).message}\nION log:\n${ion.log().slice(-3000)}`);
    }
    expect(code).toBe(0);
    const files = ion.receivedFiles(into);
    expect(files.map(digest).sort()).toEqual(payloads.map(digest).sort());
    expectWire(c, 'tern', drops);
    save(name, c);
  }

  /** ION (bpsendfile, LTP) -> Tern -> ground (TCPCL). */
  async function ionToTern(name: string, sizes: number[], drops: number[] = []): Promise<void> {
    const c = capture({ ion: drops });
    const before = ground.received.length;
    const payloads = sizes.map((n) => rng.bytes(n));
    for (const [i, payload] of payloads.entries()) {
      const file = join(ion.spec.dir, `out-${name}-${i}`);
      writeFileSync(file, payload);
      await ion.exec('bpsendfile', [`ipn:${ION}.2`, `ipn:${GROUND}.1`, file]);
    }
    try {
      await ground.waitFor(before + sizes.length, 90_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nION log:\n${ion.log().slice(-3000)}\nTern:\n${tern.lines.slice(-20).map((l) => JSON.stringify(l)).join('\n')}`);
    }
    const got = ground.received.slice(before).map((r) => digest(payloadBlock(decodeBundle(r.bytes)).data));
    expect(got.sort()).toEqual(payloads.map(digest).sort());
    expectWire(c, 'ion', drops);
    save(name, c);
  }

  it('a small bundle from Tern to ION', () => ternToIon('tern-to-ion-small', [200]), 120_000);
  it('a 64 KiB bundle from Tern to ION (65 segments of 1024 bytes)', () => ternToIon('tern-to-ion-64k', [64 * 1024]), 120_000);
  it('a small bundle from ION to Tern', () => ionToTern('ion-to-tern-small', [200]), 120_000);
  it('a 64 KiB bundle from ION to Tern', () => ionToTern('ion-to-tern-64k', [64 * 1024]), 120_000);
  it('three small bundles from ION to Tern, aggregated by ION into one LTP block', () => ionToTern('ion-to-tern-aggregated', [100, 150, 200]), 120_000);
  it('a 64 KiB bundle from Tern to ION with data segments lost', () => ternToIon('tern-to-ion-64k-loss', [64 * 1024], [3, 20, 63]), 120_000);
  it('a 64 KiB bundle from ION to Tern with data segments lost', () => ionToTern('ion-to-tern-64k-loss', [64 * 1024], [3, 20, 63]), 120_000);
  it('a bundle from ION that Tern\'s agent refuses (no route): the block is still reported received, so ION does not send it again', async () => {
    const c = capture();
    const file = join(ion.spec.dir, 'out-nowhere');
    writeFileSync(file, rng.bytes(300));
    await ion.exec('bpsendfile', [`ipn:${ION}.2`, `ipn:${NOWHERE}.1`, file]);
    const decoded = (): Segment[] => c.segments.map((s) => decodeSegment(s.bytes));
    await until(() => decoded().some((s) => s.kind === 'report-ack'), "ION's acknowledgement of Tern's report", 60_000);
    expect(decoded().filter((s) => s.kind === 'cancel')).toEqual([]);
    expect(new Set(decoded().map((s) => s.session.number)).size).toBe(1);
    await until(() => tern.lines.some((l) => String(l.msg ?? '').includes(`node ${NOWHERE}`)), "Tern's agent to log the refusal");
    save('ion-to-tern-refused', c);
  }, 120_000);
});
