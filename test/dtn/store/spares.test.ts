// STORE-023: spare segments (spares.ts). A store created with spares writes them through once;
// new segments are made from them and their records overwrite blocks in place; compaction turns
// emptied segments back into spares. What matters is what a crash leaves: recovery must find
// exactly the records of this use of a file, never an earlier use's, and count as torn only the
// batch that was under way. A "crash image" is a copy of the directory taken while the store is
// open, after its writes returned: what a killed process leaves on disk (the writes are O_DSYNC).
import { cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRAILER_BYTES, readTrailer, segmentFileName } from '../../../flight/dtn/store/format.js';
import { SNAPSHOT_FILE } from '../../../flight/dtn/store/index-snapshot.js';
import { bundleBytes, expectExactly, meta, openStore, tempDir } from './support.js';

const files = (dir: string, suffix: string): string[] => readdirSync(dir).filter((f) => f.endsWith(suffix)).sort();
const sizeOf = (dir: string, segment: number): number => statSync(join(dir, segmentFileName(segment))).size;
const recycledFlag = (dir: string, segment: number): number => readFileSync(join(dir, segmentFileName(segment)))[16]!;

function crashImage(dir: string): string {
  const copy = tempDir('tern-store-crash-image-');
  cpSync(dir, copy, { recursive: true, filter: (path) => !path.endsWith('LOCK') });
  return copy;
}

