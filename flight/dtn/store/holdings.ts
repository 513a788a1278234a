// What the store holds and the primitives every path shares: the index, one expiry heap per
// priority class, the byte accounting that capacity and quotas read, the segment log, and the
// tombstone that takes a bundle out of it all durably. The store's roles (put, admission,
// expiry, compaction, deletion listeners, quarantine, open and close) work on one of these.
import type { Logger } from '../../log.js';
import type { Channel, TelemetryRegistry } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import { BundleIndex } from './bundle-index.js';
import type { StoreConfig } from './config.js';
import { STORE_CHANNELS, STORE_EVENTS } from './dictionary.js';
import { StoreClosedError, StoreNoSpaceError, StoreReason } from './errors.js';
import { ExpiryHeap } from './expiry-heap.js';
import { Disposition, tombstoneHead } from './format.js';
import { PRIORITIES } from './meta.js';
import { SegmentLog, type Segment } from './segment-log.js';

export type Channels = { [K in keyof typeof STORE_CHANNELS]: Channel };

export class Holdings {
  readonly index = new BundleIndex();
  /** One expiry-ordered heap per priority class. */
  readonly heaps = PRIORITIES.map(() => new ExpiryHeap(this.index));
  readonly segmentLog: SegmentLog;
  readonly ch: Channels;
  nextInstance = 1;
  usedBytes = 0;
  readonly classBytes = PRIORITIES.map(() => 0);
  /** Bytes stored per source EID, by its interned number. */
  readonly sourceBytes: number[] = [];
  closed = false;

  constructor(
    readonly dir: string,
    readonly config: StoreConfig,
    readonly log: Logger,
    tlm: TelemetryRegistry,
    readonly events: EventLog,
  ) {
    this.ch = tlm.defineAll(STORE_CHANNELS);
    this.segmentLog = new SegmentLog(dir, config, this.ch, events);
  }

  checkWritable(): void {
    if (this.closed) throw new StoreClosedError();
    if (this.segmentLog.failure) throw this.segmentLog.failure;
  }

  /** In low-space mode only essential records are written: refuses the rest up front. */
  checkRoom(operation: string): void {
    if (this.segmentLog.lowSpace) throw new StoreNoSpaceError(operation, new Error('the device is full: only deletions and status reports are written'));
  }

  /** Takes a bundle out of the index now and queues its tombstone; resolves once that is durable. */
  dispose(slot: number, disposition: Disposition, reason: number): Promise<void> {
    const ix = this.index;
    const head = tombstoneHead(ix.id(slot), ix.instance[slot]!, disposition, reason);
    if (!ix.pending[slot]) this.segmentLog.segments.get(ix.segment[slot]!)!.liveBytes -= ix.recordLength[slot]!;
    this.forget(slot);
    return this.appendTombstone(head);
  }

  appendTombstone(head: Buffer): Promise<void> {
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
  forget(slot: number): void {
    this.heaps[this.index.priority[slot]!]!.remove(slot);
    this.account(slot, -1);
    this.index.remove(slot);
    this.ch.bundles.set(this.index.count);
  }

  account(slot: number, sign: 1 | -1): void {
    const length = sign * this.index.recordLength[slot]!;
    const source = this.index.source[slot]!;
    this.usedBytes += length;
    this.classBytes[this.index.priority[slot]!]! += length;
    this.sourceBytes[source] = (this.sourceBytes[source] ?? 0) + length;
    this.publishFill();
  }

  publishFill(): void {
    this.ch.bundles.set(this.index.count);
    this.ch.bytes.set(this.usedBytes);
    this.ch.fill.set(this.usedBytes / this.config.capacityBytes);
  }

  /** A bundle failed its check on read or copy: count it and delete it, so it is never served. */
  corruptBundle(slot: number, instance: number, segment: Segment, offset: number, reason: string): void {
    const same = this.index.live(slot) && this.index.instance[slot] === instance;
    this.ch.corruptRecords.add();
    this.events.emit(STORE_EVENTS.corruptRead, { id: same ? this.index.id(slot) : '?', reason, segment: segment.number, offset });
    if (!same || this.closed || this.segmentLog.failure) return;
    // If the tombstone cannot be written the store fails, and the next read or recovery finds
    // the same bad CRC again: nothing is lost by not waiting.
    this.dispose(slot, Disposition.deleted, StoreReason.noInformation).catch(() => undefined);
  }
}
