// TCPCLv4 wire format (RFC 9174 sections 4 and 5): constants and encoders. All integers are
// big-endian. Encoders return small header buffers; bundle data is never copied into them (a
// segment goes out as its header followed by a view of the caller's bytes).

export const MAGIC = Uint8Array.of(0x64, 0x74, 0x6e, 0x21); // "dtn!"
export const VERSION = 4;
export const CONTACT_HEADER_LENGTH = 6;
/** Contact header flag: the entity can use TLS. Tern leaves it clear (no TLS yet). */
export const CONTACT_CAN_TLS = 0x01;

export const MSG = {
  XFER_SEGMENT: 0x01,
  XFER_ACK: 0x02,
  XFER_REFUSE: 0x03,
  KEEPALIVE: 0x04,
  SESS_TERM: 0x05,
  MSG_REJECT: 0x06,
  SESS_INIT: 0x07,
} as const;

export const MSG_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(MSG).map(([name, type]) => [type, name]),
);

/** XFER_SEGMENT and XFER_ACK flags. */
export const XFER_END = 0x01;
export const XFER_START = 0x02;
/** SESS_TERM flag: this SESS_TERM acknowledges the peer's. */
export const TERM_REPLY = 0x01;
/** Extension item flag. */
export const EXT_CRITICAL = 0x01;
/** Transfer extension item type: Transfer Length (value: U64 total length). */
export const EXT_TRANSFER_LENGTH = 0x0001;

export const REFUSE_REASON = {
  UNKNOWN: 0x00,
  COMPLETED: 0x01,
  NO_RESOURCES: 0x02,
  RETRANSMIT: 0x03,
  NOT_ACCEPTABLE: 0x04,
  EXTENSION_FAILURE: 0x05,
  SESSION_TERMINATING: 0x06,
} as const;

export const TERM_REASON = {
  UNKNOWN: 0x00,
  IDLE_TIMEOUT: 0x01,
  VERSION_MISMATCH: 0x02,
  BUSY: 0x03,
  CONTACT_FAILURE: 0x04,
  RESOURCE_EXHAUSTION: 0x05,
} as const;

export const REJECT_REASON = {
  TYPE_UNKNOWN: 0x01,
  UNSUPPORTED: 0x02,
  UNEXPECTED: 0x03,
} as const;

function namer(table: Record<string, number>): (code: number) => string {
  const names = new Map(Object.entries(table).map(([name, code]) => [code, name]));
  return (code) => names.get(code) ?? `UNASSIGNED_0x${code.toString(16).padStart(2, '0')}`;
}
export const refuseReasonName = namer(REFUSE_REASON);
export const termReasonName = namer(TERM_REASON);
export const rejectReasonName = namer(REJECT_REASON);

const TWO_32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as U64 at `offset`. */
export function writeU64(buf: Uint8Array, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  const lo = value >>> 0;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = hi >>> 16;
  buf[offset + 2] = hi >>> 8;
  buf[offset + 3] = hi;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = lo >>> 16;
  buf[offset + 6] = lo >>> 8;
  buf[offset + 7] = lo;
}

export function contactHeader(flags = 0): Buffer {
  const buf = Buffer.allocUnsafe(CONTACT_HEADER_LENGTH);
  buf.set(MAGIC, 0);
  buf[4] = VERSION;
  buf[5] = flags;
  return buf;
}

export interface ExtensionItem {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

function extensionsLength(items: readonly ExtensionItem[]): number {
  let n = 0;
  for (const item of items) n += 5 + item.value.length;
  return n;
}

function writeExtensions(buf: Buffer, offset: number, items: readonly ExtensionItem[]): number {
  for (const item of items) {
    buf[offset] = item.flags;
    buf.writeUInt16BE(item.type, offset + 1);
    buf.writeUInt16BE(item.value.length, offset + 3);
    buf.set(item.value, offset + 5);
    offset += 5 + item.value.length;
  }
  return offset;
}

export interface SessInitFields {
  /** Seconds; 0 disables keepalives. */
  readonly keepaliveS: number;
  readonly segmentMru: number;
  readonly transferMru: number;
  /** The node's EID as a URI, e.g. `ipn:1.0`. */
  readonly nodeId: string;
  readonly extensions?: readonly ExtensionItem[];
}

export function sessInit(fields: SessInitFields): Buffer {
  const nodeId = Buffer.from(fields.nodeId, 'utf8');
  const extensions = fields.extensions ?? [];
  const extLength = extensionsLength(extensions);
  const buf = Buffer.allocUnsafe(1 + 2 + 8 + 8 + 2 + nodeId.length + 4 + extLength);
  buf[0] = MSG.SESS_INIT;
  buf.writeUInt16BE(fields.keepaliveS, 1);
  writeU64(buf, 3, fields.segmentMru);
  writeU64(buf, 11, fields.transferMru);
  buf.writeUInt16BE(nodeId.length, 19);
  buf.set(nodeId, 21);
  buf.writeUInt32BE(extLength, 21 + nodeId.length);
  writeExtensions(buf, 25 + nodeId.length, extensions);
  return buf;
}

/**
 * The header of one XFER_SEGMENT; the segment's data follows it on the wire. `totalLength`
 * adds a Transfer Length extension (only on a START segment of a multi-segment transfer).
 */
export function xferSegmentHeader(flags: number, transferId: bigint, dataLength: number, totalLength?: number): Buffer {
  const start = (flags & XFER_START) !== 0;
  const extLength = totalLength === undefined ? 0 : 13;
  const buf = Buffer.allocUnsafe(10 + (start ? 4 + extLength : 0) + 8);
  buf[0] = MSG.XFER_SEGMENT;
  buf[1] = flags;
  buf.writeBigUInt64BE(transferId, 2);
  let offset = 10;
  if (start) {
    buf.writeUInt32BE(extLength, offset);
    offset += 4;
    if (totalLength !== undefined) {
      buf[offset] = 0; // not critical: a receiver that ignores it still receives the transfer
      buf.writeUInt16BE(EXT_TRANSFER_LENGTH, offset + 1);
      buf.writeUInt16BE(8, offset + 3);
      writeU64(buf, offset + 5, totalLength);
      offset += 13;
    }
  }
  writeU64(buf, offset, dataLength);
  return buf;
}

export function xferAck(flags: number, transferId: bigint, acknowledged: number): Buffer {
  const buf = Buffer.allocUnsafe(18);
  buf[0] = MSG.XFER_ACK;
  buf[1] = flags;
  buf.writeBigUInt64BE(transferId, 2);
  writeU64(buf, 10, acknowledged);
  return buf;
}

export function xferRefuse(reason: number, transferId: bigint): Buffer {
  const buf = Buffer.allocUnsafe(10);
  buf[0] = MSG.XFER_REFUSE;
  buf[1] = reason;
  buf.writeBigUInt64BE(transferId, 2);
  return buf;
}

export const KEEPALIVE = Uint8Array.of(MSG.KEEPALIVE);

export function sessTerm(flags: number, reason: number): Buffer {
  return Buffer.from([MSG.SESS_TERM, flags, reason]);
}

export function msgReject(reason: number, rejectedHeader: number): Buffer {
  return Buffer.from([MSG.MSG_REJECT, reason, rejectedHeader]);
}
