// Rebuilds the index from the segment files alone. Records are applied in file order, which is
// the order they were written (every write goes to the newest segment): a bundle record adds its
// bundle, or moves it if the same instance was already seen (a compaction copy whose original
// was not yet reclaimed); a tombstone removes the instance it names and nothing else. So a
// bundle is never listed twice, and a bundle stored again after its deletion is not hidden by
// the old tombstone. Read-only: the store decides what to truncate or start afresh.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { bytesHash, type BundleIndex } from './bundle-index.js';
import {
  HEAD_BYTES, RecordKind, RecordView, newBundleFields, newHead, parseSegmentFileName, segmentFileName,
} from './format.js';
import { loadSnapshot, readSnapshot } from './index-snapshot.js';
import { readSegment, type SegmentScan } from './segment-reader.js';

export interface RecoveredSegment extends Omit<SegmentScan, 'heads'> {
  path: string;
  /** Bytes of tombstone records in the segment. */
  tombstoneBytes: number;
  /** The heads, kept for the last segment only (the store appends to it and summarises it later). */
  heads?: Buffer;
}

export interface Recovery {
  segments: RecoveredSegment[];
  /** Highest bundle instance number seen (in bundle records and tombstones). */
  maxInstance: number;
  corruptRecords: number;
  corruptBytes: number;
  /** Bytes after the last valid record of the last segment. */
  tornBytes: number;
  /** Segments read through their summary. */
  summaries: number;
  /** Bundle records replaced by a later instance of the same id (never expected; counted). */
  superseded: number;
  /** The index was loaded from the snapshot of a clean close (only the newest segment was read). */
  fromSnapshot: boolean;
  /** Why a snapshot that was there could not be used (the index was rebuilt from the segments). */
  snapshotRejected?: string;
}

async function listSegments(dir: string): Promise<number[]> {
  const numbers: number[] = [];
  for (const file of await readdir(dir)) {
    const n = parseSegmentFileName(file);
    if (n !== undefined) numbers.push(n);
  }
  return numbers.sort((a, b) => a - b);
}

export interface RecoverOptions {
  /**
   * `tern store ls` on a running node: segments may be created or reclaimed while they are
   * read, so a vanished segment is skipped (its live records were copied to a newer one first)
   * and segments created meanwhile are read too.
   */
  concurrentWriter?: boolean;
  /**
   * The store's own open: load the index saved at a clean close (index-snapshot.ts) if it
   * checks out against the segment files, then read only the newest segment on top of it.
   */
  snapshot?: boolean;
}

/** Segments read ahead of the one being applied. */
const READ_AHEAD = 4;

