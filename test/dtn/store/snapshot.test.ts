// The index snapshot of a clean close (index-snapshot.ts): a clean restart loads it instead of
// rebuilding the index, and whatever happened to the files since, the index an open ends with
// is the one a rebuild from the segments would give.
import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_FILE } from '../../../flight/dtn/store/index-snapshot.js';
import type { BundleStore } from '../../../flight/dtn/store/store.js';
import { bundleBytes, meta, openStore, tempDir, type OpenedStore } from './support.js';

const SEGMENT_BYTES = 64 * 1024;
const PRIORITIES = ['bulk', 'normal', 'expedited'] as const;
const SOURCES = ['ipn:12.1', 'ipn:13.1', 'dtn://sat-9/tlm'];

const open = (dir: string): Promise<OpenedStore> => openStore(dir, { segmentBytes: SEGMENT_BYTES });

async function fill(store: BundleStore, prefix: string, n: number): Promise<void> {
  const puts = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i}`;
    puts.push(store.put(meta(id, { priority: PRIORITIES[i % 3]!, source: SOURCES[i % 3]!, expiryMs: 1_800_000_000_000 + ((i * 7919) % 1000) }), bundleBytes(id, 700)));
    if (puts.length === 16) await Promise.all(puts.splice(0));
  }
  await Promise.all(puts);
}

/** Everything an open knows of the bundles: metadata, bytes, and what capacity counts. */
async function contents(store: BundleStore): Promise<unknown> {
  const list = store.list().sort((a, b) => a.id.localeCompare(b.id));
  for (const b of list) expect(Buffer.from((await store.get(b.id))!).equals(bundleBytes(b.id, 700))).toBe(true);
  return { list, bytes: store.bytes, count: store.count };
}

/** The contents a rebuild from the segments alone gives (the snapshot set aside and put back). */
async function rebuilt(dir: string): Promise<unknown> {
  const snapshot = join(dir, SNAPSHOT_FILE);
  const kept = existsSync(snapshot) ? readFileSync(snapshot) : undefined;
  if (kept) rmSync(snapshot);
  const s = await open(dir);
  expect(s.value('snapshotLoads')).toBe(0);
  const found = await contents(s.store);
  await s.store.close();
  if (kept) writeFileSync(snapshot, kept);
  return found;
}

/** A store of several full segments and an active one, some bundles deleted, closed cleanly. */
async function made(): Promise<string> {
  const dir = tempDir();
  const s = await open(dir);
  await fill(s.store, 'a', 300);
  for (let i = 0; i < 300; i += 11) await s.store.delete(`a${i}`, 6);
  await s.store.close();
  expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(2);
  return dir;
}

describe('index snapshot', () => {
  it('a clean restart loads the index saved at close, reading only the newest segment, and ends with what a rebuild finds', async () => {
    const dir = await made();
    const truth = await rebuilt(dir);
    const s = await open(dir);
    expect(s.value('snapshotLoads')).toBe(1);
    expect(s.value('snapshotRejected')).toBe(0);
    expect(s.events.find((e) => e.name === 'STORE_RECOVERED')!.args).toMatchObject({ from: 'snapshot', summaries: 1 });
    // Gone once loaded: a crash from here on finds no snapshot and rebuilds from the segments.
    expect(existsSync(join(dir, SNAPSHOT_FILE))).toBe(false);
    expect(await contents(s.store)).toEqual(truth);
    // The loaded index works as a rebuilt one: puts, duplicates, deletions, expiry order.
    await s.store.put(meta('b0'), bundleBytes('b0', 700));
    await expect(s.store.put(meta('a1'), bundleBytes('a1', 700))).rejects.toMatchObject({ code: 'STORE_DUPLICATE' });
    expect(await s.store.delete('a2', 6)).toBe(true);
    const expired = await s.store.expire(1_800_000_000_000 + 1000, 5);
    expect(expired.map((b) => b.expiryMs)).toEqual([...expired.map((b) => b.expiryMs)].sort((x, y) => x - y));
    expect(expired.length).toBe(5);
    await s.store.close();
    const again = await open(dir);
    expect(again.value('snapshotLoads')).toBe(1);
    const found = await contents(again.store);
    await again.store.close();
    expect(found).toEqual(await rebuilt(dir));
  });

  it('ignores and counts a torn, a corrupt and a stale snapshot, and rebuilds the same index from the segments', async () => {
    const dir = await made();
    const truth = await rebuilt(dir);
    const path = join(dir, SNAPSHOT_FILE);
    const good = readFileSync(path);
    const cases: Array<[string, () => void, RegExp]> = [
      ['torn', () => truncateSync(path, good.length >> 1), /corrupt|torn/],
      ['torn header', () => truncateSync(path, 12), /torn/],
      ['corrupt', () => { const b = Buffer.from(good); b[b.length >> 1]! ^= 0x10; writeFileSync(path, b); }, /CRC mismatch/],
      // Written again with the same bytes: only its modification time says so.
      ['a full segment written after it', () => { writeFileSync(path, good); const f = join(dir, '0000000001.seg'); writeFileSync(f, readFileSync(f)); }, /segment 1 was modified/],
      ['a segment added', () => { writeFileSync(path, good); writeFileSync(join(dir, '0000000099.seg'), Buffer.alloc(0)); }, /stale: segments/],
    ];
    for (const [what, damage, reason] of cases) {
      damage();
      const s = await open(dir);
      expect(s.value('snapshotLoads'), what).toBe(0);
      expect(s.value('snapshotRejected'), what).toBe(1);
      expect(String(s.events.find((e) => e.name === 'STORE_SNAPSHOT_REJECTED')!.args.reason), what).toMatch(reason);
      expect(await contents(s.store), what).toEqual(truth);
      await s.store.close();
      rmSync(join(dir, '0000000099.seg'), { force: true });
    }
  });

  it('never resurrects a deleted bundle nor hides a stored one: an old snapshot put back after later writes', async () => {
    const dir = await made();
    const old = readFileSync(join(dir, SNAPSHOT_FILE));
    const segmentsBefore = readdirSync(dir).filter((f) => f.endsWith('.seg'));

    // Later writes land in the newest segment only: deletions of bundles held in older
    // segments (tombstones), and new bundles. Then the old snapshot comes back, as if the
    // later session had crashed after an unlink that never reached the disk.
    const s = await open(dir);
    for (const id of ['a1', 'a3', 'a5', 'a150']) expect(await s.store.delete(id, 6)).toBe(true);
    await fill(s.store, 'c', 20);
    await s.store.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual(segmentsBefore);
    writeFileSync(join(dir, SNAPSHOT_FILE), old);
    const truth = await rebuilt(dir);
    const back = await open(dir);
    expect(back.value('snapshotLoads')).toBe(1);
    const found = await contents(back.store);
    expect(found).toEqual(truth);
    const ids = (found as { list: Array<{ id: string }> }).list.map((b) => b.id);
    expect(ids).not.toContain('a1');
    expect(ids).not.toContain('a150');
    expect(ids).toContain('c19');
    // A write torn off the newest segment by a crash: the newest segment is scanned as always.
    const newest = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().at(-1)!;
    await back.store.close();
    writeFileSync(join(dir, SNAPSHOT_FILE), old);
    appendFileSync(join(dir, newest), Buffer.from('TBR1 torn write'));
    const torn = await open(dir);
    expect(torn.value('snapshotLoads')).toBe(1);
    expect(await contents(torn.store)).toEqual(truth);
    await torn.store.close();

    // Compaction reclaims an older segment: the set of segments changed, the snapshot is stale.
    const c = await open(dir);
    for (const b of c.store.list()) if (b.id.startsWith('a')) await c.store.delete(b.id, 6);
    for (let i = 0; i < 50 && (await c.store.compact(1 << 20)).idle === false; i++);
    expect(c.value('segmentsReclaimed')).toBeGreaterThan(0);
    await c.store.close();
    writeFileSync(join(dir, SNAPSHOT_FILE), old);
    const stale = await open(dir);
    expect(stale.value('snapshotRejected')).toBe(1);
    expect((await contents(stale.store) as { list: Array<{ id: string }> }).list.map((b) => b.id).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
    await stale.store.close();
  });
});
