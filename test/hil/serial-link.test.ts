// Acceptance of the serial radio link: two real Tern node processes joined by pseudo-terminal
// pairs through `tern hil proxy` injecting bit errors, bursts, dropped code blocks and a
// disconnect. Bundles of random sizes go ground -> node 1 -> (serial, LTP) -> node 2 -> ground;
// every one arrives intact exactly once, node 1's store ends empty, and the nodes' counters show
// the corrections and retransmissions that it took.
//
// Scaled down for CI (the full-size run, 1,000 bundles at 115,200 baud with a 10 s disconnect,
// is the same test with TERN_SERIAL_ACCEPTANCE=full; see flight/cla/DESIGN.md).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { payloadBlock } from '../../flight/dtn/bundle.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { ptyPair, type PtyPair } from '../cla/serial-support.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { runTern, startTern, type TernProcess } from '../support/node-process.js';
import { Prng } from '../support/prng.js';
import { until } from '../support/wait.js';

const FULL = process.env.TERN_SERIAL_ACCEPTANCE === 'full';
// Bundles live as long as the run may take: the full size is about an hour on the line.
const SCALE = FULL
  ? { bundles: 1000, baud: 115_200, disconnect: '60/10', timeoutMs: 3 * 3600_000 }
  : { bundles: 30, baud: 1_000_000, disconnect: '4/2', timeoutMs: 240_000 };
const GROUND_IN = 100;
const GROUND_OUT = 101;

const processes: TernProcess[] = [];
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const p of processes.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A node config with the serial link on `device` to `peer`, besides TCP/UDP on `port`. */
function serialNodeConfig(dir: string, id: number, port: number, device: string, peer: number, extra: { neighbours?: Record<number, ['tcp', number]>; routes?: Record<string, number> }): string {
  const file = writeNodeConfig(dir, { id, port, ...extra });
  const config = JSON.parse(readFileSync(file, 'utf8')) as { cla: Record<string, unknown> & { neighbours: Record<string, unknown> } };
  config.cla.serial = { device, baud: SCALE.baud, interleave: 4 };
  config.cla.neighbours[String(peer)] = { cla: 'serial' };
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

async function stopAndRead(node: TernProcess, dir: string, id: number): Promise<Record<string, number>> {
  node.child.kill('SIGTERM');
  expect((await node.exited).code).toBe(0);
  return (JSON.parse(readFileSync(join(dir, `data-${id}`, 'housekeeping.json'), 'utf8')) as { channels: Record<string, number> }).channels;
}

describe('serial radio link acceptance', () => {
  it(`${SCALE.bundles} bundles of 100 B..64 KiB cross a noisy serial link with a disconnect, each once and whole`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-serial-'));
    const pairs: PtyPair[] = [await ptyPair(), await ptyPair()];
    for (const p of pairs) cleanup.push(() => p.close());
    const proxy = startTern([
      'hil', 'proxy', '--a', pairs[0]!.b, '--b', pairs[1]!.b, '--baud', String(SCALE.baud),
      '--ber', '1e-4', '--burst', '50/20000', '--drop', '0.01', '--disconnect', SCALE.disconnect, '--seed', '7', '--stats-every', '1',
    ]);
    processes.push(proxy);
    await proxy.waitForLine((l) => l.event === 'ready');

    const groundOut = new GroundPeer(GROUND_OUT);
    cleanup.push(() => groundOut.close());
    const groundOutPort = (await groundOut.tcp.listen('127.0.0.1', 0)).port;
    const [p1, p2] = [await freePort(), await freePort()];
    const node1 = startTern(['flight', '--config', serialNodeConfig(dir, 1, p1, pairs[0]!.a, 2, { routes: { [GROUND_OUT]: 2 } })]);
    const node2 = startTern(['flight', '--config', serialNodeConfig(dir, 2, p2, pairs[1]!.a, 1, { neighbours: { [GROUND_OUT]: ['tcp', groundOutPort] } })]);
    processes.push(node1, node2);
    await node1.waitForLine((l) => l.msg === 'node started');
    await node2.waitForLine((l) => l.msg === 'node started');

    const groundIn = new GroundPeer(GROUND_IN);
    cleanup.push(() => groundIn.close());
    const session = await groundIn.tcp.connect('127.0.0.1', p1, 'ipn:1.0');
    const rng = new Prng(2026);
    const payloads = Array.from({ length: SCALE.bundles }, () => rng.bytes(100 + rng.below(64 * 1024 - 100)));
    for (const [i, payload] of payloads.entries()) {
      await session.send(createBundle({
        destination: ipn(GROUND_OUT, 1), source: ipn(GROUND_IN, 1), creationTime: dtnNow(), sequence: i,
        lifetime: SCALE.timeoutMs, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload,
      }).bytes);
    }
    await groundOut.waitFor(SCALE.bundles, SCALE.timeoutMs);
    const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    const arrived = groundOut.received.map((r) => digest(payloadBlock(decodeBundle(r.bytes)).data));
    expect(arrived.sort()).toEqual(payloads.map(digest).sort());
    await until(async () => (await runTern(['store', 'ls', '--data', join(dir, 'data-1')], dir)).stdout.trim() === '', "node 1's store empty", 60_000);

    const c1 = await stopAndRead(node1, dir, 1);
    const c2 = await stopAndRead(node2, dir, 2);
    proxy.child.kill('SIGTERM');
    await proxy.exited;
    const stats = proxy.lines.at(-1) as { aToB: { bitsFlipped: number; blocksDropped: number; bursts: number; bytesLostToDisconnect: number } };
    // The faults happened, and the link made up for each kind of them.
    expect(stats.aToB.bitsFlipped).toBeGreaterThan(0);
    expect(stats.aToB.bursts).toBeGreaterThan(0);
    expect(stats.aToB.blocksDropped).toBeGreaterThan(0);
    expect(stats.aToB.bytesLostToDisconnect).toBeGreaterThan(0);
    expect(c2['cla.serial.correctedSymbols']).toBeGreaterThan(0);
    expect(c1['cla.serial.ltp.dataRetransmitted']! + c1['cla.serial.ltp.checkpointRetransmits']!).toBeGreaterThan(0);
    expect(c1['cla.serial.ltp.blocksOut']).toBe(SCALE.bundles);
    expect(c2['cla.serial.ltp.blocksIn']).toBe(SCALE.bundles);
    console.log(JSON.stringify({ node1: pick(c1), node2: pick(c2), proxy: stats }));
  }, SCALE.timeoutMs + 60_000);
});

function pick(channels: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(channels).filter(([k, v]) => k.startsWith('cla.serial') && v !== 0));
}
