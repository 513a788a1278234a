// TCPCLv4 on loopback. Throughput, as ratios against a baseline measured in the same run: the
// same bytes over a bare TCP connection with the least framing that still acknowledges each
// bundle (u32 length prefix, one ack byte back per bundle), with the same window of bundles in
// flight. Both ends of both run in this one process, so both pay for two event loops' work on
// one. And a configured neighbour's contacts while 100 idle connections flood the listener,
// against the same contacts on the quiet listener just before. TERN_BENCH_SCALE multiplies the
// bundle and contact counts (default 1: a few seconds in all).
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { TcpCla } from '../../flight/cla/tcpcl.js';
import { percentile, writeResult } from './results.js';
import { IdleFlood, silent, testNode } from '../cla/support.js';
import { until } from '../support/wait.js';

const SCALE = Number(process.env.TERN_BENCH_SCALE ?? 1);
const WINDOW = 64;

interface Run {
  bundles: number;
  bytes: number;
  seconds: number;
  bundlesPerSecond: number;
  mibPerSecond: number;
}

function run(bundles: number, size: number, ms: number): Run {
  const seconds = ms / 1000;
  return {
    bundles,
    bytes: bundles * size,
    seconds: Math.round(seconds * 1000) / 1000,
    bundlesPerSecond: Math.round(bundles / seconds),
    mibPerSecond: Math.round((bundles * size) / seconds / 2 ** 20 * 10) / 10,
  };
}

/** Sends `count` bundles with at most WINDOW unacknowledged; resolves when all are acked. */
async function windowed(count: number, send: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    while (started < count) {
      started++;
      await send();
    }
  }));
}

async function tcpcl(count: number, size: number, segmentMru: number): Promise<Run> {
  const mk = (id: number): TcpCla => {
    const node = testNode();
    return new TcpCla({
      localNodeId: `ipn:${id}.0`, keepaliveS: 30, segmentMru, transferMru: 64 << 20, maxInboundPending: WINDOW,
      maxSessions: 4, handshakeTimeoutMs: 5000, transferTimeoutMs: 60_000, closeTimeoutMs: 2000,
      sink: { accept: () => Promise.resolve() }, tlm: node.tlm, events: node.eventLog, log: silent,
    });
  };
  const receiver = mk(2);
  const sender = mk(1);
  const { port } = await receiver.listen('127.0.0.1', 0);
  const session = await sender.connect('127.0.0.1', port);
  const bundle = new Uint8Array(size).fill(0x42);
  await windowed(Math.min(count, 200), () => session.send(bundle)); // warm-up
  const t0 = performance.now();
  await windowed(count, () => session.send(bundle));
  const ms = performance.now() - t0;
  expect(receiver.channels.bundlesIn.value).toBe(count + Math.min(count, 200));
  await sender.close();
  await receiver.close();
  return run(count, size, ms);
}

