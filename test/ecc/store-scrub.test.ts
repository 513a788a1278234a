// Store scrubbing over a real bundle store's segment files: parity made for every sealed segment
// (the active one left alone), single-bit upsets flipped into the files (durably, as flash decay)
// rebuilt in place so the store reads its bundles back whole, damaged parity rebuilt too, and a
// stripe with more damage than parity reported as lost, with its byte range, changing nothing, and
// the store quarantining the damaged bundles in it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flipFileBits } from '../../flight/ecc/injector.js';
import { parseSegmentFileName } from '../../flight/dtn/store/format.js';
import { DATA_SHARDS, parityPath, SHARD_BYTES } from '../../flight/dtn/store/parity.js';
import { StoreScrubber, type LostRange } from '../../flight/dtn/store/scrub.js';
import type { DeletedBundle } from '../../flight/dtn/store/store.js';
import type { FrameInfo } from '../../flight/exec/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';
import { bundleBytes, meta, openStore, tempDir } from '../dtn/store/support.js';

const KIB = 1024;
const STRIPE = DATA_SHARDS * SHARD_BYTES;
const frame: FrameInfo = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };

/** A store of 24 bundles of 100 KiB in 600 KiB segments: several sealed, one active. */
async function filledStore() {
  const dir = tempDir('tern-store-scrub-');
  const opened = await openStore(dir, { segmentBytes: 600 * KIB });
  const ids = Array.from({ length: 24 }, (_, i) => `b${i}`);
  for (const id of ids) await opened.store.put(meta(id), bundleBytes(id, 100 * KIB));
  await opened.store.flushed();
  return { dir, ...opened, ids };
}

function scrubber(dir: string, budgetBytes = 300 * KIB, onUnrepairable?: (range: LostRange) => void) {
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), () => 0);
  const seen: EventRecord[] = [];
  events.onEvent((e) => seen.push(e));
  const lost: LostRange[] = [];
  const task = new StoreScrubber({ dir, budgetBytes, budgetUs: 2000, tlm, events, onUnrepairable: (range) => {
    lost.push(range);
    onUnrepairable?.(range);
  } });
  const value = (name: string) => tlm.get(`ecc.store.${name}`)!.value;
  /** Runs slots until `passes` more passes are complete. */
  const passes = (n: number): number => {
    const until = value('passes') + n;
    let slots = 0;
    while (value('passes') < until) {
      task.run(frame);
      if (++slots > 10_000) throw new Error('store scrubber made no progress');
    }
    return slots;
  };
  return { task, value, passes, seen, lost };
}

const stripesIn = (file: string): number => Math.ceil(readFileSync(file).length / STRIPE);
const segments = (dir: string): string[] => readdirSync(dir).filter((f) => parseSegmentFileName(f) !== undefined).sort().map((f) => join(dir, f));

