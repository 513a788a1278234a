// The persistent bundle store: durable before acknowledged. put() resolves only once the bundle
// and the metadata that finds it are written and fdatasync'd (segment-log.ts batches concurrent
// puts into one fdatasync). Deletions are tombstone records, durable the same way. open()
// rebuilds the index from the segment files alone (recovery.ts). Expiry and compaction do a
// bounded amount of work per call, so an executive task can stay within its budget.
// The store never decodes a bundle: it keeps opaque bytes and the caller's metadata record.
// This class composes the store's roles, one module each (DESIGN.md, Modules); format, policies
// and requirements: DESIGN.md beside this file.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Fields } from '../../config/fields.js';
import type { Logger } from '../../log.js';
import type { Channel, TelemetryRegistry } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import { Compactor, type CompactionStep } from './compaction.js';
import { parseStoreConfig, type StoreConfig } from './config.js';
import { DeletionListeners, type DeletedBundle } from './deletion-listeners.js';
import { StoreClosedError, StoreCorruptError, StoreMetaError, StoreNoSpaceError, StoreReason } from './errors.js';
import { expireBundles } from './expire.js';
import { Disposition, SEGMENT_HEADER_BYTES } from './format.js';
import { Holdings } from './holdings.js';
import { recoverHoldings, saveIndex } from './lifecycle.js';
import { acquireLock, releaseLock } from './lock.js';
import type { BundleMeta, StoredBundle } from './meta.js';
import { queuePut, type StoredRef } from './put.js';
import { quarantine, slotsIn, type SegmentRange } from './quarantine.js';
import { checkRecord } from './record-check.js';
import type { Segment } from './segment-files.js';

export type { CompactionStep } from './compaction.js';
export type { DeletedBundle } from './deletion-listeners.js';
export type { StoredRef } from './put.js';
export type { SegmentRange } from './quarantine.js';

/** A segment as the store writes it: its number, file, durable end of records, and whether sealed. */
export type WrittenSegment = Pick<Segment, 'number' | 'path' | 'size' | 'sealed'>;

export interface BundleStoreOptions extends Partial<StoreConfig> {
  dir: string;
  capacityBytes: number;
  log: Logger;
  tlm: TelemetryRegistry;
  events: EventLog;
  /** Milliseconds that time the recovery (dtn.store.recoveryMs); performance.now when absent (a node in lockstep gives its virtual clock). */
  nowMs?: () => number;
}

/** Where a node keeps its bundles: `<dataDir>/bundles`. */
export function storeDirectory(dataDir: string): string {
  return join(dataDir, 'bundles');
}

export class BundleStore {
  private readonly h: Holdings;
  private readonly deletions: DeletionListeners;
  private readonly compactor: Compactor;

  private constructor(readonly dir: string, readonly config: StoreConfig, private readonly lockPath: string, log: Logger, tlm: TelemetryRegistry, events: EventLog) {
    this.h = new Holdings(dir, config, log, tlm, events);
    this.deletions = new DeletionListeners(this.h);
    this.compactor = new Compactor(this.h);
  }

  /** Opens (creating if need be) the store in `dir` and recovers its index from the files. */
  static async open(options: BundleStoreOptions): Promise<BundleStore> {
    const config = parseStoreConfig(new Fields('BundleStore.open'), {
      capacityBytes: options.capacityBytes,
      perSourceQuotaBytes: options.perSourceQuotaBytes,
      segmentBytes: options.segmentBytes,
      maxBatchBytes: options.maxBatchBytes,
      commitDelayMs: options.commitDelayMs,
      compactGarbageRatio: options.compactGarbageRatio,
      reserveBytes: options.reserveBytes,
      spareSegments: options.spareSegments,
    }, 'store');
    await mkdir(options.dir, { recursive: true });
    const lock = acquireLock(options.dir);
    const store = new BundleStore(options.dir, config, lock, options.log, options.tlm, options.events);
    try {
      await recoverHoldings(store.h, store.compactor, options.nowMs);
    } catch (error) {
      await store.h.segmentLog.closeFiles();
      releaseLock(lock);
      throw error;
    }
    return store;
  }

