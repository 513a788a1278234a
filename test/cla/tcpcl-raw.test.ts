// A TCPCLv4 listener against hand-built bytes over a raw net.Socket: the handshake as RFC 9174
// lays it out, acknowledgement timing, and every kind of broken peer. The listener must answer
// each with a typed error and a counter, and keep serving well-behaved peers.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MSG, REFUSE_REASON, REJECT_REASON, TERM_REASON, XFER_END, XFER_START } from '../../flight/cla/tcpcl-wire.js';
import { until } from '../support/wait.js';
import { RawPeer, rfc9173Bundles, tcpNode, TestSink, type TcpNode, type TcpNodeOptions } from './support.js';

const CONTACT = '6474 6e21 04 00';
/** SESS_INIT from "ipn:9.0" proposing keepalive `k` s, segment MRU 64 KiB, transfer MRU 1 MiB. */
function sessInitHex(keepaliveS = 60): string {
  return `07 ${keepaliveS.toString(16).padStart(4, '0')} 0000000000010000 0000000000100000 0007 69706e3a392e30 00000000`;
}
const u64 = (n: number | bigint): string => BigInt(n).toString(16).padStart(16, '0');

/** XFER_SEGMENT with `flags`, transfer `id`, optional extension list hex, and `data`. */
function segment(flags: number, id: number, data: Uint8Array, extensions = ''): Buffer {
  const start = (flags & XFER_START) !== 0;
  const ext = extensions.replace(/\s+/g, '');
  const header = `01 ${flags.toString(16).padStart(2, '0')} ${u64(id)}` +
    (start ? ` ${(ext.length / 2).toString(16).padStart(8, '0')} ${ext}` : '') + ` ${u64(data.length)}`;
  return Buffer.concat([Buffer.from(header.replace(/\s+/g, ''), 'hex'), data]);
}

let server: TcpNode;
const peers: RawPeer[] = [];
const extra: TcpNode[] = [];

async function listener(options: TcpNodeOptions = {}): Promise<TcpNode> {
  return tcpNode({ localNodeId: 'ipn:2.0', keepaliveS: 30, segmentMru: 4096, transferMru: 16_384, ...options });
}

beforeEach(async () => {
  server = await listener();
});
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  await server.cla.close();
  await Promise.all(extra.splice(0).map((n) => n.cla.close()));
});

async function raw(port = server.port): Promise<RawPeer> {
  const peer = await RawPeer.open(port);
  peers.push(peer);
  return peer;
}

/** A raw peer that completed the handshake as the active entity. */
async function established(port = server.port, keepaliveS = 60): Promise<RawPeer> {
  const peer = await raw(port);
  peer.write(CONTACT + sessInitHex(keepaliveS));
  await peer.waitFor('contact header and SESS_INIT', () => peer.messages.length >= 2);
  return peer;
}

/**
 * Sends an XFER_ACK for no transfer and waits for the MSG_REJECT it earns, which the listener
 * writes at once: whatever it wrote while handling the bytes before it has arrived by then.
 */
async function barrier(peer: RawPeer): Promise<void> {
  const rejects = peer.of(MSG.MSG_REJECT).length;
  peer.write(`02 01 ${u64(0xffff)} ${u64(1)}`);
  await peer.waitFor('the barrier MSG_REJECT', () => peer.of(MSG.MSG_REJECT).length === rejects + 1);
}

/** A well-behaved node still gets its bundle through the same listener. */
async function listenerStillServes(): Promise<void> {
  const other = await tcpNode({ localNodeId: 'ipn:5.0', listen: false });
  extra.push(other);
  const session = await other.cla.connect('127.0.0.1', server.port);
  const before = server.sink.accepted.length;
  await session.send(rfc9173Bundles()[3]!);
  expect(server.sink.accepted.length).toBe(before + 1);
}