/** Baseline: u32 length + bundle each way in, one ack byte per bundle back. */
async function bareTcp(count: number, size: number): Promise<Run> {
  const server: Server = createServer((socket) => {
    // A receiver as lean as it gets that still hands each bundle on whole: prefix bytes into a
    // fixed buffer, data as chunk views, one join per bundle (what the TCPCL side does too).
    const prefix = Buffer.alloc(4);
    let prefixFill = 0;
    let remaining = -1;
    let parts: Buffer[] = [];
    let delivered = 0;
    socket.on('data', (chunk: Buffer) => {
      let at = 0;
      let acks = 0;
      while (at < chunk.length) {
        if (remaining < 0) {
          while (prefixFill < 4 && at < chunk.length) prefix[prefixFill++] = chunk[at++]!;
          if (prefixFill < 4) break;
          remaining = prefix.readUInt32BE(0);
          prefixFill = 0;
          parts = [];
        }
        const take = Math.min(remaining, chunk.length - at);
        parts.push(chunk.subarray(at, at + take));
        at += take;
        remaining -= take;
        if (remaining === 0) {
          delivered += Buffer.concat(parts).length;
          remaining = -1;
          acks++;
        }
      }
      if (acks > 0) socket.write(Buffer.alloc(acks, 1));
    });
    socket.on('close', () => expect(delivered % size).toBe(0));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client: Socket = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  client.setNoDelay(true);
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const waiting: Array<() => void> = [];
  client.on('data', (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) waiting.shift()?.();
  });
  const bundle = new Uint8Array(size).fill(0x42);
  const send = (): Promise<void> => new Promise((resolve) => {
    waiting.push(resolve);
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32BE(size, 0);
    client.cork();
    client.write(prefix);
    client.write(bundle);
    client.uncork();
  });
  await windowed(Math.min(count, 200), send);
  const t0 = performance.now();
  await windowed(count, send);
  const ms = performance.now() - t0;
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return run(count, size, ms);
}

it('TCPCLv4 throughput on loopback vs bare TCP with per-bundle acks', async () => {
  const small = { count: 100_000 * SCALE, size: 1024 };
  const large = { count: 256 * SCALE, size: 1 << 20 };
  // Alternate the two, baseline first, and keep the better of two rounds of each.
  const best = (a: Run, b: Run): Run => (a.bundlesPerSecond >= b.bundlesPerSecond ? a : b);
  let smallBase = await bareTcp(small.count, small.size);
  let smallCl = await tcpcl(small.count, small.size, 1 << 20);
  smallBase = best(smallBase, await bareTcp(small.count, small.size));
  smallCl = best(smallCl, await tcpcl(small.count, small.size, 1 << 20));
  let largeBase = await bareTcp(large.count, large.size);
  let largeCl = await tcpcl(large.count, large.size, 64 << 10);
  largeBase = best(largeBase, await bareTcp(large.count, large.size));
  largeCl = best(largeCl, await tcpcl(large.count, large.size, 64 << 10));
  const ratio = (a: Run, b: Run): number => Math.round((a.bundlesPerSecond / b.bundlesPerSecond) * 100) / 100;
  writeResult('tcpcl-throughput', {
    command: 'TERN_BENCH_SCALE=1 npx vitest run --config test/bench/vitest.config.ts test/bench/tcpcl.bench.ts',
    window: WINDOW,
    bundles1KiB: { tcpcl: smallCl, bareTcp: smallBase, ratio: ratio(smallCl, smallBase) },
    bundles1MiB: { tcpcl: largeCl, bareTcp: largeBase, ratio: ratio(largeCl, largeBase), segmentMru: 64 << 10 },
  });
  expect(smallCl.bundles).toBe(small.count);
});

/**
 * One configured neighbour's contacts, one after another: connect, one 1 KiB bundle acked,
 * SESS_TERM; at least `contacts` of them, and on until `enough()`. Returns the milliseconds from
 * connect to the ack, sorted.
 */
async function neighbourContacts(port: number, contacts: number, enough = (): boolean => true): Promise<number[]> {
  const node = testNode();
  const neighbour = new TcpCla({
    localNodeId: 'ipn:3.0', keepaliveS: 30, segmentMru: 1 << 16, transferMru: 1 << 20, maxInboundPending: 4,
    handshakeTimeoutMs: 5000, transferTimeoutMs: 60_000, closeTimeoutMs: 2000,
    sink: { accept: () => Promise.resolve() }, tlm: node.tlm, events: node.eventLog, log: silent,
  });
  const bundle = new Uint8Array(1024).fill(0x42);
  const times: number[] = [];
  for (let i = 0; i < contacts || !enough(); i++) {
    const t0 = performance.now();
    const session = await neighbour.connect('127.0.0.1', port, 'ipn:2.0');
    await session.send(bundle);
    times.push(performance.now() - t0);
    session.terminate();
    await session.closed;
  }
  await neighbour.close();
  return times.sort((a, b) => a - b);
}

it('TCPCLv4 neighbour contacts during a flood of idle connections vs a quiet listener', async () => {
  const FLOOD = 100;
  const CONTACTS = 200 * SCALE;
  const node = testNode();
  const listener = new TcpCla({
    localNodeId: 'ipn:2.0', keepaliveS: 30, segmentMru: 1 << 16, transferMru: 1 << 20, maxInboundPending: 4,
    handshakeTimeoutMs: 5000, transferTimeoutMs: 60_000, closeTimeoutMs: 2000,
    // One general slot, held by a stranger below: the neighbour gets through on its reserved slot.
    maxSessions: 1, contactTimeoutMs: 250, neighbours: ['ipn:3.0'],
    sink: { accept: () => Promise.resolve() }, tlm: node.tlm, events: node.eventLog, log: silent,
  });
  const { port } = await listener.listen('127.0.0.1', 0);
  const strangerNode = testNode();
  const stranger = new TcpCla({
    localNodeId: 'ipn:5.0', keepaliveS: 30, segmentMru: 1 << 16, transferMru: 1 << 20, maxInboundPending: 4,
    handshakeTimeoutMs: 5000, transferTimeoutMs: 60_000, closeTimeoutMs: 2000,
    sink: { accept: () => Promise.resolve() }, tlm: strangerNode.tlm, events: strangerNode.eventLog, log: silent,
  });
  await stranger.connect('127.0.0.1', port);
  await neighbourContacts(port, 20); // warm-up
  const quiet = await neighbourContacts(port, CONTACTS);
  const flood = new IdleFlood(port, FLOOD);
  // Measured once every flood connection has been timed out and reopened at least once.
  await until(() => flood.closedByPeer >= FLOOD, 'the flood to churn');
  const contactTimeoutsBefore = listener.channels.contactTimeouts.value;
  const t0 = performance.now();
  // Contacts go on through at least two rounds of the flood being timed out and reopened.
  const closedBefore = flood.closedByPeer;
  const flooded = await neighbourContacts(port, CONTACTS, () => flood.closedByPeer - closedBefore >= 2 * FLOOD);
  const floodSeconds = (performance.now() - t0) / 1000;
  const churn = listener.channels.contactTimeouts.value - contactTimeoutsBefore;
  flood.stop();
  await stranger.close();
  await listener.close();
  const summary = (times: number[]): { p50Ms: number; p99Ms: number; maxMs: number } => ({
    p50Ms: Math.round(percentile(times, 0.5) * 100) / 100,
    p99Ms: Math.round(percentile(times, 0.99) * 100) / 100,
    maxMs: Math.round(times.at(-1)! * 100) / 100,
  });
  writeResult('tcpcl-admission', {
    command: 'TERN_BENCH_SCALE=1 npx vitest run --config test/bench/vitest.config.ts test/bench/tcpcl.bench.ts',
    floodConnections: FLOOD,
    contactTimeoutMs: 250,
    quiet: { contacts: quiet.length, ...summary(quiet) },
    flooded: { contacts: flooded.length, seconds: Math.round(floodSeconds * 100) / 100, ...summary(flooded) },
    p50Ratio: Math.round((percentile(flooded, 0.5) / percentile(quiet, 0.5)) * 100) / 100,
    floodConnectionsClosedPerSecond: Math.round(churn / floodSeconds),
  });
  // Every contact went through (neighbourContacts throws on the first Busy) while the flood churned.
  expect(flooded.length).toBeGreaterThanOrEqual(CONTACTS);
  expect(churn).toBeGreaterThanOrEqual(2 * FLOOD);
});
