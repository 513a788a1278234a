// LTP over UDP between two real node processes through relays that lose 5% of datagrams and
// delay each by 20 ms: bundles go ground -> node 1 -> (LTP) -> node 2 -> ground, each arrives
// whole exactly once, and node 1's store ends empty (a bundle leaves it only once reported).
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dtnNow, payloadBlock } from '../../flight/dtn/bundle.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { runTern, startTern, type TernProcess } from '../support/node-process.js';
import { Prng } from '../support/prng.js';
import { until } from '../support/wait.js';
import { LossyRelay } from './ltp-relay.js';

const GROUND_IN = 100;
const GROUND_OUT = 101;
const BUNDLES = 40;

const processes: TernProcess[] = [];
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const p of processes.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const c of cleanup.splice(0).reverse()) await c();
});

function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => {
    const port = s.address().port;
    s.close(() => resolve(port));
  }));
}

/** A node config with LTP on `ltpPort` to `peer` at `peerAddress` (a relay), besides TCP/UDP on `port`. */
function ltpNodeConfig(dir: string, id: number, port: number, ltpPort: number, peer: number, peerPort: number, extra: { neighbours?: Record<number, ['tcp', number]>; routes?: Record<string, number> }): string {
  const file = writeNodeConfig(dir, { id, port, ...extra });
  const config = JSON.parse(readFileSync(file, 'utf8')) as { cla: Record<string, unknown> & { neighbours: Record<string, unknown> } };
  config.cla.ltp = { listen: `127.0.0.1:${ltpPort}`, oneWayLightTimeMs: 25, marginMs: 200, maxRetries: 30 };
  config.cla.neighbours[String(peer)] = { cla: 'ltp', address: `127.0.0.1:${peerPort}` };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

describe('LTP between node processes', () => {
  it(`${BUNDLES} bundles of 100 B..64 KiB over UDP with 5% loss and 20 ms delay, each once and whole`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-ltp-'));
    const rng = new Prng(5113);
    const toNode2 = new LossyRelay(0.05, 20, rng);
    const toNode1 = new LossyRelay(0.05, 20, rng);
    const [relay2, relay1] = [await toNode2.bind(), await toNode1.bind()];
    cleanup.push(() => toNode2.close(), () => toNode1.close());
    const [ltp1, ltp2] = [await freeUdpPort(), await freeUdpPort()];
    toNode1.target = ltp1;
    toNode2.target = ltp2;

    const groundOut = new GroundPeer(GROUND_OUT);
    cleanup.push(() => groundOut.close());
    const groundOutPort = (await groundOut.tcp.listen('127.0.0.1', 0)).port;
    const [p1, p2] = [await freePort(), await freePort()];
    const node1 = startTern(['flight', '--config', ltpNodeConfig(dir, 1, p1, ltp1, 2, relay2, { routes: { [GROUND_OUT]: 2 } })]);
    const node2 = startTern(['flight', '--config', ltpNodeConfig(dir, 2, p2, ltp2, 1, relay1, { neighbours: { [GROUND_OUT]: ['tcp', groundOutPort] } })]);
    processes.push(node1, node2);
    await node1.waitForLine((l) => l.msg === 'node started');
    await node2.waitForLine((l) => l.msg === 'node started');

    const groundIn = new GroundPeer(GROUND_IN);
    cleanup.push(() => groundIn.close());
    const session = await groundIn.tcp.connect('127.0.0.1', p1, 'ipn:1.0');
    const payloads = Array.from({ length: BUNDLES }, () => rng.bytes(100 + rng.below(64 * 1024 - 100)));
    for (const [i, payload] of payloads.entries()) {
      await session.send(createBundle({
        destination: ipn(GROUND_OUT, 1), source: ipn(GROUND_IN, 1), creationTime: dtnNow(), sequence: i,
        lifetime: 3_600_000, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
      }).bytes);
    }
    await groundOut.waitFor(BUNDLES, 120_000);
    const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    expect(groundOut.received.map((r) => digest(payloadBlock(decodeBundle(r.bytes)).data)).sort()).toEqual(payloads.map(digest).sort());
    await until(async () => (await runTern(['store', 'ls', '--data', join(dir, 'data-1')], dir)).stdout.trim() === '', "node 1's store empty", 60_000);
    expect(toNode2.lost).toBeGreaterThan(0);

    node1.child.kill('SIGTERM');
    expect((await node1.exited).code).toBe(0);
    const channels = (JSON.parse(readFileSync(join(dir, 'data-1', 'housekeeping.json'), 'utf8')) as { channels: Record<string, number> }).channels;
    expect(channels['cla.ltp.blocksOut']).toBe(BUNDLES);
    expect(channels['cla.ltp.dataRetransmitted']! + channels['cla.ltp.checkpointRetransmits']!).toBeGreaterThan(0);
  }, 180_000);
});