describe('TCPCLv4 handshake on the wire', () => {
  it('answers a contact header and SESS_INIT with its own, laid out as RFC 9174 says', async () => {
    const peer = await raw();
    peer.write(CONTACT);
    // The passive entity answers the contact header, and sends SESS_INIT only after the active one's.
    // Were SESS_INIT sent with it, both would leave in the same corked write.
    await peer.waitFor('contact header', () => peer.received.length >= 6);
    expect(peer.received.toString('hex')).toBe('64746e210400');
    peer.write(sessInitHex(60));
    await peer.waitFor('SESS_INIT', () => peer.received.length >= 6 + 25 + 7);
    const init = peer.received.subarray(6);
    expect(init[0]).toBe(0x07);
    expect(init.readUInt16BE(1)).toBe(30); // its own proposal; both then use min(60, 30)
    expect(init.readBigUInt64BE(3)).toBe(4096n); // segment MRU
    expect(init.readBigUInt64BE(11)).toBe(16_384n); // transfer MRU
    expect(init.readUInt16BE(19)).toBe(7);
    expect(init.subarray(21, 28).toString()).toBe('ipn:2.0');
    expect(init.readUInt32BE(28)).toBe(0); // no session extensions
    await until(() => server.cla.sessions().length === 1, 'the session');
    expect(server.cla.sessions()[0]!.keepaliveS).toBe(30);
    expect(server.cla.sessions()[0]!.peer.nodeId).toBe('ipn:9.0');
  });

  it('handles a whole session arriving one byte per chunk', async () => {
    const peer = await raw();
    const bundle = rfc9173Bundles()[0]!;
    const bytes = Buffer.concat([
      Buffer.from((CONTACT + sessInitHex()).replace(/\s+/g, ''), 'hex'),
      segment(XFER_START, 0, bundle.subarray(0, 40), `00 0001 0008 ${u64(bundle.length)}`),
      segment(XFER_END, 0, bundle.subarray(40)),
    ]);
    await peer.writeSlowly(bytes);
    await server.sink.waitFor(1);
    expect(Buffer.from(server.sink.accepted[0]!.bytes).equals(Buffer.from(bundle))).toBe(true);
    await peer.waitFor('final XFER_ACK', () => peer.of(MSG.XFER_ACK).length === 2);
    expect(peer.of(MSG.XFER_ACK).map((a) => [a.flags, a.acknowledged])).toEqual([[XFER_START, 40], [XFER_END, bundle.length]]);
  });
});

describe('TCPCLv4 bytes on the wire', () => {
  // Tern interoperates with HDTN over TCPCLv4: these are the exact bytes a whole session puts on
  // the wire, written out by hand from RFC 9174, so no change to the code may alter them.
  it('sends exactly these bytes over a whole session: handshake, acks, a segmented transfer, SESS_TERM', async () => {
    const peer = await raw();
    peer.write(CONTACT + sessInitHex(0)); // keepalive 0: no KEEPALIVE can slip in
    await peer.waitFor('contact header and SESS_INIT', () => peer.messages.length === 2);
    const inbound = Buffer.alloc(3000, 0x33);
    peer.write(Buffer.concat([
      segment(XFER_START, 7, inbound.subarray(0, 1000), `00 0001 0008 ${u64(3000)}`),
      segment(0, 7, inbound.subarray(1000, 2000)),
      segment(XFER_END, 7, inbound.subarray(2000)),
    ]));
    await peer.waitFor('three acks', () => peer.of(MSG.XFER_ACK).length === 3);
    const outbound = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 13) & 0xff));
    const sent = server.cla.sessions()[0]!.send(outbound);
    await peer.waitFor('three segments', () => peer.of(MSG.XFER_SEGMENT).length === 3);
    peer.write(`02 01 ${u64(0)} ${u64(10_000)}`);
    await sent;
    peer.write('05 00 00');
    await peer.waitClosed();
    const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
    const expected = Buffer.concat([
      hex('64746e21 04 00'),
      hex('07 001e 0000000000001000 0000000000004000 0007 69706e3a322e30 00000000'),
      hex(`02 02 ${u64(7)} ${u64(1000)}  02 00 ${u64(7)} ${u64(2000)}  02 01 ${u64(7)} ${u64(3000)}`),
      hex(`01 02 ${u64(0)} 0000000d 00 0001 0008 ${u64(10_000)} ${u64(4096)}`), outbound.subarray(0, 4096),
      hex(`01 00 ${u64(0)} ${u64(4096)}`), outbound.subarray(4096, 8192),
      hex(`01 01 ${u64(0)} ${u64(1808)}`), outbound.subarray(8192),
      hex('05 01 00'),
    ]);
    expect(peer.received.toString('hex')).toBe(expected.toString('hex'));
  });
});