  // ---- Queries ----

  /** Whether a bundle with this id is stored, or being stored (duplicate suppression). */
  has(id: string): boolean {
    return this.h.index.find(id) >= 0;
  }

  /** The metadata of a durable bundle. */
  meta(id: string): StoredBundle | undefined {
    const slot = this.h.index.find(id);
    return slot < 0 || this.h.index.pending[slot] ? undefined : this.h.index.bundle(slot);
  }

  /** Every durable bundle's metadata (allocates one object per bundle). */
  list(): StoredBundle[] {
    const ix = this.h.index;
    const out: StoredBundle[] = [];
    for (let slot = 0; slot < ix.highWater; slot++) {
      if (ix.live(slot) && !ix.pending[slot]) out.push(ix.bundle(slot));
    }
    return out;
  }

  /** Durable bundles whose records overlap bytes [start, end) of a segment (a scan of the index: O(n)). */
  bundlesIn(range: SegmentRange): StoredBundle[] {
    return slotsIn(this.h, range).map((slot) => this.h.index.bundle(slot));
  }

  /** Bundles stored, including puts not yet durable. */
  get count(): number {
    return this.h.index.count;
  }

  /** Bytes of bundle records stored: what capacity counts. */
  get bytes(): number {
    return this.h.usedBytes;
  }

  /**
   * The bytes of a durable bundle, checked against both its CRCs; undefined if not stored.
   * A bundle that fails a check is deleted (reason 0) and StoreCorruptError thrown: a corrupt
   * bundle is never returned.
   */
  async get(id: string): Promise<Uint8Array | undefined> {
    if (this.h.closed) throw new StoreClosedError();
    const ix = this.h.index;
    const slot = ix.find(id);
    if (slot < 0 || ix.pending[slot]) return undefined;
    const segment = this.h.segmentLog.segments.get(ix.segment[slot]!)!;
    const offset = ix.offset[slot]!;
    const instance = ix.instance[slot]!;
    const dataLength = ix.dataLength[slot]!;
    const record = await this.h.segmentLog.read(segment, offset, ix.recordLength[slot]!);
    const problem = checkRecord(record, segment.number, offset, id, instance);
    if (problem) {
      this.h.corruptBundle(slot, instance, segment, offset, problem);
      throw new StoreCorruptError(segment.path, offset, problem, id);
    }
    return record.subarray(record.length - dataLength);
  }

  // ---- Writes ----

