// The put path: validation, admission, an index slot marked pending, and the record queued for
// the next write batch; the put resolves when the batch is durable (group commit, segment-log.ts).
import { admit } from './admission.js';
import type { DeletionListeners } from './deletion-listeners.js';
import { StoreDuplicateError, StoreMetaError } from './errors.js';
import { bundleHead, crc32c } from './format.js';
import type { Holdings } from './holdings.js';
import { PRIORITIES, STATES, validateMeta, type BundleMeta, type StoredBundle } from './meta.js';

export interface StoredRef {
  id: string;
  size: number;
  /** Lower-priority bundles deleted to make room: the agent reports them (reason 4, depleted storage). */
  evicted: StoredBundle[];
}

/** Admits a bundle and queues its record; throws a refusal synchronously (the caller turns it into a rejection). */
export function queuePut(h: Holdings, deletions: DeletionListeners, meta: BundleMeta, bytes: Uint8Array, essential: boolean): Promise<StoredRef> {
  h.checkWritable();
  if (!essential) h.checkRoom('put');
  validateMeta(meta);
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new StoreMetaError('bytes', 'a non-empty Uint8Array');
  if (h.index.find(meta.id) >= 0) {
    h.ch.duplicates.add();
    throw new StoreDuplicateError(meta.id);
  }
  const instance = h.nextInstance++;
  const head = bundleHead(meta, instance, bytes.length, crc32c(bytes));
  const length = head.length + bytes.length;
  const ix = h.index;
  const source = ix.eid(meta.source);
  const priority = PRIORITIES.indexOf(meta.priority);
  const evicted = admit(h, deletions, meta, length, source, priority);

  const slot = ix.add(meta.id);
  ix.instance[slot] = instance;
  ix.creationMs[slot] = meta.creationMs;
  ix.expiryMs[slot] = meta.expiryMs;
  ix.priority[slot] = priority;
  ix.state[slot] = STATES.indexOf(meta.state);
  ix.pending[slot] = 1;
  ix.source[slot] = source;
  ix.destination[slot] = ix.eid(meta.destination);
  ix.reportTo[slot] = meta.reportTo === undefined ? -1 : ix.eid(meta.reportTo);
  ix.reportTime[slot] = meta.reportTime ? 1 : 0;
  ix.recordLength[slot] = length;
  ix.dataLength[slot] = bytes.length;
  h.heaps[priority]!.push(slot);
  h.account(slot, 1);

  return new Promise<StoredRef>((resolve, reject) => {
    h.segmentLog.append({
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
        } else {
          deletions.settleUnwritten(instance, bytes);
        }
        h.ch.puts.add();
        resolve({ id: meta.id, size: bytes.length, evicted });
      },
      failed: (error) => {
        if (ix.live(slot) && ix.instance[slot] === instance) h.forget(slot);
        else deletions.settleUnwritten(instance, bytes);
        reject(error);
      },
    });
  });
}
