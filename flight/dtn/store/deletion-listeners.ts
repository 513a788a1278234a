// The listeners told of every bundle the store deletes by itself (evicted, expired by a sweep,
// quarantined), with its bytes, so that the agent can send the "deleted" status report the bundle
// asked for. A bundle without trustworthy bytes is reported from its metadata (BundleMeta.reportTo).
import { STORE_EVENTS } from './dictionary.js';
import type { Holdings } from './holdings.js';
import type { StoredBundle } from './meta.js';
import { checkRecord } from './record-check.js';

/** A bundle the store deleted by itself (evicted, swept at expiry, quarantined), for the agent's status report. */
export interface DeletedBundle extends StoredBundle {
  /** RFC 9171 status report reason code: 4 evicted (depleted storage), 1 expired, 8 quarantined (block unintelligible). */
  reason: number;
  /** Its bytes, checked against both CRCs; undefined if they could not be read back (logged) or were damaged (quarantined): its metadata then has what a report needs. */
  bytes: Uint8Array | undefined;
}

export class DeletionListeners {
  private readonly listeners: Array<(deleted: DeletedBundle) => void> = [];
  /** Bundles deleted by the store before their own put was durable: their put hands over the bytes. */
  private readonly unwritten = new Map<number, Omit<DeletedBundle, 'bytes'>>();

  constructor(private readonly h: Holdings) {}

  add(listener: (deleted: DeletedBundle) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Reads the bytes of a bundle about to be deleted by the store and hands them to the
   * listeners. The read starts now, before the tombstone is queued: an open read keeps its
   * segment from being reclaimed under it. A bundle whose put is not yet durable has its bytes
   * in memory: its put's settlement hands them over.
   */
  handOver(slot: number, reason: number): void {
    if (this.listeners.length === 0) return;
    const ix = this.h.index;
    const deleted = { ...ix.bundle(slot), reason };
    const instance = ix.instance[slot]!;
    if (ix.pending[slot]) {
      this.unwritten.set(instance, deleted);
      return;
    }
    const segment = this.h.segmentLog.segments.get(ix.segment[slot]!)!;
    const offset = ix.offset[slot]!;
    const dataLength = ix.dataLength[slot]!;
    this.h.segmentLog.read(segment, offset, ix.recordLength[slot]!).then((record) => {
      const problem = checkRecord(record, segment.number, offset, deleted.id, instance);
      if (problem) {
        this.h.ch.corruptRecords.add();
        this.h.events.emit(STORE_EVENTS.corruptRead, { id: deleted.id, reason: problem, segment: segment.number, offset });
      }
      this.emit({ ...deleted, bytes: problem ? undefined : record.subarray(record.length - dataLength) });
    }, (error: Error) => {
      this.h.log.error({ err: error, id: deleted.id }, 'deleted bundle not read back for its status report');
      this.emit({ ...deleted, bytes: undefined });
    });
  }

  /** A put settled (durable or failed) after its bundle was deleted: hands its bytes over, if it was. */
  settleUnwritten(instance: number, bytes: Uint8Array): void {
    if (this.unwritten.size === 0) return;
    const deleted = this.unwritten.get(instance);
    if (!deleted) return;
    this.unwritten.delete(instance);
    this.emit({ ...deleted, bytes });
  }

  emit(deleted: DeletedBundle): void {
    for (const listener of this.listeners) {
      try {
        listener(deleted);
      } catch (error) {
        this.h.log.error({ err: error, id: deleted.id }, 'deleted-bundle listener failed');
      }
    }
  }
}
