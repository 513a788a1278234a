import { appendFileSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreFormatError } from '../../../flight/dtn/store/errors.js';
import {
  HEAD_BYTES, RecordView, TRAILER_BYTES, bundleHead, checkSegmentHeader, crc32c, newHead, placeHead,
} from '../../../flight/dtn/store/format.js';
import { SNAPSHOT_FILE } from '../../../flight/dtn/store/index-snapshot.js';
import type { BundleStore } from '../../../flight/dtn/store/store.js';
import { bundleBytes, meta, openStore, tempDir, unseal } from './support.js';

const segmentFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort().map((f) => join(dir, f));

interface RecordAt { offset: number; batchOffset: number; metaLength: number; dataLength: number; length: number }

function records(file: string): RecordAt[] {
  const bytes = readFileSync(file);
  const out: RecordAt[] = [];
  const head = newHead();
  const view = new RecordView(bytes);
  for (let at = 32; at + HEAD_BYTES <= bytes.length && view.head(at, head) && head.kind !== 3; ) {
    const length = HEAD_BYTES + head.metaLength + head.dataLength;
    out.push({ offset: at, batchOffset: head.batchOffset, metaLength: head.metaLength, dataLength: head.dataLength, length });
    at += length;
  }
  return out;
}

function flip(file: string, at: number, mask = 0x01): void {
  const bytes = readFileSync(file);
  bytes[at]! ^= mask;
  writeFileSync(file, bytes);
}

async function fill(store: BundleStore, ids: string[], size = 700): Promise<void> {
  for (const id of ids) await store.put(meta(id), bundleBytes(id, size)); // one batch each
}

async function expectIntact(store: BundleStore, ids: string[], size = 700): Promise<void> {
  expect(store.list().map((b) => b.id).sort()).toEqual([...ids].sort());
  for (const id of ids) expect(Buffer.from((await store.get(id))!).equals(bundleBytes(id, size))).toBe(true);
}

const ids = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A complete, valid-looking bundle record for segment `segment` at `offset`, its data replaced by `data`. */
function craftedRecord(id: string, segment: number, offset: number, data: Uint8Array, dataCrcOf: Uint8Array = data): Buffer {
  const head = bundleHead(meta(id), 999_999, data.length, crc32c(dataCrcOf));
  placeHead(head, segment, offset, offset);
  return Buffer.concat([head, data]);
}