describe('spare segments', () => {
  it('are written through when the store is created; records then overwrite them in place, across a crash and a clean close', async () => {
    const dir = tempDir();
    const options = { segmentBytes: 64 * 1024, spareSegments: 3 };
    const { store, value } = await openStore(dir, options);
    // Three formatted, one of them now segment 1.
    expect(files(dir, '.spare')).toHaveLength(2);
    for (const spare of files(dir, '.spare')) expect(statSync(join(dir, spare)).size).toBe(64 * 1024);
    expect(value('spareSegments')).toBe(2);
    expect(recycledFlag(dir, 1)).toBe(1);
    const live = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      await store.put(meta(`b${i}`), bundleBytes(`b${i}`, 1000 + i));
      live.set(`b${i}`, 1000 + i);
    }
    // Overwritten, not appended: the file kept its size.
    expect(sizeOf(dir, 1)).toBe(64 * 1024);

    const image = crashImage(dir);
    const crashed = await openStore(image, options);
    await expectExactly(crashed.store, live);
    expect(crashed.value('tornBytes')).toBe(0);
    expect(crashed.value('corruptRecords')).toBe(0);
    expect(crashed.events.filter((e) => e.name === 'STORE_TORN_TAIL')).toEqual([]);
    // The bytes past the records stay: the segment goes on overwriting.
    expect(sizeOf(image, 1)).toBe(64 * 1024);
    await crashed.store.put(meta('after'), bundleBytes('after', 3000));
    live.set('after', 3000);
    expect(sizeOf(image, 1)).toBe(64 * 1024);
    await crashed.store.close();
    // A clean close seals it: the stale bytes are cut so that the trailer ends the file.
    const sealed = readFileSync(join(image, segmentFileName(1)));
    expect(sealed.length).toBeLessThan(64 * 1024);
    expect(readTrailer(sealed.subarray(sealed.length - TRAILER_BYTES), 1)).toBeGreaterThan(0);
    const reopened = await openStore(image, options);
    await expectExactly(reopened.store, live);
    await reopened.store.close();

    live.delete('after');
    await store.close();
    const again = await openStore(dir, options);
    await expectExactly(again.store, live);
    expect(again.value('tornBytes')).toBe(0);
    await again.store.close();
  });

  it('come back from compaction, and no earlier record in a recycled file is taken for a later one', async () => {
    const dir = tempDir();
    const options = { segmentBytes: 16 * 1024, spareSegments: 2 };
    const { store, value } = await openStore(dir, options);
    const live = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      await store.put(meta(`a${i}`), bundleBytes(`a${i}`, 900 + i));
      live.set(`a${i}`, 900 + i);
    }
    expect(value('spareSegments')).toBe(0); // both used by the first segments
    for (let i = 0; i < 60; i++) {
      if (i % 10 === 0) continue;
      await store.delete(`a${i}`, 6);
      live.delete(`a${i}`);
    }
    for (let steps = 0; !(await store.compact(64 * 1024)).idle; steps++) expect(steps).toBeLessThan(200);
    expect(value('segmentsRecycled')).toBeGreaterThanOrEqual(2); // and more, if copies forward took a spare
    expect(value('spareSegments')).toBe(2);
    expect(files(dir, '.spare')).toHaveLength(2);
    const before = Math.max(...files(dir, '.seg').map((f) => Number(f.slice(0, 10))));

    // New segments are made from the recycled files: their earlier records (bundles since
    // deleted, with their old segment numbers) are under the new ones and past them.
    for (let i = 0; i < 30; i++) {
      await store.put(meta(`c${i}`), bundleBytes(`c${i}`, 900 + i));
      live.set(`c${i}`, 900 + i);
    }
    expect(value('spareSegments')).toBe(0);
    const recycled = files(dir, '.seg').map((f) => Number(f.slice(0, 10))).filter((n) => n > before && recycledFlag(dir, n) === 1);
    expect(recycled.length).toBeGreaterThan(0);

    const crashed = await openStore(crashImage(dir), options);
    await expectExactly(crashed.store, live);
    expect(crashed.value('corruptRecords')).toBe(0);
    expect(crashed.value('tornBytes')).toBe(0);
    await crashed.store.close();
    await store.close();
  });

  it('cut a torn batch back, counting as torn only its records, not the earlier use\'s bytes past them', async () => {
    const dir = tempDir();
    const options = { segmentBytes: 64 * 1024, spareSegments: 1 };
    const { store } = await openStore(dir, options);
    for (let i = 0; i < 10; i++) await store.put(meta(`t${i}`), bundleBytes(`t${i}`, 2000));
    const image = crashImage(dir);
    await store.close();
    // The last put's batch torn: its head reached the disk, a page of its data did not.
    const path = join(image, segmentFileName(1));
    const bytes = readFileSync(path);
    const data = Buffer.from(bundleBytes('t9', 2000));
    const at = bytes.indexOf(data);
    expect(at).toBeGreaterThan(0);
    bytes.fill(0, at + 1000, at + 2000);
    writeFileSync(path, bytes);
    const recordEnd = at + 2000;

    const crashed = await openStore(image, options);
    expect(crashed.store.has('t9')).toBe(false);
    expect(crashed.store.count).toBe(9);
    const torn = crashed.value('tornBytes');
    // Its head, metadata and data: not the ~40 KiB of zeros after it.
    expect(torn).toBeGreaterThan(2000);
    expect(torn).toBeLessThan(2200);
    expect(crashed.events.find((e) => e.name === 'STORE_TORN_TAIL')?.args).toEqual({ segment: 1, bytes: torn });
    // Cut back to the last good record, so the torn record's intact head can never be read as
    // this segment's again once shorter records are written over its start.
    expect(sizeOf(image, 1)).toBe(recordEnd - torn);
    await crashed.store.put(meta('short'), bundleBytes('short', 10));
    await crashed.store.close();
    const again = await openStore(image, options);
    expect(again.store.count).toBe(10);
    expect(again.value('corruptRecords')).toBe(0);
    await again.store.close();
  });

  it('never give a new segment a number an earlier use of a spare had', async () => {
    const dir = tempDir();
    const options = { segmentBytes: 16 * 1024, spareSegments: 1 };
    const first = await openStore(dir, options);
    for (let i = 0; i < 40; i++) await first.store.put(meta(`d${i}`), bundleBytes(`d${i}`, 900));
    for (let i = 0; i < 40; i++) await first.store.delete(`d${i}`, 6);
    while (!(await first.store.compact(64 * 1024)).idle);
    expect(first.value('segmentsRecycled')).toBe(1);
    const [spare] = files(dir, '.spare');
    const origin = readFileSync(join(dir, spare!)).readUInt32LE(12); // the segment it was
    expect(origin).toBeGreaterThan(0);
    await first.store.close();
    // Every segment is gone (removed by hand), so no file says which numbers were used; the
    // spare's header still does. Were that number used again for a segment made from it, its
    // records would be back.
    for (const f of files(dir, '.seg')) rmSync(join(dir, f));
    rmSync(join(dir, SNAPSHOT_FILE), { force: true });
    const second = await openStore(dir, options);
    expect(files(dir, '.seg')).toEqual([segmentFileName(origin + 1)]);
    const image = crashImage(dir);
    await second.store.close();
    const crashed = await openStore(image, options);
    expect(crashed.store.list()).toEqual([]);
    expect(crashed.value('corruptRecords')).toBe(0);
    await crashed.store.close();
  });
});