describe('store scrubbing', () => {
  it('makes parity for sealed segments within the byte budget, and rebuilds single-bit upsets in place', async () => {
    const s = await filledStore();
    const files = segments(s.dir);
    const sealed = files.slice(0, -1);
    expect(sealed.length).toBeGreaterThanOrEqual(3);
    const scrub = scrubber(s.dir);
    const slots = scrub.passes(1);
    expect(scrub.value('parityWritten')).toBe(sealed.length);
    for (const file of sealed) expect(readFileSync(parityPath(file)).length).toBeGreaterThan(0);
    expect(() => readFileSync(parityPath(files.at(-1)!))).toThrow(/ENOENT/);
    // 300 KiB a slot: one stripe a slot, so a pass takes one slot per stripe (plus the slot that ends it).
    expect(scrub.value('bytes') / slots).toBeLessThanOrEqual(300 * KIB);

    const originals = sealed.map((file) => readFileSync(file));
    // One bit in each stripe of every sealed segment, in a different shard each time, and one in
    // a parity shard of the first segment's parity file (past its header and CRC table).
    let flipped = 0;
    for (const file of sealed) {
      const size = readFileSync(file).length;
      for (let base = 0; base + 1000 < size; base += STRIPE, flipped++) flipFileBits(file, base + 1000 + (flipped % DATA_SHARDS) * 9000 % (size - base - 1000), 1 << (flipped % 8));
    }
    flipFileBits(parityPath(sealed[0]!), 24 + stripesIn(sealed[0]!) * 18 * 4 + 2000, 0x10);
    scrub.passes(1);
    sealed.forEach((file, i) => expect(readFileSync(file).equals(originals[i]!), file).toBe(true));
    expect(scrub.value('repaired')).toBe(flipped + 1);
    expect(scrub.value('parityWritten')).toBe(sealed.length);
    expect(scrub.value('unrepairable')).toBe(0);
    expect(scrub.seen.filter((e) => e.name === 'ECC_STORE_REPAIRED').length).toBeGreaterThan(0);
    // The store reads every bundle back whole.
    for (const id of s.ids) expect(Buffer.from((await s.store.get(id))!).equals(Buffer.from(bundleBytes(id, 100 * KIB))), id).toBe(true);
    await s.store.close();
  });

  it('rebuilds a damaged parity shard, and reports a stripe with more damage than parity as lost, changing nothing', async () => {
    const s = await filledStore();
    const [first] = segments(s.dir);
    const scrub = scrubber(s.dir);
    scrub.passes(1);
    // A parity shard (after the 24-byte header and the CRC table of 18 shards a stripe).
    const parityShard = 24 + stripesIn(first!) * 18 * 4 + 100;
    flipFileBits(parityPath(first!), parityShard, 0x01);
    scrub.passes(1);
    expect(scrub.value('repaired')).toBe(1);

    // Three shards of stripe 1 of the first segment: parity rebuilds two.
    for (const shard of [0, 5, 9]) flipFileBits(first!, STRIPE + shard * SHARD_BYTES + 77, 0x04);
    const damaged = readFileSync(first!);
    scrub.passes(1);
    expect(scrub.value('unrepairable')).toBe(1);
    const end = Math.min(damaged.length, 2 * STRIPE);
    expect(scrub.lost).toEqual([{ segment: parseSegmentFileName(first!.split('/').at(-1)!), start: STRIPE, end }]);
    expect(readFileSync(first!).equals(damaged)).toBe(true);
    expect(scrub.seen.find((e) => e.name === 'ECC_STORE_UNREPAIRABLE')!.args).toMatchObject({ shards: 3, start: STRIPE, end });
    await s.store.close();
  });

  it('quarantines a bundle damaged beyond repair (deleted with reason 8, counted, handed to the deletion listeners) and delivers the rest intact', async () => {
    const s = await filledStore();
    const [first, second] = segments(s.dir);
    const firstNumber = parseSegmentFileName(first!.split('/').at(-1)!)!;
    const deleted: DeletedBundle[] = [];
    s.store.onDeleted((d) => deleted.push(d));
    const quarantines: Array<Promise<unknown>> = [];
    const scrub = scrubber(s.dir, 300 * KIB, (lost) => quarantines.push(s.store.quarantine(lost)));
    scrub.passes(1);

    // Stripe 1 of the first segment: its first three shards damaged (parity rebuilds two), all
    // inside one bundle; the other bundles overlapping the stripe are untouched.
    const inStripe = s.store.bundlesIn({ segment: firstNumber, start: STRIPE, end: 2 * STRIPE }).map((b) => b.id);
    expect(inStripe.length).toBeGreaterThanOrEqual(2);
    for (const shard of [0, 1, 2]) flipFileBits(first!, STRIPE + shard * SHARD_BYTES + 77, 0x04);
    const hit = s.store.bundlesIn({ segment: firstNumber, start: STRIPE + 77, end: STRIPE + 2 * SHARD_BYTES + 78 }).map((b) => b.id);
    expect(hit).toHaveLength(1);
    // One bit in the second segment: repaired in place.
    flipFileBits(second!, 5000, 0x20);
    scrub.passes(1);
    expect(scrub.value('unrepairable')).toBe(1);
    expect(scrub.value('repaired')).toBe(1);
    expect(quarantines).toHaveLength(1);
    expect((await Promise.all(quarantines))[0]).toMatchObject([{ id: hit[0] }]);

    expect(deleted).toEqual([expect.objectContaining({ id: hit[0], reason: 8, bytes: undefined })]);
    expect(s.value('quarantined')).toBe(1);
    expect(s.events.find((e) => e.name === 'STORE_QUARANTINED')!.args).toMatchObject({ id: hit[0], segment: firstNumber });
    expect(s.store.has(hit[0]!)).toBe(false);
    expect(await s.store.get(hit[0]!)).toBeUndefined();
    const kept = s.ids.filter((id) => id !== hit[0]);
    const intact = async (store: typeof s.store) => {
      for (const id of kept) expect(Buffer.from((await store.get(id))!).equals(Buffer.from(bundleBytes(id, 100 * KIB))), id).toBe(true);
    };
    await intact(s.store);
    expect(inStripe.filter((id) => id !== hit[0]).every((id) => s.store.has(id))).toBe(true);
    // A second report of the same stripe finds nothing more to quarantine.
    expect(await s.store.quarantine({ segment: firstNumber, start: STRIPE, end: 2 * STRIPE })).toEqual([]);

    // The deletion is durable: after a reopen the damaged bundle stays gone, the rest are whole.
    await s.store.close();
    const reopened = await openStore(s.dir, { segmentBytes: 600 * KIB });
    expect(reopened.store.has(hit[0]!)).toBe(false);
    await intact(reopened.store);
    await reopened.store.close();
  });

  it('makes parity as a segment is written and sealed: a segment damaged right after its seal is repaired', async () => {
    const dir = tempDir('tern-store-scrub-');
    const s = await openStore(dir, { segmentBytes: 600 * KIB });
    const scrub = scrubber(dir);
    s.store.onSegmentWritten((segment) => scrub.task.segmentWritten(segment));
    // Ingest with the executive's slots in between, until the first segment is sealed.
    const ids: string[] = [];
    while (segments(dir).length < 2) {
      const id = `b${ids.length}`;
      ids.push(id);
      await s.store.put(meta(id), bundleBytes(id, 100 * KIB));
      if (segments(dir).length < 2) scrub.task.run(frame);
    }
    const [first] = segments(dir);
    const original = readFileSync(first!);
    expect(stripesIn(first!)).toBeGreaterThanOrEqual(2);
    // Right after the seal, before any slot: a bit of its first stripe flips.
    flipFileBits(first!, 5000, 0x02);
    // The next slot writes its parity (the stripes made while it was written, and the rest).
    scrub.task.run(frame);
    expect(scrub.value('parityWritten')).toBe(1);
    scrub.passes(1);
    expect(scrub.value('repaired')).toBe(1);
    expect(readFileSync(first!).equals(original)).toBe(true);
    for (const id of ids) expect(Buffer.from((await s.store.get(id))!).equals(Buffer.from(bundleBytes(id, 100 * KIB))), id).toBe(true);
    expect(s.value('corruptRecords')).toBe(0);
    await s.store.close();
  });

  it('drops the parity of a segment compaction deleted', async () => {
    const s = await filledStore();
    const scrub = scrubber(s.dir);
    scrub.passes(1);
    const [first] = segments(s.dir);
    // Every bundle of the first segment deleted, then compacted away: its file goes.
    const before = new Set(readdirSync(s.dir));
    for (const id of s.ids) await s.store.delete(id, 0);
    for (let i = 0; i < 100 && segments(s.dir).includes(first!); i++) await s.store.compact(64 * 1024 * 1024);
    expect(segments(s.dir)).not.toContain(first);
    expect(before.has(parityPath(first!).split('/').at(-1)!)).toBe(true);
    scrub.passes(1);
    expect(readdirSync(s.dir)).not.toContain(parityPath(first!).split('/').at(-1));
    await s.store.close();
  });
});
