// Two TCPCLv4 convergence layers (two nodes' worth) talking over real sockets on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import {
  BundleRefusedError,
  NodeIdMismatchError,
  SessionClosedError,
  TransferRefusedError,
  TransferTimeoutError,
  TransferTooLargeError,
} from '../../flight/cla/errors.js';
import type { TcpclSession } from '../../flight/cla/tcpcl-session.js';
import { REFUSE_REASON } from '../../flight/cla/tcpcl-wire.js';
import { until } from '../support/wait.js';
import { rfc9173Bundles, tcpNode, TestSink, type TcpNode, type TcpNodeOptions } from './support.js';

const nodes: TcpNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.cla.close()));
});

async function node(options: TcpNodeOptions = {}): Promise<TcpNode> {
  const n = await tcpNode(options);
  nodes.push(n);
  return n;
}

/** Node 1 connects to node 2; returns both ends of the session. */
async function pair(a: TcpNodeOptions = {}, b: TcpNodeOptions = {}): Promise<{ one: TcpNode; two: TcpNode; out: TcpclSession; back: TcpclSession }> {
  const one = await node({ localNodeId: 'ipn:1.0', listen: false, ...a });
  const two = await node({ localNodeId: 'ipn:2.0', ...b });
  const out = await one.cla.connect('127.0.0.1', two.port, 'ipn:2.0');
  await until(() => two.cla.sessions().length === 1, 'the passive session');
  return { one, two, out, back: two.cla.sessions()[0]! };
}

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