  /**
   * Stores a bundle; resolves once it is durable. The store keeps a reference to `bytes` until
   * then: they must not change (if they did, the CRC taken now would catch it on every read).
   * Refusals (StoreRefusedError: full, over quota, too large) carry reason 4, depleted storage.
   * `essential` puts (the agent's status reports) are written also while the device is full,
   * from the store's reserve; others are refused then (StoreNoSpaceError, reason 4).
   */
  put(meta: BundleMeta, bytes: Uint8Array, options: { essential?: boolean } = {}): Promise<StoredRef> {
    // Not an async function: that would wrap the returned promise in another one, a cost paid
    // on every put. A refusal still arrives as a rejection.
    try {
      return queuePut(this.h, this.deletions, meta, bytes, options.essential ?? false);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes a bundle with an RFC 9171 reason code; resolves true once the deletion is durable, false if not stored. */
  async delete(id: string, reason: number): Promise<boolean> {
    if (!Number.isInteger(reason) || reason < 0 || reason > 255) throw new StoreMetaError('reason', 'an RFC 9171 status report reason code (0-255)');
    return this.remove(id, Disposition.deleted, reason, this.h.ch.deleted);
  }

  /** Removes a bundle the next hop acknowledged; resolves true once durable. */
  async markForwarded(id: string): Promise<boolean> {
    return this.remove(id, Disposition.forwarded, StoreReason.noInformation, this.h.ch.forwarded);
  }

  /** Removes a bundle delivered to a local service; resolves true once durable. */
  async markDelivered(id: string): Promise<boolean> {
    return this.remove(id, Disposition.delivered, StoreReason.noInformation, this.h.ch.delivered);
  }

  private async remove(id: string, disposition: Disposition, reason: number, counter: Channel): Promise<boolean> {
    this.h.checkWritable();
    const slot = this.h.index.find(id);
    if (slot < 0) return false;
    counter.add();
    await this.h.dispose(slot, disposition, reason);
    return true;
  }

  /**
   * Deletes at most `limit` bundles whose lifetime ended before `nowMs` (reason 1), earliest
   * first, and resolves with them once their deletions are durable (the agent reports them).
   * The index work is O(limit log n); call again while it returns `limit` bundles.
   */
  expire(nowMs: number, limit = 64): Promise<StoredBundle[]> {
    return expireBundles(this.h, this.deletions, nowMs, limit);
  }

  /**
   * Quarantines the bundles in a byte range that store scrubbing could not rebuild (scrub.ts):
   * those whose records there fail their checks are deleted with reason 8 (block unintelligible),
   * counted, evented and handed to the deletion listeners; resolves with them once durable.
   */
  quarantine(range: SegmentRange): Promise<StoredBundle[]> {
    return quarantine(this.h, this.deletions, range);
  }

  /**
   * One bounded step of compaction: reads about `maxBytes` of the full segment with the most
   * dead bytes, copies its live records to the active segment, and once every copy is durable
   * deletes the file. Steps never overlap: a call while one runs returns that step.
   */
  compact(maxBytes = 1024 * 1024): Promise<CompactionStep> {
    try {
      this.h.checkWritable();
      this.h.checkRoom('compaction'); // its copies are not essential
    } catch (error) {
      return Promise.reject(error);
    }
    return this.compactor.step(maxBytes);
  }

  // ---- Space ----

  /** Whether bundles are refused because the device is full (resume() probes for space). */
  get outOfSpace(): boolean {
    return this.h.segmentLog.lowSpace || this.h.segmentLog.failure instanceof StoreNoSpaceError;
  }

  /**
   * After the device filled: probes for room for a batch and a new segment and, if it is there,
   * takes writes again (STORE_SPACE_RETURNED). False while the device is still full or the store
   * did not fail for lack of space. The maintenance task calls it.
   */
  async resume(): Promise<boolean> {
    if (this.h.closed || !this.outOfSpace) return false;
    return this.h.segmentLog.resume(this.config.maxBatchBytes + SEGMENT_HEADER_BYTES);
  }

  /**
   * Resolves once what is queued is written: the node's health monitor (flight/exec/health.ts)
   * pings the flush path with it, so a flush that hangs stops the watchdog's kicks.
   */
  flushed(): Promise<void> {
    return this.h.segmentLog.drain();
  }

  /**
   * Tells `listener` of every bundle the store deletes by itself, evicted (reason 4), expired
   * by expire() (reason 1) or quarantined (reason 8, without bytes), with its bytes, so that the
   * agent can send the "deleted" status report the bundle asked for.
   */
  onDeleted(listener: (deleted: DeletedBundle) => void): void {
    this.deletions.add(listener);
  }

  /**
   * Tells `listener` (one) of the active segment's durable end after each batch, and of each
   * seal: store scrubbing (scrub.ts) makes a segment's parity while it is written.
   */
  onSegmentWritten(listener: (segment: WrittenSegment) => void): void {
    this.h.segmentLog.onWritten = listener;
  }

  /** Writes what is queued, waits for it, closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.h.closed) return;
    this.h.closed = true;
    try {
      await this.compactor.settled();
      await this.h.segmentLog.drain();
      await this.h.segmentLog.close();
      if (!this.h.segmentLog.failure && !this.h.segmentLog.lowSpace) await saveIndex(this.h);
    } finally {
      releaseLock(this.lockPath);
    }
  }
}
