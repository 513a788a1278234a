// BPSec session keys end to end, with real processes on 127.0.0.1: a ground station (10) and a
// satellite (20) that reach each other only through node 21, a relay the test itself plays, so it
// sees every bundle on the inter-satellite link. A command from the ground CLI enters at the
// station; the station makes a session with the satellite (ML-KEM-768 offer and accept, signed
// with the nodes' ML-DSA-65 identity keys, carried in bundles through the relay), then sends the
// command on with its payload under a BCB; the satellite opens it and runs it, also after a
// restart, and rekeys replace the keys without losing a command; a satellite that lost its keys
// gets new ones at its first unreadable command. The satellite seals what it
// sends down for the station, the gateway of the ground console, which opens it for the console.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encoder } from 'cbor-x';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerInfo } from '../../flight/cla/cla.js';
import type { TcpclSession } from '../../flight/cla/tcpcl-session.js';
import { decodeEnvelope } from '../../flight/cmd/envelope.js';
import { BlockType, payloadBlock, type Bundle } from '../../flight/dtn/bundle.js';
import { decodeBundle } from '../../flight/dtn/codec.js';
import { eidToString } from '../../flight/dtn/eid.js';
import { freePort, GroundPeer, writeNodeConfig } from '../support/mission.js';
import { killAll, runTern, startTern, type TernProcess } from '../support/node-process.js';

const GROUND = 100;
const STATION = 10;
const SAT = 20;
const RELAY = 21;
const cbor = new Encoder({ useRecords: false, tagUint8Array: false });

/** Node 21: forwards every bundle to the other side as it came, keeping a copy of each. */
class Relay extends GroundPeer {
  readonly seen: Bundle[] = [];
  toStation?: TcpclSession;
  toSat?: TcpclSession;

  override async accept(bytes: Uint8Array, from: PeerInfo): Promise<void> {
    const bundle = decodeBundle(bytes);
    this.seen.push(bundle);
    const destination = bundle.primary.destination;
    const session = destination.scheme === 'ipn' && destination.node === SAT ? this.toSat : this.toStation;
    if (!session) throw new Error(`relay has no session onwards for a bundle from ${from.nodeId}`);
    await session.send(bytes);
  }

  /** Handshake messages of this kind seen going to node `node`'s session endpoint. */
  handshakes(node: number, kind: 'offer' | 'accept' | 'rekey'): Bundle[] {
    return this.to(node, 3).filter((b) => {
      const [body] = cbor.decode(payloadBlock(b).data) as [Uint8Array];
      return (cbor.decode(body) as unknown[])[0] === kind;
    });
  }

  /** Bundles seen for service `service` of node `node`. */
  to(node: number, service: number): Bundle[] {
    return this.seen.filter((b) => b.primary.destination.scheme === 'ipn' && b.primary.destination.node === node && b.primary.destination.service === service);
  }
}

let dir: string;
let ports: { console: number; station: number; sat: number; relay: number };
let satConfig: string;
let consoleProc: TernProcess;
const nodes: TernProcess[] = [];
let relay: Relay;

function tern(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runTern(args, dir);
}

/** `tern gse send 20 PING token` through the station; resolves with the executed response line. */
async function ping(token: number): Promise<Record<string, unknown>> {
  const sent = await tern(['gse', 'send', String(SAT), 'PING', String(token), '--key', 'alice.key', '--via', `127.0.0.1:${ports.station}`]);
  expect(sent.code, sent.stderr).toBe(0);
  const digest = /digest ([0-9a-f]{16})/.exec(sent.stdout)![1]!;
  return consoleProc.waitForLine((l) => l.kind === 'rsp' && l.digest === digest && l.status === 'executed');
}

const operators = [{ id: 1, name: 'alice', roles: ['operate', 'approve'], publicKeyFile: 'alice.key.pub.json' }];
const budgets = { dispatch: { budgetUs: 3000, verificationsPerSlot: 1 }, sequence: { budgetUs: 500 } };
const cmdTasks: [string[], string[], string[], string[], string[]] = [['cmd.dispatch', 'cmd.sequence'], ['cmd.dispatch'], [], ['cmd.dispatch'], []];