describe('store recovery from the files alone', () => {
  it('discards every kind of torn tail, counts it, cuts it off, and keeps every complete bundle', async () => {
    const tails: Array<[string, (file: string) => Buffer]> = [
      ['half a head', () => Buffer.from([0x54, 0x42, 0x52, 0x31, 1, 2, 3, 4, 5, 6])],
      ['a head whose data never arrived', (file) => craftedRecord('torn', 1, statSync(file).size, bundleBytes('torn', 700)).subarray(0, 200)],
      ['a whole record whose data is zeros', (file) => craftedRecord('zeros', 1, statSync(file).size, new Uint8Array(700), bundleBytes('zeros', 700))],
      ['random bytes', () => Buffer.from(bundleBytes('noise', 3000))],
    ];
    for (const [what, tail] of tails) {
      const dir = tempDir();
      const first = await openStore(dir);
      await fill(first.store, ids('t', 10));
      await first.store.close();
      const file = segmentFiles(dir)[0]!;
      unseal(file);
      const size = statSync(file).size;
      const garbage = tail(file);
      appendFileSync(file, garbage);

      const again = await openStore(dir);
      await expectIntact(again.store, ids('t', 10));
      expect(again.value('tornBytes'), what).toBe(garbage.length);
      expect(again.value('corruptRecords'), what).toBe(0);
      expect(again.events.some((e) => e.name === 'STORE_TORN_TAIL' && e.args.bytes === garbage.length), what).toBe(true);
      // And the store carries on appending after the cut.
      await again.store.put(meta('after'), bundleBytes('after', 700));
      await again.store.close();
      unseal(file);
      expect(statSync(file).size, what).toBe(size + records(file).slice(-1)[0]!.length);
      const third = await openStore(dir);
      await expectIntact(third.store, [...ids('t', 10), 'after']);
      expect(third.value('tornBytes')).toBe(0);
      await third.store.close();
    }
  });

  it('drops a record of the last write batch whose data is bad even when records after it survived', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await fill(store, ids('early', 3));
    // Three puts in one turn of the event loop: one batch, one fdatasync.
    await Promise.all(['A', 'B', 'C'].map((id) => store.put(meta(id), bundleBytes(id, 700))));
    await store.close();
    const file = segmentFiles(dir)[0]!;
    unseal(file);
    const all = records(file);
    const last = all.slice(-3);
    expect(new Set(last.map((r) => r.batchOffset)).size).toBe(1);
    // As if the page holding B's data never reached the disk.
    const bytes = readFileSync(file);
    bytes.fill(0, last[1]!.offset + HEAD_BYTES + last[1]!.metaLength, last[1]!.offset + last[1]!.length);
    writeFileSync(file, bytes);
    const again = await openStore(dir);
    await expectIntact(again.store, [...ids('early', 3), 'A', 'C']);
    expect(again.value('tornBytes')).toBe(last[1]!.length);
    // Once later batches follow it, B (valid head, bad data) is no longer in the last batch:
    // recovery voided it, so it does not come back, and is not counted as corruption either.
    await again.store.put(meta('D'), bundleBytes('D', 700));
    await again.store.close();
    unseal(file);
    const third = await openStore(dir);
    await expectIntact(third.store, [...ids('early', 3), 'A', 'C', 'D']);
    expect(third.value('corruptRecords')).toBe(0);
    await third.store.close();
  });

  it('skips a corrupt record in the middle of a segment, finds the records after it, and counts it', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await fill(store, ids('m', 8));
    await store.close();
    const file = segmentFiles(dir)[0]!;
    unseal(file);
    const victim = records(file)[3]!;
    flip(file, victim.offset + 17, 0x40); // in the head: the segment number
    const again = await openStore(dir);
    const survivors = ids('m', 8).filter((id) => id !== 'm3');
    await expectIntact(again.store, survivors);
    expect(again.value('corruptRecords')).toBe(1);
    const event = again.events.find((e) => e.name === 'STORE_CORRUPT_RECORDS')!;
    expect(event.args).toMatchObject({ segment: 1, records: 1, bytes: victim.length });
    await again.store.close();
  });

  it('does not take a record-like run of bytes inside a bundle for a record while resynchronising', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await fill(store, ['before']);
    // A payload carrying a complete, CRC-valid record (for the wrong position, as an attacker cannot know it).
    const payload = Buffer.concat([Buffer.alloc(40, 7), craftedRecord('fake', 1, 32, bundleBytes('fake', 100)), Buffer.alloc(40, 7)]);
    await store.put(meta('carrier'), payload);
    await fill(store, ['after']);
    await store.close();
    const file = segmentFiles(dir)[0]!;
    unseal(file);
    flip(file, records(file)[1]!.offset + 9); // the carrier's head
    const again = await openStore(dir);
    expect(again.store.list().map((b) => b.id).sort()).toEqual(['after', 'before']);
    await again.store.close();
  });

  it('lists a bundle whose data decayed in an earlier batch (heads are checked at recovery), and never serves it', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    await fill(store, ids('d', 5));
    await store.close();
    const file = segmentFiles(dir)[0]!;
    const r = records(file)[1]!;
    flip(file, r.offset + r.length - 1);
    const again = await openStore(dir);
    expect(again.store.has('d1')).toBe(true);
    await expect(again.store.get('d1')).rejects.toMatchObject({ code: 'STORE_CORRUPT', reason: 'data CRC mismatch' });
    await again.store.close();
    const third = await openStore(dir);
    await expectIntact(third.store, ids('d', 5).filter((id) => id !== 'd1'));
    await third.store.close();
  });

  it('reads full segments through their summaries, and falls back to a checked scan when a summary or trailer is damaged', async () => {
    const dir = tempDir();
    const first = await openStore(dir, { segmentBytes: 16 * 1024 });
    await fill(first.store, ids('s', 100));
    for (let i = 0; i < 100; i += 7) await first.store.delete(`s${i}`, 6);
    await first.store.close();
    const expected = ids('s', 100).filter((_, i) => i % 7 !== 0);
    const files = segmentFiles(dir);
    expect(files.length).toBeGreaterThan(4);

    // Without the index snapshot of the clean close (snapshot.test.ts): the path every open
    // took before there was one, and the one after a crash that follows a clean restart.
    rmSync(join(dir, SNAPSHOT_FILE));
    const bySummary = await openStore(dir, { segmentBytes: 16 * 1024 });
    await expectIntact(bySummary.store, expected);
    const recovered = bySummary.events.find((e) => e.name === 'STORE_RECOVERED')!;
    expect(recovered.args.summaries).toBe(files.length); // close() sealed the last one too
    await bySummary.store.close();

    flip(files[1]!, statSync(files[1]!).size - TRAILER_BYTES + 5); // trailer of segment 2
    const summaryStart = statSync(files[2]!).size - TRAILER_BYTES - 200;
    flip(files[2]!, summaryStart); // inside the summary of segment 3
    const byScan = await openStore(dir, { segmentBytes: 16 * 1024 });
    await expectIntact(byScan.store, expected);
    expect(byScan.events.find((e) => e.name === 'STORE_RECOVERED')!.args.summaries).toBe(files.length - 2);
    expect(byScan.value('corruptRecords')).toBe(0);
    await byScan.store.close();
  });

  it('checks every data CRC of a full segment whose summary failed: a decayed bundle there is discarded at recovery', async () => {
    const dir = tempDir();
    const first = await openStore(dir, { segmentBytes: 16 * 1024 });
    await fill(first.store, ids('v', 40));
    await first.store.close();
    const file = segmentFiles(dir)[0]!;
    const r = records(file)[2]!;
    flip(file, r.offset + r.length - 10);
    flip(file, statSync(file).size - 1); // the trailer's CRC
    const again = await openStore(dir, { segmentBytes: 16 * 1024 });
    expect(again.store.has('v2')).toBe(false);
    expect(again.value('corruptRecords')).toBe(1);
    await expectIntact(again.store, ids('v', 40).filter((id) => id !== 'v2'));
    await again.store.close();
  });

  it('never duplicates a bundle whose compaction copy and original both exist (a compaction cut short)', async () => {
    const dir = tempDir();
    const first = await openStore(dir, { segmentBytes: 16 * 1024 });
    await fill(first.store, ids('c', 60));
    // Make the first segment mostly dead so it is chosen, then copy part of it and stop.
    for (let i = 0; i < 60; i++) if (i % 4 !== 0) await first.store.delete(`c${i}`, 6);
    const step = await first.store.compact(2048);
    expect(step).toMatchObject({ segment: 1, reclaimed: 0, idle: false });
    expect(step.copiedBytes).toBeGreaterThan(0);
    await first.store.close();
    expect(segmentFiles(dir)[0]).toMatch(/0000000001\.seg$/);

    const again = await openStore(dir, { segmentBytes: 16 * 1024 });
    const live = ids('c', 60).filter((_, i) => i % 4 === 0);
    await expectIntact(again.store, live);
    expect(again.store.count).toBe(live.length);
    // A later compaction of the first segment must not resurrect or lose anything either.
    while (!(await again.store.compact()).idle);
    await again.store.close();
    const third = await openStore(dir, { segmentBytes: 16 * 1024 });
    await expectIntact(third.store, live);
    expect(segmentFiles(dir)[0]).not.toMatch(/0000000001\.seg$/);
    await third.store.close();
  });

  it('seals the active segment on close, reads it back by summary, and appends to it again after reopening', async () => {
    const dir = tempDir();
    for (let run = 0; run < 5; run++) {
      const { store, events } = await openStore(dir);
      expect(events.find((e) => e.name === 'STORE_RECOVERED')!.args).toMatchObject({ segments: run === 0 ? 0 : 1, summaries: run === 0 ? 0 : 1 });
      await store.put(meta(`run${run}`), bundleBytes(`run${run}`, 700));
      await store.close();
      expect(segmentFiles(dir).length).toBe(1);
      expect(statSync(segmentFiles(dir)[0]!).size).toBeGreaterThan(TRAILER_BYTES);
    }
    const last = await openStore(dir);
    await expectIntact(last.store, ids('run', 5));
    await last.store.close();
  });

  it('starts again a segment whose creation was cut short, and ignores files that are not segments', async () => {
    const dir = tempDir();
    const first = await openStore(dir);
    await fill(first.store, ids('x', 3));
    await first.store.close();
    writeFileSync(join(dir, '0000000002.seg'), Buffer.from('TERNBS')); // header torn
    writeFileSync(join(dir, 'notes.txt'), 'operator was here');
    const again = await openStore(dir);
    await again.store.put(meta('new'), bundleBytes('new', 700));
    await expectIntact(again.store, [...ids('x', 3), 'new']);
    await again.store.close();
    expect(checkSegmentHeader(readFileSync(join(dir, '0000000002.seg')), 2)).toBe('valid');
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('operator was here');
  });

  it('refuses a store written by a newer format version, changing nothing', async () => {
    const dir = tempDir();
    const first = await openStore(dir);
    await fill(first.store, ids('n', 2));
    await first.store.close();
    const file = segmentFiles(dir)[0]!;
    const bytes = readFileSync(file);
    bytes.writeUInt32LE(2, 8);
    bytes.writeUInt32LE(crc32c(bytes.subarray(0, 28)), 28);
    writeFileSync(file, bytes);
    await expect(openStore(dir)).rejects.toBeInstanceOf(StoreFormatError);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    // The failed open released its lock.
    truncateSync(file, 0);
  });
});
