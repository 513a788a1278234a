// Lifetime expiry (DESIGN.md, Policies): the earliest-expiring bundles of all classes first, a
// bounded number per call, deleted with reason 1.
import type { DeletionListeners } from './deletion-listeners.js';
import { StoreReason } from './errors.js';
import { Disposition } from './format.js';
import type { Holdings } from './holdings.js';
import type { StoredBundle } from './meta.js';

/** Deletes at most `limit` bundles whose lifetime ended before `nowMs`; resolves with them once durable. */
export async function expireBundles(h: Holdings, deletions: DeletionListeners, nowMs: number, limit: number): Promise<StoredBundle[]> {
  h.checkWritable();
  const expired: StoredBundle[] = [];
  const durable: Array<Promise<void>> = [];
  while (expired.length < limit) {
    let first = -1;
    for (const heap of h.heaps) {
      const slot = heap.peek();
      if (slot >= 0 && (first < 0 || h.index.expiryMs[slot]! < h.index.expiryMs[first]!)) first = slot;
    }
    if (first < 0 || h.index.expiryMs[first]! >= nowMs) break;
    expired.push(h.index.bundle(first));
    deletions.handOver(first, StoreReason.lifetimeExpired);
    durable.push(h.dispose(first, Disposition.deleted, StoreReason.lifetimeExpired));
    h.ch.expired.add();
  }
  await Promise.all(durable);
  return expired;
}
