// The TCPCLv4 wire format and its incremental decoder, against byte layouts written out by hand
// from RFC 9174 figures (sections 4.2, 4.6, 5.1, 5.2, 6.1), not produced by the encoder under test.
import { describe, expect, it } from 'vitest';
import {
  ClaProtocolError,
  ContactHeaderError,
  MalformedMessageError,
  SegmentTooLargeError,
  UnknownMessageTypeError,
  VersionMismatchError,
} from '../../flight/cla/errors.js';
import { ByteQueue, TcpclDecoder, type ContactHeader, type Message } from '../../flight/cla/tcpcl-decoder.js';
import {
  MSG,
  contactHeader,
  msgReject,
  sessInit,
  sessTerm,
  xferAck,
  xferRefuse,
  xferSegmentHeader,
} from '../../flight/cla/tcpcl-wire.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// Contact header: magic "dtn!", version 4, flags 0 (CAN_TLS clear).
const CONTACT = '6474 6e21 04 00';
// SESS_INIT: keepalive 15 s, segment MRU 65536, transfer MRU 16 MiB, node ID "ipn:2.0", no extensions.
const SESS_INIT = `07 000f 0000000000010000 0000000001000000 0007 69706e3a322e30 00000000`;
// XFER_SEGMENT START, transfer 5, Transfer Length extension (flags 0, type 1, length 8, value 5), 3 bytes "abc".
const SEG_START = `01 02 0000000000000005 0000000d 00 0001 0008 0000000000000005 0000000000000003 616263`;
// XFER_SEGMENT END, transfer 5, 2 bytes "de".
const SEG_END = `01 01 0000000000000005 0000000000000002 6465`;
// XFER_ACK START, transfer 5, acknowledged 3.
const ACK = `02 02 0000000000000005 0000000000000003`;
// XFER_REFUSE "Not Acceptable" (4), transfer 7.
const REFUSE = `03 04 0000000000000007`;
const KEEPALIVE = `04`;
// SESS_TERM with REPLY, reason Busy (3).
const TERM = `05 01 03`;
// MSG_REJECT "Message Type Unknown" (1) of a message whose header was 0x0a.
const REJECT = `06 01 0a`;

const STREAM = hex([CONTACT, SESS_INIT, SEG_START, SEG_END, ACK, REFUSE, KEEPALIVE, TERM, REJECT].join(''));

function decodeAll(decoder: TcpclDecoder): Array<ContactHeader | Message> {
  const out: Array<ContactHeader | Message> = [];
  for (let m = decoder.next(); m !== undefined; m = decoder.next()) out.push(m);
  return out;
}

function limits(segmentMru = 1 << 20): { segmentMru: number; maxExtensionBytes: number } {
  return { segmentMru, maxExtensionBytes: 1024 };
}

/** Segment data is a list of chunk views; compare messages with their data joined. */
function normal(items: Array<ContactHeader | Message>): unknown[] {
  return items.map((m) => (m.type === MSG.XFER_SEGMENT ? { ...m, data: Buffer.concat(m.data).toString('hex') } : m));
}

