import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAD_BYTES, RecordView, newHead } from '../../../flight/dtn/store/format.js';
import { bundleBytes, expectExactly, meta, openStore, tempDir } from './support.js';

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().map((f) => join(dir, f));
const diskBytes = (dir: string): number => segmentFiles(dir).reduce((sum, f) => sum + statSync(f).size, 0);
const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const SMALL = { segmentBytes: 16 * 1024 };

describe('store compaction', () => {
  it('reclaims dead space in bounded steps, keeping every live bundle, across reopen', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir, SMALL);
    const live = new Map<string, number>();
    for (const [i, id] of ids('k', 200).entries()) {
      await store.put(meta(id), bundleBytes(id, 300 + i));
      live.set(id, 300 + i);
    }
    for (const [i, id] of ids('k', 200).entries()) {
      if (i % 5 !== 0) {
        await store.delete(id, 6);
        live.delete(id);
      }
    }
    const before = diskBytes(dir);
    const segmentsBefore = segmentFiles(dir).length;
    let steps = 0;
    let previous = 0;
    for (;;) {
      const step = await store.compact(4096);
      if (step.idle) break;
      steps++;
      // A step copies at most maxBytes of its segment's records plus the one record that crosses it.
      expect(step.copiedBytes - (step.reclaimed ? previous : 0)).toBeLessThanOrEqual(4096 + 800);
      previous = step.reclaimed ? 0 : step.copiedBytes;
      expect(steps).toBeLessThan(500);
    }
    expect(value('segmentsReclaimed')).toBeGreaterThan(0);
    expect(segmentFiles(dir).length).toBeLessThan(segmentsBefore);
    expect(diskBytes(dir)).toBeLessThan(before / 2);
    expect(value('compactedBytes')).toBeGreaterThan(0);
    await expectExactly(store, live);
    await store.close();
    const again = await openStore(dir, SMALL);
    await expectExactly(again.store, live);
    expect(again.value('corruptRecords')).toBe(0);
    await again.store.close();
  });

  it('copies tombstones forward while an older segment may still hold what they delete', async () => {
    const dir = tempDir();
    const options = { ...SMALL, compactGarbageRatio: 0.3 };
    const { store } = await openStore(dir, options);
    // Segment 1: twenty small bundles. Segment 2 and later: one big bundle, then tombstones for it and half the small ones.
    await Promise.all(ids('a', 20).map((id) => store.put(meta(id), bundleBytes(id, 500))));
    await store.put(meta('big'), bundleBytes('big', 14_000));
    await store.delete('big', 6);
    for (const id of ids('a', 10)) await store.delete(id, 6);
    await store.put(meta('tail'), bundleBytes('tail', 14_000)); // seals the segment holding the tombstones
    const files = segmentFiles(dir).map((f) => f.slice(-14));
    expect(files.length).toBeGreaterThanOrEqual(3);

    // The tombstones' segment is the most wasteful (the big bundle is dead): it goes first.
    const first = await store.compact(1 << 20);
    expect(first.segment).toBe(2);
    expect(first.reclaimed).toBe(1);
    await store.close();
    // Segment 1 still holds a0..a9: their tombstones must have survived segment 2's reclaiming.
    const live = new Map([...ids('a', 20).slice(10).map((id): [string, number] => [id, 500]), ['tail', 14_000]]);
    const again = await openStore(dir, options);
    await expectExactly(again.store, live);
    while (!(await again.store.compact(1 << 20)).idle);
    await again.store.close();
    const third = await openStore(dir, options);
    await expectExactly(third.store, live);
    await third.store.close();
  });

  it('runs one step at a time, and a deletion during a step wins over the copy', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir, SMALL);
    await Promise.all(ids('r', 40).map((id) => store.put(meta(id), bundleBytes(id, 700))));
    await store.put(meta('seal'), bundleBytes('seal', 15_000));
    for (const id of ids('r', 40).filter((_, i) => i % 2)) await store.delete(id, 6);
    const step = store.compact(1 << 20);
    expect(store.compact(1)).toBe(step);
    await store.delete('r0', 6); // copied (or being copied) in this very step
    const done = await step;
    expect(done.reclaimed).toBe(1);
    expect(store.has('r0')).toBe(false);
    await store.close();
    const again = await openStore(dir, SMALL);
    const live = new Map([...ids('r', 40).filter((_, i) => i % 2 === 0 && i !== 0).map((id): [string, number] => [id, 700]), ['seal', 15_000]]);
    await expectExactly(again.store, live);
    await again.store.close();
  });

  it('never copies a decayed bundle forward: it is counted and deleted instead', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir, SMALL);
    await Promise.all(ids('q', 20).map((id) => store.put(meta(id), bundleBytes(id, 600))));
    await store.put(meta('seal'), bundleBytes('seal', 15_000));
    for (const id of ids('q', 20).slice(0, 12)) await store.delete(id, 6);
    // Decay the data of q15 in segment 1.
    const file = segmentFiles(dir)[0]!;
    const bytes = readFileSync(file);
    const head = newHead();
    const view = new RecordView(bytes);
    for (let at = 32; view.head(at, head); at += HEAD_BYTES + head.metaLength + head.dataLength) {
      if (bytes.toString('latin1', at + HEAD_BYTES + 32, at + HEAD_BYTES + 35) === 'q15') {
        bytes[at + HEAD_BYTES + head.metaLength + 5]! ^= 0xff;
        break;
      }
    }
    writeFileSync(file, bytes);
    while (!(await store.compact()).idle);
    expect(value('corruptRecords')).toBe(1);
    expect(store.has('q15')).toBe(false);
    await store.close();
    const again = await openStore(dir, SMALL);
    const live = new Map([...ids('q', 20).slice(12).filter((id) => id !== 'q15').map((id): [string, number] => [id, 600]), ['seal', 15_000]]);
    await expectExactly(again.store, live);
    await again.store.close();
  });
});