export async function recoverIndex(dir: string, index: BundleIndex, options: RecoverOptions = {}): Promise<Recovery> {
  const recovery: Recovery = {
    segments: [], maxInstance: 0, corruptRecords: 0, corruptBytes: 0, tornBytes: 0, summaries: 0, superseded: 0, fromSnapshot: false,
  };
  let numbers = await listSegments(dir);
  let reapply = true;
  let unchangedTombstoneBytes = 0;
  if (options.snapshot) {
    const snapshot = await readSnapshot(dir, numbers);
    if (typeof snapshot === 'string') {
      recovery.snapshotRejected = snapshot;
    } else if (snapshot) {
      loadSnapshot(snapshot, index);
      recovery.fromSnapshot = true;
      recovery.maxInstance = snapshot.maxInstance;
      for (const s of snapshot.segments.slice(0, -1)) {
        recovery.segments.push({
          segment: s.number, path: join(dir, segmentFileName(s.number)), sealed: true, headerValid: true, recordsEnd: s.size,
          fileSize: s.fileSize, corruptRecords: 0, corruptBytes: 0, tailBytes: 0, torn: [], recycled: false, tombstoneBytes: s.tombstoneBytes,
        });
      }
      // The newest segment is read again (the segment log appends to it and needs its heads).
      // If it changed since the snapshot, it is applied in place of what the snapshot says of
      // it: see index-snapshot.ts for why that is exact whatever a later session wrote.
      numbers = numbers.slice(-1);
      reapply = !snapshot.newestUnchanged;
      unchangedTombstoneBytes = snapshot.segments.at(-1)?.tombstoneBytes ?? 0;
      const newest = numbers[0];
      if (reapply) for (let slot = 0; slot < index.highWater; slot++) if (index.segment[slot] === newest && index.live(slot)) index.remove(slot);
    }
  }
  let done = 0;
  while (numbers.length > 0) {
    // A read settles to its scan or its error, so that a failure in a read still waiting its
    // turn is not an unhandled rejection; the error is thrown when its turn comes.
    const read = (i: number): Promise<{ scan?: SegmentScan; error?: unknown }> => {
      const number = numbers[i]!;
      return readSegment(join(dir, segmentFileName(number)), number, { verify: i === numbers.length - 1 ? 'last-batch' : 'all' })
        .then((scan) => ({ scan }), (error: unknown) => ({ error }));
    };
    // The next few segments are read while one is applied: reading waits on the disk (and the
    // thread pool), applying on the CPU. A few, not all: each holds its summary in memory.
    const ahead: Array<Promise<{ scan?: SegmentScan; error?: unknown }>> = [];
    for (let i = 0; i < Math.min(READ_AHEAD, numbers.length); i++) ahead.push(read(i));
    for (let i = 0; i < numbers.length; i++) {
      const { scan, error } = await ahead.shift()!;
      if (i + READ_AHEAD < numbers.length) ahead.push(read(i + READ_AHEAD));
      if (error !== undefined) {
        if (options.concurrentWriter && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if (!scan) continue;
      const last = i === numbers.length - 1;
      const tombstoneBytes = reapply ? applyHeads(scan.heads, scan.segment, index, recovery) : unchangedTombstoneBytes;
      recovery.corruptRecords += scan.corruptRecords;
      recovery.corruptBytes += scan.corruptBytes;
      if (scan.sealed) recovery.summaries++;
      const { heads, ...rest } = scan;
      recovery.segments.push({ ...rest, path: join(dir, segmentFileName(scan.segment)), tombstoneBytes, ...(last ? { heads } : {}) });
      done = scan.segment;
    }
    numbers = options.concurrentWriter ? (await listSegments(dir)).filter((n) => n > done) : [];
  }
  const last = recovery.segments[recovery.segments.length - 1];
  if (last) recovery.tornBytes = last.tailBytes;
  return recovery;
}

/** Applies one segment's records to the index; returns the bytes of its tombstones. */
function applyHeads(heads: Buffer, segment: number, index: BundleIndex, recovery: Recovery): number {
  const view = new RecordView(heads);
  const head = newHead();
  // Count the records first and grow the index once, rather than doubling it as they come.
  let records = 0;
  for (let at = 0; at + HEAD_BYTES <= heads.length && view.head(at, head); at += HEAD_BYTES + head.metaLength) records++;
  index.reserve(records);
  const f = newBundleFields();
  let tombstoneBytes = 0;
  for (let at = 0; at + HEAD_BYTES <= heads.length; at += HEAD_BYTES + head.metaLength) {
    // Heads passed their CRC (in the scan or as a summary); a misfit here means a bug, not decay.
    if (!view.head(at, head) || at + HEAD_BYTES + head.metaLength > heads.length) {
      recovery.corruptRecords++;
      return tombstoneBytes;
    }
    if (head.kind === RecordKind.tombstone) {
      const t = view.tombstoneFields(at, head.metaLength);
      if (!t) {
        recovery.corruptRecords++;
        continue;
      }
      tombstoneBytes += HEAD_BYTES + head.metaLength;
      if (t.instance > recovery.maxInstance) recovery.maxInstance = t.instance;
      const slot = index.findBytes(heads, t.idStart, t.idLength, bytesHash(heads, t.idStart, t.idLength));
      if (slot >= 0 && index.instance[slot] === t.instance) index.remove(slot);
      continue;
    }
    if (head.kind !== RecordKind.bundle) continue;
    if (!view.bundleFields(at, head.metaLength, f)) {
      recovery.corruptRecords++;
      continue;
    }
    if (f.instance > recovery.maxInstance) recovery.maxInstance = f.instance;
    const hash = bytesHash(heads, f.idStart, f.idLength);
    let slot = index.findBytes(heads, f.idStart, f.idLength, hash);
    if (slot >= 0 && index.instance[slot] !== f.instance) {
      if (index.instance[slot]! > f.instance) continue;
      recovery.superseded++;
    }
    if (slot < 0) slot = index.addBytes(heads, f.idStart, f.idLength, hash);
    index.instance[slot] = f.instance;
    index.creationMs[slot] = f.creationMs;
    index.expiryMs[slot] = f.expiryMs;
    index.priority[slot] = f.priority;
    index.state[slot] = f.state;
    index.source[slot] = index.eidBytes(heads, f.sourceStart, f.sourceLength);
    index.destination[slot] = index.eidBytes(heads, f.destinationStart, f.destinationLength);
    index.reportTo[slot] = f.reportToLength === 0 ? -1 : index.eidBytes(heads, f.reportToStart, f.reportToLength);
    index.reportTime[slot] = f.reportTime ? 1 : 0;
    index.segment[slot] = segment;
    index.offset[slot] = head.offset;
    index.recordLength[slot] = HEAD_BYTES + head.metaLength + head.dataLength;
    index.dataLength[slot] = head.dataLength;
  }
  return tombstoneBytes;
}