describe('TCPCLv4 decoder', () => {
  it('decodes every message type from hand-built RFC 9174 layouts', () => {
    const decoder = new TcpclDecoder(limits());
    decoder.push(STREAM);
    const items = normal(decodeAll(decoder));
    expect(items).toEqual([
      { type: 'contact', version: 4, flags: 0 },
      { type: MSG.SESS_INIT, keepaliveS: 15, segmentMru: 65536, transferMru: 16 << 20, nodeId: 'ipn:2.0', extensions: [] },
      {
        type: MSG.XFER_SEGMENT, flags: 0x02, transferId: 5n, dataLength: 3, data: '616263',
        extensions: [{ flags: 0, type: 1, value: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 5]) }],
      },
      { type: MSG.XFER_SEGMENT, flags: 0x01, transferId: 5n, dataLength: 2, data: '6465', extensions: [] },
      { type: MSG.XFER_ACK, flags: 0x02, transferId: 5n, acknowledged: 3 },
      { type: MSG.XFER_REFUSE, reason: 4, transferId: 7n },
      { type: MSG.KEEPALIVE },
      { type: MSG.SESS_TERM, flags: 1, reason: 3 },
      { type: MSG.MSG_REJECT, reason: 1, rejectedHeader: 0x0a },
    ]);
    expect(decoder.buffered).toBe(0);
  });

  it('gives the same messages when bytes arrive one at a time or in random chunks', () => {
    const whole = new TcpclDecoder(limits());
    whole.push(STREAM);
    const expected = normal(decodeAll(whole));

    const byByte = new TcpclDecoder(limits());
    const got: Array<ContactHeader | Message> = [];
    for (let i = 0; i < STREAM.length; i++) {
      byByte.push(STREAM.subarray(i, i + 1));
      got.push(...decodeAll(byByte));
    }
    expect(normal(got)).toEqual(expected);

    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 200; round++) {
      const decoder = new TcpclDecoder(limits());
      const out: Array<ContactHeader | Message> = [];
      for (let at = 0; at < STREAM.length;) {
        const size = 1 + Math.floor(random() * 12);
        decoder.push(STREAM.subarray(at, at + size));
        out.push(...decodeAll(decoder));
        at += size;
      }
      expect(normal(out)).toEqual(expected);
    }
  });

  it('waits for a whole segment and returns its data as views of the chunks, not copies', () => {
    const decoder = new TcpclDecoder(limits());
    decoder.push(hex(CONTACT));
    decodeAll(decoder);
    // XFER_SEGMENT END, transfer 5, 2000 bytes, arriving in two chunks of 1018 and 1000 bytes.
    const segment = Buffer.concat([hex('01 01 0000000000000005 00000000000007d0'), Buffer.alloc(2000, 0x61)]);
    const first = Buffer.from(segment.subarray(0, 1018));
    const second = Buffer.from(segment.subarray(1018));
    decoder.push(first);
    expect(decoder.next()).toBeUndefined();
    decoder.push(second);
    const m = decoder.next();
    expect(m?.type).toBe(MSG.XFER_SEGMENT);
    const data = (m as Extract<Message, { type: 1 }>).data;
    expect(data.map((d) => d.length)).toEqual([1000, 1000]);
    // The same memory as the chunks that carried them.
    expect(data[0]!.buffer).toBe(first.buffer);
    expect(data[1]!.buffer).toBe(second.buffer);
  });

  it('refuses a non-TCPCL peer at the first wrong byte', () => {
    const decoder = new TcpclDecoder(limits());
    decoder.push(Buffer.from('G'));
    expect(() => decoder.next()).toThrow(ContactHeaderError);
    const http = new TcpclDecoder(limits());
    http.push(Buffer.from('dtn?'));
    expect(() => http.next()).toThrow(/expected magic "dtn!", got 64746e3f/);
  });

  it('refuses other TCPCL versions', () => {
    const decoder = new TcpclDecoder(limits());
    decoder.push(hex('6474 6e21 03 00'));
    const error = (() => {
      try {
        decoder.next();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(VersionMismatchError);
    expect((error as VersionMismatchError).version).toBe(3);
    expect((error as VersionMismatchError).code).toBe('TCPCL_VERSION_MISMATCH');
  });

  it('refuses unknown message types', () => {
    for (const type of ['00', '08', 'ff']) {
      const decoder = new TcpclDecoder(limits());
      decoder.push(hex(CONTACT + type));
      decoder.next();
      expect(() => decoder.next()).toThrow(UnknownMessageTypeError);
    }
  });

  it('refuses a segment longer than the segment MRU before any of its data arrives', () => {
    const decoder = new TcpclDecoder(limits(1000));
    decoder.push(hex(CONTACT));
    decoder.next();
    // Header only: XFER_SEGMENT START|END, transfer 0, no extensions, 1001 bytes announced.
    decoder.push(hex('01 03 0000000000000000 00000000 00000000000003e9'));
    expect(() => decoder.next()).toThrow(SegmentTooLargeError);
    const huge = new TcpclDecoder(limits(1000));
    huge.push(hex(CONTACT + '01 01 0000000000000000 ffffffffffffffff'));
    huge.next();
    expect(() => huge.next()).toThrow(SegmentTooLargeError);
  });

  it('names the field of malformed messages', () => {
    const cases: Array<[string, RegExp]> = [
      // Extension item claims 9 bytes where the list holds 8 after the item header.
      ['01 02 0000000000000001 0000000d 00 0001 0009 0000000000000005 0000000000000000', /XFER_SEGMENT: extension items: item 0 claims 9 bytes, 8 left/],
      // Extension list of 3 bytes: too short for an item header.
      ['01 02 0000000000000001 00000003 000001 0000000000000000', /XFER_SEGMENT: extension items: 3 bytes left/],
      // Extension list longer than the decoder's limit (1024).
      ['01 02 0000000000000001 00000401', /XFER_SEGMENT: extension items length: 1025 bytes exceeds/],
      // SESS_INIT whose node ID is not UTF-8.
      ['07 0000 0000000000000001 0000000000000001 0002 c328 00000000', /SESS_INIT: node ID: not valid UTF-8/],
      // XFER_ACK acknowledging 2^63 bytes.
      ['02 01 0000000000000000 8000000000000000', /XFER_ACK: acknowledged length/],
    ];
    for (const [bytes, message] of cases) {
      const decoder = new TcpclDecoder(limits());
      decoder.push(hex(CONTACT + bytes));
      decoder.next();
      expect(() => decoder.next()).toThrow(MalformedMessageError);
      const again = new TcpclDecoder(limits());
      again.push(hex(CONTACT + bytes));
      again.next();
      expect(() => again.next()).toThrow(message);
    }
  });

  it('turns arbitrary bytes into messages or typed errors, never anything else', () => {
    let seed = 99;
    const random = (): number => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const valid = STREAM.subarray(6);
    let typed = 0;
    for (let round = 0; round < 3000; round++) {
      const bytes = Buffer.from(valid);
      // Flip a few bytes (message types, lengths, flags all get hit over the rounds).
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const decoder = new TcpclDecoder({ segmentMru: 4096, maxExtensionBytes: 256 });
      decoder.push(hex(CONTACT));
      decoder.next();
      decoder.push(bytes.subarray(0, Math.floor(random() * bytes.length) + 1));
      try {
        decodeAll(decoder);
      } catch (error) {
        expect(error).toBeInstanceOf(ClaProtocolError);
        typed++;
      }
    }
    expect(typed).toBeGreaterThan(100);
  });
});

describe('TCPCLv4 encoders', () => {
  it('write the RFC 9174 layouts', () => {
    expect(contactHeader().toString('hex')).toBe(hex(CONTACT).toString('hex'));
    expect(sessInit({ keepaliveS: 15, segmentMru: 65536, transferMru: 16 << 20, nodeId: 'ipn:2.0' }).toString('hex')).toBe(hex(SESS_INIT).toString('hex'));
    const start = Buffer.concat([xferSegmentHeader(0x02, 5n, 3, 5), Buffer.from('abc')]);
    expect(start.toString('hex')).toBe(hex(SEG_START).toString('hex'));
    expect(Buffer.concat([xferSegmentHeader(0x01, 5n, 2), Buffer.from('de')]).toString('hex')).toBe(hex(SEG_END).toString('hex'));
    // A single-segment transfer carries an empty extension list (START) and no length extension.
    expect(xferSegmentHeader(0x03, 0n, 1).toString('hex')).toBe('0103000000000000000000000000' + '0000000000000001');
    expect(xferAck(0x02, 5n, 3).toString('hex')).toBe(hex(ACK).toString('hex'));
    expect(xferRefuse(4, 7n).toString('hex')).toBe(hex(REFUSE).toString('hex'));
    expect(sessTerm(1, 3).toString('hex')).toBe(hex(TERM).toString('hex'));
    expect(msgReject(1, 0x0a).toString('hex')).toBe(hex(REJECT).toString('hex'));
    // Transfer IDs use all 64 bits.
    expect(xferAck(0, 0xffff_ffff_ffff_ffffn, 2 ** 40).toString('hex')).toBe('0200ffffffffffffffff0000010000000000');
  });
});

describe('ByteQueue', () => {
  it('peeks across chunks and takes views', () => {
    const q = new ByteQueue();
    const a = new Uint8Array(600).fill(1);
    const b = new Uint8Array(700).fill(2);
    q.push(a);
    q.push(b);
    expect([...q.peek(602).subarray(598)]).toEqual([1, 1, 2, 2]);
    q.skip(100);
    const parts = q.take(1000);
    expect(parts.map((p) => [p.buffer === a.buffer || p.buffer === b.buffer, p.length])).toEqual([[true, 500], [true, 500]]);
    expect(q.length).toBe(200);
    expect([...q.peek(2)]).toEqual([2, 2]);
  });

  it('gathers a trickle of tiny chunks into shared blocks instead of one object per chunk', () => {
    const q = new ByteQueue();
    for (let i = 0; i < 10_000; i++) q.push(Uint8Array.of(i & 0xff));
    q.skip(3);
    q.push(new Uint8Array(600).fill(7)); // a large chunk is kept as it came
    q.push(Uint8Array.of(1));
    const parts = q.take(q.length);
    // 10,000 one-byte chunks fit one 16 KiB block: one part, not 10,000.
    expect(parts.map((p) => p.length)).toEqual([9_997, 600, 1]);
    expect(parts[0]![0]).toBe(3);
    expect(parts[0]![9_996]).toBe(9_999 & 0xff);
  });
});
