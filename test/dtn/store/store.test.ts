import { readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreClosedError, StoreCorruptError, StoreDuplicateError, StoreLockedError, StoreMetaError } from '../../../flight/dtn/store/errors.js';
import { HEAD_BYTES, RecordView, newHead } from '../../../flight/dtn/store/format.js';
import { bundleBytes, meta, openStore, tempDir } from './support.js';

/** Every record head in a segment file, in file order (a plain walk: the file must be sound). */
function heads(file: string): Array<{ offset: number; batchOffset: number; length: number }> {
  const bytes = readFileSync(file);
  const out = [];
  const head = newHead();
  const view = new RecordView(bytes);
  for (let at = 32; at + HEAD_BYTES <= bytes.length && view.head(at, head) && head.kind !== 3; ) {
    const length = HEAD_BYTES + head.metaLength + head.dataLength;
    out.push({ offset: at, batchOffset: head.batchOffset, length });
    at += length;
  }
  return out;
}

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().map((f) => join(dir, f));

describe('BundleStore basics', () => {
  it('stores, finds and returns bundles byte for byte, and they survive close and reopen', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir);
    const sizes = [1, 100, 1024, 70_000, 300_000];
    await Promise.all(sizes.map((size, i) => store.put(meta(`b${i}`, { priority: 'bulk', state: 'delivery-pending' }), bundleBytes(`b${i}`, size))));
    for (const [i, size] of sizes.entries()) {
      expect(store.has(`b${i}`)).toBe(true);
      expect(Buffer.from((await store.get(`b${i}`))!).equals(bundleBytes(`b${i}`, size))).toBe(true);
    }
    expect(store.meta('b3')).toEqual({ ...meta('b3', { priority: 'bulk', state: 'delivery-pending' }), size: 70_000 });
    expect(store.list().map((b) => b.id).sort()).toEqual(['b0', 'b1', 'b2', 'b3', 'b4']);
    expect(await store.get('nope')).toBeUndefined();
    expect(value('puts')).toBe(5);
    expect(value('bundles')).toBe(5);
    expect(value('bytes')).toBe(store.bytes);
    await store.close();

    const again = await openStore(dir);
    expect(again.store.list().sort((a, b) => a.id.localeCompare(b.id))).toEqual(sizes.map((size, i) => ({ ...meta(`b${i}`, { priority: 'bulk', state: 'delivery-pending' }), size })));
    for (const [i, size] of sizes.entries()) expect(Buffer.from((await again.store.get(`b${i}`))!).equals(bundleBytes(`b${i}`, size))).toBe(true);
    expect(again.value('bytes')).toBe(again.store.bytes);
    await again.store.close();
  });

  it('sees a bundle in has() from the moment put() is called, but serves it only once durable', async () => {
    const { store } = await openStore(tempDir());
    const put = store.put(meta('early'), bundleBytes('early', 10));
    expect(store.has('early')).toBe(true);
    expect(store.meta('early')).toBeUndefined();
    expect(await store.get('early')).toBeUndefined();
    expect(store.list()).toEqual([]);
    await put;
    expect(store.meta('early')?.size).toBe(10);
    await store.close();
  });

  it('group commit: concurrent puts share fdatasyncs, and no batch exceeds maxBatchBytes', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir, { maxBatchBytes: 16 * 1024 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(meta(`g${i}`), bundleBytes(`g${i}`, 1024))));
    const commits = value('commits');
    // 200 records of ~1.1 KiB in batches of at most 16 KiB: at least 14 batches, and far fewer than 200.
    expect(commits).toBeGreaterThanOrEqual(14);
    expect(commits).toBeLessThanOrEqual(40);
    const batches = new Map<number, number>();
    for (const h of heads(segmentFiles(dir)[0]!)) batches.set(h.batchOffset, (batches.get(h.batchOffset) ?? 0) + h.length);
    expect(batches.size).toBe(commits);
    for (const bytes of batches.values()) expect(bytes).toBeLessThanOrEqual(16 * 1024);
    await store.close();
  });

  it('group commit: commitDelayMs holds a batch open for puts made in later turns of the event loop', async () => {
    const { store, value } = await openStore(tempDir(), { commitDelayMs: 300 });
    const puts = [];
    for (let i = 0; i < 5; i++) {
      puts.push(store.put(meta(`d${i}`), bundleBytes(`d${i}`, 100)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(puts);
    expect(value('commits')).toBe(1);
    expect(value('commitRecordsLast')).toBe(5);
    await store.close();
  });

  it('suppresses duplicates, even while the first put is in flight, and takes the id again after deletion', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir);
    const first = store.put(meta('dup'), bundleBytes('dup', 50));
    await expect(store.put(meta('dup'), bundleBytes('dup', 50))).rejects.toBeInstanceOf(StoreDuplicateError);
    await first;
    await expect(store.put(meta('dup'), bundleBytes('other', 60))).rejects.toMatchObject({ code: 'STORE_DUPLICATE', id: 'dup' });
    expect(value('duplicates')).toBe(2);
    expect(await store.delete('dup', 3)).toBe(true);
    await store.put(meta('dup'), bundleBytes('second', 70));
    await store.close();
    // The old tombstone deletes the old instance only: the new bundle survives recovery.
    const again = await openStore(dir);
    expect(Buffer.from((await again.store.get('dup'))!).equals(bundleBytes('second', 70))).toBe(true);
    await again.store.close();
  });

  it('makes deletions durable with their disposition, and reports unknown ids as false', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir);
    for (const id of ['f', 'v', 'x', 'keep']) await store.put(meta(id), bundleBytes(id, 10));
    expect(await store.markForwarded('f')).toBe(true);
    expect(await store.markDelivered('v')).toBe(true);
    expect(await store.delete('x', 6)).toBe(true);
    expect(await store.delete('x', 6)).toBe(false);
    expect(await store.markForwarded('never')).toBe(false);
    await expect(store.delete('keep', 256)).rejects.toBeInstanceOf(StoreMetaError);
    expect([value('forwarded'), value('delivered'), value('deleted')]).toEqual([1, 1, 1]);
    await store.close();
    const again = await openStore(dir);
    expect(again.store.list().map((b) => b.id)).toEqual(['keep']);
    await again.store.close();
  });

  it('rejects bad metadata with StoreMetaError naming the field, writing nothing', async () => {
    const { store, value } = await openStore(tempDir());
    const cases: Array<[Partial<Parameters<typeof meta>[1]> & { id?: string }, string]> = [
      [{ id: '' }, 'id'],
      [{ id: 'has space' }, 'id'],
      [{ id: 'é' }, 'id'],
      [{ id: 'x'.repeat(1025) }, 'id'],
      [{ source: '' }, 'source'],
      [{ destination: 'a\nb' }, 'destination'],
      [{ priority: 'urgent' as never }, 'priority'],
      [{ state: 'stored' as never }, 'state'],
      [{ creationMs: -1 }, 'creationMs'],
      [{ expiryMs: 1.5 }, 'expiryMs'],
      [{ expiryMs: Number.NaN }, 'expiryMs'],
    ];
    for (const [bad, field] of cases) {
      await expect(store.put({ ...meta('ok'), ...bad }, bundleBytes('ok', 10))).rejects.toMatchObject({ code: 'STORE_BAD_META', field });
    }
    await expect(store.put(meta('empty'), new Uint8Array(0))).rejects.toMatchObject({ field: 'bytes' });
    await expect(store.put(meta('str'), 'text' as never)).rejects.toMatchObject({ field: 'bytes' });
    expect(store.count).toBe(0);
    expect(value('commits')).toBe(0);
    await store.close();
  });

  it('never returns a corrupt bundle: a flipped data or metadata byte is caught on read, counted, and the bundle deleted', async () => {
    const dir = tempDir();
    const { store, value, events } = await openStore(dir);
    await store.put(meta('good'), bundleBytes('good', 500));
    await store.put(meta('data-rot'), bundleBytes('data-rot', 500));
    await store.put(meta('meta-rot'), bundleBytes('meta-rot', 500));
    const file = segmentFiles(dir)[0]!;
    const [, second, third] = heads(file);
    const bytes = readFileSync(file);
    bytes[second!.offset + second!.length - 100]! ^= 0x04;
    bytes[third!.offset + HEAD_BYTES + 3]! ^= 0x80; // inside the creation time
    writeFileSync(file, bytes);
    await expect(store.get('data-rot')).rejects.toMatchObject({ code: 'STORE_CORRUPT', id: 'data-rot', reason: 'data CRC mismatch' });
    await expect(store.get('meta-rot')).rejects.toBeInstanceOf(StoreCorruptError);
    expect(store.has('data-rot')).toBe(false);
    expect(store.has('meta-rot')).toBe(false);
    expect(Buffer.from((await store.get('good'))!).equals(bundleBytes('good', 500))).toBe(true);
    expect(value('corruptRecords')).toBe(2);
    expect(events.filter((e) => e.name === 'STORE_CORRUPT_READ').map((e) => e.args.id)).toEqual(['data-rot', 'meta-rot']);
    await store.close();
    const again = await openStore(dir);
    expect(again.store.list().map((b) => b.id)).toEqual(['good']);
    await again.store.close();
  });

  it('treats a record cut short under it (a file truncated behind its back) as corrupt, not as an I/O crash', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir);
    await store.put(meta('whole'), bundleBytes('whole', 500));
    await store.put(meta('cut'), bundleBytes('cut', 500));
    const file = segmentFiles(dir)[0]!;
    truncateSync(file, statSync(file).size - 100);
    await expect(store.get('cut')).rejects.toMatchObject({ code: 'STORE_CORRUPT', id: 'cut' });
    expect(Buffer.from((await store.get('whole'))!).equals(bundleBytes('whole', 500))).toBe(true);
    expect(value('corruptRecords')).toBe(1);
    await store.close();
  });

  it('drains queued puts on close, then refuses everything', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    const puts = Array.from({ length: 20 }, (_, i) => store.put(meta(`c${i}`), bundleBytes(`c${i}`, 100)));
    await store.close();
    await Promise.all(puts);
    await expect(store.put(meta('late'), bundleBytes('late', 1))).rejects.toBeInstanceOf(StoreClosedError);
    await expect(store.get('c1')).rejects.toBeInstanceOf(StoreClosedError);
    const again = await openStore(dir);
    expect(again.store.count).toBe(20);
    await again.store.close();
  });

  it('has one writer: a second open fails with StoreLockedError; a lock left by a dead process is taken over', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await expect(openStore(dir)).rejects.toMatchObject({ code: 'STORE_LOCKED', pid: process.pid });
    await expect(openStore(dir)).rejects.toBeInstanceOf(StoreLockedError);
    await store.close();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dir, 'LOCK'), `${dead.stdout}\n`); // a LOCK file as older versions wrote it
    const again = await openStore(dir);
    expect(readlinkSync(join(dir, 'LOCK'))).toBe(String(process.pid));
    await again.store.close();
    symlinkSync(dead.stdout, join(dir, 'LOCK')); // and as this one does
    const third = await openStore(dir);
    expect(readlinkSync(join(dir, 'LOCK'))).toBe(String(process.pid));
    await third.store.close();
  });
});
