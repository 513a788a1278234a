// The `store` section of a mission config (and the options of BundleStore.open, which are
// checked by the same reader): sizes, group commit and compaction tunables.
import { join, type Fields } from '../../config/fields.js';
import { MAX_SEGMENT_BYTES } from './format.js';

export interface StoreConfig {
  /** Bytes of bundle records (head, metadata, data) the store holds at most. */
  capacityBytes: number;
  /** Bytes of bundle records from one source EID at most (default: capacityBytes); never evicts. */
  perSourceQuotaBytes: number;
  /** A segment is sealed and a new one started once it would grow past this (default 16 MiB). */
  segmentBytes: number;
  /** Most bytes written and fdatasync'd as one batch (default 1 MiB). */
  maxBatchBytes: number;
  /** How long a batch waits for company once it is not empty (default 0: only while the previous batch syncs). */
  commitDelayMs: number;
  /** A full segment is compacted once at least this share of its bytes is dead (default 0.5). */
  compactGarbageRatio: number;
  /**
   * Bytes the store keeps in a file of their own and gives up when the device fills, so that
   * deletions and status reports can still be written while bundles are refused (default
   * 256 KiB; 0: none).
   */
  reserveBytes: number;
  /**
   * Segment files kept written through, for new segments to overwrite rather than append to
   * (spares.ts): made when the store is created, refilled by compaction (default 0: none, every
   * segment a new file).
   */
  spareSegments: number;
}

const KEYS = ['capacityBytes', 'perSourceQuotaBytes', 'segmentBytes', 'maxBatchBytes', 'commitDelayMs', 'compactGarbageRatio', 'reserveBytes', 'spareSegments'] as const;

export function parseStoreConfig(f: Fields, raw: unknown, field: string): StoreConfig {
  const o = f.object(raw, field, KEYS);
  const at = (key: string): string => join(field, key);
  const capacityBytes = f.integer(o.capacityBytes, at('capacityBytes'), 1);
  return {
    capacityBytes,
    perSourceQuotaBytes: o.perSourceQuotaBytes === undefined ? capacityBytes : f.integer(o.perSourceQuotaBytes, at('perSourceQuotaBytes'), 1, capacityBytes),
    segmentBytes: o.segmentBytes === undefined ? 16 * 1024 * 1024 : f.integer(o.segmentBytes, at('segmentBytes'), 4096, MAX_SEGMENT_BYTES),
    maxBatchBytes: o.maxBatchBytes === undefined ? 1024 * 1024 : f.integer(o.maxBatchBytes, at('maxBatchBytes'), 1, 256 * 1024 * 1024),
    commitDelayMs: o.commitDelayMs === undefined ? 0 : f.number(o.commitDelayMs, at('commitDelayMs'), 0, 1000),
    compactGarbageRatio: o.compactGarbageRatio === undefined ? 0.5 : f.number(o.compactGarbageRatio, at('compactGarbageRatio'), 0.01, 1),
    reserveBytes: o.reserveBytes === undefined ? 256 * 1024 : f.integer(o.reserveBytes, at('reserveBytes'), 0, 64 * 1024 * 1024),
    spareSegments: o.spareSegments === undefined ? 0 : f.integer(o.spareSegments, at('spareSegments'), 0, 64),
  };
}
