// Compaction (DESIGN.md, Compaction): a full segment whose dead bytes reach compactGarbageRatio
// has its live records copied to the active segment in bounded steps, each checked on the way
// (a bad record is never copied forward with a fresh CRC); once every copy is durable the file
// is deleted. Steps never overlap.
import { bytesHash } from './bundle-index.js';
import { STORE_EVENTS } from './dictionary.js';
import { HEAD_BYTES, RecordKind, RecordView, SEGMENT_HEADER_BYTES, newBundleFields, newHead } from './format.js';
import type { Holdings } from './holdings.js';
import { checkRecord } from './record-check.js';
import type { Segment } from './segment-log.js';
import { readSegment } from './segment-reader.js';

export interface CompactionStep {
  /** The segment worked on, if any. */
  segment?: number;
  /** Bytes of live records copied from it so far. */
  copiedBytes: number;
  /** Segment files deleted by this step. */
  reclaimed: number;
  /** No segment has enough dead bytes to be worth compacting. */
  idle: boolean;
}

interface CompactionJob {
  segment: Segment;
  /** The victim's record heads, and how far the job has got through them. */
  heads: RecordView;
  cursor: number;
  copies: Array<Promise<void>>;
  copiedBytes: number;
}

export class Compactor {
  private job: CompactionJob | undefined;
  private compacting: Promise<CompactionStep> | undefined;
  /** Segments compaction leaves alone: they disagreed with the index once (never expected). */
  private readonly keep = new Set<number>();

  constructor(private readonly h: Holdings) {}

  /** One bounded step; a call while one runs returns that step. */
  step(maxBytes: number): Promise<CompactionStep> {
    this.compacting ??= this.run(maxBytes);
    return this.compacting;
  }

  /** Resolves once the step under way, if any, has ended (its outcome went to its own caller). */
  async settled(): Promise<void> {
    await this.compacting?.catch(() => undefined);
  }

  private async run(maxBytes: number): Promise<CompactionStep> {
    try {
      return await this.compactStep(maxBytes);
    } finally {
      // Cleared before the callers resume, so a caller may start the next step at once.
      this.compacting = undefined;
    }
  }

  /** Dead bytes of a full segment. Tombstones count as live while an older segment may hold what they delete. */
  private garbage(segment: Segment): number {
    const records = segment.size - SEGMENT_HEADER_BYTES;
    return records - segment.liveBytes - (this.h.segmentLog.isOldest(segment) ? 0 : segment.tombstoneBytes);
  }

  publishGarbage(): void {
    let total = 0;
    for (const segment of this.h.segmentLog.segments.values()) total += this.garbage(segment);
    this.h.ch.garbageBytes.set(total);
  }

  private chooseVictim(): Segment | undefined {
    let best: Segment | undefined;
    let bestRatio = this.h.config.compactGarbageRatio;
    for (const segment of this.h.segmentLog.segments.values()) {
      if (!segment.sealed || this.keep.has(segment.number)) continue;
      const records = segment.size - SEGMENT_HEADER_BYTES;
      const ratio = records <= 0 ? 1 : this.garbage(segment) / records;
      if (ratio >= bestRatio) {
        best = segment;
        bestRatio = ratio;
      }
    }
    return best;
  }

