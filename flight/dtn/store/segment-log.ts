// The segment files as a write-ahead log with group commit. Records queue up; one batch at a
// time is laid out at the end of the active segment, written durably, and only then are its
// records settled (their promises resolve). While a batch syncs, the next one gathers, so
// concurrent puts share a sync without a timer. The active segment is open with O_DSYNC: a write
// returns once its data (and the file size that reaches it) is on disk, as write + fdatasync
// would, but in one trip to the thread pool instead of two. Each trip ends in a callback that
// waits for the main thread, which is busy validating the next batch, so halving them shortens
// every commit (10% more bundles/s in dtn-ingest.bench.ts). A segment about to outgrow
// segmentBytes is sealed (summary + trailer) and a new one created (header written, directory
// fsync'd) before the batch goes in. Any failed write or sync fails the log for good:
// after a failed fsync the kernel may have dropped the dirty pages, so only a reopen (recovery
// reading what is really on disk) can say what survived. A full device is the exception: what
// failed was never acknowledged, and every acknowledged batch was durable before it, so once
// a probe shows space again, cutting the active segment back to its last durable batch and
// fdatasyncing it is all a resume needs (resume()). Before that, the log gives up a reserve file
// it keeps for the purpose and goes on in low-space mode: only essential records (tombstones,
// status reports) are written, so the node can still delete and report while it refuses bundles.
import { constants } from 'node:fs';
import { open, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Channel } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import type { StoreConfig } from './config.js';
import { STORE_EVENTS } from './dictionary.js';
import { StoreIoError, StoreNoSpaceError, isNoSpace } from './errors.js';
import { SEGMENT_HEADER_BYTES, placeHead, segmentFileName, segmentHeader, summaryHead, trailer, voidRecordHead } from './format.js';
import type { RecoveredSegment } from './recovery.js';
import { fsyncDirectoryAsync } from '../../durable.js';
import { closeSegment, handleOf, readSegmentBytes, writeAll, type Segment } from './segment-files.js';
import { HeadLog } from './segment-reader.js';
import { SpaceReserve } from './space.js';
import { SpareSegments } from './spares.js';

export type { Segment } from './segment-files.js';

/** How the active segment is opened: every write durable when it returns (see above). */
const APPEND_FLAGS = constants.O_RDWR | constants.O_DSYNC;

export interface QueuedRecord {
  /** Head and metadata; placeHead() stamps the position when the batch is laid out. */
  head: Buffer;
  data: Uint8Array | undefined;
  /** head.length + data length. */
  length: number;
  /** Written also in low-space mode, from the reserve: tombstones and status reports. */
  essential: boolean;
  /** Called once the record is durable at `offset` of `segment`. */
  durable(segment: Segment, offset: number): void;
  failed(error: Error): void;
}

type LogChannels = Record<'commits' | 'commitRecordsLast' | 'queuedBytes' | 'segments' | 'ioErrors' | 'tornBytes'
  | 'noSpace' | 'noSpaceFaults' | 'spaceProbes' | 'spareSegments' | 'segmentsRecycled', Channel>;

