// The on-disk format of the bundle store (DESIGN.md draws it). A store is a directory of
// segment files, each an append-only log of records; every record carries its own position and
// two CRC-32Cs (head+metadata, data), so a torn, misplaced or decayed record is recognised
// wherever it is read. A full segment ends with a summary (the heads of all its records) and a
// trailer pointing at it, so recovery reads about a tenth of the bytes.
import { core } from '../../core/wasm.js';
import { PRIORITIES, STATES, type BundleMeta } from './meta.js';

export const FORMAT_VERSION = 1;

export const SEGMENT_HEADER_BYTES = 32;
const SEGMENT_MAGIC = Buffer.from('TERNBSEG', 'latin1');

export const HEAD_BYTES = 32;
/** "TBR1" in file byte order. */
const RECORD_MAGIC = 0x31524254;
export const RECORD_MAGIC_BYTES = Buffer.from('TBR1', 'latin1');

export const TRAILER_BYTES = 16;
/** "TEND" in file byte order. */
const TRAILER_MAGIC = 0x444e4554;

/** Offsets are u32: a segment (even one holding a single huge bundle) stays below 4 GiB. */
export const MAX_SEGMENT_BYTES = 0xffff_ff00;

/** `void` covers the bytes of a record torn by a crash (recovery writes it over the torn head). */
export const RecordKind = { bundle: 1, tombstone: 2, summary: 3, void: 4 } as const;
export type RecordKind = (typeof RecordKind)[keyof typeof RecordKind];

/** What became of a deleted bundle; recorded in its tombstone. */
export const Disposition = { deleted: 0, forwarded: 1, delivered: 2 } as const;
export type Disposition = (typeof Disposition)[keyof typeof Disposition];

// Record head. headCrc covers bytes 8 .. 32 + metaLength (head fields and metadata) in one run.
const H_MAGIC = 0;
const H_CRC = 4;
const H_KIND = 8;
const H_META_LENGTH = 10;
const H_DATA_LENGTH = 12;
const H_SEGMENT = 16;
const H_OFFSET = 20;
const H_BATCH = 24;
const H_DATA_CRC = 28;

// Bundle metadata, after the head.
const B_INSTANCE = 0;
const B_CREATION = 8;
const B_EXPIRY = 16;
const B_PRIORITY = 24;
const B_STATE = 25;
const B_ID_LENGTH = 26;
const B_SOURCE_LENGTH = 28;
const B_DESTINATION_LENGTH = 30;
const BUNDLE_META_FIXED = 32;
// Optional, after the destination: the deletion report's facts (BundleMeta.reportTo, reportTime).
const REPORT_FIXED = 3;
const REPORT_TIME = 1;

// Tombstone metadata, after the head.
const T_INSTANCE = 0;
const T_DISPOSITION = 8;
const T_REASON = 9;
const T_ID_LENGTH = 10;
const TOMBSTONE_META_FIXED = 12;

export function crc32c(bytes: Uint8Array): number {
  return core().crc32c(bytes);
}

/** `0000000042.seg`: ten digits so that names sort in segment order. */
export function segmentFileName(segment: number): string {
  return `${String(segment).padStart(10, '0')}.seg`;
}

export function parseSegmentFileName(file: string): number | undefined {
  const match = /^(\d{10})\.seg$/.exec(file);
  return match ? Number(match[1]) : undefined;
}

// Segment header: magic (8), version (u32), segment number (u32), flags (u8), zeros to 28, CRC-32C.
const SEGMENT_FLAGS = 16;
/**
 * Written over a spare file (spares.ts): bytes past the records may be an earlier use's, not a
 * torn write. Version 1 readers that predate the flag ignore it and cut those bytes as torn,
 * which is safe.
 */
const FLAG_RECYCLED = 1;

export function segmentHeader(segment: number, recycled = false): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeUInt32LE(segment, 12);
  b[SEGMENT_FLAGS] = recycled ? FLAG_RECYCLED : 0;
  b.writeUInt32LE(crc32c(b.subarray(0, 28)), 28);
  return b;
}

/** Whether a header (checked valid) was written over a spare file. */
export function segmentHeaderRecycled(b: Uint8Array): boolean {
  return (b[SEGMENT_FLAGS]! & FLAG_RECYCLED) !== 0;
}

