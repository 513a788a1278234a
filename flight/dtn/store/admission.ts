// Capacity, eviction and quota policy (DESIGN.md, Policies): whether a new bundle fits, and which
// bundles of strictly lower classes it evicts if the store is full.
import type { DeletionListeners } from './deletion-listeners.js';
import { STORE_EVENTS } from './dictionary.js';
import { StoreReason, StoreRefusedError } from './errors.js';
import { Disposition, HEAD_BYTES } from './format.js';
import type { Holdings } from './holdings.js';
import type { BundleMeta, StoredBundle } from './meta.js';

/** Largest bundle the store takes (offsets in a segment are u32; a read holds it in one Buffer). */
export const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

/**
 * Admission. A bundle larger than the whole store is refused. When the store is full, bundles
 * of strictly lower priority classes are evicted (lowest class first, earliest expiry first)
 * if that frees enough room; otherwise the new bundle is refused and nothing is evicted. An
 * equal or higher class is never evicted. A bundle that would put its source over its quota
 * (counting what eviction would free from that source) is refused; quotas never evict.
 */
export function admit(h: Holdings, deletions: DeletionListeners, meta: BundleMeta, length: number, source: number, priority: number): StoredBundle[] {
  const { capacityBytes, perSourceQuotaBytes } = h.config;
  const ix = h.index;
  if (length > capacityBytes || length - HEAD_BYTES > MAX_BUNDLE_BYTES) refuse(h, 'size', meta, length, capacityBytes - h.usedBytes);
  const need = h.usedBytes + length - capacityBytes;
  const victims: number[] = [];
  if (need > 0) {
    let evictable = 0;
    for (let c = 0; c < priority; c++) evictable += h.classBytes[c]!;
    if (evictable < need) refuse(h, 'capacity', meta, length, capacityBytes - h.usedBytes);
    // Take the victims off their heaps in eviction order, then put them back: dispose() takes them off for good.
    let freed = 0;
    for (let c = 0; c < priority && freed < need; c++) {
      const heap = h.heaps[c]!;
      while (freed < need && heap.size > 0) {
        const slot = heap.peek();
        heap.remove(slot);
        victims.push(slot);
        freed += ix.recordLength[slot]!;
      }
    }
    for (const slot of victims) h.heaps[ix.priority[slot]!]!.push(slot);
  }
  let fromSource = h.sourceBytes[source] ?? 0;
  for (const slot of victims) if (ix.source[slot] === source) fromSource -= ix.recordLength[slot]!;
  if (fromSource + length > perSourceQuotaBytes) refuse(h, 'quota', meta, length, perSourceQuotaBytes - fromSource);
  if (victims.length === 0) return [];
  const evicted = victims.map((slot) => ix.bundle(slot));
  let freed = 0;
  for (const slot of victims) {
    freed += ix.recordLength[slot]!;
    deletions.handOver(slot, StoreReason.depletedStorage);
    // The new bundle's record is queued after these tombstones, so its put() resolves only
    // once they are durable and fails if they fail: nothing more to wait for here.
    h.dispose(slot, Disposition.deleted, StoreReason.depletedStorage).catch(() => undefined);
  }
  h.ch.evicted.add(evicted.length);
  h.events.emit(STORE_EVENTS.evicted, { count: evicted.length, bytes: freed, priority: meta.priority, id: meta.id });
  return evicted;
}

function refuse(h: Holdings, limit: 'capacity' | 'quota' | 'size', meta: BundleMeta, need: number, free: number): never {
  h.ch.refused.add();
  h.events.emit(STORE_EVENTS.refused, { id: meta.id, source: meta.source, limit, need, free });
  throw new StoreRefusedError(limit, meta.id, need, free);
}