describe('TCPCLv4 acknowledgement: durable before acknowledged', () => {
  it('acks intermediate segments at once and the last one only when the agent accepted', async () => {
    await server.cla.close();
    server = await listener({ sink: new TestSink('hold') });
    const peer = await established();
    const data = Buffer.alloc(3000, 0x5a);
    peer.write(Buffer.concat([
      segment(XFER_START, 7, data.subarray(0, 1000), `00 0001 0008 ${u64(3000)}`),
      segment(0, 7, data.subarray(1000, 2000)),
      segment(XFER_END, 7, data.subarray(2000)),
    ]));
    await server.sink.waitFor(1);
    await peer.waitFor('two intermediate acks', () => peer.of(MSG.XFER_ACK).length === 2);
    await barrier(peer);
    // The bundle is with the agent but not durable yet: no final XFER_ACK.
    expect(peer.of(MSG.XFER_ACK).map((a) => [a.flags, a.transferId, a.acknowledged])).toEqual([[XFER_START, 7n, 1000], [0, 7n, 2000]]);
    server.sink.accepted[0]!.resolve();
    await peer.waitFor('final ack', () => peer.of(MSG.XFER_ACK).length === 3);
    expect(peer.of(MSG.XFER_ACK)[2]).toMatchObject({ flags: XFER_END, transferId: 7n, acknowledged: 3000 });
  });

  it('sends XFER_REFUSE instead when the agent refuses', async () => {
    await server.cla.close();
    server = await listener({ sink: new TestSink('hold') });
    const peer = await established();
    peer.write(segment(XFER_START | XFER_END, 1, Buffer.from('bundle')));
    await server.sink.waitFor(1);
    server.sink.accepted[0]!.reject(new Error('not for us'));
    await peer.waitFor('XFER_REFUSE', () => peer.of(MSG.XFER_REFUSE).length === 1);
    expect(peer.of(MSG.XFER_REFUSE)[0]).toMatchObject({ transferId: 1n, reason: REFUSE_REASON.UNKNOWN });
    expect(peer.of(MSG.XFER_ACK)).toHaveLength(0);
  });

  it('answers in receive order even when the agent settles out of order', async () => {
    await server.cla.close();
    server = await listener({ sink: new TestSink('hold') });
    const peer = await established();
    peer.write(Buffer.concat([segment(XFER_START | XFER_END, 1, Buffer.from('one')), segment(XFER_START | XFER_END, 2, Buffer.from('two'))]));
    await server.sink.waitFor(2);
    server.sink.accepted[1]!.resolve();
    await barrier(peer);
    expect(peer.of(MSG.XFER_ACK)).toHaveLength(0);
    server.sink.accepted[0]!.resolve();
    await peer.waitFor('both acks', () => peer.of(MSG.XFER_ACK).length === 2);
    expect(peer.of(MSG.XFER_ACK).map((a) => a.transferId)).toEqual([1n, 2n]);
  });

  it('takes a transfer of tiny segments, and pauses while too many acks wait behind an unsettled one', async () => {
    await server.cla.close();
    server = await listener({ sink: new TestSink('hold') });
    const peer = await established();
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    const segments = [segment(XFER_START | XFER_END, 1, Buffer.from('first'))];
    for (let i = 0; i < data.length; i++) {
      const flags = (i === 0 ? XFER_START : 0) | (i === data.length - 1 ? XFER_END : 0);
      segments.push(segment(flags, 2, data.subarray(i, i + 1)));
    }
    peer.write(Buffer.concat(segments));
    await server.sink.waitFor(1);
    const session = server.cla.sessions()[0]!;
    await until(() => session.load.paused, 'the session to pause');
    // Acks of transfer 2 wait behind transfer 1's final ack, which waits for the agent.
    expect(peer.of(MSG.XFER_ACK)).toHaveLength(0);
    server.sink.accepted[0]!.resolve();
    await server.sink.waitFor(2);
    expect(Buffer.from(server.sink.accepted[1]!.bytes).equals(data)).toBe(true);
    server.sink.accepted[1]!.resolve();
    await peer.waitFor('every ack', () => peer.of(MSG.XFER_ACK).length === 1 + 3000);
    expect(peer.of(MSG.XFER_ACK).at(-1)).toMatchObject({ flags: XFER_END, transferId: 2n, acknowledged: 3000 });
  });

  it('bounds what a flooding peer can make it buffer while the agent is slow', async () => {
    await server.cla.close();
    server = await listener({ sink: new TestSink('hold'), maxInboundPending: 2 });
    const peer = await established();
    const bundle = Buffer.alloc(4000, 1);
    // 16 MiB of transfers, written as fast as the socket takes them.
    const flood = Buffer.concat(Array.from({ length: 64 }, (_, i) => segment(XFER_START | XFER_END, i, bundle)));
    for (let i = 0; i < 64; i++) peer.socket.write(flood);
    const session = server.cla.sessions()[0]!;
    await until(() => session.load.paused, 'the session to stop reading');
    await until(() => peer.socket.writableLength > 0, 'the flood to back up into its sender');
    expect(server.sink.accepted).toHaveLength(2);
    // Decoder buffer: at most the rest of the chunks read before the pause.
    expect(session.load.buffered).toBeLessThan(1 << 20);
    // The rest waits in the flooder's own socket buffer: TCP flow control holds it back.
    expect(peer.socket.writableLength).toBeGreaterThan(0);
  });
});