/** The segment number a header names if its magic and CRC check out, else 0. */
export function segmentHeaderNumber(b: Uint8Array): number {
  if (b.length < SEGMENT_HEADER_BYTES) return 0;
  const buf = Buffer.from(b.buffer, b.byteOffset, SEGMENT_HEADER_BYTES);
  if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC) || buf.readUInt32LE(28) !== crc32c(buf.subarray(0, 28))) return 0;
  return buf.readUInt32LE(12);
}

/** 'valid', 'corrupt', or the unsupported version number a valid header declares. */
export function checkSegmentHeader(b: Uint8Array, segment: number): 'valid' | 'corrupt' | number {
  if (segmentHeaderNumber(b) !== segment) return 'corrupt';
  const version = Buffer.from(b.buffer, b.byteOffset, SEGMENT_HEADER_BYTES).readUInt32LE(8);
  return version === FORMAT_VERSION ? 'valid' : version;
}

/** The parsed fixed fields of one record head; one object is reused across a scan. */
export interface Head {
  kind: number;
  metaLength: number;
  dataLength: number;
  segment: number;
  offset: number;
  batchOffset: number;
  dataCrc: number;
}

export function newHead(): Head {
  return { kind: 0, metaLength: 0, dataLength: 0, segment: 0, offset: 0, batchOffset: 0, dataCrc: 0 };
}

/** Smallest metadata each kind can have; anything shorter is not a record. */
export function minMetaLength(kind: number): number {
  if (kind === RecordKind.bundle) return BUNDLE_META_FIXED + 3;
  if (kind === RecordKind.tombstone) return TOMBSTONE_META_FIXED + 1;
  if (kind === RecordKind.summary || kind === RecordKind.void) return 0;
  return -1;
}

function newRecordHead(kind: RecordKind, metaLength: number, dataLength: number, dataCrc: number): Buffer {
  // Unzeroed (pooled, cheaper on the put path): every byte is written here, by the caller
  // (metadata) or by placeHead (position and CRC).
  const b = Buffer.allocUnsafe(HEAD_BYTES + metaLength);
  b.writeUInt32LE(RECORD_MAGIC, H_MAGIC);
  b[H_KIND] = kind;
  b[H_KIND + 1] = 0;
  b.writeUInt16LE(metaLength, H_META_LENGTH);
  b.writeUInt32LE(dataLength, H_DATA_LENGTH);
  b.writeUInt32LE(dataCrc, H_DATA_CRC);
  return b;
}

/** Head and metadata of a bundle record; placeHead() fills in where it goes. */
export function bundleHead(meta: BundleMeta, instance: number, dataLength: number, dataCrc: number): Buffer {
  const fixed = HEAD_BYTES + BUNDLE_META_FIXED;
  const report = meta.reportTo === undefined ? 0 : REPORT_FIXED + meta.reportTo.length;
  const b = newRecordHead(RecordKind.bundle, BUNDLE_META_FIXED + meta.id.length + meta.source.length + meta.destination.length + report, dataLength, dataCrc);
  b.writeDoubleLE(instance, HEAD_BYTES + B_INSTANCE);
  b.writeDoubleLE(meta.creationMs, HEAD_BYTES + B_CREATION);
  b.writeDoubleLE(meta.expiryMs, HEAD_BYTES + B_EXPIRY);
  b[HEAD_BYTES + B_PRIORITY] = PRIORITIES.indexOf(meta.priority);
  b[HEAD_BYTES + B_STATE] = STATES.indexOf(meta.state);
  b.writeUInt16LE(meta.id.length, HEAD_BYTES + B_ID_LENGTH);
  b.writeUInt16LE(meta.source.length, HEAD_BYTES + B_SOURCE_LENGTH);
  b.writeUInt16LE(meta.destination.length, HEAD_BYTES + B_DESTINATION_LENGTH);
  let at = fixed;
  at += b.write(meta.id, at, 'latin1');
  at += b.write(meta.source, at, 'latin1');
  at += b.write(meta.destination, at, 'latin1');
  if (meta.reportTo !== undefined) {
    b[at] = meta.reportTime ? REPORT_TIME : 0;
    b.writeUInt16LE(meta.reportTo.length, at + 1);
    b.write(meta.reportTo, at + REPORT_FIXED, 'latin1');
  }
  return b;
}