async function startSat(): Promise<TernProcess> {
  const node = startTern(['flight', '--config', satConfig]);
  nodes.push(node);
  await node.waitForLine((l) => l.msg === 'node started');
  return node;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tern-session-e2e-'));
  for (const [name, id] of [['alice', 1], ['node-10', STATION], ['node-20', SAT]] as const) {
    const made = await tern(['gse', 'keygen', '--out', `${name}.key`, '--id', String(id), '--name', name]);
    expect(made.code, made.stderr).toBe(0);
  }
  ports = { console: await freePort(), station: await freePort(), sat: await freePort(), relay: 0 };
  relay = new Relay(RELAY);
  ports.relay = (await relay.tcp.listen('127.0.0.1', 0)).port;
  consoleProc = startTern(['gse', 'tlm', '--listen', `127.0.0.1:${ports.console}`, '--node', String(GROUND)]);
  const stationConfig = writeNodeConfig(dir, {
    id: STATION, port: ports.station, neighbours: { [RELAY]: ['tcp', ports.relay], [GROUND]: ['tcp', ports.console] }, routes: { [SAT]: RELAY },
    tasks: cmdTasks,
    // rekeyBlocks 2: the station offers a new session after every second command it seals.
    cmd: { approvals: 1, operators, ...budgets, session: { identityKeyFile: 'node-10.key', rekeyBlocks: 2, gatewayFor: [GROUND], peers: [{ node: SAT, publicKeyFile: 'node-20.key.pub.json' }] } },
  });
  satConfig = writeNodeConfig(dir, {
    id: SAT, port: ports.sat, neighbours: { [RELAY]: ['tcp', ports.relay] }, routes: { '*': RELAY },
    tasks: cmdTasks,
    tlm: { downlink: { endpoint: `ipn:${GROUND}.2`, housekeepingEvery: 1000 } },
    cmd: { approvals: 1, operators, ...budgets, session: { identityKeyFile: 'node-20.key', peers: [{ node: STATION, publicKeyFile: 'node-10.key.pub.json', gatewayFor: [GROUND] }] } },
  });
  const station = startTern(['flight', '--config', stationConfig]);
  nodes.push(station);
  await station.waitForLine((l) => l.msg === 'node started');
  await startSat();
  relay.toStation = await relay.tcp.connect('127.0.0.1', ports.station, `ipn:${STATION}.0`);
  relay.toSat = await relay.tcp.connect('127.0.0.1', ports.sat, `ipn:${SAT}.0`);
}, 60_000);

afterAll(async () => {
  killAll([...nodes, consoleProc]);
  await relay?.close();
});

