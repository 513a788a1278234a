// LTP segments on the wire (RFC 5326 section 3): encoders and the one decoder every received
// segment goes through. Integers are SDNVs (RFC 5326 section 2 / RFC 6256); this engine takes
// values up to 2^53 - 1 and refuses longer encodings as malformed, so a peer cannot make it
// allocate or loop on a huge number. Extensions are parsed past (their lengths are checked) and
// otherwise ignored, as RFC 5326 allows for extensions an engine does not implement.
import { LtpMalformedSegmentError } from './errors.js';

/** Segment type codes (RFC 5326 3.1.3), as the low nibble of the first byte. */
export const SEGMENT = {
  red: 0x0, redCheckpoint: 0x1, redCheckpointEorp: 0x2, redCheckpointEob: 0x3,
  green: 0x4, greenEob: 0x7,
  report: 0x8, reportAck: 0x9,
  cancelFromSender: 0xc, cancelAckToSender: 0xd, cancelFromReceiver: 0xe, cancelAckToReceiver: 0xf,
} as const;

/** Cancel reason codes (RFC 5326 3.2.4). */
export const CANCEL = { userCancelled: 0, unreachable: 1, retransmitLimit: 2, miscolored: 3, systemCancelled: 4, retransmitCycles: 5 } as const;

export interface SessionId {
  readonly originator: number;
  readonly number: number;
}

export interface DataSegment {
  readonly kind: 'data';
  readonly type: number;
  readonly session: SessionId;
  readonly clientServiceId: number;
  readonly offset: number;
  readonly data: Uint8Array;
  /** Present on checkpoints (types 1-3). */
  readonly checkpoint?: { readonly serial: number; readonly reportSerial: number };
  /** Red data ending the red part (types 2, 3). */
  readonly endOfRed: boolean;
  readonly green: boolean;
}

export interface ReceptionClaim {
  /** Relative to the report's lower bound. */
  readonly offset: number;
  readonly length: number;
}

export interface ReportSegment {
  readonly kind: 'report';
  readonly session: SessionId;
  readonly serial: number;
  readonly checkpointSerial: number;
  readonly upperBound: number;
  readonly lowerBound: number;
  readonly claims: readonly ReceptionClaim[];
}

export interface ReportAckSegment {
  readonly kind: 'report-ack';
  readonly session: SessionId;
  readonly reportSerial: number;
}

export interface CancelSegment {
  readonly kind: 'cancel';
  readonly session: SessionId;
  /** true: from the block sender (CS); false: from the receiver (CR). */
  readonly fromSender: boolean;
  readonly reason: number;
}

export interface CancelAckSegment {
  readonly kind: 'cancel-ack';
  readonly session: SessionId;
  /** true: acknowledges a CS (CAS, sent by the receiver); false: a CR (CAR). */
  readonly toSender: boolean;
}

export type Segment = DataSegment | ReportSegment | ReportAckSegment | CancelSegment | CancelAckSegment;

/** At most this many reception claims are accepted in a report; ION sends far fewer. */
export const MAX_CLAIMS = 1024;

// ---- SDNV ----------------------------------------------------------------------------------------

/** Bytes of the SDNV of `value`. */
export function sdnvLength(value: number): number {
  let n = 1;
  for (let v = Math.floor(value / 128); v > 0; v = Math.floor(v / 128)) n++;
  return n;
}

/** Writes the SDNV of `value` (0..2^53-1) at `at`; returns the offset after it. */
export function writeSdnv(out: Uint8Array, at: number, value: number): number {
  const n = sdnvLength(value);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    out[at + i] = (v % 128) | (i === n - 1 ? 0 : 0x80);
    v = Math.floor(v / 128);
  }
  return at + n;
}

class Reader {
  at = 0;
  constructor(readonly bytes: Uint8Array, readonly what: string) {}

  byte(field: string): number {
    if (this.at >= this.bytes.length) throw new LtpMalformedSegmentError('LTP_TRUNCATED', `${this.what}: ${field}: segment ends early`);
    return this.bytes[this.at++]!;
  }