/** Head and metadata of a tombstone: `instance` of `id` is gone, and why. */
export function tombstoneHead(id: string, instance: number, disposition: Disposition, reason: number): Buffer {
  const b = newRecordHead(RecordKind.tombstone, TOMBSTONE_META_FIXED + id.length, 0, 0);
  b.writeDoubleLE(instance, HEAD_BYTES + T_INSTANCE);
  b[HEAD_BYTES + T_DISPOSITION] = disposition;
  b[HEAD_BYTES + T_REASON] = reason;
  b.writeUInt16LE(id.length, HEAD_BYTES + T_ID_LENGTH);
  b.write(id, HEAD_BYTES + TOMBSTONE_META_FIXED, 'latin1');
  return b;
}

/**
 * A void record over `length` bytes at `offset` (where a torn record was), so that a scan steps
 * over them as a record rather than as corruption. Its data (the torn bytes) has no CRC.
 */
export function voidRecordHead(segment: number, offset: number, length: number): Buffer {
  const b = newRecordHead(RecordKind.void, 0, length - HEAD_BYTES, 0);
  placeHead(b, segment, offset, offset);
  return b;
}

/** Head of a segment's summary record, whose data is the heads of every record before it. */
export function summaryHead(summary: Uint8Array): Buffer {
  return newRecordHead(RecordKind.summary, 0, summary.length, crc32c(summary));
}

/** Stamps where a record goes (its segment, offset, and the offset its write batch starts at) and seals its head CRC. */
export function placeHead(b: Buffer, segment: number, offset: number, batchOffset: number): void {
  b.writeUInt32LE(segment, H_SEGMENT);
  b.writeUInt32LE(offset, H_OFFSET);
  b.writeUInt32LE(batchOffset, H_BATCH);
  b.writeUInt32LE(crc32c(b.subarray(8)), H_CRC);
}

/**
 * The decoded metadata of a bundle record; one object reused across a scan. The id and EIDs
 * stay bytes (start and length in the view's buffer): the index takes them as bytes, and
 * recovery never needs them as strings.
 */
export interface BundleFields {
  instance: number;
  creationMs: number;
  expiryMs: number;
  priority: number;
  state: number;
  idStart: number;
  idLength: number;
  sourceStart: number;
  sourceLength: number;
  destinationStart: number;
  destinationLength: number;
  /** BundleMeta.reportTo as bytes (length 0: none) and reportTime. */
  reportToStart: number;
  reportToLength: number;
  reportTime: boolean;
}

export function newBundleFields(): BundleFields {
  return {
    instance: 0, creationMs: 0, expiryMs: 0, priority: 0, state: 0,
    idStart: 0, idLength: 0, sourceStart: 0, sourceLength: 0, destinationStart: 0, destinationLength: 0,
    reportToStart: 0, reportToLength: 0, reportTime: false,
  };
}

export interface TombstoneFields {
  instance: number;
  disposition: number;
  reason: number;
  /** The id, as bytes in the view's buffer. */
  idStart: number;
  idLength: number;
}

/** The last bytes of a sealed segment: where its summary record starts. */
export function trailer(segment: number, summaryOffset: number): Buffer {
  const b = Buffer.alloc(TRAILER_BYTES);
  b.writeUInt32LE(TRAILER_MAGIC, 0);
  b.writeUInt32LE(summaryOffset, 4);
  b.writeUInt32LE(segment, 8);
  b.writeUInt32LE(crc32c(b.subarray(0, 12)), 12);
  return b;
}

/** The summary offset a valid trailer names, or -1. */
export function readTrailer(b: Buffer, segment: number): number {
  if (b.length !== TRAILER_BYTES || b.readUInt32LE(0) !== TRAILER_MAGIC) return -1;
  if (b.readUInt32LE(12) !== crc32c(b.subarray(0, 12)) || b.readUInt32LE(8) !== segment) return -1;
  return b.readUInt32LE(4);
}

interface Latin1 {
  latin1Slice(start: number, end: number): string;
}

