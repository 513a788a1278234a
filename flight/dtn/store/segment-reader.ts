// Reads one segment file and returns the heads (head + metadata) of its valid records, in file
// order. A sealed segment is read through its summary; any other is scanned record by record:
// a record counts only if its magic, position, lengths and head CRC check out, garbage between
// records is skipped by searching for the next valid head, and data CRCs are checked where a
// torn write is possible (the last write batch) or when the summary cannot be trusted.
// Read-only: recovery, compaction and `tern store ls` all use it.
import { open, type FileHandle } from 'node:fs/promises';
import { StoreFormatError } from './errors.js';
import {
  HEAD_BYTES, RECORD_MAGIC_BYTES, RecordKind, SEGMENT_HEADER_BYTES, TRAILER_BYTES,
  RecordView, checkSegmentHeader, crc32c, minMetaLength, newHead, readTrailer, segmentHeaderRecycled, type Head,
} from './format.js';

const CHUNK_BYTES = 4 * 1024 * 1024;

/** A growable run of record heads in the summary layout: each head followed by its metadata. */
export class HeadLog {
  private buf = Buffer.allocUnsafe(64 * 1024);
  length = 0;

  append(src: Uint8Array): void {
    if (this.length + src.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + src.length));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

export interface SegmentScan {
  segment: number;
  /** Read through a valid summary and trailer: the segment is complete and will not grow. */
  sealed: boolean;
  headerValid: boolean;
  /** Heads of the valid records, each followed by its metadata, in file order. */
  heads: Buffer;
  /** End of the last valid record (the summary's offset when sealed). */
  recordsEnd: number;
  fileSize: number;
  /** Runs of bytes that failed their checks between valid records, or records whose data CRC failed. */
  corruptRecords: number;
  corruptBytes: number;
  /**
   * Bytes after the last valid record that a write under way (torn, or in progress) left. In a
   * recycled segment only those of the newest batch's records count, up to the end of the last
   * one whose head survived: the bytes past it are an earlier use's, which no record of this
   * segment can be mistaken for.
   */
  tailBytes: number;
  /** Its header says it was written over a spare file (spares.ts): bytes of an earlier use may follow its records. */
  recycled: boolean;
  /**
   * Records of the last batch that failed their data CRC but lie before a good one (pages
   * written out of order before a crash): offset and length. The store voids them.
   */
  torn: Array<{ offset: number; length: number }>;
}

export interface ScanOptions {
  /**
   * Which data CRCs a scan checks: those of the last write batch (the only one a crash can
   * tear: the segment being appended to), or all (a full segment whose summary failed).
   */
  verify: 'last-batch' | 'all';
}

class ChunkReader {
  buf: Buffer = Buffer.alloc(0);
  view = new RecordView(this.buf);
  base = 0;
  private readonly chunk = Buffer.allocUnsafe(CHUNK_BYTES);

  constructor(
    private readonly handle: FileHandle,
    public size: number,
  ) {}

  /** Whether bytes [at, at + n) are in the buffer; `buf[at - base]` is byte `at`. `size` shrinks if the file turns out shorter. */
  has(at: number, n: number): boolean {
    return at >= this.base && at + n <= this.base + this.buf.length;
  }