  sdnv(field: string): number {
    let value = 0;
    for (let i = 0; ; i++) {
      const b = this.byte(field);
      value = value * 128 + (b & 0x7f);
      if (value > Number.MAX_SAFE_INTEGER || i >= 8) throw new LtpMalformedSegmentError('LTP_SDNV_OVERFLOW', `${this.what}: ${field}: SDNV beyond 2^53`);
      if ((b & 0x80) === 0) return value;
    }
  }

  take(length: number, field: string): Uint8Array {
    if (length > this.bytes.length - this.at) throw new LtpMalformedSegmentError('LTP_TRUNCATED', `${this.what}: ${field}: ${length} bytes announced, ${this.bytes.length - this.at} left`);
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }
}

// ---- decoding ------------------------------------------------------------------------------------

/** Decodes one segment; any flaw is an LtpMalformedSegmentError naming the field. */
export function decodeSegment(bytes: Uint8Array): Segment {
  const r = new Reader(bytes, 'LTP segment');
  const first = r.byte('version');
  if (first >> 4 !== 0) throw new LtpMalformedSegmentError('LTP_BAD_VERSION', `LTP segment: version ${first >> 4}, only 0 is defined`);
  const type = first & 0x0f;
  const session = { originator: r.sdnv('session originator'), number: r.sdnv('session number') };
  const counts = r.byte('extension counts');
  for (let i = 0; i < counts >> 4; i++) skipExtension(r, 'header extension');
  const trailerCount = counts & 0x0f;
  const segment = decodeContent(r, type, session);
  for (let i = 0; i < trailerCount; i++) skipExtension(r, 'trailer extension');
  if (r.at !== bytes.length) throw new LtpMalformedSegmentError('LTP_TRAILING_BYTES', `LTP segment: ${bytes.length - r.at} bytes after the segment`);
  return segment;
}

function skipExtension(r: Reader, what: string): void {
  r.byte(`${what} tag`);
  r.take(r.sdnv(`${what} length`), `${what} value`);
}

function decodeContent(r: Reader, type: number, session: SessionId): Segment {
  if (type <= 0x7) {
    if (type === 0x5 || type === 0x6) throw new LtpMalformedSegmentError('LTP_UNDEFINED_TYPE', `LTP segment: type 0x${type.toString(16)} is undefined`);
    const clientServiceId = r.sdnv('client service id');
    const offset = r.sdnv('offset');
    const length = r.sdnv('length');
    if (length === 0) throw new LtpMalformedSegmentError('LTP_EMPTY_DATA', 'LTP data segment: length 0');
    const checkpoint = type >= 0x1 && type <= 0x3 ? { serial: r.sdnv('checkpoint serial'), reportSerial: r.sdnv('report serial') } : undefined;
    if (checkpoint && checkpoint.serial === 0) throw new LtpMalformedSegmentError('LTP_BAD_SERIAL', 'LTP checkpoint: serial number 0');
    const data = r.take(length, 'data');
    return {
      kind: 'data', type, session, clientServiceId, offset, data,
      ...(checkpoint ? { checkpoint } : {}),
      endOfRed: type === 0x2 || type === 0x3, green: type >= 0x4,
    };
  }
  switch (type) {
    case SEGMENT.report: {
      const serial = r.sdnv('report serial');
      const checkpointSerial = r.sdnv('checkpoint serial');
      const upperBound = r.sdnv('upper bound');
      const lowerBound = r.sdnv('lower bound');
      const count = r.sdnv('claim count');
      if (serial === 0) throw new LtpMalformedSegmentError('LTP_BAD_SERIAL', 'LTP report: serial number 0');
      if (upperBound <= lowerBound) throw new LtpMalformedSegmentError('LTP_BAD_REPORT', `LTP report: upper bound ${upperBound} not above lower bound ${lowerBound}`);
      if (count === 0 || count > MAX_CLAIMS) throw new LtpMalformedSegmentError('LTP_BAD_REPORT', `LTP report: ${count} claims (1..${MAX_CLAIMS})`);
      const claims: ReceptionClaim[] = [];
      let end = 0;
      for (let i = 0; i < count; i++) {
        const offset = r.sdnv('claim offset');
        const length = r.sdnv('claim length');
        // Claims are in order, apart, non-empty and inside the report's scope.
        if (length === 0 || offset < end || lowerBound + offset + length > upperBound) {
          throw new LtpMalformedSegmentError('LTP_BAD_REPORT', `LTP report: claim ${i} (${offset}+${length}) overlaps, is empty or leaves the scope`);
        }
        end = offset + length;
        claims.push({ offset, length });
      }
      return { kind: 'report', session, serial, checkpointSerial, upperBound, lowerBound, claims };
    }
    case SEGMENT.reportAck:
      return { kind: 'report-ack', session, reportSerial: r.sdnv('report serial') };
    case SEGMENT.cancelFromSender:
    case SEGMENT.cancelFromReceiver: {
      const reason = r.byte('reason code');
      if (reason > CANCEL.retransmitCycles) throw new LtpMalformedSegmentError('LTP_BAD_REASON', `LTP cancel: reason code ${reason} is undefined`);
      return { kind: 'cancel', session, fromSender: type === SEGMENT.cancelFromSender, reason };
    }
    case SEGMENT.cancelAckToSender:
    case SEGMENT.cancelAckToReceiver:
      return { kind: 'cancel-ack', session, toSender: type === SEGMENT.cancelAckToSender };
    default:
      throw new LtpMalformedSegmentError('LTP_UNDEFINED_TYPE', `LTP segment: type 0x${type.toString(16)} is undefined`);
  }
}

