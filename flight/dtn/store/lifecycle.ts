// What open() and close() do beyond the writer lock: recovery of the index (from the snapshot of
// a clean close or from the segments, recovery.ts) and the bulk accounting that follows it, and
// the index snapshot saved at a clean close (index-snapshot.ts).
import { stat } from 'node:fs/promises';
import type { Compactor } from './compaction.js';
import { STORE_EVENTS } from './dictionary.js';
import type { Holdings } from './holdings.js';
import { encodeSnapshot, removeSnapshot, saveSnapshot } from './index-snapshot.js';
import { PRIORITIES } from './meta.js';
import { recoverIndex } from './recovery.js';
import type { Segment } from './segment-log.js';

export async function recoverHoldings(h: Holdings, compactor: Compactor, nowMs: () => number = () => performance.now()): Promise<void> {
  const t0 = nowMs();
  const recovery = await recoverIndex(h.dir, h.index, { snapshot: true });
  if (recovery.fromSnapshot) h.ch.snapshotLoads.add();
  if (recovery.snapshotRejected !== undefined) {
    h.ch.snapshotRejected.add();
    h.events.emit(STORE_EVENTS.snapshotRejected, { reason: recovery.snapshotRejected });
  }
  h.nextInstance = recovery.maxInstance + 1;
  await h.segmentLog.start(recovery.segments);
  // Gone before any bundle is written: from here on only a clean close makes a new one. (What
  // start() may write, a new segment or a cut torn tail, makes a snapshot stale by its checks.)
  await removeSnapshot(h.dir);
  for (const found of recovery.segments) {
    if (found.corruptRecords > 0) {
      h.events.emit(STORE_EVENTS.corruptRecords, { segment: found.segment, records: found.corruptRecords, bytes: found.corruptBytes });
    }
  }
  h.ch.corruptRecords.add(recovery.corruptRecords);

  // The accounting of Holdings.account(), in bulk. Recovery runs once per boot, before the JIT
  // has warmed up, so the loops read the index's columns through locals (fewer loads per slot
  // in the interpreter) and sum into typed arrays, written back once.
  const ix = h.index;
  const { idLength, priority, recordLength, source: sources, segment: segments } = ix;
  const highWater = ix.highWater;
  // Slots per class in typed arrays sized by a first count: no array growth for 100,000 slots.
  const counts = new Int32Array(PRIORITIES.length);
  for (let slot = 0; slot < highWater; slot++) if (idLength[slot] !== 0) counts[priority[slot]!]!++;
  const byClass = Array.from(counts, (n) => new Int32Array(n));
  const filled = new Int32Array(PRIORITIES.length);
  const classBytes = new Float64Array(PRIORITIES.length);
  const sourceBytes = new Float64Array(ix.eids.length);
  let used = 0;
  let segment: Segment | undefined;
  let segmentNumber = -1;
  let segmentBytes = 0;
  for (let slot = 0; slot < highWater; slot++) {
    if (idLength[slot] === 0) continue;
    const length = recordLength[slot]!;
    // Slots were filled in file order: consecutive ones are mostly in the same segment.
    if (segments[slot] !== segmentNumber) {
      if (segment !== undefined) segment.liveBytes += segmentBytes;
      segmentNumber = segments[slot]!;
      segment = h.segmentLog.segments.get(segmentNumber)!;
      segmentBytes = 0;
    }
    segmentBytes += length;
    const c = priority[slot]!;
    byClass[c]![filled[c]!++] = slot;
    used += length;
    classBytes[c]! += length;
    sourceBytes[sources[slot]!]! += length;
  }
  if (segment !== undefined) segment.liveBytes += segmentBytes;
  h.usedBytes += used;
  for (let c = 0; c < classBytes.length; c++) h.classBytes[c]! += classBytes[c]!;
  for (let e = 0; e < sourceBytes.length; e++) if (sourceBytes[e] !== 0) h.sourceBytes[e] = (h.sourceBytes[e] ?? 0) + sourceBytes[e]!;
  for (const [c, slots] of byClass.entries()) h.heaps[c]!.pushAll(slots);
  h.publishFill();
  compactor.publishGarbage();

  const ms = nowMs() - t0;
  h.ch.recoveryMs.set(ms);
  h.events.emit(STORE_EVENTS.recovered, {
    bundles: ix.count, bytes: h.usedBytes, segments: recovery.segments.length, summaries: recovery.summaries,
    from: recovery.fromSnapshot ? 'snapshot' : 'segments', ms: Math.round(ms),
  });
  h.log.info({
    dir: h.dir, bundles: ix.count, bytes: h.usedBytes, segments: h.segmentLog.segments.size,
    corruptRecords: recovery.corruptRecords, corruptBytes: recovery.corruptBytes, tornBytes: recovery.tornBytes,
    superseded: recovery.superseded, fromSnapshot: recovery.fromSnapshot, snapshotRejected: recovery.snapshotRejected, ms,
  }, 'bundle store recovered');
}

/**
 * Saves the index for the next open (index-snapshot.ts), stamped with every segment's file
 * size. Not saving costs only a rebuild at the next open, so a failure is reported, not thrown.
 */
export async function saveIndex(h: Holdings): Promise<void> {
  try {
    const segments = [];
    for (const s of h.segmentLog.segments.values()) {
      const now = await stat(s.path, { bigint: true });
      segments.push({ number: s.number, size: s.size, fileSize: Number(now.size), mtimeNs: now.mtimeNs, tombstoneBytes: s.tombstoneBytes });
    }
    await saveSnapshot(h.dir, encodeSnapshot(h.index, segments, h.nextInstance - 1));
  } catch (error) {
    h.events.emit(STORE_EVENTS.snapshotFailed, { error: (error as Error).message });
    h.log.warn({ err: error, dir: h.dir }, 'index snapshot not saved');
  }
}
