// The TCPCLv4 listener under a flood of idle connections: configured neighbours still get a
// session, every connection it refuses or closes is counted by reason. Real sockets on
// 127.0.0.1; the flood reopens each connection the listener closes, as an attacker would.
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseClaConfig } from '../../flight/cla/config.js';
import { Neighbours } from '../../flight/cla/neighbours.js';
import { Admission } from '../../flight/cla/tcpcl-admission.js';
import { MSG, TERM_REASON } from '../../flight/cla/tcpcl-wire.js';
import { Fields } from '../../flight/config/fields.js';
import { SessionClosedError } from '../../flight/cla/errors.js';
import { until } from '../support/wait.js';
import { IdleFlood, RawPeer, rfc9173Bundles, silent, tcpNode, testNode, TestSink, type TcpNode, type TcpNodeOptions } from './support.js';

const floods: IdleFlood[] = [];
const nodes: TcpNode[] = [];
const stops: Array<() => Promise<void>> = [];
const peers: RawPeer[] = [];
afterEach(async () => {
  for (const flood of floods.splice(0)) flood.stop();
  for (const peer of peers.splice(0)) peer.close();
  await Promise.all(nodes.splice(0).map((n) => n.cla.close()));
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

async function node(options: TcpNodeOptions): Promise<TcpNode> {
  const n = await tcpNode(options);
  nodes.push(n);
  return n;
}

function flood(port: number, count: number): IdleFlood {
  const f = new IdleFlood(port, count);
  floods.push(f);
  return f;
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function raw(port: number): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  peers.push(peer);
  return peer;
}

describe('TCPCLv4 listener under a flood of idle connections', () => {
  it('still gives a configured neighbour a session, and counts every refusal by reason', async () => {
    // Node 2 as a mission config makes it: neighbour 3 configured, one general session slot, a
    // short contact deadline so the flood churns during the test. Neighbour 3's listed address
    // is a port nothing listens on: node 2 cannot reach it, so node 3 must get in by itself.
    const server = testNode();
    const section = {
      tcp: { listen: '127.0.0.1:0', maxSessions: 1, contactTimeoutMs: 1000 },
      neighbours: { 3: { cla: 'tcp', address: `127.0.0.1:${await closedPort()}` } },
    };
    const config = parseClaConfig(new Fields('mission.json'), section, 'cla');
    const sink = new TestSink();
    const two = new Neighbours({ config, node: 2, sink, tlm: server.tlm, events: server.eventLog, log: silent, retryMs: 600_000 });
    stops.push(() => two.stop());
    const port = (await two.start()).tcp!.port;

    // A stranger holds the only general slot.
    const five = await node({ localNodeId: 'ipn:5.0', listen: false });
    await five.cla.connect('127.0.0.1', port, 'ipn:2.0');

    const attack = flood(port, 80);
    await until(() => attack.opened >= 80, 'the flood to connect');
    // A second stranger is told Busy: strangers share the general slots.
    const six = await node({ localNodeId: 'ipn:6.0', listen: false });
    const busy = await six.cla.connect('127.0.0.1', port).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(SessionClosedError);
    expect((busy as Error).message).toMatch(/BUSY/);

    // The neighbour gets its reserved slot and its bundle through, while the flood lasts.
    const three = await node({ localNodeId: 'ipn:3.0', listen: false });
    const bundle = rfc9173Bundles()[1]!;
    const session = await three.cla.connect('127.0.0.1', port, 'ipn:2.0');
    await session.send(bundle);
    expect(Buffer.from(sink.accepted.at(-1)!.bytes).equals(Buffer.from(bundle))).toBe(true);
    expect(sink.accepted.at(-1)!.from.nodeId).toBe('ipn:3.0');

    // The flood's connections time out and come back, every one of them; the neighbour
    // reconnects in the middle of that churn and still gets through.
    await until(() => attack.closedByPeer >= 80, 'every flood connection closed once and reopened');
    session.terminate();
    await session.closed;
    await until(() => server.tlm.get('cla.tcp.sessionsReserved')!.value === 0, 'the reserved slot to be free again');
    const again = await three.cla.connect('127.0.0.1', port, 'ipn:2.0');
    await again.send(bundle);

    const value = (name: string): number => server.tlm.get(name)!.value;
    const counters = Object.fromEntries([
      'cla.tcp.contactTimeouts', 'cla.tcp.sessionsBusy', 'cla.tcp.pendingConnections', 'cla.tcp.sessionsReserved',
      'cla.tcp.refusedPerAddress', 'cla.tcp.evictedPending', 'cla.tcp.handshakeTimeouts', 'cla.tcp.sessionsOpened',
    ].map((name) => [name, value(name)]));
    console.info('listener counters under the idle flood', counters);
    expect(value('cla.tcp.contactTimeouts')).toBeGreaterThanOrEqual(80);
    expect(value('cla.tcp.sessionsBusy')).toBe(1);
    expect(value('cla.tcp.sessionsReserved')).toBe(1);
    expect(value('cla.tcp.pendingConnections')).toBeLessThanOrEqual(80);
    expect(value('cla.tcp.refusedPerAddress') + value('cla.tcp.evictedPending')).toBe(0);
    expect(server.events.some((e) => e.name === 'CLA_TCP_BUSY' && e.args.nodeId === 'ipn:6.0')).toBe(true);
  });

  it('closes a connection beyond the per-address limit at once, and counts it', async () => {
    const server = await node({ localNodeId: 'ipn:2.0', maxPendingPerAddress: 4, contactTimeoutMs: 60_000 });
    const idle = await Promise.all(Array.from({ length: 4 }, () => raw(server.port)));
    await until(() => server.value('cla.tcp.pendingConnections') === 4, 'four pending connections');
    const beyond = await raw(server.port);
    await beyond.waitClosed();
    expect(beyond.received.length).toBe(0);
    expect(server.value('cla.tcp.refusedPerAddress')).toBe(1);
    expect(server.events.find((e) => e.name === 'CLA_TCP_CONNECTION_REFUSED')?.args.reason).toBe('per-address limit');
    expect(idle.some((p) => p.closed)).toBe(false);
    // Once one of the four goes, the address may open another.
    idle[0]!.close();
    await until(() => server.value('cla.tcp.pendingConnections') === 3, 'the place to free');
    const next = await raw(server.port);
    next.write('6474 6e21 04 00');
    await next.waitFor('the contact header', () => next.messages.length === 1);
  });

  it('closes a connection that sends no contact header within contactTimeoutMs', async () => {
    // 1 s: long enough that a loaded machine cannot stall the second peer past it.
    const server = await node({ localNodeId: 'ipn:2.0', contactTimeoutMs: 1000, handshakeTimeoutMs: 60_000 });
    const silentPeer = await raw(server.port);
    await silentPeer.waitClosed();
    expect(server.value('cla.tcp.contactTimeouts')).toBe(1);
    expect(server.cla.errorCounts.get('TCPCL_HANDSHAKE_TIMEOUT')).toBe(1);
    // A peer that sent its contact header has the whole handshake deadline for SESS_INIT.
    const slow = await raw(server.port);
    slow.write('6474 6e21 04 00');
    await slow.waitFor('the contact header', () => slow.messages.length === 1);
    const probe = await raw(server.port);
    await probe.waitClosed(); // a later, silent connection times out first
    expect(slow.closed).toBe(false);
    expect(server.value('cla.tcp.contactTimeouts')).toBe(2);
    expect(server.value('cla.tcp.handshakeTimeouts')).toBe(0);
  });

  it('says Busy at SESS_INIT to a neighbour whose reserved slot is taken and no general slot is free', async () => {
    const server = await node({ localNodeId: 'ipn:2.0', maxSessions: 1, neighbours: ['ipn:3.0'] });
    const three = await node({ localNodeId: 'ipn:3.0', listen: false });
    await three.cla.connect('127.0.0.1', server.port); // reserved slot
    await three.cla.connect('127.0.0.1', server.port); // then the general one
    const peer = await raw(server.port);
    // SESS_INIT from "ipn:3.0": the passive side answers SESS_TERM Busy instead of its SESS_INIT.
    peer.write('6474 6e21 04 00 07 003c 0000000000010000 0000000000100000 0007 69706e3a332e30 00000000');
    await peer.waitFor('SESS_TERM', () => peer.of(MSG.SESS_TERM).length === 1);
    expect(peer.of(MSG.SESS_INIT)).toHaveLength(0);
    expect(peer.of(MSG.SESS_TERM)[0]).toMatchObject({ flags: 0, reason: TERM_REASON.BUSY });
    expect(server.value('cla.tcp.sessionsBusy')).toBe(1);
    expect(server.value('cla.tcp.sessionsReserved')).toBe(1);
  });
});

describe('Admission', () => {
  const limits = { maxSessions: 2, maxPendingConnections: 4, maxPendingPerAddress: 3 };

  it('evicts from the address holding the most pending connections, oldest first', () => {
    const a = new Admission<string>(limits, new Set());
    expect(a.enter('a1', '10.0.0.1')).toEqual({ admitted: true });
    a.enter('a2', '10.0.0.1');
    a.enter('b1', '10.0.0.2');
    a.enter('a3', '10.0.0.1');
    expect(a.enter('a4', '10.0.0.1')).toEqual({ admitted: false });
    // Full: a newcomer from a third address pushes out 10.0.0.1's oldest, never 10.0.0.2's one.
    expect(a.enter('c1', '10.0.0.3')).toEqual({ admitted: true, evict: 'a1' });
    expect(a.enter('c2', '10.0.0.3')).toEqual({ admitted: true, evict: 'a2' });
    expect(a.pending).toBe(4);
    a.leavePending('b1');
    expect(a.enter('b2', '10.0.0.2')).toEqual({ admitted: true });
  });

  it('reserves one session slot per configured neighbour, beside maxSessions general ones', () => {
    const a = new Admission<string>(limits, new Set(['ipn:3.0', 'ipn:4.0']));
    expect(a.claim('s1', 'ipn:9.0')).toBe('general');
    expect(a.claim('s2', 'ipn:9.0')).toBe('general');
    expect(a.claim('s3', 'ipn:8.0')).toBeUndefined();
    expect(a.claim('n3', 'ipn:3.0')).toBe('reserved');
    expect(a.claim('n4', 'ipn:4.0')).toBe('reserved');
    expect(a.claim('n3b', 'ipn:3.0')).toBeUndefined();
    a.release('n3', 'ipn:3.0');
    a.release('s1', 'ipn:9.0');
    expect(a.claim('n3b', 'ipn:3.0')).toBe('reserved');
    expect(a.claim('s3', 'ipn:8.0')).toBe('general');
    expect([a.reservedInUse, a.generalInUse]).toEqual([2, 2]);
  });
});