// ---- encoding ------------------------------------------------------------------------------------

/** Encodes a segment (without extensions). */
export function encodeSegment(segment: Segment): Uint8Array {
  const fields: number[] = [];
  let type: number;
  let tail: Uint8Array | undefined;
  switch (segment.kind) {
    case 'data':
      type = segment.type;
      fields.push(segment.clientServiceId, segment.offset, segment.data.length);
      if (segment.checkpoint) fields.push(segment.checkpoint.serial, segment.checkpoint.reportSerial);
      tail = segment.data;
      break;
    case 'report':
      type = SEGMENT.report;
      fields.push(segment.serial, segment.checkpointSerial, segment.upperBound, segment.lowerBound, segment.claims.length);
      for (const c of segment.claims) fields.push(c.offset, c.length);
      break;
    case 'report-ack':
      type = SEGMENT.reportAck;
      fields.push(segment.reportSerial);
      break;
    case 'cancel':
      type = segment.fromSender ? SEGMENT.cancelFromSender : SEGMENT.cancelFromReceiver;
      tail = Uint8Array.of(segment.reason);
      break;
    case 'cancel-ack':
      type = segment.toSender ? SEGMENT.cancelAckToSender : SEGMENT.cancelAckToReceiver;
      break;
  }
  const { originator, number } = segment.session;
  let length = 1 + sdnvLength(originator) + sdnvLength(number) + 1 + (tail?.length ?? 0);
  for (const f of fields) length += sdnvLength(f);
  const out = new Uint8Array(length);
  out[0] = type;
  let at = writeSdnv(out, 1, originator);
  at = writeSdnv(out, at, number);
  out[at++] = 0; // no header or trailer extensions
  for (const f of fields) at = writeSdnv(out, at, f);
  if (tail) out.set(tail, at);
  return out;
}

/**
 * Header bytes of a data segment (all but its data) carrying at most `maxLength` bytes at
 * `offset`: what a segment adds to its data, so a sender keeps each segment within a size.
 */
export function dataHeaderLength(session: SessionId, clientServiceId: number, offset: number, maxLength: number, checkpoint?: { serial: number; reportSerial: number }): number {
  const cp = checkpoint ? sdnvLength(checkpoint.serial) + sdnvLength(checkpoint.reportSerial) : 0;
  return 1 + sdnvLength(session.originator) + sdnvLength(session.number) + 1 + sdnvLength(clientServiceId) + sdnvLength(offset) + sdnvLength(maxLength) + cp;
}