/** Buffer#latin1Slice: what toString('latin1', start, end) calls once it has checked its arguments. */
export function latin1(bytes: Buffer, start: number, end: number): string {
  return (bytes as unknown as Latin1).latin1Slice(start, end);
}

/**
 * Reads records out of a buffer: a chunk of a segment file, a summary, one record read back.
 * Numbers go through a DataView and text stays bytes: recovery decodes one record per stored
 * bundle, and the Buffer read helpers, argument checks and strings cost several times the
 * decoding itself.
 */
export class RecordView {
  private readonly dv: DataView;

  constructor(readonly bytes: Buffer) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Reads the fixed fields at `at` into `out`; false when the magic is absent. */
  head(at: number, out: Head): boolean {
    const dv = this.dv;
    if (dv.getUint32(at + H_MAGIC, true) !== RECORD_MAGIC) return false;
    out.kind = dv.getUint8(at + H_KIND);
    out.metaLength = dv.getUint16(at + H_META_LENGTH, true);
    out.dataLength = dv.getUint32(at + H_DATA_LENGTH, true);
    out.segment = dv.getUint32(at + H_SEGMENT, true);
    out.offset = dv.getUint32(at + H_OFFSET, true);
    out.batchOffset = dv.getUint32(at + H_BATCH, true);
    out.dataCrc = dv.getUint32(at + H_DATA_CRC, true);
    return true;
  }

  /** Whether the head at `at` and its `metaLength` bytes of metadata match their CRC. */
  headCrcValid(at: number, metaLength: number): boolean {
    return this.dv.getUint32(at + H_CRC, true) === crc32c(this.bytes.subarray(at + 8, at + HEAD_BYTES + metaLength));
  }

  /** Decodes bundle metadata; false when its lengths or codes do not fit (the CRC matched garbage). */
  bundleFields(at: number, metaLength: number, out: BundleFields): boolean {
    const dv = this.dv;
    const m = at + HEAD_BYTES;
    const idLength = dv.getUint16(m + B_ID_LENGTH, true);
    const sourceLength = dv.getUint16(m + B_SOURCE_LENGTH, true);
    const destinationLength = dv.getUint16(m + B_DESTINATION_LENGTH, true);
    const names = BUNDLE_META_FIXED + idLength + sourceLength + destinationLength;
    let reportToLength = 0;
    if (names !== metaLength) {
      if (names + REPORT_FIXED > metaLength) return false;
      reportToLength = dv.getUint16(m + names + 1, true);
      if (reportToLength === 0 || names + REPORT_FIXED + reportToLength !== metaLength) return false;
    }
    out.priority = dv.getUint8(m + B_PRIORITY);
    out.state = dv.getUint8(m + B_STATE);
    if (out.priority >= PRIORITIES.length || out.state >= STATES.length) return false;
    out.instance = dv.getFloat64(m + B_INSTANCE, true);
    out.creationMs = dv.getFloat64(m + B_CREATION, true);
    out.expiryMs = dv.getFloat64(m + B_EXPIRY, true);
    out.idStart = m + BUNDLE_META_FIXED;
    out.idLength = idLength;
    out.sourceStart = out.idStart + idLength;
    out.sourceLength = sourceLength;
    out.destinationStart = out.sourceStart + sourceLength;
    out.destinationLength = destinationLength;
    out.reportToLength = reportToLength;
    out.reportToStart = m + names + REPORT_FIXED;
    out.reportTime = reportToLength > 0 && (dv.getUint8(m + names) & REPORT_TIME) !== 0;
    return true;
  }

  tombstoneFields(at: number, metaLength: number): TombstoneFields | undefined {
    const dv = this.dv;
    const m = at + HEAD_BYTES;
    const idLength = dv.getUint16(m + T_ID_LENGTH, true);
    if (TOMBSTONE_META_FIXED + idLength !== metaLength) return undefined;
    return {
      instance: dv.getFloat64(m + T_INSTANCE, true),
      disposition: dv.getUint8(m + T_DISPOSITION),
      reason: dv.getUint8(m + T_REASON),
      idStart: m + TOMBSTONE_META_FIXED,
      idLength,
    };
  }

  /** Bytes [start, end) as a string (they are ASCII). */
  text(start: number, end: number): string {
    return latin1(this.bytes, start, end);
  }
}