  private async compactStep(maxBytes: number): Promise<CompactionStep> {
    const h = this.h;
    if (!this.job) {
      this.publishGarbage();
      const victim = this.chooseVictim();
      if (!victim) return { copiedBytes: 0, reclaimed: 0, idle: true };
      const scan = await readSegment(victim.path, victim.number, { verify: 'all' });
      this.job = { segment: victim, heads: new RecordView(scan.heads), cursor: 0, copies: [], copiedBytes: 0 };
    }
    const job = this.job;
    const victim = job.segment;
    // Tombstones in the oldest segment delete records that can only be in that same segment.
    const keepTombstones = !h.segmentLog.isOldest(victim);
    const head = newHead();
    const fields = newBundleFields();
    const live: Array<{ slot: number; instance: number; offset: number; length: number }> = [];
    const heads = job.heads.bytes;
    for (let covered = 0; job.cursor < heads.length && covered < maxBytes; ) {
      const at = job.cursor;
      job.heads.head(at, head);
      const entry = heads.subarray(at, at + HEAD_BYTES + head.metaLength);
      job.cursor += entry.length;
      covered += entry.length + head.dataLength;
      if (head.kind === RecordKind.tombstone && keepTombstones) {
        job.copies.push(handled(h.appendTombstone(Buffer.from(entry))));
      } else if (head.kind === RecordKind.bundle && job.heads.bundleFields(at, head.metaLength, fields)) {
        const slot = h.index.findBytes(heads, fields.idStart, fields.idLength, bytesHash(heads, fields.idStart, fields.idLength));
        if (slot >= 0 && h.index.instance[slot] === fields.instance && !h.index.pending[slot]
          && h.index.segment[slot] === victim.number && h.index.offset[slot] === head.offset) {
          live.push({ slot, instance: fields.instance, offset: head.offset, length: entry.length + head.dataLength });
        }
      }
    }
    if (live.length > 0) {
      // One read covers this step's live records (they are in file order).
      const start = live[0]!.offset;
      const last = live[live.length - 1]!;
      const span = await h.segmentLog.read(victim, start, last.offset + last.length - start);
      for (const { slot, instance, offset, length } of live) {
        if (!h.index.live(slot) || h.index.instance[slot] !== instance) continue; // deleted while we read
        const id = h.index.id(slot);
        const record = span.subarray(offset - start, offset - start + length);
        // Never copy a bad record forward: the copy would get a fresh, matching CRC.
        const problem = checkRecord(record, victim.number, offset, id, instance);
        if (problem) {
          h.corruptBundle(slot, instance, victim, offset, problem);
          continue;
        }
        job.copies.push(handled(this.appendCopy(record, slot, instance, victim, offset)));
        job.copiedBytes += length;
      }
    }
    if (job.cursor < heads.length) return { segment: victim.number, copiedBytes: job.copiedBytes, reclaimed: 0, idle: false };
    this.job = undefined;
    await Promise.all(job.copies);
    const reclaimed = await this.reclaim(victim, job.copiedBytes);
    this.publishGarbage();
    return { segment: victim.number, copiedBytes: job.copiedBytes, reclaimed, idle: false };
  }

  private appendCopy(record: Buffer, slot: number, instance: number, from: Segment, fromOffset: number): Promise<void> {
    const ix = this.h.index;
    const head = Buffer.from(record.subarray(0, record.length - ix.dataLength[slot]!));
    const data = record.subarray(head.length);
    return new Promise<void>((resolve, reject) => {
      this.h.segmentLog.append({
        head,
        data,
        length: record.length,
        essential: false,
        durable: (segment, offset) => {
          // Moves the bundle only if it is still the same one, still where the copy came from.
          if (ix.live(slot) && ix.instance[slot] === instance && ix.segment[slot] === from.number && ix.offset[slot] === fromOffset) {
            ix.segment[slot] = segment.number;
            ix.offset[slot] = offset;
            from.liveBytes -= record.length;
            segment.liveBytes += record.length;
          }
          this.h.ch.compactedBytes.add(record.length);
          resolve();
        },
        failed: reject,
      });
    });
  }

  /** Deletes a compacted segment once nothing live is left in it; returns the files deleted. */
  private async reclaim(segment: Segment, copiedBytes: number): Promise<number> {
    if (segment.liveBytes !== 0) {
      // The index and the file disagree (never expected): keeping the file is the safe side.
      this.keep.add(segment.number);
      this.h.events.emit(STORE_EVENTS.skippedCompaction, { segment: segment.number, bytes: segment.liveBytes });
      return 0;
    }
    await this.h.segmentLog.remove(segment);
    this.h.ch.segmentsReclaimed.add();
    this.h.events.emit(STORE_EVENTS.segmentReclaimed, { segment: segment.number, copied: copiedBytes });
    return 1;
  }
}

/**
 * A copy the job awaits only when its segment is done: if the log fails meanwhile (a full
 * device) it rejects before anything listens, which must not count as an unhandled rejection.
 * The job's final await still sees the failure.
 */
function handled(copy: Promise<void>): Promise<void> {
  copy.catch(() => undefined);
  return copy;
}
