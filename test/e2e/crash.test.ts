// Durable before acknowledged, tested the hard way: a ground peer streams bundles over TCPCLv4
// to a real node process that is SIGKILLed at random moments and restarted, again and again.
// Every bundle whose transfer was acknowledged must be in the store afterwards exactly once,
// and when the node finally forwards its store, every bundle must arrive intact.
// TERN_CRASH_KILLS sets the number of kills (default 100).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { hopCountBlock } from '../../flight/dtn/blocks.js';
import { bundleKey, dtnNow, payloadBlock } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { startTern, TERN, type TernProcess } from '../support/node-process.js';
import { DEFAULT_WAIT_MS, tick, until } from '../support/wait.js';

const KILLS = Number(process.env.TERN_CRASH_KILLS ?? 100);
const SINK = 9; // a node nobody routes to until the end: bundles for it stay stored
const GROUND = 100;
const WINDOW = 16;

/** Deterministic payload for sequence n: its length and bytes both depend on n. */
function payload(n: number): Uint8Array {
  const bytes = new Uint8Array(200 + ((n * 37) % 1800));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (n * 131 + i * 7) & 0xff;
  return bytes;
}

let node: TernProcess | undefined;
let ground: GroundPeer | undefined;
afterEach(async () => {
  if (node && node.child.exitCode === null) node.child.kill('SIGKILL');
  await ground?.close();
});

it(`keeps every acknowledged bundle exactly once across ${KILLS} SIGKILLs`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-crash-'));
  const port = await freePort();
  // Node 9 is a neighbour out of contact (nothing listens there): its bundles are kept, not refused.
  const config = writeNodeConfig(dir, { id: 1, port, neighbours: { [SINK]: ['tcp', await freePort()] } });
  const created = dtnNow();
  const acknowledged = new Map<string, number>(); // bundle id -> sequence
  let sequence = 0;
  ground = new GroundPeer(GROUND);

  for (let kill = 0; kill < KILLS; kill++) {
    node = startTern(['flight', '--config', config]);
    await node.waitForLine((l) => l.msg === 'node started');
    const session = await ground.tcp.connect('127.0.0.1', port, 'ipn:1.0');
    const killAt = Date.now() + 10 + Math.random() * 150;
    let stop = false;
    const sender = async (): Promise<void> => {
      while (!stop) {
        const n = sequence++;
        const bundle = createBundle({
          destination: ipn(SINK, 1), source: ipn(GROUND, 1), creationTime: created, sequence: n,
          lifetime: 3_600_000, blocks: [hopCountBlock({ limit: 8, count: 0 })], payload: payload(n),
        });
        try {
          await session.send(bundle.bytes);
          acknowledged.set(bundleKey(bundle), n);
        } catch {
          return; // the node died under this transfer: not acknowledged, so no promise was made
        }
      }
    };
    const senders = Array.from({ length: WINDOW }, sender);
    await tick(Math.max(0, killAt - Date.now())); // the kill's moment, at random: pacing, not a wait for a result
    node.child.kill('SIGKILL');
    stop = true;
    await node.exited;
    await Promise.all(senders);
  }

  const { stdout } = await promisify(execFile)(process.execPath, [TERN, 'store', 'ls', '--data', join(dir, 'data-1')], { maxBuffer: 1 << 28 });
  const listed = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string });
  const ids = listed.map((b) => b.id);
  expect(new Set(ids).size).toBe(ids.length); // no bundle twice
  const stored = new Set(ids);
  const lost = [...acknowledged.keys()].filter((id) => !stored.has(id));
  expect(lost).toEqual([]);
  expect(acknowledged.size).toBeGreaterThan(KILLS); // the run really streamed

  // Now give the node a route to the sink (the ground peer, as node 9) and take everything.
  const sink = new GroundPeer(SINK);
  try {
    const sinkPort = (await sink.tcp.listen('127.0.0.1', 0)).port;
    node = startTern(['flight', '--config', writeNodeConfig(dir, { id: 1, port, neighbours: { [SINK]: ['tcp', sinkPort] } })]);
    await sink.waitFor(stored.size, 60_000);
    // A bundle leaves the store only after its send was acknowledged: once the store is empty,
    // every send the node will make (a duplicate included) has reached the sink.
    const storeLs = (): Promise<{ stdout: string }> => promisify(execFile)(process.execPath, [TERN, 'store', 'ls', '--data', join(dir, 'data-1')], { maxBuffer: 1 << 28 });
    await until(async () => (await storeLs()).stdout.trim() === '', 'the node to empty its store', DEFAULT_WAIT_MS, 200);
    expect(sink.received).toHaveLength(stored.size);
    const delivered = new Set<string>();
    for (const { bytes } of sink.received) {
      const bundle = decodeBundle(bytes); // CRC-32C checked on every block
      const key = bundleKey(bundle);
      expect(delivered.has(key)).toBe(false);
      delivered.add(key);
      expect(Buffer.from(payloadBlock(bundle).data).equals(Buffer.from(payload(bundle.primary.sequence)))).toBe(true);
    }
    expect([...acknowledged.keys()].every((id) => delivered.has(id))).toBe(true);
  } finally {
    await sink.close();
  }
}, 600_000);
