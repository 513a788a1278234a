// The persistent bundle store: durable before acknowledged. put() resolves only once the bundle
// and the metadata that finds it are written and fdatasync'd (segment-log.ts batches concurrent
// puts into one fdatasync). Deletions are tombstone records, durable the same way. open()
// rebuilds the index from the segment files alone (recovery.ts). Expiry and compaction do a
// bounded amount of work per call, so an executive task can stay within its budget.
// The store never decodes a bundle: it keeps opaque bytes and the caller's metadata record.
// Format, policies and requirements: DESIGN.md beside this file.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Fields } from '../../config/fields.js';
import type { Logger } from '../../log.js';
import type { Channel, TelemetryRegistry } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import { BundleIndex, bytesHash } from './bundle-index.js';
import { parseStoreConfig, type StoreConfig } from './config.js';
import { STORE_CHANNELS, STORE_EVENTS } from './dictionary.js';
import {
  StoreClosedError, StoreCorruptError, StoreDuplicateError, StoreMetaError, StoreNoSpaceError, StoreReason, StoreRefusedError,
} from './errors.js';
import { ExpiryHeap } from './expiry-heap.js';
import {
  Disposition, HEAD_BYTES, RecordKind, RecordView, SEGMENT_HEADER_BYTES, bundleHead, crc32c, newBundleFields, newHead, tombstoneHead,
} from './format.js';
import { acquireLock, releaseLock } from './lock.js';
import { PRIORITIES, STATES, validateMeta, type BundleMeta, type StoredBundle } from './meta.js';
import { encodeSnapshot, removeSnapshot, saveSnapshot } from './index-snapshot.js';
import { recoverIndex } from './recovery.js';
import { SegmentLog, type Segment } from './segment-log.js';
import { readSegment } from './segment-reader.js';

/** Largest bundle the store takes (offsets in a segment are u32; a read holds it in one Buffer). */
export const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

export interface BundleStoreOptions extends Partial<StoreConfig> {
  dir: string;
  capacityBytes: number;
  log: Logger;
  tlm: TelemetryRegistry;
  events: EventLog;
}

export interface StoredRef {
  id: string;
  size: number;
  /** Lower-priority bundles deleted to make room: the agent reports them (reason 4, depleted storage). */
  evicted: StoredBundle[];
}

/** A bundle the store deleted by itself (evicted, swept at expiry, quarantined), for the agent's status report. */
export interface DeletedBundle extends StoredBundle {
  /** RFC 9171 status report reason code: 4 evicted (depleted storage), 1 expired, 8 quarantined (block unintelligible). */
  reason: number;
  /** Its bytes, checked against both CRCs; undefined if they could not be read back (logged) or were damaged (quarantined). */
  bytes: Uint8Array | undefined;
}

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

/** Where a node keeps its bundles: `<dataDir>/bundles`. */
export function storeDirectory(dataDir: string): string {
  return join(dataDir, 'bundles');
}

interface CompactionJob {
  segment: Segment;
  /** The victim's record heads, and how far the job has got through them. */
  heads: RecordView;
  cursor: number;
  copies: Array<Promise<void>>;
  copiedBytes: number;
}

type Channels = { [K in keyof typeof STORE_CHANNELS]: Channel };

export class BundleStore {
  private readonly index = new BundleIndex();
  /** One expiry-ordered heap per priority class. */
  private readonly heaps = PRIORITIES.map(() => new ExpiryHeap(this.index));
  private readonly segmentLog: SegmentLog;
  private nextInstance = 1;
  private usedBytes = 0;
  private readonly classBytes = PRIORITIES.map(() => 0);
  /** Bytes stored per source EID, by its interned number. */
  private readonly sourceBytes: number[] = [];
  private closed = false;
  private job: CompactionJob | undefined;
  private compacting: Promise<CompactionStep> | undefined;
  /** Segments compaction leaves alone: they disagreed with the index once (never expected). */
  private readonly keep = new Set<number>();
  private readonly ch: Channels;
  private readonly deletedListeners: Array<(deleted: DeletedBundle) => void> = [];
  /** Bundles deleted by the store before their own put was durable: their put hands over the bytes. */
  private readonly deletedUnwritten = new Map<number, Omit<DeletedBundle, 'bytes'>>();

