// Parity of a sealed segment, kept in `<segment>.par` beside it: the segment in stripes of K data
// shards of SHARD_BYTES (the last zero-padded), M parity shards per stripe from the WASM core's
// erasure code, and a CRC-32C of every shard. A shard whose CRC fails is rebuilt from the others
// of its stripe while no more than M of them failed: a record damaged in flash is repaired rather
// than lost. A sealed segment does not change until compaction deletes it, so its parity stays
// valid; a segment reopened for appending (after a clean close) has another size, and its parity
// is stale: made again once it is sealed again.
//
// File: header | CRC table (u32 LE per shard, stripe by stripe, data then parity) | parity shards
//   header: "TERNPAR1" (8) | segment size u32 | shard bytes u32 | k u8 | m u8 | 0 u16 | CRC-32C u32
//   (the CRC covers the first 20 header bytes and the CRC table)
import { closeSync, fstatSync, openSync, readSync, writeSync, fsyncSync, readFileSync } from 'node:fs';
import { core, type ErasureCode } from '../../core/wasm.js';
import { writeFileDurable } from '../../durable.js';
import { TernError } from '../../errors.js';
import { crc32c } from './format.js';

export const SHARD_BYTES = 16384;
/** Data shards per stripe: a 256 KiB stripe. */
export const DATA_SHARDS = 16;
/** Parity shards per stripe: 12.5 % of the segment; any two damaged shards of a stripe are rebuilt. */
export const PARITY_SHARDS = 2;
const SHARDS = DATA_SHARDS + PARITY_SHARDS;
const MAGIC = Buffer.from('TERNPAR1', 'latin1');
const HEADER_BYTES = 24;

export interface SegmentParity {
  readonly segmentPath: string;
  readonly segmentSize: number;
  readonly stripes: number;
  /** CRC-32C of every shard, stripe by stripe, data then parity. */
  readonly crcs: Uint32Array;
}

/** The segment is not the one the parity was made for any more (reopened and appended to). */
export class SegmentChangedError extends TernError {
  readonly code = 'STORE_SEGMENT_CHANGED';
  constructor(readonly segmentPath: string) {
    super(`segment ${segmentPath} changed size under its parity`);
    this.name = 'SegmentChangedError';
  }
}

export const PARITY_SUFFIX = '.par';

export function parityPath(segmentPath: string): string {
  return `${segmentPath}${PARITY_SUFFIX}`;
}

export function stripesOf(segmentSize: number): number {
  return Math.max(1, Math.ceil(segmentSize / (DATA_SHARDS * SHARD_BYTES)));
}

let code: ErasureCode | undefined;
function erasure(): ErasureCode {
  return (code ??= core().erasureCode(DATA_SHARDS, PARITY_SHARDS));
}

/** Reads `length` bytes at `position` of an open file into a zeroed buffer (short at the end of the file). */
function readAt(fd: number, length: number, position: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return out;
}

/** The K + M shards of stripe `s`: data from the segment, parity from the parity file. */
function readStripe(segFd: number, parFd: number, parity: SegmentParity, s: number): Uint8Array[] {
  const shards: Uint8Array[] = [];
  for (let j = 0; j < DATA_SHARDS; j++) {
    const at = (s * DATA_SHARDS + j) * SHARD_BYTES;
    const shard = at < parity.segmentSize ? readAt(segFd, Math.min(SHARD_BYTES, parity.segmentSize - at), at) : new Uint8Array(0);
    const padded = new Uint8Array(SHARD_BYTES);
    padded.set(shard);
    shards.push(padded);
  }
  for (let j = 0; j < PARITY_SHARDS; j++) shards.push(readAt(parFd, SHARD_BYTES, parityShardOffset(parity.stripes, s, j)));
  return shards;
}

function parityShardOffset(stripes: number, s: number, j: number): number {
  return HEADER_BYTES + stripes * SHARDS * 4 + (s * PARITY_SHARDS + j) * SHARD_BYTES;
}

/**
 * Computes the parity of one stripe of a segment: its shards (parity filled in) and their CRCs.
 * The parity file is assembled from these by writeParity (sliced across slots by the scrubber).
 */
export function stripeParity(segFd: number, segmentSize: number, s: number): { parity: Uint8Array[]; crcs: number[] } {
  const shards: Uint8Array[] = [];
  for (let j = 0; j < DATA_SHARDS; j++) {
    const at = (s * DATA_SHARDS + j) * SHARD_BYTES;
    const padded = new Uint8Array(SHARD_BYTES);
    if (at < segmentSize) padded.set(readAt(segFd, Math.min(SHARD_BYTES, segmentSize - at), at));
    shards.push(padded);
  }
  for (let j = 0; j < PARITY_SHARDS; j++) shards.push(new Uint8Array(SHARD_BYTES));
  erasure().encode(shards);
  return { parity: shards.slice(DATA_SHARDS), crcs: shards.map((shard) => crc32c(shard)) };
}

