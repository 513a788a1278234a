// The index saved at a clean close, so that a clean restart loads it instead of rebuilding it
// from the segments. It is an optimisation that must never change what a restart sees, so it is
// trusted only as far as it can be checked: its CRC (a torn or decayed file; zlib's CRC-32, not
// the segments' CRC-32C: native, it checks 8 MiB in a quarter of the time), its version, and
// every segment file it was made from, stamped by number, size and modification time: the set of
// segment files on disk must be exactly its set, and each but the newest must still have its
// stamp (full segments are never written again, only deleted; compaction and new segments change
// the set). Decay at rest changes no stamp: it is found where it always was, by the CRC checks
// of every read and compaction copy. The newest segment is the one a later session appends to:
// if its stamp changed (a later session wrote to it and then crashed, after an unlink of the
// snapshot that never reached the disk), what the snapshot says of it is dropped and the segment
// is read and applied on top, as a rebuild would apply it after the older ones: a tombstone in it
// removes the instance it names, wherever that is, and a compaction copy in it wins. The store
// removes the file as it opens (before any bundle is written), so a crash after a clean restart
// finds none.
// Format and reasoning: DESIGN.md beside this file, "Index snapshot".
import { endianness } from 'node:os';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurableAsync } from '../../durable.js';
import type { BundleIndex } from './bundle-index.js';
import { crc32 } from 'node:zlib';
import { latin1, segmentFileName } from './format.js';

export const SNAPSHOT_FILE = 'index.snap';
const MAGIC = Buffer.from('TERNBIDX', 'latin1');
// Version 2: the deletion report's facts (reportTo, reportTime columns); a version 1 snapshot is
// rejected and the index rebuilt from the segments, which hold them.
const VERSION = 2;
const HEADER_BYTES = 40;
const SEGMENT_BYTES = 40;
/** Bytes per bundle in the columns, before its id. */
const COLUMN_BYTES = 3 * 8 + 8 * 4 + 2 + 1 + 1 + 1;

type Column = Float64Array | Uint32Array | Int32Array | Uint16Array | Uint8Array;

/** The index's columns in the order the snapshot holds them (widest first: each stays aligned). */
function columns(ix: BundleIndex): Column[] {
  return [
    ix.instance, ix.creationMs, ix.expiryMs, ix.hash, ix.source, ix.destination, ix.segment, ix.offset, ix.recordLength, ix.dataLength, ix.reportTo,
    ix.idLength, ix.priority, ix.state, ix.reportTime,
  ];
}

/** What the store knew of a segment at close; all but the newest are taken as they are. */
export interface SnapshotSegment {
  number: number;
  /** End of its records (its summary's offset). */
  size: number;
  /** Bytes of the file and its modification time (ns): the stamp checked at load. */
  fileSize: number;
  mtimeNs: bigint;
  tombstoneBytes: number;
}

export interface Snapshot {
  maxInstance: number;
  segments: SnapshotSegment[];
  /** The newest segment still has its stamp: nothing was written to it since the snapshot. */
  newestUnchanged: boolean;
  bundles: number;
  /** The file's bytes; the columns are copied out of it by load(). */
  bytes: Buffer;
  eids: string[];
}

/** Encodes the index of a store with nothing pending (closed, drained) and its segments. */
export function encodeSnapshot(index: BundleIndex, segments: readonly SnapshotSegment[], maxInstance: number): Buffer {
  // Live slots as runs [start, end): slots are reused, so there are few holes and few runs, and
  // each column is copied a run at a time.
  const runs: number[] = [];
  let n = 0;
  let idBytes = 0;
  for (let slot = 0; slot < index.highWater; slot++) {
    if (!index.live(slot)) continue;
    if (runs.length > 0 && runs[runs.length - 1] === slot) runs[runs.length - 1] = slot + 1;
    else runs.push(slot, slot + 1);
    n++;
    idBytes += index.idLength[slot]!;
  }
  let eidBytes = 0;
  for (const eid of index.eids) eidBytes += 2 + eid.length;
  const body = HEADER_BYTES + segments.length * SEGMENT_BYTES + n * COLUMN_BYTES + idBytes + eidBytes;
  const b = Buffer.alloc(body + 4);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(VERSION, 8);
  b.writeUInt32LE(n, 12);
  b.writeUInt32LE(index.eids.length, 16);
  b.writeUInt32LE(segments.length, 20);
  b.writeUInt32LE(idBytes, 24);
  b.writeUInt32LE(eidBytes, 28);
  b.writeDoubleLE(maxInstance, 32);
  let at = HEADER_BYTES;
  for (const s of segments) {
    b.writeUInt32LE(s.number, at);
    b.writeDoubleLE(s.size, at + 8);
    b.writeDoubleLE(s.fileSize, at + 16);
    b.writeDoubleLE(s.tombstoneBytes, at + 24);
    b.writeBigUInt64LE(s.mtimeNs, at + 32);
    at += SEGMENT_BYTES;
  }
  for (const column of columns(index)) {
    const size = column.BYTES_PER_ELEMENT;
    const bytes = new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
    for (let r = 0; r < runs.length; r += 2) {
      b.set(bytes.subarray(runs[r]! * size, runs[r + 1]! * size), at);
      at += (runs[r + 1]! - runs[r]!) * size;
    }
  }
  for (let r = 0; r < runs.length; r += 2) {
    for (let slot = runs[r]!; slot < runs[r + 1]!; slot++) at += index.copyId(slot, b, at);
  }
  for (const eid of index.eids) {
    b.writeUInt16LE(eid.length, at);
    at += 2 + b.write(eid, at + 2, 'latin1');
  }
  b.writeUInt32LE(crc32(b.subarray(0, body)), body);
  return b;
}