  /** Loads at least [at, at + n) (n <= size - at). */
  async fill(at: number, n: number): Promise<void> {
    const length = Math.min(Math.max(n, CHUNK_BYTES), this.size - at);
    const target = length <= CHUNK_BYTES ? this.chunk : Buffer.allocUnsafe(length);
    const got = await readFully(this.handle, target, length, at);
    if (got < length) this.size = at + got; // cut short since stat(): what is there is all there is
    this.buf = target.subarray(0, got);
    this.view = new RecordView(this.buf);
    this.base = at;
  }
}

/**
 * Reads `length` bytes at `position` into `target`, across short reads; returns how many it got,
 * fewer only at the end of the file (a file cut short, or being cut by a recovering writer).
 */
export async function readFully(handle: FileHandle, target: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(target, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

export async function readSegment(path: string, segment: number, options: ScanOptions): Promise<SegmentScan> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    const headerBytes = await readFully(handle, header, SEGMENT_HEADER_BYTES, 0);
    const status = headerBytes === SEGMENT_HEADER_BYTES ? checkSegmentHeader(header, segment) : 'corrupt';
    if (typeof status === 'number') throw new StoreFormatError(path, status);
    const sealed = await readSummary(handle, size, segment);
    if (sealed) {
      return {
        segment, sealed: true, headerValid: status === 'valid', heads: sealed.heads, recordsEnd: sealed.offset, fileSize: size,
        corruptRecords: 0, corruptBytes: 0, tailBytes: 0, torn: [], recycled: false,
      };
    }
    const recycled = status === 'valid' && segmentHeaderRecycled(header);
    return { ...(await scan(new ChunkReader(handle, size), segment, options, recycled)), headerValid: status === 'valid' };
  } finally {
    await handle.close();
  }
}

/** The summary of a sealed segment, or undefined if the trailer or summary fails a check. */
async function readSummary(handle: FileHandle, size: number, segment: number): Promise<{ heads: Buffer; offset: number } | undefined> {
  if (size < SEGMENT_HEADER_BYTES + HEAD_BYTES + TRAILER_BYTES) return undefined;
  const tail = Buffer.alloc(TRAILER_BYTES);
  if ((await readFully(handle, tail, TRAILER_BYTES, size - TRAILER_BYTES)) < TRAILER_BYTES) return undefined;
  const offset = readTrailer(tail, segment);
  const length = size - TRAILER_BYTES - offset;
  if (offset < SEGMENT_HEADER_BYTES || length < HEAD_BYTES) return undefined;
  const record = Buffer.allocUnsafe(length);
  if ((await readFully(handle, record, length, offset)) < length) return undefined;
  const view = new RecordView(record);
  const head = newHead();
  if (!view.head(0, head) || head.kind !== RecordKind.summary || head.segment !== segment || head.offset !== offset) return undefined;
  if (head.metaLength !== 0 || head.dataLength !== length - HEAD_BYTES || !view.headCrcValid(0, 0)) return undefined;
  const heads = record.subarray(HEAD_BYTES);
  return crc32c(heads) === head.dataCrc ? { heads, offset } : undefined;
}

/** Whether a plausible, CRC-valid record head starts at `at`; fills `head`. */
async function validHeadAt(r: ChunkReader, at: number, segment: number, head: Head): Promise<boolean> {
  if (at + HEAD_BYTES > r.size) return false;
  if (!r.has(at, HEAD_BYTES)) await r.fill(at, HEAD_BYTES);
  if (!r.has(at, HEAD_BYTES) || !r.view.head(at - r.base, head)) return false;
  const min = minMetaLength(head.kind);
  if (min < 0 || head.metaLength < min || head.segment !== segment || head.offset !== at || head.batchOffset > at) return false;
  if (at + HEAD_BYTES + head.metaLength + head.dataLength > r.size) return false;
  if (!r.has(at, HEAD_BYTES + head.metaLength)) await r.fill(at, HEAD_BYTES + head.metaLength);
  return r.has(at, HEAD_BYTES + head.metaLength) && r.view.headCrcValid(at - r.base, head.metaLength);
}

async function dataValid(r: ChunkReader, at: number, head: Head): Promise<boolean> {
  if (head.kind === RecordKind.void) return true;
  if (head.dataLength === 0) return head.dataCrc === 0;
  const start = at + HEAD_BYTES + head.metaLength;
  if (!r.has(start, head.dataLength)) await r.fill(start, head.dataLength);
  if (!r.has(start, head.dataLength)) return false;
  return crc32c(r.buf.subarray(start - r.base, start - r.base + head.dataLength)) === head.dataCrc;
}

/** The next offset after `from` where a valid head starts, or -1. */
async function resync(r: ChunkReader, from: number, segment: number, head: Head): Promise<number> {
  for (let at = from; at + HEAD_BYTES <= r.size; ) {
    if (!r.has(at, HEAD_BYTES)) await r.fill(at, HEAD_BYTES);
    if (!r.has(at, HEAD_BYTES)) return -1;
    const found = r.buf.indexOf(RECORD_MAGIC_BYTES, at - r.base);
    if (found < 0) {
      // The magic may straddle the end of the buffer: continue three bytes back.
      at = Math.max(at + 1, r.base + r.buf.length - 3);
      continue;
    }
    const candidate = r.base + found;
    if (await validHeadAt(r, candidate, segment, head)) return candidate;
    at = candidate + 1;
  }
  return -1;
}

interface Kept {
  at: number;
  headsAt: number;
  head: Head;
}

async function scan(r: ChunkReader, segment: number, options: ScanOptions, recycled: boolean): Promise<Omit<SegmentScan, 'headerValid'>> {
  const log = new HeadLog();
  const head = newHead();
  let corruptRecords = 0;
  let corruptBytes = 0;
  let recordsEnd = SEGMENT_HEADER_BYTES;
  // Records of the latest batch seen so far, for verifyLastBatch.
  let lastBatch: Kept[] = [];
  let lastBatchOffset = -1;
  let endBeforeLastBatch = recordsEnd;
  let at = SEGMENT_HEADER_BYTES;
  let atSummary = false;
  while (at + HEAD_BYTES <= r.size) {
    if (!(await validHeadAt(r, at, segment, head))) {
      const next = await resync(r, at + 1, segment, head);
      if (next < 0) break; // the rest is tail
      corruptRecords++;
      corruptBytes += next - at;
      at = next;
    }
    if (head.kind === RecordKind.summary) {
      atSummary = true; // a summary whose trailer failed: records end here
      break;
    }
    const total = HEAD_BYTES + head.metaLength + head.dataLength;
    if (head.kind === RecordKind.void) {
      at += total;
      recordsEnd = at;
      continue;
    }
    if (options.verify === 'all' && !(await dataValid(r, at, head))) {
      corruptRecords++;
      corruptBytes += total;
      at += total;
      continue;
    }
    if (head.batchOffset !== lastBatchOffset) {
      lastBatch = [];
      lastBatchOffset = head.batchOffset;
      endBeforeLastBatch = recordsEnd;
    }
    if (options.verify === 'last-batch') lastBatch.push({ at, headsAt: log.length, head: { ...head } });
    log.append(r.buf.subarray(at - r.base, at - r.base + HEAD_BYTES + head.metaLength));
    at += total;
    recordsEnd = at;
  }
  let heads = log.bytes();
  const torn: Array<{ offset: number; length: number }> = [];
  let tornEnd = recordsEnd;
  if (options.verify === 'last-batch' && lastBatch.length > 0) {
    const bad: Kept[] = [];
    for (const k of lastBatch) if (!(await dataValid(r, k.at, k.head))) bad.push(k);
    if (bad.length > 0) {
      // Torn: drop them from the heads, and end the records after the last good one.
      const kept = new HeadLog();
      let from = 0;
      for (const k of bad) {
        kept.append(heads.subarray(from, k.headsAt));
        from = k.headsAt + HEAD_BYTES + k.head.metaLength;
      }
      kept.append(heads.subarray(from));
      heads = kept.bytes();
      const good = lastBatch.filter((k) => !bad.includes(k));
      const lastGood = good[good.length - 1];
      recordsEnd = lastGood ? lastGood.at + HEAD_BYTES + lastGood.head.metaLength + lastGood.head.dataLength : endBeforeLastBatch;
      for (const k of bad) {
        const length = HEAD_BYTES + k.head.metaLength + k.head.dataLength;
        if (k.at < recordsEnd) torn.push({ offset: k.at, length });
        else tornEnd = Math.max(tornEnd, k.at + length);
      }
    }
  }
  // A summary is written after the stale bytes were cut (segment-log.ts, seal), so what follows
  // one is the rest of that seal in any segment.
  const tailBytes = recycled && !atSummary ? tornEnd - recordsEnd : r.size - recordsEnd;
  return { segment, sealed: false, heads, recordsEnd, fileSize: r.size, corruptRecords, corruptBytes, tailBytes, torn, recycled };
}