describe('TCPCLv4 broken peers', () => {
  it('drops a non-TCPCL peer without a reply and keeps serving', async () => {
    const peer = await raw();
    peer.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await peer.waitClosed();
    expect(peer.received.length).toBe(0);
    expect(server.cla.errorCounts.get('TCPCL_BAD_CONTACT_HEADER')).toBe(1);
    expect(server.value('cla.tcp.protocolErrors')).toBe(1);
    expect(server.events.find((e) => e.name === 'CLA_TCP_PROTOCOL_ERROR')?.args.code).toBe('TCPCL_BAD_CONTACT_HEADER');
    await listenerStillServes();
  });

  it('answers another TCPCL version with its contact header and SESS_TERM Version Mismatch', async () => {
    const peer = await raw();
    peer.write('6474 6e21 03 00');
    await peer.waitClosed();
    expect(peer.received.toString('hex')).toBe(`64746e2104000500${TERM_REASON.VERSION_MISMATCH.toString(16).padStart(2, '0')}`);
    expect(server.cla.errorCounts.get('TCPCL_VERSION_MISMATCH')).toBe(1);
    await listenerStillServes();
  });

  it('rejects an unknown message type with MSG_REJECT and closes', async () => {
    const peer = await established();
    peer.write('0a 0000');
    await peer.waitClosed();
    expect(peer.of(MSG.MSG_REJECT)).toEqual([{ type: MSG.MSG_REJECT, reason: REJECT_REASON.TYPE_UNKNOWN, rejectedHeader: 0x0a }]);
    expect(server.cla.errorCounts.get('TCPCL_UNKNOWN_MESSAGE_TYPE')).toBe(1);
    expect(server.value('cla.tcp.msgRejectsSent')).toBe(1);
    await listenerStillServes();
  });

  it('rejects unexpected messages with MSG_REJECT and goes on', async () => {
    const peer = await established();
    // An XFER_ACK and an XFER_REFUSE for transfers never sent, a middle segment without START, a second SESS_INIT.
    peer.write(`02 01 ${u64(99)} ${u64(10)}`);
    peer.write(`03 00 ${u64(98)}`);
    peer.write(segment(XFER_END, 5, Buffer.from('x')));
    peer.write(sessInitHex());
    await peer.waitFor('four MSG_REJECTs', () => peer.of(MSG.MSG_REJECT).length === 4);
    expect(peer.of(MSG.MSG_REJECT).map((m) => [m.reason, m.rejectedHeader])).toEqual([
      [REJECT_REASON.UNEXPECTED, MSG.XFER_ACK],
      [REJECT_REASON.UNEXPECTED, MSG.XFER_REFUSE],
      [REJECT_REASON.UNEXPECTED, MSG.XFER_SEGMENT],
      [REJECT_REASON.UNEXPECTED, MSG.SESS_INIT],
    ]);
    expect(server.cla.errorCounts.get('TCPCL_UNEXPECTED_MESSAGE')).toBe(4);
    // The session is still good for a bundle.
    peer.write(segment(XFER_START | XFER_END, 6, Buffer.from('still here')));
    await peer.waitFor('the ack', () => peer.of(MSG.XFER_ACK).length === 1);
    expect(Buffer.from(server.sink.accepted[0]!.bytes).toString()).toBe('still here');
  });

  it('ends the session when a transfer starts before SESS_INIT', async () => {
    const peer = await raw();
    peer.write(CONTACT);
    peer.write(segment(XFER_START | XFER_END, 0, Buffer.from('early')));
    await peer.waitClosed();
    expect(peer.of(MSG.SESS_TERM)).toEqual([{ type: MSG.SESS_TERM, flags: 0, reason: TERM_REASON.CONTACT_FAILURE }]);
    expect(server.cla.errorCounts.get('TCPCL_UNEXPECTED_MESSAGE')).toBe(1);
    expect(server.sink.accepted).toHaveLength(0);
  });

  it('ends the session on an unknown critical session extension', async () => {
    const peer = await raw();
    // SESS_INIT with one extension item: CRITICAL, type 0x7777, 1 byte.
    peer.write(CONTACT + '07 003c 0000000000010000 0000000000100000 0007 69706e3a392e30 00000006 01 7777 0001 00');
    await peer.waitClosed();
    expect(peer.of(MSG.SESS_TERM)).toEqual([{ type: MSG.SESS_TERM, flags: 0, reason: TERM_REASON.CONTACT_FAILURE }]);
    expect(server.cla.errorCounts.get('TCPCL_UNKNOWN_CRITICAL_EXTENSION')).toBe(1);
  });

  it('ignores an unknown session extension that is not critical', async () => {
    const peer = await raw();
    peer.write(CONTACT + '07 003c 0000000000010000 0000000000100000 0007 69706e3a392e30 00000006 00 7777 0001 00');
    await until(() => server.cla.sessions().length === 1, 'the session');
    expect(server.value('cla.tcp.protocolErrors')).toBe(0);
    expect(peer.closed).toBe(false);
  });

  it('ends the session on a segment beyond its segment MRU', async () => {
    const peer = await established();
    peer.write(segment(XFER_START | XFER_END, 0, Buffer.alloc(4097)));
    await peer.waitClosed();
    expect(peer.of(MSG.SESS_TERM)).toEqual([{ type: MSG.SESS_TERM, flags: 0, reason: TERM_REASON.RESOURCE_EXHAUSTION }]);
    expect(server.cla.errorCounts.get('TCPCL_SEGMENT_TOO_LARGE')).toBe(1);
    await listenerStillServes();
  });

  it('refuses a transfer announced beyond its transfer MRU before the data comes', async () => {
    const peer = await established();
    peer.write(segment(XFER_START, 3, Buffer.alloc(100), `00 0001 0008 ${u64(16_385)}`));
    await peer.waitFor('XFER_REFUSE', () => peer.of(MSG.XFER_REFUSE).length === 1);
    expect(peer.of(MSG.XFER_REFUSE)[0]).toMatchObject({ transferId: 3n, reason: REFUSE_REASON.NO_RESOURCES });
    // The rest of the refused transfer is read and dropped, never acked; the session goes on.
    peer.write(segment(XFER_END, 3, Buffer.alloc(100)));
    peer.write(segment(XFER_START | XFER_END, 4, Buffer.from('ok')));
    await peer.waitFor('ack of the next transfer', () => peer.of(MSG.XFER_ACK).length === 1);
    expect(peer.of(MSG.XFER_ACK)[0]).toMatchObject({ transferId: 4n, acknowledged: 2 });
    expect(server.sink.accepted.map((a) => Buffer.from(a.bytes).toString())).toEqual(['ok']);
    expect(server.cla.errorCounts.get('TCPCL_TRANSFER_TOO_LARGE')).toBe(1);
    expect(server.value('cla.tcp.refusalsSent')).toBe(1);
  });

  it('refuses a transfer that grows beyond its transfer MRU without announcing its length', async () => {
    const peer = await established();
    const chunk = Buffer.alloc(4096);
    peer.write(Buffer.concat([
      segment(XFER_START, 1, chunk), segment(0, 1, chunk), segment(0, 1, chunk), segment(0, 1, chunk), segment(XFER_END, 1, Buffer.alloc(1)),
    ]));
    await peer.waitFor('XFER_REFUSE', () => peer.of(MSG.XFER_REFUSE).length === 1);
    expect(peer.of(MSG.XFER_REFUSE)[0]).toMatchObject({ transferId: 1n, reason: REFUSE_REASON.NO_RESOURCES });
    expect(peer.of(MSG.XFER_ACK).map((a) => a.acknowledged)).toEqual([4096, 8192, 12_288, 16_384]);
    expect(server.sink.accepted).toHaveLength(0);
  });

  it('refuses a transfer with an unknown critical extension, or a length that does not add up', async () => {
    const peer = await established();
    peer.write(segment(XFER_START | XFER_END, 1, Buffer.from('x'), '01 4242 0000'));
    peer.write(segment(XFER_START | XFER_END, 2, Buffer.from('abc'), `00 0001 0008 ${u64(4)}`));
    await peer.waitFor('two refusals', () => peer.of(MSG.XFER_REFUSE).length === 2);
    expect(peer.of(MSG.XFER_REFUSE).map((r) => [r.transferId, r.reason])).toEqual([
      [1n, REFUSE_REASON.EXTENSION_FAILURE],
      [2n, REFUSE_REASON.NOT_ACCEPTABLE],
    ]);
    expect(server.cla.errorCounts.get('TCPCL_UNKNOWN_CRITICAL_EXTENSION')).toBe(1);
    expect(server.cla.errorCounts.get('TCPCL_TRANSFER_LENGTH_MISMATCH')).toBe(1);
    expect(server.sink.accepted).toHaveLength(0);
  });

  it('refuses new transfers once the session is ending, and closes after the SESS_TERM reply', async () => {
    const peer = await established();
    server.cla.sessions()[0]!.terminate();
    await peer.waitFor('SESS_TERM', () => peer.of(MSG.SESS_TERM).length === 1);
    expect(peer.of(MSG.SESS_TERM)[0]).toMatchObject({ flags: 0, reason: TERM_REASON.UNKNOWN });
    // The peer had not seen it yet and starts a transfer.
    peer.write(segment(XFER_START | XFER_END, 1, Buffer.from('late')));
    await peer.waitFor('refusal', () => peer.of(MSG.XFER_REFUSE).length === 1);
    expect(peer.of(MSG.XFER_REFUSE)[0]).toMatchObject({ transferId: 1n, reason: REFUSE_REASON.SESSION_TERMINATING });
    expect(peer.closed).toBe(false);
    peer.write('05 01 00'); // SESS_TERM with REPLY
    await peer.waitClosed();
    expect(server.sink.accepted).toHaveLength(0);
  });

  it('replies to a SESS_TERM with the same reason and the REPLY flag', async () => {
    const peer = await established();
    peer.write('05 00 03'); // SESS_TERM, reason Busy
    await peer.waitClosed();
    expect(peer.of(MSG.SESS_TERM)).toEqual([{ type: MSG.SESS_TERM, flags: 1, reason: TERM_REASON.BUSY }]);
    expect(server.value('cla.tcp.sessionsClosed')).toBe(1);
  });

  it('ends a session whose peer falls silent, after twice the keepalive interval', async () => {
    const peer = await established(server.port, 1);
    const start = Date.now();
    await peer.waitFor('SESS_TERM idle timeout', () => peer.of(MSG.SESS_TERM).length === 1);
    const elapsed = Date.now() - start;
    expect(peer.of(MSG.SESS_TERM)[0]).toMatchObject({ flags: 0, reason: TERM_REASON.IDLE_TIMEOUT });
    // Its own KEEPALIVEs went out meanwhile (it sends one per interval when otherwise idle).
    expect(peer.of(MSG.KEEPALIVE).length).toBeGreaterThanOrEqual(1);
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(server.value('cla.tcp.keepaliveTimeouts')).toBe(1);
    expect(server.events.some((e) => e.name === 'CLA_TCP_KEEPALIVE_TIMEOUT')).toBe(true);
    await peer.waitClosed(); // closed at the latest after closeTimeoutMs
  });

  it('drops a connection that never completes the handshake', async () => {
    await server.cla.close();
    server = await listener({ handshakeTimeoutMs: 1000 });
    const peer = await raw();
    peer.write(CONTACT); // and then no SESS_INIT
    await peer.waitClosed();
    expect(peer.messages).toEqual([{ type: 'contact', version: 4, flags: 0 }]);
    expect(server.cla.errorCounts.get('TCPCL_HANDSHAKE_TIMEOUT')).toBe(1);
    expect(server.value('cla.tcp.handshakeTimeouts')).toBe(1);
  });
});
