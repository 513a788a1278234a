// Two and three real node processes exchange bundles over UDPCL and TCPCLv4 on 127.0.0.1,
// end to end through relays: a bundle from the ground to node 3's echo service comes back.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { payloadBlock } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { BundleFlag, dtnNow } from '../../flight/dtn/bundle.js';
import { decodeStatusReport } from '../../flight/dtn/status-report.js';
import { eidToString, ipn } from '../../flight/dtn/eid.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { startTern, TERN, type TernProcess } from '../support/node-process.js';
import { DEFAULT_WAIT_MS, eventually, until } from '../support/wait.js';
import { fillDevice, smallFilesystem } from '../dtn/store/support.js';

const GROUND = 100;
const ECHO = 7;
let nodes: TernProcess[] = [];
let ground: GroundPeer | undefined;

afterEach(async () => {
  for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
  nodes = [];
  await ground?.close();
  ground = undefined;
});

function ping(destination: number, sequence: number, text: string): Uint8Array {
  return createBundle({
    destination: ipn(destination, ECHO),
    source: ipn(GROUND, 1),
    creationTime: dtnNow(),
    sequence,
    lifetime: 60_000,
    blocks: [hopCountBlock({ limit: 8, count: 0 })],
    payload: new TextEncoder().encode(text),
  }).bytes;
}

async function startNode(file: string): Promise<TernProcess> {
  const node = startTern(['flight', '--config', file]);
  nodes.push(node);
  await node.waitForLine((l) => l.msg === 'node started');
  return node;
}