describe('TCPCLv4 sessions', () => {
  it('hands at most 16 transfers of one read to the sink per turn of the event loop, the rest after a turn, all acked in order', async () => {
    // A turn counter: one increment per pass of the event loop's check phase.
    let turn = 0;
    let counting = true;
    const tick = (): void => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const turns: number[] = [];
    const sink = new TestSink(() => {
      turns.push(turn);
      return Promise.resolve();
    });
    try {
      const { out, two } = await pair({}, { sink, maxInboundPending: 64 });
      // 64 small transfers written in one go: they arrive in one read.
      const sent = Array.from({ length: 64 }, (_, i) => pattern(40, i));
      await Promise.all(sent.map((b) => out.send(b)));
      expect(two.sink.accepted.map((a) => Buffer.from(a.bytes))).toEqual(sent.map((b) => Buffer.from(b)));
      const perTurn = new Map<number, number>();
      for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
      expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(16);
      expect(perTurn.size).toBeGreaterThanOrEqual(4);
    } finally {
      counting = false;
    }
  });

  it('establishes a session and negotiates its parameters', async () => {
    const { one, two, out, back } = await pair(
      { keepaliveS: 30, segmentMru: 5000, transferMru: 100_000 },
      { keepaliveS: 7, segmentMru: 2000, transferMru: 50_000 },
    );
    // Keepalive: the minimum of both proposals, on both ends.
    expect(out.keepaliveS).toBe(7);
    expect(back.keepaliveS).toBe(7);
    // Each side learns the other's receive limits and node ID.
    expect([out.peerSegmentMru, out.peerTransferMru, out.peer.nodeId]).toEqual([2000, 50_000, 'ipn:2.0']);
    expect([back.peerSegmentMru, back.peerTransferMru, back.peer.nodeId]).toEqual([5000, 100_000, 'ipn:1.0']);
    expect([out.role, back.role]).toEqual(['active', 'passive']);
    expect(one.value('cla.tcp.sessionsOpened')).toBe(1);
    expect(two.value('cla.tcp.sessionsActive')).toBe(1);
    expect(two.events.map((e) => e.name)).toContain('CLA_TCP_SESSION_UP');
    expect(two.cla.sessionTo('ipn:1.0')).toBe(back);
  });

  it('moves RFC 9173 bundles both ways, byte for byte, with the peer info of the sender', async () => {
    const { one, two, out, back } = await pair();
    const bundles = rfc9173Bundles();
    await Promise.all(bundles.map((b) => out.send(b)));
    await back.send(bundles[0]!);
    await one.sink.waitFor(1);
    expect(two.sink.accepted.map((a) => Buffer.from(a.bytes).toString('hex'))).toEqual(bundles.map((b) => Buffer.from(b).toString('hex')));
    expect(two.sink.accepted[0]!.from).toMatchObject({ cla: 'tcp', address: '127.0.0.1', nodeId: 'ipn:1.0' });
    expect(Buffer.from(one.sink.accepted[0]!.bytes).equals(Buffer.from(bundles[0]!))).toBe(true);
    const total = bundles.reduce((n, b) => n + b.length, 0);
    expect([one.value('cla.tcp.bundlesOut'), one.value('cla.tcp.bytesOut')]).toEqual([4, total]);
    expect([two.value('cla.tcp.bundlesIn'), two.value('cla.tcp.bytesIn')]).toEqual([4, total]);
  });

  it('splits a large transfer into segments of the peer segment MRU and acknowledges it whole', async () => {
    const { two, out } = await pair({}, { segmentMru: 1000 });
    const bundle = pattern(10_500, 7);
    await out.send(bundle); // resolves on the final XFER_ACK only
    expect(two.sink.accepted).toHaveLength(1);
    expect(Buffer.from(two.sink.accepted[0]!.bytes).equals(Buffer.from(bundle))).toBe(true);
    // Received in 11 segments, joined once into one buffer of exactly the bundle's size.
    expect(two.sink.accepted[0]!.bytes.byteLength).toBe(10_500);
    expect(two.value('cla.tcp.bytesIn')).toBe(10_500);
  });

  it('rejects the send with the reason the receiving agent gave', async () => {
    const sink = new TestSink(() => Promise.reject(new BundleRefusedError('no-resources', 'store full')));
    const { one, two, out } = await pair({}, { sink });
    const error = await out.send(pattern(100, 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferRefusedError);
    expect((error as TransferRefusedError).reason).toBe(REFUSE_REASON.NO_RESOURCES);
    expect((error as TransferRefusedError).message).toMatch(/NO_RESOURCES/);
    expect(two.value('cla.tcp.refusalsSent')).toBe(1);
    expect(one.value('cla.tcp.refusalsReceived')).toBe(1);
    two.sink.mode = () => Promise.reject(new BundleRefusedError('not-acceptable', 'fails policy'));
    const never = await out.send(pattern(100, 4)).catch((e: unknown) => e);
    expect((never as TransferRefusedError).reason).toBe(REFUSE_REASON.NOT_ACCEPTABLE);
    // Any other rejection is refused as "Unknown"; the session goes on.
    two.sink.mode = () => Promise.reject(new Error('disk on fire'));
    const unknown = await out.send(pattern(100, 2)).catch((e: unknown) => e);
    expect((unknown as TransferRefusedError).reason).toBe(REFUSE_REASON.UNKNOWN);
    two.sink.mode = 'auto';
    await out.send(pattern(100, 3));
    expect(out.state).toBe('established');
  });

  it('refuses to send a bundle beyond the peer transfer MRU', async () => {
    const { out } = await pair({}, { transferMru: 4096, segmentMru: 1024 });
    await expect(out.send(pattern(4097, 0))).rejects.toBeInstanceOf(TransferTooLargeError);
    await out.send(pattern(4096, 0));
  });

  it('ends with SESS_TERM both ways, finishing a transfer already in flight', async () => {
    const sink = new TestSink('hold');
    const { one, two, out, back } = await pair({}, { sink });
    const inFlight = out.send(pattern(3000, 9));
    await sink.waitFor(1);
    out.terminate();
    // Ending: no new transfers, but the one in flight completes once the agent accepts it.
    await expect(out.send(pattern(10, 0))).rejects.toBeInstanceOf(SessionClosedError);
    await until(() => back.state === 'ending', 'the passive end to be ending');
    sink.accepted[0]!.resolve();
    await inFlight;
    await Promise.all([out.closed, back.closed]);
    expect(out.closeReason).toBe('local SESS_TERM UNKNOWN');
    expect(back.closeReason).toBe('peer SESS_TERM UNKNOWN');
    expect(one.value('cla.tcp.sessionsClosed')).toBe(1);
    expect(two.value('cla.tcp.sessionsActive')).toBe(0);
    await expect(out.send(pattern(10, 0))).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('keeps an idle session alive with KEEPALIVEs', async () => {
    const { one, two, out, back } = await pair({ keepaliveS: 1 }, { keepaliveS: 1 });
    // Three KEEPALIVEs each way take more than twice the interval, with no bundle traffic.
    await until(() => one.value('cla.tcp.keepalivesReceived') >= 3 && two.value('cla.tcp.keepalivesReceived') >= 3, 'three KEEPALIVEs each way');
    expect([out.state, back.state]).toEqual(['established', 'established']);
    expect(one.value('cla.tcp.keepaliveTimeouts') + two.value('cla.tcp.keepaliveTimeouts')).toBe(0);
    await out.send(pattern(10, 0));
  });

  it('stops reading when the agent is slow, and resumes in order', async () => {
    const sink = new TestSink('hold');
    const { two, out, back } = await pair({}, { sink, maxInboundPending: 2 });
    const bundles = Array.from({ length: 8 }, (_, i) => pattern(1024, i));
    const sends = bundles.map((b) => out.send(b));
    await until(() => back.load.paused, 'the session to stop reading');
    // Only two complete transfers wait for the agent; the session stopped reading.
    expect(sink.accepted).toHaveLength(2);
    expect(two.value('cla.tcp.backpressurePauses')).toBeGreaterThanOrEqual(1);
    expect(two.value('cla.tcp.inboundPending')).toBe(2);
    for (let i = 0; i < bundles.length; i++) {
      await sink.waitFor(i + 1);
      sink.accepted[i]!.resolve();
    }
    await Promise.all(sends);
    expect(sink.maxPending).toBe(2);
    expect(sink.accepted.map((a) => a.bytes[0])).toEqual(bundles.map((b) => b[0]));
    expect(two.value('cla.tcp.inboundPending')).toBe(0);
  });

  it('refuses a neighbour that announces another node ID', async () => {
    const one = await node({ localNodeId: 'ipn:1.0', listen: false });
    const two = await node({ localNodeId: 'ipn:3.0' });
    const error = await one.cla.connect('127.0.0.1', two.port, 'ipn:2.0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionClosedError);
    expect(one.cla.errorCounts.get(new NodeIdMismatchError('', '').code)).toBe(1);
    expect(one.value('cla.tcp.connectFailures')).toBe(1);
  });

  it('answers connections beyond maxSessions with SESS_TERM Busy', async () => {
    const two = await node({ localNodeId: 'ipn:2.0', maxSessions: 1 });
    const one = await node({ localNodeId: 'ipn:1.0', listen: false });
    const first = await one.cla.connect('127.0.0.1', two.port);
    const second = await one.cla.connect('127.0.0.1', two.port).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(SessionClosedError);
    expect((second as Error).message).toMatch(/BUSY/);
    expect(two.value('cla.tcp.sessionsBusy')).toBe(1);
    await first.send(pattern(10, 0));
  });

  it('fails a send not acknowledged in time, and takes the late ack quietly', async () => {
    const sink = new TestSink('hold');
    const { one, out } = await pair({ transferTimeoutMs: 300 }, { sink });
    const error = await out.send(pattern(100, 0)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferTimeoutError);
    expect(one.value('cla.tcp.transferTimeouts')).toBe(1);
    sink.accepted[0]!.resolve(); // the final XFER_ACK now arrives for an abandoned transfer
    sink.mode = 'auto';
    await out.send(pattern(100, 1));
    expect(one.value('cla.tcp.protocolErrors')).toBe(0);
    expect(out.state).toBe('established');
  });

  it('fails sends in flight when the connection drops', async () => {
    const sink = new TestSink('hold');
    const { out, back } = await pair({}, { sink });
    const inFlight = out.send(pattern(100, 0));
    await sink.waitFor(1);
    (back as unknown as { socket: { destroy(): void } }).socket.destroy();
    await expect(inFlight).rejects.toBeInstanceOf(SessionClosedError);
  });

  it('reports a connect to a closed port as a typed error', async () => {
    const one = await node({ listen: false });
    const two = await node();
    const port = two.port;
    await two.cla.close();
    await expect(one.cla.connect('127.0.0.1', port)).rejects.toBeInstanceOf(SessionClosedError);
    expect(one.value('cla.tcp.connectFailures')).toBe(1);
  });
});
