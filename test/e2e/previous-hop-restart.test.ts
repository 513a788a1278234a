// Loop avoidance survives a crash: a relay (node 2, a real process routing by CGR) takes a bundle
// for node 3 from node 1, is SIGKILLed with it stored, and is started again. The earliest route
// to 3 goes back through 1 (1 -> 3 is faster than the direct 2 -> 3); the relay must still send
// it straight to 3, knowing from the bundle's previous node block where it came from.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { hopCountBlock, previousNodeBlock } from '../../flight/dtn/blocks.js';
import { dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { startTern, type TernProcess } from '../support/node-process.js';
import { until } from '../support/wait.js';

let relay: TernProcess | undefined;
const peers: GroundPeer[] = [];
afterEach(async () => {
  if (relay && relay.child.exitCode === null) relay.child.kill('SIGKILL');
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

it('a relay restarted after SIGKILL does not send a stored bundle back to the node it came from', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tern-prev-hop-'));
  const [relayPort, port3] = [await freePort(), await freePort()];
  const node1 = new GroundPeer(1);
  const node3 = new GroundPeer(3);
  peers.push(node1, node3);
  const port1 = (await node1.tcp.listen('127.0.0.1', 0)).port;
  // Every contact open for a day; via 1 the bundle would reach 3 in 0.02 s, directly in 1 s.
  const contact = (from: number, to: number, owlt: number) => ({ from, to, start: 0, end: 86_400, rate: 1_000_000, owlt });
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({
    format: 'tern-contact-plan/1', epoch: new Date(Date.now() - 60_000).toISOString(),
    contacts: [contact(1, 2, 0.01), contact(2, 1, 0.01), contact(1, 3, 0.01), contact(3, 1, 0.01), contact(2, 3, 1), contact(3, 2, 1)],
  }));
  const file = writeNodeConfig(dir, { id: 2, port: relayPort, neighbours: { 1: ['tcp', port1], 3: ['tcp', port3] } });
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  config.contactPlan = { file: 'plan.json' };
  writeFileSync(file, JSON.stringify(config, null, 2));

  relay = startTern(['flight', '--config', file]);
  await relay.waitForLine((l) => l.msg === 'node started');
  // Node 1 forwards a bundle to the relay, naming itself as the previous node (as a Tern node does).
  const bundle = createBundle({
    destination: ipn(3, 1), source: ipn(100, 1), creationTime: dtnNow(), sequence: 1, lifetime: 3_600_000,
    blocks: [hopCountBlock({ limit: 8, count: 1 }), previousNodeBlock(ipn(1, 0))], payload: new TextEncoder().encode('for node 3'),
  });
  const session = await node1.tcp.connect('127.0.0.1', relayPort, 'ipn:2.0');
  await session.send(bundle.bytes); // acknowledged: stored durably, forward-pending (node 3 is not listening)
  relay.child.kill('SIGKILL');
  await relay.exited;

  await node3.tcp.listen('127.0.0.1', port3);
  relay = startTern(['flight', '--config', file]);
  await relay.waitForLine((l) => l.msg === 'node started');
  await until(() => node1.received.length + node3.received.length > 0, 'the relay to forward the stored bundle');
  expect(node1.received).toHaveLength(0);
  const arrived = decodeBundle(node3.received[0]!.bytes);
  expect(arrived.primary.sequence).toBe(1);
  expect(arrived.previousNode).toEqual(ipn(2, 0));
}, 120_000);
