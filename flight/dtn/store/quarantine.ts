// Quarantine of bundles damaged beyond repair (issue 14): store scrubbing (scrub.ts) reports a
// stripe of a sealed segment that parity could not rebuild, and the bundles whose records lie
// there and fail their checks are deleted, so they are never delivered, and reported.
import type { DeletionListeners } from './deletion-listeners.js';
import { STORE_EVENTS } from './dictionary.js';
import { StoreReason } from './errors.js';
import { Disposition } from './format.js';
import type { Holdings } from './holdings.js';
import type { StoredBundle } from './meta.js';
import { checkRecord } from './record-check.js';

/** Bytes [start, end) of segment number `segment`. */
export interface SegmentRange {
  readonly segment: number;
  readonly start: number;
  readonly end: number;
}

/** Slots of the durable bundles whose records overlap a range (a scan of the index: O(n), and rare). */
export function slotsIn(h: Holdings, range: SegmentRange): number[] {
  const ix = h.index;
  const slots: number[] = [];
  for (let slot = 0; slot < ix.highWater; slot++) {
    if (!ix.live(slot) || ix.pending[slot] || ix.segment[slot] !== range.segment) continue;
    const offset = ix.offset[slot]!;
    if (offset < range.end && offset + ix.recordLength[slot]! > range.start) slots.push(slot);
  }
  return slots;
}

/**
 * Reads back each bundle whose record overlaps `range`; one that fails its checks is deleted with
 * reason 8, block unintelligible, counted, evented and handed to the deletion listeners (without
 * bytes: none can be trusted). One that passes both CRCs was missed by the damage and stays,
 * checked again on every read like any other. Resolves with the deleted bundles once their
 * tombstones are durable.
 */
export async function quarantine(h: Holdings, deletions: DeletionListeners, range: SegmentRange): Promise<StoredBundle[]> {
  h.checkWritable();
  const segment = h.segmentLog.segments.get(range.segment);
  if (!segment) return []; // compacted away since the scrubber read it
  const ix = h.index;
  const deleted: StoredBundle[] = [];
  const durable: Array<Promise<void>> = [];
  for (const slot of slotsIn(h, range)) {
    const instance = ix.instance[slot]!;
    const offset = ix.offset[slot]!;
    const record = await h.segmentLog.read(segment, offset, ix.recordLength[slot]!);
    // Deleted or moved by compaction while it was read: not this record any more.
    if (!ix.live(slot) || ix.instance[slot] !== instance || ix.segment[slot] !== segment.number || ix.offset[slot] !== offset) continue;
    const bundle = ix.bundle(slot);
    const problem = checkRecord(record, segment.number, offset, bundle.id, instance);
    if (!problem) continue;
    deleted.push(bundle);
    h.ch.quarantined.add();
    h.events.emit(STORE_EVENTS.quarantined, { id: bundle.id, reason: problem, segment: segment.number, offset });
    durable.push(h.dispose(slot, Disposition.deleted, StoreReason.blockUnintelligible));
    deletions.emit({ ...bundle, reason: StoreReason.blockUnintelligible, bytes: undefined });
  }
  await Promise.all(durable);
  return deleted;
}
