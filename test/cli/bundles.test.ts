// Getting at bundles and counters from the command line, against a real node process: a command
// bundle written as it would go on the wire (gse send --bundle-out) is handed to the node over
// TCPCLv4, listed (store ls) and written back byte for byte (store cat) for bundle inspect; a
// command for a node no route of the station reaches is refused by the station (XFER_REFUSE),
// and gse send says so and exits 1; `tern status` reads the housekeeping the node writes while
// it runs (not only at its stop) with the DTN counters that matter.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { eidToString } from '../../flight/dtn/eid.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { killAll, runTern, startTern, type TernProcess } from '../support/node-process.js';
import { eventually } from '../support/wait.js';

const running: TernProcess[] = [];
afterEach(() => killAll(running.splice(0)));

describe('bundles and counters from the command line (child processes)', () => {
  it('bundle-out, store ls/cat, a refusal for no route, and status while running and after the stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tern-cli-bundles-'));
    expect((await runTern(['gse', 'keygen', '--out', 'op.key', '--id', '1'], dir)).code).toBe(0);
    // Node 7 relays for node 8 (a neighbour that is not up) and knows no other node.
    const port = await freePort();
    const absent = await freePort();
    const config = writeNodeConfig(dir, { id: 7, port, neighbours: { 8: ['tcp', absent] }, tlm: { summaryEveryMajorFrames: 5 } });
    const data = join(dir, 'data-7');
    const node = startTern(['flight', '--config', config], {}, dir);
    running.push(node);
    await node.waitForLine((l) => l.msg === 'node started');

    // While it runs: status reads the record the node keeps writing (its sequence moves on).
    const first = await eventually(async () => {
      const s = await runTern(['status', '--data', data, '--json'], dir);
      return s.code === 0 ? (JSON.parse(s.stdout) as { seq: number; node: number }) : undefined;
    }, 'a housekeeping record from the running node');
    expect(first.node).toBe(7);
    await eventually(async () => {
      const s = await runTern(['status', '--data', data, '--json'], dir);
      return (JSON.parse(s.stdout) as { seq: number }).seq > first.seq || undefined;
    }, 'a newer housekeeping record while the node runs');

    // A command bundle for node 8 as it would go on the wire, inspected, then handed to node 7.
    const made = await runTern(['gse', 'send', '8', 'NOOP', '--key', 'op.key', '--bundle-out', 'cmd.bundle'], dir);
    expect(made.code, made.stderr).toBe(0);
    const wire = new Uint8Array(readFileSync(join(dir, 'cmd.bundle')));
    const inspected = await runTern(['bundle', 'inspect', 'cmd.bundle'], dir);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(inspected.stdout))).toContain('"ipn:8.1"');
    const ground = new GroundPeer(100);
    try {
      const session = await ground.tcp.connect('127.0.0.1', port);
      await session.send(wire); // XFER_ACK: durable at node 7, waiting for node 8
    } finally {
      await ground.close();
    }
    const ls = await runTern(['store', 'ls', '--data', data], dir);
    expect(ls.code, ls.stderr).toBe(0);
    const stored = ls.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; destination: string });
    const held = stored.find((b) => b.destination === 'ipn:8.1');
    expect(held, ls.stdout).toBeDefined();
    const cat = await runTern(['store', 'cat', '--data', data, held!.id, '--out', 'back.bundle'], dir);
    expect(cat.code, cat.stderr).toBe(0);
    const back = new Uint8Array(readFileSync(join(dir, 'back.bundle')));
    expect(Buffer.from(back).equals(Buffer.from(wire))).toBe(true);
    expect(eidToString(decodeBundle(back).primary.destination)).toBe('ipn:8.1');
    expect((await runTern(['store', 'cat', '--data', data, 'ipn:1.1/0.0'], dir))).toMatchObject({ code: 1, stderr: expect.stringMatching(/no bundle "ipn:1.1\/0.0"/) });

    // Node 99: no neighbour, no route. The station refuses it, and the operator is told so.
    const refused = await runTern(['gse', 'send', '99', 'NOOP', '--key', 'op.key', '--via', `127.0.0.1:${port}`], dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/did not take the command bundle: peer refused the transfer: NOT_ACCEPTABLE.*no route to node 99/);
    expect(refused.stdout).not.toMatch(/^sent/m);
    // ... and the node counts it, in its health line and in the record status prints.
    await node.waitForLine((l) => l.msg === 'health' && l.refused === 1 && l.stored === 1 && l.in === 1);
    const status = await eventually(async () => {
      const s = await runTern(['status', '--data', data], dir);
      return /refused, no route\s+1\b/.test(s.stdout) ? s.stdout : undefined;
    }, 'status showing the refusal');
    expect(status).toMatch(/^node 7 {2}mode NOMINAL/);
    expect(status).toMatch(/stored bundles\s+1\b/);

    // Stopped: the final record is there to read.
    node.child.kill('SIGINT');
    expect(await node.exited).toEqual({ code: 0, signal: null });
    const after = await runTern(['status', '--data', data], dir);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/stored bundles\s+1\b/);
    expect(await runTern(['status', '--data', join(dir, 'nowhere')], dir)).toMatchObject({ code: 1, stderr: expect.stringMatching(/no housekeeping record/) });
  }, 120_000);
});