export class SegmentLog {
  /** Ascending by number (insertion order), so the first is the oldest. */
  readonly segments = new Map<number, Segment>();
  failure: StoreIoError | undefined;
  /** Where batches go; undefined when its creation failed for lack of space (the next batch creates it). */
  private active: Segment | undefined;
  /** A segment being created: if that fails, a resume removes what was made of it. */
  private creating: Segment | undefined;
  private readonly reserve: SpaceReserve;
  private readonly spares: SpareSegments;
  /** Highest segment number used or seen, in a file or a spare's header: numbers are never reused. */
  private highestNumber = 0;
  /** The reserve was given up: only essential records are written until space returns. */
  lowSpace = false;
  private activeHeads = new HeadLog();
  /** The active segment still ends with the summary and trailer a clean close wrote. */
  private unsealOnWrite = false;
  /**
   * Told after each durable batch (bytes below `size` of the active segment never change again
   * in this session) and after each seal: store scrubbing makes parity as a segment is written.
   */
  onWritten: ((segment: Readonly<Segment>) => void) | undefined;
  private queue: QueuedRecord[] = [];
  private queuedBytes = 0;
  /** A flush loop is running; it clears this in the same step as it finds the queue empty. */
  private flushing = false;
  private flushed: Promise<void> = Promise.resolve();
  /** The pending start of the next flush: an Immediate without commitDelayMs, a Timeout with it. */
  private timer: NodeJS.Immediate | NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly config: Pick<StoreConfig, 'segmentBytes' | 'maxBatchBytes' | 'commitDelayMs' | 'reserveBytes' | 'spareSegments'>,
    private readonly ch: LogChannels,
    private readonly events: EventLog,
  ) {
    this.reserve = new SpaceReserve(dir, config.reserveBytes, events);
    this.spares = new SpareSegments(dir, config.spareSegments, ch.spareSegments);
  }

  /**
   * Takes over the segments recovery found. The last one is appended to if its header is sound
   * and it has room. If the store was not closed cleanly, its torn tail is cut off and what is
   * kept is fdatasync'd before anything new is written (a killed process leaves its last writes
   * in the page cache, not necessarily on disk), so only the newest batch can ever be torn: the
   * premise of the last-batch check in segment-reader.ts. If it was sealed by a clean close, its
   * summary and trailer are cut off just before the first write (they are written again when it
   * fills or the store closes), so opening a cleanly closed store writes nothing; that first
   * batch makes the cut durable first. Segment files were created durably (directory fsync'd)
   * before any record in them was acknowledged, so the directory needs no sync here either.
   * A store being created (no segment yet) writes its spares first (spares.ts).
   */
  async start(found: readonly RecoveredSegment[]): Promise<void> {
    await this.reserve.hold();
    await this.spares.list();
    if (found.length === 0 && this.spares.count === 0) await this.spares.format(this.config.segmentBytes);
    for (const s of found) {
      this.segments.set(s.segment, {
        number: s.segment, path: s.path, size: s.recordsEnd, sealed: true, staleTail: false, liveBytes: 0, tombstoneBytes: s.tombstoneBytes,
        handle: undefined, readers: 0, removed: false,
      });
    }
    const last = found[found.length - 1];
    this.highestNumber = Math.max(last?.segment ?? 0, this.spares.highestOrigin);
    if (last && last.headerValid && (!last.sealed || last.recordsEnd < this.config.segmentBytes)) {
      const segment = this.segments.get(last.segment)!;
      const handle = await open(segment.path, APPEND_FLAGS);
      segment.handle = Promise.resolve(handle);
      segment.sealed = false;
      if (last.sealed) {
        this.unsealOnWrite = true;
      } else {
        if (last.tailBytes > 0) {
          await handle.truncate(last.recordsEnd);
          this.ch.tornBytes.add(last.tailBytes);
          this.events.emit(STORE_EVENTS.tornTail, { segment: last.segment, bytes: last.tailBytes });
        } else {
          // A recycled segment keeps the bytes past its records: no record of it is among them.
          segment.staleTail = last.fileSize > last.recordsEnd;
        }
        // A torn record before good ones stays, as a void record: once later batches follow it,
        // its valid head and bad data would otherwise pass the next recovery's checks.
        for (const { offset, length } of last.torn) {
          await writeAll(handle, [voidRecordHead(last.segment, offset, length)], offset);
          this.ch.tornBytes.add(length);
        }
        await handle.datasync();
      }
      this.activeHeads.append(last.heads!);
      this.active = segment;
    } else {
      let next = this.highestNumber + 1;
      if (last && !last.headerValid && !last.sealed && last.recordsEnd === SEGMENT_HEADER_BYTES) {
        // Its creation was cut short and it holds nothing: start it again.
        this.segments.delete(last.segment);
        await unlink(last.path);
        next = Math.max(last.segment, this.spares.highestOrigin + 1);
      }
      try {
        await this.create(next);
      } catch (error) {
        // A store opened on a full device serves what it holds and refuses bundles until space
        // returns; with its reserve given up it still writes deletions and status reports.
        if (!isNoSpace(error)) throw error;
        await this.dropCreating();
        if (!(await this.useReserve('segment create', error))) {
          this.fail('segment create', error);
        } else {
          try {
            await this.create(next);
          } catch (again) {
            if (!isNoSpace(again)) throw again;
            await this.dropCreating();
            this.fail('segment create', again);
          }
        }
      }
    }
    this.ch.segments.set(this.segments.size);
  }

  /**
   * After a full device: probes for `probeBytes` of space (a file written, fdatasync'd and
   * removed) and, if they are there, cuts the active segment back to its last durable batch,
   * removes a segment whose creation failed, and takes writes again. False while the device is
   * still full; throws on any other failure. Does nothing unless the log failed for lack of space.
   */
  async resume(probeBytes: number): Promise<boolean> {
    const failed = this.failure instanceof StoreNoSpaceError;
    if ((!failed && !this.lowSpace) || this.flushing) return false;
    this.ch.spaceProbes.add();
    const bytes = probeBytes + this.reserve.bytes;
    if (!(await this.reserve.probe(bytes, isNoSpace))) return false;
    if (failed) {
      await this.dropCreating();
      await this.cutBack();
      this.failure = undefined;
    }
    if (this.reserve.bytes > 0 && !(await this.reserve.hold())) {
      // Space for a batch but no longer for the reserve as well (it filled again meanwhile).
      this.lowSpace = true;
      return failed;
    }
    this.lowSpace = false;
    this.ch.noSpace.set(0);
    this.events.emit(STORE_EVENTS.spaceReturned, { probeBytes: bytes });
    return true;
  }

  /** Cuts the active segment back to its last durable batch: what a failed batch left goes. */
  private async cutBack(): Promise<void> {
    const active = this.active;
    if (!active || active.sealed || this.unsealOnWrite) return;
    const handle = await active.handle!;
    await handle.truncate(active.size);
    await handle.datasync();
    active.staleTail = false;
  }

  /**
   * The device is full: gives up the reserve, cuts back what the failed write left and goes on
   * in low-space mode. False if there was no reserve to give up.
   */
  private async useReserve(operation: string, error: unknown): Promise<boolean> {
    if (!(await this.reserve.release())) return false;
    await this.dropCreating();
    await this.cutBack();
    this.lowSpace = true;
    this.ch.noSpaceFaults.add();
    this.ch.noSpace.set(1);
    this.events.emit(STORE_EVENTS.noSpace, { operation, error: `${(error as Error).message}; reserve of ${this.reserve.bytes} bytes given up for deletions and status reports` });
    return true;
  }

  /** Removes what a failed create() left: the file and its place in the segment map. */
  private async dropCreating(): Promise<void> {
    const segment = this.creating;
    if (!segment) return;
    this.creating = undefined;
    this.segments.delete(segment.number);
    this.ch.segments.set(this.segments.size);
    await closeSegment(segment);
    await rm(segment.path, { force: true });
  }

  isOldest(segment: Segment): boolean {
    return this.segments.keys().next().value === segment.number;
  }

  /** Queues a record for the next batch. */
  append(record: QueuedRecord): void {
    this.queue.push(record);
    this.queuedBytes += record.length;
    this.ch.queuedBytes.set(this.queuedBytes);
    if (this.flushing) return; // the running flush takes it next
    if (this.queuedBytes >= this.config.maxBatchBytes) {
      this.startFlush();
    } else if (this.timer === undefined) {
      // Let the records queued in this turn of the event loop (and commitDelayMs more) join.
      this.timer = this.config.commitDelayMs === 0
        ? setImmediate(() => this.startFlush())
        : setTimeout(() => this.startFlush(), this.config.commitDelayMs);
    }
  }

  /** Writes everything queued and waits for it. */
  async drain(): Promise<void> {
    if (this.timer !== undefined) this.startFlush();
    while (this.flushing) await this.flushed;
  }

  /** Reads `length` bytes at `offset` of a segment, keeping it open meanwhile; fewer if the file ends first. */
  read(segment: Segment, offset: number, length: number): Promise<Buffer> {
    return readSegmentBytes(segment, offset, length);
  }

  /**
   * Deletes a segment file durably, or makes it a spare while there are fewer than configured.
   * Reads already under way finish on the open handle; a file with reads under way is never
   * recycled, since it is about to be written over.
   */
  async remove(segment: Segment): Promise<void> {
    // A read that found the segment may not have opened it yet: open it for that read before
    // the name goes (an open file stays readable after unlink).
    if (segment.readers > 0) await handleOf(segment);
    this.segments.delete(segment.number);
    segment.removed = true;
    this.ch.segments.set(this.segments.size);
    try {
      if (segment.readers === 0 && this.spares.wanted()) {
        await closeSegment(segment);
        await this.spares.give(segment.path, segment.number);
        this.ch.segmentsRecycled.add();
      } else {
        await unlink(segment.path);
      }
      await fsyncDirectoryAsync(this.dir);
    } catch (error) {
      throw this.fail('segment delete', error);
    }
    if (segment.readers === 0) await closeSegment(segment);
  }

  /**
   * Seals the active segment (so that the next open reads summaries only) and closes every
   * file. Call drain() first. A failed log is not sealed: a reopen scans it.
   */
  async close(): Promise<void> {
    try {
      const active = this.active;
      if (active && !this.failure && !active.sealed && !this.unsealOnWrite && active.size > SEGMENT_HEADER_BYTES) {
        try {
          await this.seal(active);
        } catch (error) {
          // On a full device the segment stays unsealed, as after a crash: the next open scans it.
          if (!isNoSpace(error)) throw error;
          this.fail('seal', error);
        }
      }
    } finally {
      await this.closeFiles();
    }
  }

  /** Closes every file, writing nothing (an open that failed half way). */
  async closeFiles(): Promise<void> {
    for (const segment of this.segments.values()) await closeSegment(segment);
  }

  private startFlush(): void {
    if (this.timer !== undefined) {
      // Each kind must go to its own clear function: clearImmediate on a Timeout corrupts Node's immediate queue.
      if (this.config.commitDelayMs === 0) clearImmediate(this.timer as NodeJS.Immediate);
      else clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = undefined;
    }
    if (this.flushing) return;
    this.flushing = true;
    this.flushed = this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        let batch = this.takeBatch();
        if (this.lowSpace && !this.failure) batch = this.essentialOnly(batch, 'write');
        if (batch.length === 0) continue;
        if (!this.failure) {
          try {
            await this.writeBatch(batch);
            continue;
          } catch (error) {
            if (isNoSpace(error) && !this.lowSpace && (await this.tryUseReserve('write', error))) {
              // The essential records of the batch go again, first, from the reserve.
              const again = this.essentialOnly(batch, 'write');
              this.queue.unshift(...again);
              for (const record of again) this.queuedBytes += record.length;
              continue;
            }
            this.fail('write', error);
          }
        }
        for (const record of batch) record.failed(this.failure!);
      }
    } finally {
      // No await between the empty-queue check and this: a record appended after it starts a new loop.
      this.flushing = false;
    }
  }

  /** useReserve, where a failure to give it up fails the log as any write failure does. */
  private async tryUseReserve(operation: string, error: unknown): Promise<boolean> {
    try {
      return await this.useReserve(operation, error);
    } catch (failure) {
      this.fail(operation, failure);
      return false;
    }
  }

  /** In low-space mode: refuses the records that are not essential, returns the others. */
  private essentialOnly(batch: QueuedRecord[], operation: string): QueuedRecord[] {
    const kept: QueuedRecord[] = [];
    for (const record of batch) {
      if (record.essential) kept.push(record);
      else record.failed(new StoreNoSpaceError(operation, new Error('the device is full: only deletions and status reports are written')));
    }
    return kept;
  }

  private takeBatch(): QueuedRecord[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes + this.queue[n]!.length <= this.config.maxBatchBytes)) {
      bytes += this.queue[n]!.length;
      n++;
    }
    this.queuedBytes -= bytes;
    this.ch.queuedBytes.set(this.queuedBytes);
    return this.queue.splice(0, n);
  }

  /** Lays out and durably writes one batch at the end of the active segment, then settles it. */
  private async writeBatch(batch: QueuedRecord[]): Promise<void> {
    let bytes = 0;
    for (const record of batch) bytes += record.length;
    let segment = this.active;
    if (segment && this.unsealOnWrite) {
      // O_DSYNC covers writes, not a truncation: the cut is made durable on its own.
      const handle = await segment.handle!;
      await handle.truncate(segment.size);
      await handle.datasync();
      this.unsealOnWrite = false;
    }
    if (segment && !segment.sealed && segment.size > SEGMENT_HEADER_BYTES && segment.size + bytes > this.config.segmentBytes) {
      await this.seal(segment);
    }
    // No active segment (its creation found the device full) or one sealed before that happened.
    if (!segment || segment.sealed) segment = await this.create(this.nextSegmentNumber());
    const batchOffset = segment.size;
    const buffers: Uint8Array[] = [];
    const offsets: number[] = [];
    let at = batchOffset;
    for (const record of batch) {
      placeHead(record.head, segment.number, at, batchOffset);
      offsets.push(at);
      buffers.push(record.head);
      if (record.data) buffers.push(record.data);
      at += record.length;
    }
    const handle = await segment.handle!;
    await writeAll(handle, buffers, batchOffset);
    segment.size = at;
    this.onWritten?.(segment);
    this.ch.commits.add();
    this.ch.commitRecordsLast.set(batch.length);
    for (const [i, record] of batch.entries()) {
      this.activeHeads.append(record.head);
      record.durable(segment, offsets[i]!);
    }
  }

  private fail(operation: string, error: unknown): StoreIoError {
    if (!this.failure) {
      if (isNoSpace(error)) {
        this.failure = new StoreNoSpaceError(operation, error);
        this.ch.noSpaceFaults.add();
        this.ch.noSpace.set(1);
        this.events.emit(STORE_EVENTS.noSpace, { operation, error: (error as Error).message });
      } else {
        this.failure = new StoreIoError(operation, error);
        this.ch.ioErrors.add();
        this.events.emit(STORE_EVENTS.ioFailed, { operation, error: this.failure.message });
      }
    }
    return this.failure;
  }

  private nextSegmentNumber(): number {
    return this.highestNumber + 1;
  }

  /**
   * Ends the active segment with its summary and trailer, durably (O_DSYNC). The trailer must
   * end the file, so a recycled segment's stale bytes are cut first, durably: a crash after
   * that leaves a segment that ends with its records, as an appended one does.
   */
  private async seal(segment: Segment): Promise<void> {
    const handle = await segment.handle!;
    if (segment.staleTail) {
      await handle.truncate(segment.size);
      await handle.datasync();
      segment.staleTail = false;
    }
    const summary = this.activeHeads.bytes();
    const head = summaryHead(summary);
    placeHead(head, segment.number, segment.size, segment.size);
    await writeAll(handle, [head, summary, trailer(segment.number, segment.size)], segment.size);
    segment.sealed = true;
    this.activeHeads = new HeadLog();
    this.onWritten?.(segment);
  }

  /**
   * Creates segment `number` durably (header written with O_DSYNC, directory fsync'd) and makes
   * it active: from a spare if there is one (its records then overwrite, spares.ts), else a new file.
   */
  private async create(number: number): Promise<Segment> {
    const path = join(this.dir, segmentFileName(number));
    this.highestNumber = Math.max(this.highestNumber, number);
    const { handle, recycled } = await this.spares.openSegment(path, APPEND_FLAGS);
    const segment: Segment = {
      number, path, size: SEGMENT_HEADER_BYTES, sealed: false, staleTail: recycled, liveBytes: 0, tombstoneBytes: 0,
      handle: Promise.resolve(handle), readers: 0, removed: false,
    };
    this.segments.set(number, segment);
    this.ch.segments.set(this.segments.size);
    this.creating = segment;
    await writeAll(handle, [segmentHeader(number, recycled)], 0);
    await fsyncDirectoryAsync(this.dir);
    this.creating = undefined;
    this.active = segment;
    return segment;
  }
}