/** Writes `<segment>.par` (durably) from the stripes stripeParity computed, in order. */
export function writeParity(segmentPath: string, segmentSize: number, stripes: ReadonlyArray<{ parity: Uint8Array[]; crcs: number[] }>): SegmentParity {
  const count = stripes.length;
  const file = Buffer.alloc(parityShardOffset(count, count, 0));
  MAGIC.copy(file, 0);
  file.writeUInt32LE(segmentSize, 8);
  file.writeUInt32LE(SHARD_BYTES, 12);
  file[16] = DATA_SHARDS;
  file[17] = PARITY_SHARDS;
  const crcs = new Uint32Array(count * SHARDS);
  stripes.forEach((stripe, s) => {
    stripe.crcs.forEach((crc, j) => {
      crcs[s * SHARDS + j] = crc;
      file.writeUInt32LE(crc, HEADER_BYTES + (s * SHARDS + j) * 4);
    });
    stripe.parity.forEach((shard, j) => file.set(shard, parityShardOffset(count, s, j)));
  });
  file.writeUInt32LE(headerCrc(file, count), 20);
  writeFileDurable(parityPath(segmentPath), file);
  return { segmentPath, segmentSize, stripes: count, crcs };
}

function headerCrc(file: Uint8Array, stripes: number): number {
  const covered = Buffer.concat([file.subarray(0, 20), file.subarray(HEADER_BYTES, HEADER_BYTES + stripes * SHARDS * 4)]);
  return crc32c(covered);
}

/** The parity of a segment of `segmentSize` bytes, or why there is none usable (absent, stale, damaged). */
export function readParity(segmentPath: string, segmentSize: number): SegmentParity | string {
  let file: Buffer;
  try {
    file = readFileSync(parityPath(segmentPath));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  if (file.length < HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) return 'not a parity file';
  const size = file.readUInt32LE(8);
  if (file.readUInt32LE(12) !== SHARD_BYTES || file[16] !== DATA_SHARDS || file[17] !== PARITY_SHARDS) return 'another layout';
  const stripes = stripesOf(size);
  if (file.length !== parityShardOffset(stripes, stripes, 0)) return 'truncated';
  if (file.readUInt32LE(20) !== headerCrc(file, stripes)) return 'header or CRC table damaged';
  if (size !== segmentSize) return 'stale';
  const crcs = new Uint32Array(stripes * SHARDS);
  for (let i = 0; i < crcs.length; i++) crcs[i] = file.readUInt32LE(HEADER_BYTES + i * 4);
  return { segmentPath, segmentSize, stripes, crcs };
}

/** Shards of stripe `s` whose CRC-32C fails (0..K-1 data, K.. parity). */
export function checkStripe(parity: SegmentParity, s: number): number[] {
  return withFiles(parity, 'r', (segFd, parFd) => {
    const shards = readStripe(segFd, parFd, parity, s);
    return shards.flatMap((shard, j) => (crc32c(shard) === parity.crcs[s * SHARDS + j] ? [] : [j]));
  });
}

/**
 * Rebuilds the `damaged` shards of stripe `s` from the others and writes them back in place
 * (segment bytes, or the parity file), fsync'd. Returns false, changing nothing, when more than M
 * shards are damaged or a rebuilt shard does not match its CRC.
 */
export function repairStripe(parity: SegmentParity, s: number, damaged: readonly number[]): boolean {
  if (damaged.length === 0) return true;
  if (damaged.length > PARITY_SHARDS) return false;
  return withFiles(parity, 'r+', (segFd, parFd) => {
    const shards = readStripe(segFd, parFd, parity, s);
    erasure().rebuild(shards, damaged);
    if (damaged.some((j) => crc32c(shards[j]!) !== parity.crcs[s * SHARDS + j])) return false;
    for (const j of damaged) {
      if (j < DATA_SHARDS) {
        const at = (s * DATA_SHARDS + j) * SHARD_BYTES;
        writeSync(segFd, shards[j]!, 0, Math.min(SHARD_BYTES, parity.segmentSize - at), at);
      } else {
        writeSync(parFd, shards[j]!, 0, SHARD_BYTES, parityShardOffset(parity.stripes, s, j - DATA_SHARDS));
      }
    }
    fsyncSync(segFd);
    fsyncSync(parFd);
    return true;
  });
}

/** Segment bytes a stripe covers, [start, end). */
export function stripeRange(parity: SegmentParity, s: number): { start: number; end: number } {
  const start = s * DATA_SHARDS * SHARD_BYTES;
  return { start, end: Math.min(parity.segmentSize, start + DATA_SHARDS * SHARD_BYTES) };
}

function withFiles<T>(parity: SegmentParity, flags: 'r' | 'r+', run: (segFd: number, parFd: number) => T): T {
  const segFd = openSync(parity.segmentPath, flags);
  try {
    if (fstatSync(segFd).size !== parity.segmentSize) throw new SegmentChangedError(parity.segmentPath);
    const parFd = openSync(parityPath(parity.segmentPath), flags);
    try {
      return run(segFd, parFd);
    } finally {
      closeSync(parFd);
    }
  } finally {
    closeSync(segFd);
  }
}