/**
 * Writes the snapshot durably (temporary file, fsync, rename, directory fsync). A failed write
 * (a full device) leaves no partial temporary file taking space.
 */
export async function saveSnapshot(dir: string, bytes: Buffer): Promise<void> {
  const path = join(dir, SNAPSHOT_FILE);
  try {
    await writeFileDurableAsync(path, bytes);
  } catch (error) {
    await rm(`${path}.tmp-${process.pid}`, { force: true });
    throw error;
  }
}

/** Removes the snapshot (the store does so as it opens: a crash from then on rebuilds). */
export async function removeSnapshot(dir: string): Promise<void> {
  await rm(join(dir, SNAPSHOT_FILE), { force: true });
}

/**
 * Reads and checks the snapshot against the segment files on disk (`numbers`, ascending).
 * Undefined if there is none; a string saying why if it cannot be used.
 */
export async function readSnapshot(dir: string, numbers: readonly number[]): Promise<Snapshot | string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, SNAPSHOT_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `unreadable: ${(error as Error).message}`;
  }
  if (endianness() !== 'LE') return 'big-endian host';
  if (bytes.length < HEADER_BYTES + 4 || !bytes.subarray(0, 8).equals(MAGIC)) return 'torn: no snapshot header';
  const body = bytes.length - 4;
  if (bytes.readUInt32LE(body) !== crc32(bytes.subarray(0, body))) return 'corrupt: CRC mismatch';
  if (bytes.readUInt32LE(8) !== VERSION) return `unknown version ${bytes.readUInt32LE(8)}`;
  const n = bytes.readUInt32LE(12);
  const eidCount = bytes.readUInt32LE(16);
  const segmentCount = bytes.readUInt32LE(20);
  const expected = HEADER_BYTES + segmentCount * SEGMENT_BYTES + n * COLUMN_BYTES + bytes.readUInt32LE(24) + bytes.readUInt32LE(28);
  if (expected !== body) return 'corrupt: length mismatch';
  const segments: SnapshotSegment[] = [];
  for (let i = 0, at = HEADER_BYTES; i < segmentCount; i++, at += SEGMENT_BYTES) {
    segments.push({
      number: bytes.readUInt32LE(at), size: bytes.readDoubleLE(at + 8), fileSize: bytes.readDoubleLE(at + 16),
      tombstoneBytes: bytes.readDoubleLE(at + 24), mtimeNs: bytes.readBigUInt64LE(at + 32),
    });
  }
  if (segments.length !== numbers.length || segments.some((s, i) => s.number !== numbers[i])) {
    return `stale: segments ${numbers.join(',') || 'none'} on disk, ${segments.map((s) => s.number).join(',') || 'none'} in the snapshot`;
  }
  let newestUnchanged = false;
  for (const [i, s] of segments.entries()) {
    const now = await stat(join(dir, segmentFileName(s.number)), { bigint: true });
    const unchanged = Number(now.size) === s.fileSize && now.mtimeNs === s.mtimeNs;
    if (i === segments.length - 1) newestUnchanged = unchanged;
    else if (Number(now.size) !== s.fileSize) return `stale: segment ${s.number} is ${now.size} bytes, ${s.fileSize} in the snapshot`;
    else if (!unchanged) return `stale: segment ${s.number} was modified after the snapshot`;
  }
  const eids: string[] = [];
  let at = body - bytes.readUInt32LE(28);
  for (let i = 0; i < eidCount; i++) {
    const length = bytes.readUInt16LE(at);
    eids.push(latin1(bytes, at + 2, at + 2 + length));
    at += 2 + length;
  }
  return { maxInstance: bytes.readDoubleLE(32), segments, newestUnchanged, bundles: n, bytes, eids };
}

/** Fills an empty index from a checked snapshot. */
export function loadSnapshot(snapshot: Snapshot, index: BundleIndex): void {
  const { bytes, bundles: n } = snapshot;
  let at = HEADER_BYTES + snapshot.segments.length * SEGMENT_BYTES;
  // Each column is a subarray at offset 0 of the index's own array: one copy of its bytes.
  const take = (column: Column): void => {
    new Uint8Array(column.buffer, 0, column.byteLength).set(bytes.subarray(at, at + column.byteLength));
    at += column.byteLength;
  };
  index.load(n, snapshot.eids, (ix) => {
    for (const column of columns(ix)) take(column.subarray(0, n));
    let idBytes = 0;
    for (let i = 0; i < n; i++) idBytes += ix.idLength[i]!;
    return bytes.subarray(at, at + idBytes);
  });
}