describe('BPSec session keys between real nodes, through a relay that sees the link', () => {
  it('the station makes a session with the satellite, and the command crosses the relay under a BCB the satellite opens', async () => {
    expect(await ping(1)).toMatchObject({ node: SAT, command: 'PING', result: { token: 1 } });
    // The handshakes crossed the relay in clear (signed, never sealed): the station's offer to
    // the satellite's session endpoint and its accept back, and the same the other way round for
    // what the satellite sends down.
    expect(relay.handshakes(SAT, 'offer')).toHaveLength(1);
    expect(relay.handshakes(STATION, 'accept')).toHaveLength(1);
    expect(relay.handshakes(STATION, 'offer')).toHaveLength(1);
    expect(relay.handshakes(SAT, 'accept')).toHaveLength(1);
    expect(relay.to(SAT, 3).every((b) => b.encrypted.size === 0)).toBe(true);
    // The command: payload under a BCB with the station as security source; no envelope to read.
    const [command] = relay.to(SAT, 1);
    const bcb = command!.security.find((s) => s.block.type === BlockType.confidentiality)!;
    expect(eidToString(bcb.asb!.source)).toBe(`ipn:${STATION}.0`);
    expect(command!.encrypted.has(payloadBlock(command!).number)).toBe(true);
    expect(() => decodeEnvelope(payloadBlock(command!).data)).toThrow();
    // The satellite's response to the ground console went sealed for the station, the console's
    // gateway, which opened it and passed it on: nothing for the console crossed the relay in clear.
    const down = relay.to(GROUND, 2);
    expect(down.length).toBeGreaterThan(0);
    for (const b of down) {
      expect(eidToString(b.security.find((s) => s.block.type === BlockType.confidentiality)!.asb!.source)).toBe(`ipn:${SAT}.0`);
    }
  });

  it('the satellite still opens commands sealed under the old session after it restarts (its keys persist)', async () => {
    const sat = nodes.find((n) => n.child.exitCode === null && n !== nodes[0])!;
    sat.child.kill('SIGTERM');
    await sat.exited;
    relay.toSat = undefined;
    await startSat();
    relay.toSat = await relay.tcp.connect('127.0.0.1', ports.sat, `ipn:${SAT}.0`);
    const offersBefore = relay.handshakes(SAT, 'offer').length;
    expect(await ping(2)).toMatchObject({ result: { token: 2 } });
    // The station knows nothing of the restart: it sealed under the same session, no new handshake.
    expect(relay.to(SAT, 1)).toHaveLength(2);
    expect(relay.handshakes(SAT, 'offer')).toHaveLength(offersBefore);
  });

  it('rekeys: later commands go under the new session, each with a fresh IV, and all run', async () => {
    for (const token of [3, 4, 5]) expect(await ping(token)).toMatchObject({ result: { token } });
    const ivs = relay.to(SAT, 1).map((b) => {
      const asb = b.security.find((s) => s.block.type === BlockType.confidentiality)!.asb!;
      return Buffer.from(asb.parameters.find((p) => p.id === 1)!.value as Uint8Array).toString('hex');
    });
    // Counter IVs. The third command finds rekeyBlocks (2) reached: it sets off the offer and goes
    // under the old session meanwhile; the fourth and fifth go under the new one, from 1 again.
    expect(ivs.map((iv) => parseInt(iv, 16))).toEqual([1, 2, 3, 1, 2]);
    expect(relay.handshakes(SAT, 'offer')).toHaveLength(2);
    expect(relay.handshakes(STATION, 'accept')).toHaveLength(2);
  });

  it('a satellite that lost its keys asks the station for new ones: one command is lost, the next runs', async () => {
    const sat = nodes.find((n) => n.child.exitCode === null && n !== nodes[0])!;
    sat.child.kill('SIGTERM');
    await sat.exited;
    relay.toSat = undefined;
    for (const copy of ['sessions.rec', 'sessions.rec.bak']) rmSync(join(dir, `data-${SAT}`, 'cmd', copy));
    await startSat();
    relay.toSat = await relay.tcp.connect('127.0.0.1', ports.sat, `ipn:${SAT}.0`);
    const offers = relay.handshakes(SAT, 'offer').length;
    // Sealed under keys the satellite no longer has: not delivered, and the satellite asks.
    const lost = await tern(['gse', 'send', String(SAT), 'PING', '6', '--key', 'alice.key', '--via', `127.0.0.1:${ports.station}`]);
    expect(lost.code, lost.stderr).toBe(0);
    await consoleProc.waitForLine((l) => l.kind === 'evt' && l.node === SAT && l.name === 'CMD_SESSION_UNREADABLE');
    // The station drops the session the satellite cannot read; the next command waits for the
    // new one (the offer the station had just made for its rekeyBlocks serves) and runs.
    expect(await ping(7)).toMatchObject({ result: { token: 7 } });
    expect(relay.handshakes(STATION, 'rekey')).toHaveLength(1);
    expect(relay.handshakes(SAT, 'offer')).toHaveLength(offers + 1);
    expect(consoleProc.lines.some((l) => l.kind === 'rsp' && l.status === 'executed' && (l.result as { token?: number })?.token === 6)).toBe(false);
  });
});
