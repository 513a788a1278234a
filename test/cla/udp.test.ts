// UDPCL over real datagram sockets on 127.0.0.1: one bundle per datagram, nothing else on the
// wire (as ION's udpclo sends and udpcli receives), limits and refusals counted.
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { DatagramTooLargeError, EmptyBundleError } from '../../flight/cla/errors.js';
import { UdpCla, type UdpClaOptions } from '../../flight/cla/udp.js';
import { until } from '../support/wait.js';
import { rfc9173Bundles, silent, testNode, TestSink, type TestNode } from './support.js';

interface UdpNode extends TestNode {
  cla: UdpCla;
  sink: TestSink;
  port: number;
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function udpNode(options: Partial<Omit<UdpClaOptions, 'sink' | 'tlm' | 'events' | 'log'>> & { sink?: TestSink } = {}): Promise<UdpNode> {
  const node = testNode();
  const sink = options.sink ?? new TestSink();
  const cla = new UdpCla({ maxDatagramBytes: 65_507, maxInboundPending: 64, ...options, sink, tlm: node.tlm, events: node.eventLog, log: silent });
  const { port } = await cla.listen('127.0.0.1', 0);
  open.push(cla);
  return { ...node, cla, sink, port };
}

async function rawSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  return socket;
}

describe('UDPCL', () => {
  it('sends each bundle as one datagram and hands it to the receiving agent as is', async () => {
    const a = await udpNode();
    const b = await udpNode();
    const bundles = rfc9173Bundles();
    const link = a.cla.link('127.0.0.1', b.port);
    for (const bundle of bundles) await link.send(bundle);
    await b.sink.waitFor(bundles.length);
    expect(b.sink.accepted.map((x) => Buffer.from(x.bytes).toString('hex')).sort()).toEqual(bundles.map((x) => Buffer.from(x).toString('hex')).sort());
    expect(b.sink.accepted[0]!.from).toMatchObject({ cla: 'udp', address: '127.0.0.1' });
    const total = bundles.reduce((n, x) => n + x.length, 0);
    expect([a.value('cla.udp.bundlesOut'), a.value('cla.udp.bytesOut')]).toEqual([4, total]);
    await until(() => b.value('cla.udp.bundlesIn') === 4, 'the accepted count');
    expect(b.value('cla.udp.bytesIn')).toBe(total);
  });

  it('puts nothing on the wire but the bundle, and takes a bare bundle datagram', async () => {
    const a = await udpNode();
    const listener = await rawSocket();
    const seen = new Promise<Buffer>((resolve) => listener.once('message', resolve));
    const bundle = rfc9173Bundles()[1]!;
    await a.cla.send(bundle, '127.0.0.1', listener.address().port);
    expect((await seen).equals(Buffer.from(bundle))).toBe(true);
    // The other direction: a datagram from a foreign sender, e.g. ION's udpclo.
    listener.send(bundle, a.port, '127.0.0.1');
    await a.sink.waitFor(1);
    expect(Buffer.from(a.sink.accepted[0]!.bytes).equals(Buffer.from(bundle))).toBe(true);
  });

  it('refuses oversize bundles both ways with a typed error and a counter', async () => {
    const a = await udpNode({ maxDatagramBytes: 1000 });
    await expect(a.cla.send(new Uint8Array(1001), '127.0.0.1', a.port)).rejects.toBeInstanceOf(DatagramTooLargeError);
    const sender = await rawSocket();
    sender.send(Buffer.alloc(1500, 7), a.port, '127.0.0.1');
    sender.send(Buffer.alloc(1000, 8), a.port, '127.0.0.1');
    await a.sink.waitFor(1);
    await until(() => a.value('cla.udp.oversize') === 2, 'both oversize datagrams counted');
    expect(a.sink.accepted.map((x) => x.bytes.length)).toEqual([1000]);
    expect(a.value('cla.udp.oversize')).toBe(2);
    expect(a.cla.errorCounts.get('UDPCL_DATAGRAM_TOO_LARGE')).toBe(2);
    expect(a.events.filter((e) => e.name === 'CLA_UDP_OVERSIZE').map((e) => e.args.direction)).toEqual(['outbound', 'inbound']);
  });

  it('counts empty datagrams and refuses to send an empty bundle', async () => {
    const a = await udpNode();
    const sender = await rawSocket();
    sender.send(Buffer.alloc(0), a.port, '127.0.0.1');
    await until(() => a.value('cla.udp.malformed') === 1, 'the malformed count');
    await expect(a.cla.send(new Uint8Array(0), '127.0.0.1', a.port)).rejects.toBeInstanceOf(EmptyBundleError);
    expect(a.cla.errorCounts.get('CLA_EMPTY_BUNDLE')).toBe(2);
    expect(a.sink.accepted).toHaveLength(0);
  });

  it('counts bundles the agent refuses', async () => {
    const b = await udpNode({ sink: new TestSink(() => Promise.reject(new Error('duplicate'))) });
    const a = await udpNode();
    await a.cla.send(Uint8Array.of(1, 2, 3), '127.0.0.1', b.port);
    await until(() => b.value('cla.udp.refused') === 1, 'the refusal count');
    expect(b.value('cla.udp.bundlesIn')).toBe(0);
  });

  it('drops datagrams while the agent is saturated instead of queueing without bound', async () => {
    const b = await udpNode({ sink: new TestSink('hold'), maxInboundPending: 3 });
    const a = await udpNode();
    for (let i = 0; i < 10; i++) await a.cla.send(Uint8Array.of(i), '127.0.0.1', b.port);
    await until(() => b.value('cla.udp.dropped') === 7, 'the drop count');
    expect(b.sink.accepted.map((x) => x.bytes[0])).toEqual([0, 1, 2]);
    expect(b.value('cla.udp.inboundPending')).toBe(3);
    for (const x of b.sink.accepted) x.resolve();
    await until(() => b.value('cla.udp.inboundPending') === 0, 'the pending count to drain');
    await a.cla.send(Uint8Array.of(42), '127.0.0.1', b.port);
    await b.sink.waitFor(4);
  });
});
