// LTP segments byte for byte (RFC 5326 section 3, SDNVs of RFC 6256), and the decoder's answer
// to every kind of flaw: a typed error naming it, never an exception of another kind.
import { describe, expect, it } from 'vitest';
import { LtpMalformedSegmentError } from '../../flight/cla/ltp/errors.js';
import { decodeSegment, encodeSegment, sdnvLength, writeSdnv, type Segment } from '../../flight/cla/ltp/wire.js';
import { Prng } from '../support/prng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));

describe('LTP wire format', () => {
  it('writes SDNVs as RFC 6256 shows them', () => {
    const sdnv = (v: number): string => {
      const out = new Uint8Array(sdnvLength(v));
      writeSdnv(out, 0, v);
      return hex(out);
    };
    expect(sdnv(0xabc)).toBe('953c');
    expect(sdnv(0x1234)).toBe('a434');
    expect(sdnv(0x4234)).toBe('818434');
    expect(sdnv(0x7f)).toBe('7f');
    expect(sdnv(0)).toBe('00');
    expect(sdnv(Number.MAX_SAFE_INTEGER)).toBe('8fffffffffffff7f'); // 53 bits: 4 + 7 x 7
  });

  it('encodes a red checkpoint ending the block as RFC 5326 lays it out', () => {
    const segment: Segment = {
      kind: 'data', type: 3, session: { originator: 20, number: 300 }, clientServiceId: 1, offset: 128, data: bytes('aabbcc'),
      checkpoint: { serial: 5, reportSerial: 0 }, endOfRed: true, green: false,
    };
    // version 0 | type 3; engine 20; session 300 = 82 2c; no extensions; client 1; offset 128 = 81 00;
    // length 3; checkpoint serial 5; report serial 0; the data.
    expect(hex(encodeSegment(segment))).toBe('03' + '14' + '822c' + '00' + '01' + '8100' + '03' + '05' + '00' + 'aabbcc');
    expect(decodeSegment(encodeSegment(segment))).toEqual(segment);
  });

  it('round-trips reports, acks, cancels and cancel acks, and skips extensions', () => {
    const session = { originator: 1, number: 2 ** 40 };
    const segments: Segment[] = [
      { kind: 'report', session, serial: 9, checkpointSerial: 4, upperBound: 5000, lowerBound: 1000, claims: [{ offset: 0, length: 10 }, { offset: 20, length: 3980 }] },
      { kind: 'report-ack', session, reportSerial: 9 },
      { kind: 'cancel', session, fromSender: true, reason: 2 },
      { kind: 'cancel', session, fromSender: false, reason: 0 },
      { kind: 'cancel-ack', session, toSender: true },
      { kind: 'cancel-ack', session, toSender: false },
      { kind: 'data', type: 0, session, clientServiceId: 1, offset: 0, data: bytes('01'), endOfRed: false, green: false },
    ];
    for (const s of segments) expect(decodeSegment(encodeSegment(s))).toEqual(s);
    // One header extension (tag 0, 2 bytes) and one trailer extension (tag 1, 1 byte) around an RA.
    expect(decodeSegment(bytes('09 01 02 11 00 02 abcd 07 01 01 ff'))).toEqual({ kind: 'report-ack', session: { originator: 1, number: 2 }, reportSerial: 7 });
  });

  it('names every flaw with a typed error', () => {
    const cases: Array<[string, string]> = [
      ['', 'LTP_TRUNCATED'],
      ['13 01 02 00', 'LTP_BAD_VERSION'],
      ['05 01 02 00 01 00 01 aa', 'LTP_UNDEFINED_TYPE'],
      ['0a 01 02 00', 'LTP_UNDEFINED_TYPE'],
      ['00 01 02 00 01 00 00', 'LTP_EMPTY_DATA'],
      ['00 01 02 00 01 00 05 aabb', 'LTP_TRUNCATED'],
      ['00 ffffffffffffffffff7f 02 00', 'LTP_SDNV_OVERFLOW'],
      ['01 01 02 00 01 00 01 00 00 aa', 'LTP_BAD_SERIAL'],
      ['08 01 02 00 01 01 0a 0a 01 00 05', 'LTP_BAD_REPORT'], // upper bound = lower bound
      ['08 01 02 00 01 01 0a 00 00', 'LTP_BAD_REPORT'], // no claims
      ['08 01 02 00 01 01 0a 00 02 00 05 03 02', 'LTP_BAD_REPORT'], // overlapping claims
      ['08 01 02 00 01 01 0a 00 01 08 05', 'LTP_BAD_REPORT'], // claim beyond the upper bound
      ['0c 01 02 00 09', 'LTP_BAD_REASON'],
      ['09 01 02 00 07 00', 'LTP_TRAILING_BYTES'],
      ['09 01 02 10 00 05 aa', 'LTP_TRUNCATED'], // extension longer than the segment
    ];
    for (const [input, code] of cases) {
      let caught: unknown;
      try {
        decodeSegment(bytes(input));
      } catch (error) {
        caught = error;
      }
      expect(caught, input).toBeInstanceOf(LtpMalformedSegmentError);
      expect((caught as LtpMalformedSegmentError).code, input).toBe(code);
    }
  });

  it('decodes or refuses with a typed error 100,000 mutated segments', () => {
    const rng = new Prng(0x17c5);
    const session = { originator: 2, number: 77 };
    const seeds = [
      encodeSegment({ kind: 'data', type: 3, session, clientServiceId: 1, offset: 1000, data: rng.bytes(40), checkpoint: { serial: 3, reportSerial: 1 }, endOfRed: true, green: false }),
      encodeSegment({ kind: 'report', session, serial: 2, checkpointSerial: 3, upperBound: 1040, lowerBound: 0, claims: [{ offset: 0, length: 500 }, { offset: 600, length: 440 }] }),
      encodeSegment({ kind: 'report-ack', session, reportSerial: 2 }),
      encodeSegment({ kind: 'cancel', session, fromSender: false, reason: 4 }),
    ];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 100_000; i++) {
      const input = Uint8Array.from(seeds[i % seeds.length]!);
      let mutated: Uint8Array = input;
      const kind = rng.below(4);
      if (kind === 0) for (let k = 0; k <= rng.below(4); k++) mutated[rng.below(mutated.length)]! ^= 1 << rng.below(8);
      else if (kind === 1) mutated = input.subarray(0, rng.below(input.length));
      else if (kind === 2) mutated[rng.below(mutated.length)] = rng.below(256);
      else mutated = Uint8Array.from([...input, ...rng.bytes(1 + rng.below(8))]);
      try {
        decodeSegment(mutated);
        outcomes.set('decoded', (outcomes.get('decoded') ?? 0) + 1);
      } catch (error) {
        if (!(error instanceof LtpMalformedSegmentError)) throw new Error(`mutation ${i} (${hex(mutated)}) threw ${String(error)}`);
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      }
    }
    expect(outcomes.get('decoded')).toBeGreaterThan(1000);
    expect(outcomes.get('LTP_TRUNCATED')).toBeGreaterThan(1000);
    expect(outcomes.size).toBeGreaterThan(5);
  });
});