  private constructor(
    readonly dir: string,
    readonly config: StoreConfig,
    private readonly lockPath: string,
    private readonly log: Logger,
    tlm: TelemetryRegistry,
    private readonly events: EventLog,
  ) {
    this.ch = tlm.defineAll(STORE_CHANNELS);
    this.segmentLog = new SegmentLog(dir, config, this.ch, events);
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
    }, 'store');
    await mkdir(options.dir, { recursive: true });
    const lock = acquireLock(options.dir);
    const store = new BundleStore(options.dir, config, lock, options.log, options.tlm, options.events);
    try {
      await store.recover();
    } catch (error) {
      await store.segmentLog.closeFiles();
      releaseLock(lock);
      throw error;
    }
    return store;
  }

  // ---- Queries ----

  /** Whether a bundle with this id is stored, or being stored (duplicate suppression). */
  has(id: string): boolean {
    return this.index.find(id) >= 0;
  }

  /** The metadata of a durable bundle. */
  meta(id: string): StoredBundle | undefined {
    const slot = this.index.find(id);
    return slot < 0 || this.index.pending[slot] ? undefined : this.index.bundle(slot);
  }

  /** Every durable bundle's metadata (allocates one object per bundle). */
  list(): StoredBundle[] {
    const out: StoredBundle[] = [];
    for (let slot = 0; slot < this.index.highWater; slot++) {
      if (this.index.live(slot) && !this.index.pending[slot]) out.push(this.index.bundle(slot));
    }
    return out;
  }

  /** Bundles stored, including puts not yet durable. */
  get count(): number {
    return this.index.count;
  }

  /** Bytes of bundle records stored: what capacity counts. */
  get bytes(): number {
    return this.usedBytes;
  }

  /**
   * The bytes of a durable bundle, checked against both its CRCs; undefined if not stored.
   * A bundle that fails a check is deleted (reason 0) and StoreCorruptError thrown: a corrupt
   * bundle is never returned.
   */
  async get(id: string): Promise<Uint8Array | undefined> {
    if (this.closed) throw new StoreClosedError();
    const slot = this.index.find(id);
    if (slot < 0 || this.index.pending[slot]) return undefined;
    const segment = this.segmentLog.segments.get(this.index.segment[slot]!)!;
    const offset = this.index.offset[slot]!;
    const instance = this.index.instance[slot]!;
    const dataLength = this.index.dataLength[slot]!;
    const record = await this.segmentLog.read(segment, offset, this.index.recordLength[slot]!);
    const problem = checkRecord(record, segment.number, offset, id, instance);
    if (problem) {
      this.corruptBundle(slot, instance, segment, offset, problem);
      throw new StoreCorruptError(segment.path, offset, problem, id);
    }
    return record.subarray(record.length - dataLength);
  }

  /** Durable bundles whose records overlap bytes [start, end) of a segment (a scan of the index: O(n)). */
  bundlesIn(segment: number, start: number, end: number): StoredBundle[] {
    return this.slotsIn(segment, start, end).map((slot) => this.index.bundle(slot));
  }

  private slotsIn(segment: number, start: number, end: number): number[] {
    const ix = this.index;
    const slots: number[] = [];
    for (let slot = 0; slot < ix.highWater; slot++) {
      if (!ix.live(slot) || ix.pending[slot] || ix.segment[slot] !== segment) continue;
      const offset = ix.offset[slot]!;
      if (offset < end && offset + ix.recordLength[slot]! > start) slots.push(slot);
    }
    return slots;
  }

  /**
   * Quarantines the bundles in a byte range that store scrubbing could not rebuild (scrub.ts):
   * each bundle whose record overlaps it is read back, and one that fails its checks is deleted
   * with reason 8, block unintelligible, counted, evented and handed to the deletion listeners
   * (without bytes: none can be trusted). One that passes both CRCs was missed by the damage and
   * stays, checked again on every read like any other. Resolves with the deleted bundles once
   * their tombstones are durable.
   */
  async quarantine(range: { segment: number; start: number; end: number }): Promise<StoredBundle[]> {
    this.checkWritable();
    const segment = this.segmentLog.segments.get(range.segment);
    if (!segment) return []; // compacted away since the scrubber read it
    const ix = this.index;
    const deleted: StoredBundle[] = [];
    const durable: Array<Promise<void>> = [];
    for (const slot of this.slotsIn(range.segment, range.start, range.end)) {
      const instance = ix.instance[slot]!;
      const offset = ix.offset[slot]!;
      const record = await this.segmentLog.read(segment, offset, ix.recordLength[slot]!);
      // Deleted or moved by compaction while it was read: not this record any more.
      if (!ix.live(slot) || ix.instance[slot] !== instance || ix.segment[slot] !== segment.number || ix.offset[slot] !== offset) continue;
      const bundle = ix.bundle(slot);
      const problem = checkRecord(record, segment.number, offset, bundle.id, instance);
      if (!problem) continue;
      deleted.push(bundle);
      this.ch.quarantined.add();
      this.events.emit(STORE_EVENTS.quarantined, { id: bundle.id, reason: problem, segment: segment.number, offset });
      durable.push(this.dispose(slot, Disposition.deleted, StoreReason.blockUnintelligible));
      this.emitDeleted({ ...bundle, reason: StoreReason.blockUnintelligible, bytes: undefined });
    }
    await Promise.all(durable);
    return deleted;
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
      return this.admitAndQueue(meta, bytes, options.essential ?? false);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private admitAndQueue(meta: BundleMeta, bytes: Uint8Array, essential: boolean): Promise<StoredRef> {
    this.checkWritable();
    if (!essential) this.checkRoom('put');
    validateMeta(meta);
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new StoreMetaError('bytes', 'a non-empty Uint8Array');
    if (this.index.find(meta.id) >= 0) {
      this.ch.duplicates.add();
      throw new StoreDuplicateError(meta.id);
    }
    const instance = this.nextInstance++;
    const head = bundleHead(meta, instance, bytes.length, crc32c(bytes));
    const length = head.length + bytes.length;
    const ix = this.index;
    const source = ix.eid(meta.source);
    const priority = PRIORITIES.indexOf(meta.priority);
    const evicted = this.admit(meta, length, source, priority);

    const slot = ix.add(meta.id);
    ix.instance[slot] = instance;
    ix.creationMs[slot] = meta.creationMs;
    ix.expiryMs[slot] = meta.expiryMs;
    ix.priority[slot] = priority;
    ix.state[slot] = STATES.indexOf(meta.state);
    ix.pending[slot] = 1;
    ix.source[slot] = source;
    ix.destination[slot] = ix.eid(meta.destination);
    ix.recordLength[slot] = length;
    ix.dataLength[slot] = bytes.length;
    this.heaps[priority]!.push(slot);
    this.account(slot, 1);

    return new Promise<StoredRef>((resolve, reject) => {
      this.segmentLog.append({
        head,
        data: bytes,
        length,
        essential,
        durable: (segment, offset) => {
          // Unless it was deleted (or evicted) while its batch was being written.
          if (ix.live(slot) && ix.instance[slot] === instance) {
            ix.pending[slot] = 0;
            ix.segment[slot] = segment.number;
            ix.offset[slot] = offset;
            segment.liveBytes += length;
          } else if (this.deletedUnwritten.size > 0) {
            this.settleUnwritten(instance, bytes);
          }
          this.ch.puts.add();
          resolve({ id: meta.id, size: bytes.length, evicted });
        },
        failed: (error) => {
          if (ix.live(slot) && ix.instance[slot] === instance) this.forget(slot);
          else if (this.deletedUnwritten.size > 0) this.settleUnwritten(instance, bytes);
          reject(error);
        },
      });
    });
  }

  /** Deletes a bundle with an RFC 9171 reason code; resolves true once the deletion is durable, false if not stored. */
  async delete(id: string, reason: number): Promise<boolean> {
    if (!Number.isInteger(reason) || reason < 0 || reason > 255) throw new StoreMetaError('reason', 'an RFC 9171 status report reason code (0-255)');
    return this.remove(id, Disposition.deleted, reason, this.ch.deleted);
  }

  /** Removes a bundle the next hop acknowledged; resolves true once durable. */
  async markForwarded(id: string): Promise<boolean> {
    return this.remove(id, Disposition.forwarded, StoreReason.noInformation, this.ch.forwarded);
  }

  /** Removes a bundle delivered to a local service; resolves true once durable. */
  async markDelivered(id: string): Promise<boolean> {
    return this.remove(id, Disposition.delivered, StoreReason.noInformation, this.ch.delivered);
  }

  /**
   * Deletes at most `limit` bundles whose lifetime ended before `nowMs` (reason 1), earliest
   * first, and resolves with them once their deletions are durable (the agent reports them).
   * The index work is O(limit log n); call again while it returns `limit` bundles.
   */
  async expire(nowMs: number, limit = 64): Promise<StoredBundle[]> {
    this.checkWritable();
    const expired: StoredBundle[] = [];
    const durable: Array<Promise<void>> = [];
    while (expired.length < limit) {
      let first = -1;
      for (const heap of this.heaps) {
        const slot = heap.peek();
        if (slot >= 0 && (first < 0 || this.index.expiryMs[slot]! < this.index.expiryMs[first]!)) first = slot;
      }
      if (first < 0 || this.index.expiryMs[first]! >= nowMs) break;
      expired.push(this.index.bundle(first));
      this.handOver(first, StoreReason.lifetimeExpired);
      durable.push(this.dispose(first, Disposition.deleted, StoreReason.lifetimeExpired));
      this.ch.expired.add();
    }
    await Promise.all(durable);
    return expired;
  }

  /**
   * One bounded step of compaction: reads about `maxBytes` of the full segment with the most
   * dead bytes, copies its live records to the active segment, and once every copy is durable
   * deletes the file. Steps never overlap: a call while one runs returns that step.
   */
  compact(maxBytes = 1024 * 1024): Promise<CompactionStep> {
    try {
      this.checkWritable();
      this.checkRoom('compaction'); // its copies are not essential
    } catch (error) {
      return Promise.reject(error);
    }
    this.compacting ??= this.runCompaction(maxBytes);
    return this.compacting;
  }

  private async runCompaction(maxBytes: number): Promise<CompactionStep> {
    try {
      return await this.compactStep(maxBytes);
    } finally {
      // Cleared before the callers resume, so a caller may start the next step at once.
      this.compacting = undefined;
    }
  }

  /** Whether bundles are refused because the device is full (resume() probes for space). */
  get outOfSpace(): boolean {
    return this.segmentLog.lowSpace || this.segmentLog.failure instanceof StoreNoSpaceError;
  }

  /**
   * After the device filled: probes for room for a batch and a new segment and, if it is there,
   * takes writes again (STORE_SPACE_RETURNED). False while the device is still full or the store
   * did not fail for lack of space. The maintenance task calls it.
   */
  async resume(): Promise<boolean> {
    if (this.closed || !this.outOfSpace) return false;
    return this.segmentLog.resume(this.config.maxBatchBytes + SEGMENT_HEADER_BYTES);
  }

  /**
   * Resolves once what is queued is written: the node's health monitor (flight/exec/health.ts)
   * pings the flush path with it, so a flush that hangs stops the watchdog's kicks.
   */
  flushed(): Promise<void> {
    return this.segmentLog.drain();
  }

  /**
   * Tells `listener` of every bundle the store deletes by itself, evicted (reason 4), expired
   * by expire() (reason 1) or quarantined (reason 8, without bytes), with its bytes, so that the agent can send the "deleted" status
   * report the bundle asked for (the metadata alone does not say whether it asked, nor whom to).
   */
  onDeleted(listener: (deleted: DeletedBundle) => void): void {
    this.deletedListeners.push(listener);
  }

  /**
   * Reads the bytes of a bundle about to be deleted by the store and hands them to the
   * listeners. The read starts now, before the tombstone is queued: an open read keeps its
   * segment from being reclaimed under it. A bundle whose put is not yet durable has its bytes
   * in memory: its put's settlement hands them over.
   */
  private handOver(slot: number, reason: number): void {
    if (this.deletedListeners.length === 0) return;
    const ix = this.index;
    const deleted = { ...ix.bundle(slot), reason };
    const instance = ix.instance[slot]!;
    if (ix.pending[slot]) {
      this.deletedUnwritten.set(instance, deleted);
      return;
    }
    const segment = this.segmentLog.segments.get(ix.segment[slot]!)!;
    const offset = ix.offset[slot]!;
    const dataLength = ix.dataLength[slot]!;
    this.segmentLog.read(segment, offset, ix.recordLength[slot]!).then((record) => {
      const problem = checkRecord(record, segment.number, offset, deleted.id, instance);
      if (problem) {
        this.ch.corruptRecords.add();
        this.events.emit(STORE_EVENTS.corruptRead, { id: deleted.id, reason: problem, segment: segment.number, offset });
      }
      this.emitDeleted({ ...deleted, bytes: problem ? undefined : record.subarray(record.length - dataLength) });
    }, (error: Error) => {
      this.log.error({ err: error, id: deleted.id }, 'deleted bundle not read back for its status report');
      this.emitDeleted({ ...deleted, bytes: undefined });
    });
  }

  private settleUnwritten(instance: number, bytes: Uint8Array): void {
    const deleted = this.deletedUnwritten.get(instance);
    if (!deleted) return;
    this.deletedUnwritten.delete(instance);
    this.emitDeleted({ ...deleted, bytes });
  }

  private emitDeleted(deleted: DeletedBundle): void {
    for (const listener of this.deletedListeners) {
      try {
        listener(deleted);
      } catch (error) {
        this.log.error({ err: error, id: deleted.id }, 'deleted-bundle listener failed');
      }
    }
  }

  /** Writes what is queued, waits for it, closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.compacting?.catch(() => undefined); // its outcome went to its own caller
      await this.segmentLog.drain();
      await this.segmentLog.close();
      if (!this.segmentLog.failure && !this.segmentLog.lowSpace) await this.saveIndex();
    } finally {
      releaseLock(this.lockPath);
    }
  }

  /**
   * Saves the index for the next open (index-snapshot.ts), stamped with every segment's file
   * size. Not saving costs only a rebuild at the next open, so a failure is reported, not thrown.
   */
  private async saveIndex(): Promise<void> {
    try {
      const segments = [];
      for (const s of this.segmentLog.segments.values()) {
        const now = await stat(s.path, { bigint: true });
        segments.push({ number: s.number, size: s.size, fileSize: Number(now.size), mtimeNs: now.mtimeNs, tombstoneBytes: s.tombstoneBytes });
      }
      await saveSnapshot(this.dir, encodeSnapshot(this.index, segments, this.nextInstance - 1));
    } catch (error) {
      this.events.emit(STORE_EVENTS.snapshotFailed, { error: (error as Error).message });
      this.log.warn({ err: error, dir: this.dir }, 'index snapshot not saved');
    }
  }

  // ---- Policy ----

  /**
   * Admission. A bundle larger than the whole store is refused. When the store is full, bundles
   * of strictly lower priority classes are evicted (lowest class first, earliest expiry first)
   * if that frees enough room; otherwise the new bundle is refused and nothing is evicted. An
   * equal or higher class is never evicted. A bundle that would put its source over its quota
   * (counting what eviction would free from that source) is refused; quotas never evict.
   */
  private admit(meta: BundleMeta, length: number, source: number, priority: number): StoredBundle[] {
    const { capacityBytes, perSourceQuotaBytes } = this.config;
    const ix = this.index;
    if (length > capacityBytes || length - HEAD_BYTES > MAX_BUNDLE_BYTES) this.refuse('size', meta, length, capacityBytes - this.usedBytes);
    const need = this.usedBytes + length - capacityBytes;
    const victims: number[] = [];
    if (need > 0) {
      let evictable = 0;
      for (let c = 0; c < priority; c++) evictable += this.classBytes[c]!;
      if (evictable < need) this.refuse('capacity', meta, length, capacityBytes - this.usedBytes);
      // Take the victims off their heaps in eviction order, then put them back: dispose() takes them off for good.
      let freed = 0;
      for (let c = 0; c < priority && freed < need; c++) {
        const heap = this.heaps[c]!;
        while (freed < need && heap.size > 0) {
          const slot = heap.peek();
          heap.remove(slot);
          victims.push(slot);
          freed += ix.recordLength[slot]!;
        }
      }
      for (const slot of victims) this.heaps[ix.priority[slot]!]!.push(slot);
    }
    let fromSource = this.sourceBytes[source] ?? 0;
    for (const slot of victims) if (ix.source[slot] === source) fromSource -= ix.recordLength[slot]!;
    if (fromSource + length > perSourceQuotaBytes) this.refuse('quota', meta, length, perSourceQuotaBytes - fromSource);
    if (victims.length === 0) return [];
    const evicted = victims.map((slot) => ix.bundle(slot));
    let freed = 0;
    for (const slot of victims) {
      freed += ix.recordLength[slot]!;
      this.handOver(slot, StoreReason.depletedStorage);
      // The new bundle's record is queued after these tombstones, so its put() resolves only
      // once they are durable and fails if they fail: nothing more to wait for here.
      this.dispose(slot, Disposition.deleted, StoreReason.depletedStorage).catch(() => undefined);
    }
    this.ch.evicted.add(evicted.length);
    this.events.emit(STORE_EVENTS.evicted, { count: evicted.length, bytes: freed, priority: meta.priority, id: meta.id });
    return evicted;
  }

  private refuse(limit: 'capacity' | 'quota' | 'size', meta: BundleMeta, need: number, free: number): never {
    this.ch.refused.add();
    this.events.emit(STORE_EVENTS.refused, { id: meta.id, source: meta.source, limit, need, free });
    throw new StoreRefusedError(limit, meta.id, need, free);
  }

  private async remove(id: string, disposition: Disposition, reason: number, counter: Channel): Promise<boolean> {
    this.checkWritable();
    const slot = this.index.find(id);
    if (slot < 0) return false;
    counter.add();
    await this.dispose(slot, disposition, reason);
    return true;
  }

  /** Takes a bundle out of the index now and queues its tombstone; resolves once that is durable. */
  private dispose(slot: number, disposition: Disposition, reason: number): Promise<void> {
    const ix = this.index;
    const head = tombstoneHead(ix.id(slot), ix.instance[slot]!, disposition, reason);
    if (!ix.pending[slot]) this.segmentLog.segments.get(ix.segment[slot]!)!.liveBytes -= ix.recordLength[slot]!;
    this.forget(slot);
    return this.appendTombstone(head);
  }

  private appendTombstone(head: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.segmentLog.append({
        head,
        data: undefined,
        length: head.length,
        essential: true,
        durable: (segment) => {
          segment.tombstoneBytes += head.length;
          resolve();
        },
        failed: reject,
      });
    });
  }

  /** Removes a slot from the index, the heaps and the accounting (no tombstone). */
  private forget(slot: number): void {
    this.heaps[this.index.priority[slot]!]!.remove(slot);
    this.account(slot, -1);
    this.index.remove(slot);
    this.ch.bundles.set(this.index.count);
  }

  private account(slot: number, sign: 1 | -1): void {
    const length = sign * this.index.recordLength[slot]!;
    const source = this.index.source[slot]!;
    this.usedBytes += length;
    this.classBytes[this.index.priority[slot]!]! += length;
    this.sourceBytes[source] = (this.sourceBytes[source] ?? 0) + length;
    this.ch.bundles.set(this.index.count);
    this.ch.bytes.set(this.usedBytes);
    this.ch.fill.set(this.usedBytes / this.config.capacityBytes);
  }

  /** A bundle failed its check on read or copy: count it and delete it, so it is never served. */
  private corruptBundle(slot: number, instance: number, segment: Segment, offset: number, reason: string): void {
    const same = this.index.live(slot) && this.index.instance[slot] === instance;
    this.ch.corruptRecords.add();
    this.events.emit(STORE_EVENTS.corruptRead, { id: same ? this.index.id(slot) : '?', reason, segment: segment.number, offset });
    if (!same || this.closed || this.segmentLog.failure) return;
    // If the tombstone cannot be written the store fails, and the next read or recovery finds
    // the same bad CRC again: nothing is lost by not waiting.
    this.dispose(slot, Disposition.deleted, StoreReason.noInformation).catch(() => undefined);
  }

  private checkWritable(): void {
    if (this.closed) throw new StoreClosedError();
    if (this.segmentLog.failure) throw this.segmentLog.failure;
  }

  /** In low-space mode only essential records are written: refuses the rest up front. */
  private checkRoom(operation: string): void {
    if (this.segmentLog.lowSpace) throw new StoreNoSpaceError(operation, new Error('the device is full: only deletions and status reports are written'));
  }

  // ---- Compaction ----

  /** Dead bytes of a full segment. Tombstones count as live while an older segment may hold what they delete. */
  private garbage(segment: Segment): number {
    const records = segment.size - SEGMENT_HEADER_BYTES;
    return records - segment.liveBytes - (this.segmentLog.isOldest(segment) ? 0 : segment.tombstoneBytes);
  }

  private publishGarbage(): void {
    let total = 0;
    for (const segment of this.segmentLog.segments.values()) total += this.garbage(segment);
    this.ch.garbageBytes.set(total);
  }

  private chooseVictim(): Segment | undefined {
    let best: Segment | undefined;
    let bestRatio = this.config.compactGarbageRatio;
    for (const segment of this.segmentLog.segments.values()) {
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
    const keepTombstones = !this.segmentLog.isOldest(victim);
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
        job.copies.push(handled(this.appendTombstone(Buffer.from(entry))));
      } else if (head.kind === RecordKind.bundle && job.heads.bundleFields(at, head.metaLength, fields)) {
        const slot = this.index.findBytes(heads, fields.idStart, fields.idLength, bytesHash(heads, fields.idStart, fields.idLength));
        if (slot >= 0 && this.index.instance[slot] === fields.instance && !this.index.pending[slot]
          && this.index.segment[slot] === victim.number && this.index.offset[slot] === head.offset) {
          live.push({ slot, instance: fields.instance, offset: head.offset, length: entry.length + head.dataLength });
        }
      }
    }
    if (live.length > 0) {
      // One read covers this step's live records (they are in file order).
      const start = live[0]!.offset;
      const last = live[live.length - 1]!;
      const span = await this.segmentLog.read(victim, start, last.offset + last.length - start);
      for (const { slot, instance, offset, length } of live) {
        if (!this.index.live(slot) || this.index.instance[slot] !== instance) continue; // deleted while we read
        const id = this.index.id(slot);
        const record = span.subarray(offset - start, offset - start + length);
        // Never copy a bad record forward: the copy would get a fresh, matching CRC.
        const problem = checkRecord(record, victim.number, offset, id, instance);
        if (problem) {
          this.corruptBundle(slot, instance, victim, offset, problem);
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
    const head = Buffer.from(record.subarray(0, record.length - this.index.dataLength[slot]!));
    const data = record.subarray(head.length);
    const ix = this.index;
    return new Promise<void>((resolve, reject) => {
      this.segmentLog.append({
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
          this.ch.compactedBytes.add(record.length);
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
      this.events.emit(STORE_EVENTS.skippedCompaction, { segment: segment.number, bytes: segment.liveBytes });
      return 0;
    }
    await this.segmentLog.remove(segment);
    this.ch.segmentsReclaimed.add();
    this.events.emit(STORE_EVENTS.segmentReclaimed, { segment: segment.number, copied: copiedBytes });
    return 1;
  }

  // ---- Recovery ----

  private async recover(): Promise<void> {
    const t0 = performance.now();
    const recovery = await recoverIndex(this.dir, this.index, { snapshot: true });
    if (recovery.fromSnapshot) this.ch.snapshotLoads.add();
    if (recovery.snapshotRejected !== undefined) {
      this.ch.snapshotRejected.add();
      this.events.emit(STORE_EVENTS.snapshotRejected, { reason: recovery.snapshotRejected });
    }
    this.nextInstance = recovery.maxInstance + 1;
    await this.segmentLog.start(recovery.segments);
    // Gone before any bundle is written: from here on only a clean close makes a new one. (What
    // start() may write, a new segment or a cut torn tail, makes a snapshot stale by its checks.)
    await removeSnapshot(this.dir);
    for (const found of recovery.segments) {
      if (found.corruptRecords > 0) {
        this.events.emit(STORE_EVENTS.corruptRecords, { segment: found.segment, records: found.corruptRecords, bytes: found.corruptBytes });
      }
    }
    this.ch.corruptRecords.add(recovery.corruptRecords);

    // The accounting of account(), in bulk.
    const ix = this.index;
    // Slots per class in typed arrays sized by a first count: no array growth for 100,000 slots.
    const counts = PRIORITIES.map(() => 0);
    for (let slot = 0; slot < ix.highWater; slot++) if (ix.live(slot)) counts[ix.priority[slot]!]!++;
    const byClass = counts.map((n) => new Int32Array(n));
    const filled = PRIORITIES.map(() => 0);
    let segment: Segment | undefined;
    for (let slot = 0; slot < ix.highWater; slot++) {
      if (!ix.live(slot)) continue;
      const length = ix.recordLength[slot]!;
      // Slots were filled in file order: consecutive ones are mostly in the same segment.
      if (segment === undefined || segment.number !== ix.segment[slot]) segment = this.segmentLog.segments.get(ix.segment[slot]!)!;
      segment.liveBytes += length;
      const c = ix.priority[slot]!;
      byClass[c]![filled[c]!++] = slot;
      this.usedBytes += length;
      this.classBytes[ix.priority[slot]!]! += length;
      const source = ix.source[slot]!;
      this.sourceBytes[source] = (this.sourceBytes[source] ?? 0) + length;
    }
    for (const [c, slots] of byClass.entries()) this.heaps[c]!.pushAll(slots);
    this.ch.bundles.set(ix.count);
    this.ch.bytes.set(this.usedBytes);
    this.ch.fill.set(this.usedBytes / this.config.capacityBytes);
    this.publishGarbage();

    const ms = performance.now() - t0;
    this.ch.recoveryMs.set(ms);
    this.events.emit(STORE_EVENTS.recovered, {
      bundles: ix.count, bytes: this.usedBytes, segments: recovery.segments.length, summaries: recovery.summaries,
      from: recovery.fromSnapshot ? 'snapshot' : 'segments', ms: Math.round(ms),
    });
    this.log.info({
      dir: this.dir, bundles: ix.count, bytes: this.usedBytes, segments: this.segmentLog.segments.size,
      corruptRecords: recovery.corruptRecords, corruptBytes: recovery.corruptBytes, tornBytes: recovery.tornBytes,
      superseded: recovery.superseded, fromSnapshot: recovery.fromSnapshot, snapshotRejected: recovery.snapshotRejected, ms,
    }, 'bundle store recovered');
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

/** Why a record read back from disk is not the bundle the index expects; undefined if it is. */
export function checkRecord(record: Buffer, segment: number, offset: number, id: string, instance: number): string | undefined {
  const view = new RecordView(record);
  const head = newHead();
  if (record.length < HEAD_BYTES || !view.head(0, head)) return 'no record magic';
  if (head.kind !== RecordKind.bundle || head.segment !== segment || head.offset !== offset) return 'record out of place';
  if (HEAD_BYTES + head.metaLength + head.dataLength !== record.length) return 'record length mismatch';
  if (!view.headCrcValid(0, head.metaLength)) return 'head CRC mismatch';
  const fields = newBundleFields();
  if (!view.bundleFields(0, head.metaLength, fields) || fields.instance !== instance
    || view.text(fields.idStart, fields.idStart + fields.idLength) !== id) return 'metadata mismatch';
  if (crc32c(record.subarray(HEAD_BYTES + head.metaLength)) !== head.dataCrc) return 'data CRC mismatch';
  return undefined;
}