describe('bundles across real nodes', () => {
  it('three nodes over TCPCLv4: ground -> 1 -> 2 -> 3 (echo) -> 2 -> 1 -> ground', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-relay-'));
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    ground = new GroundPeer(GROUND);
    const groundPort = (await ground.tcp.listen('127.0.0.1', 0)).port;
    const files = [
      writeNodeConfig(dir, { id: 1, port: p1, neighbours: { 2: ['tcp', p2], [GROUND]: ['tcp', groundPort] }, routes: { 3: 2 } }),
      writeNodeConfig(dir, { id: 2, port: p2, neighbours: { 1: ['tcp', p1], 3: ['tcp', p3] }, routes: { '*': 1 } }),
      writeNodeConfig(dir, { id: 3, port: p3, neighbours: { 2: ['tcp', p2] }, routes: { '*': 2 } }),
    ];
    for (const f of files) await startNode(f);
    const session = await ground.tcp.connect('127.0.0.1', p1, 'ipn:1.0');
    const pings = [0, 1, 2, 3, 4].map((i) => ping(3, i, `ping ${i}`));
    for (const p of pings) await session.send(p);
    await ground.waitFor(5);
    const replies = ground.received.map((r) => decodeBundle(r.bytes));
    expect(replies.map((b) => new TextDecoder().decode(payloadBlock(b).data)).sort()).toEqual(['ping 0', 'ping 1', 'ping 2', 'ping 3', 'ping 4']);
    for (const b of replies) {
      expect(eidToString(b.primary.source)).toBe('ipn:3.7');
      expect(eidToString(b.primary.destination)).toBe(`ipn:${GROUND}.1`);
      expect(b.hopCount).toEqual({ limit: 32, count: 3 }); // 3 -> 2 -> 1 -> ground
      expect(eidToString(b.previousNode!)).toBe('ipn:1.0');
    }
    // Delivered and forwarded bundles leave the stores (a relay deletes its copy when the next
    // hop's XFER_ACK arrives, which may be just after the ground has the bundle, so poll); a late
    // duplicate of a delivered ping is dropped at node 3, not echoed a second time.
    await session.send(pings[0]!);
    await session.send(ping(3, 5, 'ping 5')); // behind the duplicate on the same path
    await ground.waitFor(6);
    expect(ground.received.map((r) => new TextDecoder().decode(payloadBlock(decodeBundle(r.bytes)).data)).sort()).toEqual(['ping 0', 'ping 1', 'ping 2', 'ping 3', 'ping 4', 'ping 5']);
    const listStore = async (id: number): Promise<string> =>
      (await promisify(execFile)(process.execPath, [TERN, 'store', 'ls', '--data', join(dir, `data-${id}`)])).stdout.trim();
    await until(async () => (await listStore(1)) === '' && (await listStore(2)) === '' && (await listStore(3)) === '', 'every store to drain', DEFAULT_WAIT_MS, 100);
    expect(ground.received).toHaveLength(6);
  });

  it('two nodes over UDPCL, relaying to a ground peer that listens on UDP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-relay-'));
    const [p1, p2] = [await freePort(), await freePort()];
    ground = new GroundPeer(GROUND);
    const groundPort = (await ground.udp.listen('127.0.0.1', 0)).port;
    await startNode(writeNodeConfig(dir, { id: 1, port: p1, neighbours: { 2: ['udp', p2], [GROUND]: ['udp', groundPort] }, routes: { 2: 2, [GROUND]: GROUND } }));
    await startNode(writeNodeConfig(dir, { id: 2, port: p2, neighbours: { 1: ['udp', p1] }, routes: { '*': 1 } }));
    for (let i = 0; i < 3; i++) await ground.udp.send(ping(2, i, `udp ${i}`), '127.0.0.1', p1);
    await ground.waitFor(3);
    const texts = ground.received.map((r) => new TextDecoder().decode(payloadBlock(decodeBundle(r.bytes)).data));
    expect(texts.sort()).toEqual(['udp 0', 'udp 1', 'udp 2']);
    expect(ground.received.every((r) => r.from.cla === 'udp')).toBe(true);
  });

  it('keeps a bundle with no route stored, and delivers it once the route exists after a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-relay-'));
    const p1 = await freePort();
    ground = new GroundPeer(GROUND);
    const groundPort = (await ground.tcp.listen('127.0.0.1', 0)).port;
    const lonely = await startNode(writeNodeConfig(dir, { id: 1, port: p1 }));
    const session = await ground.tcp.connect('127.0.0.1', p1, 'ipn:1.0');
    await session.send(ping(1, 0, 'held'));
    // Acknowledged means durable: it survives the node's end and comes back after restart.
    lonely.child.kill('SIGKILL');
    await lonely.exited;
    const { stdout } = await promisify(execFile)(process.execPath, [TERN, 'store', 'ls', '--data', join(dir, 'data-1')]);
    const listed = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ source: `ipn:${GROUND}.1`, destination: 'ipn:1.7' });
    await startNode(writeNodeConfig(dir, { id: 1, port: p1, neighbours: { [GROUND]: ['tcp', groundPort] }, routes: { [GROUND]: GROUND } }));
    await ground.waitFor(1);
    expect(new TextDecoder().decode(payloadBlock(decodeBundle(ground.received[0]!.bytes)).data)).toBe('held');
  });

  it('a node restarted on a full device refuses bundles with a status report, and relays them once space returns', async () => {
    const fs = smallFilesystem(8 << 20); // a real device the test can fill (needs root, as CI has)
    const filler = join(fs.dir, 'filler');
    try {
      const p1 = await freePort();
      ground = new GroundPeer(GROUND);
      const groundPort = (await ground.tcp.listen('127.0.0.1', 0)).port;
      const file = writeNodeConfig(fs.dir, { id: 1, port: p1, neighbours: { [GROUND]: ['tcp', groundPort] }, routes: { [GROUND]: GROUND } });
      const first = await startNode(file); // ran once while there was room
      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);
      fillDevice(filler);
      const node = await startNode(file);
      const session = await ground.tcp.connect('127.0.0.1', p1, 'ipn:1.0');
      const big = createBundle({
        destination: ipn(GROUND, 2), source: ipn(GROUND, 1), flags: BundleFlag.reportDeletion, creationTime: dtnNow(), lifetime: 60_000,
        blocks: [hopCountBlock({ limit: 8, count: 0 })], payload: new Uint8Array(16 * 1024).fill(7),
      }).bytes;
      await expect(session.send(big)).rejects.toThrow(/refused/);
      await ground.waitFor(1); // the "deleted" report, written from the store's reserve
      const report = decodeStatusReport(decodeBundle(ground.received[0]!.bytes));
      expect(report.reason).toBe(4);
      expect(Object.keys(report.asserted)).toEqual(['deleted']);
      fillDevice(filler); // what the given-up reserve freed is taken too: not a byte left
      node.child.kill('SIGTERM');
      expect((await node.exited).code).toBe(0); // a clean stop on a full device
      const again = await startNode(file);
      const resumed = await ground.tcp.connect('127.0.0.1', p1, 'ipn:1.0');
      rmSync(filler);
      // The node's store maintenance probes for space about once a second; then it takes bundles again.
      await until(() => resumed.send(big).then(() => true, () => false), 'the node to take bundles again', DEFAULT_WAIT_MS, 200);
      // Every refused attempt before the probe found space brought its own "deleted" report.
      const relayed = await eventually(() => ground!.received.map((r) => decodeBundle(r.bytes)).find((b) => payloadBlock(b).data.length === 16 * 1024), 'the bundle relayed to the ground');
      expect(eidToString(relayed.previousNode!)).toBe('ipn:1.0');
      expect(again.child.exitCode).toBeNull(); // it never stopped
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    } finally {
      for (const n of nodes) if (n.child.exitCode === null) n.child.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      fs.unmount();
    }
  });
});
