// STORE-013: a full device refuses writes (StoreNoSpaceError, counted, evented) without losing
// anything acknowledged; the maintenance task probes for space and the store takes writes again
// by itself once there is some; a store opens on a full device. A real full device: a small
// tmpfs (see smallFilesystem), filled by another file, then freed.
import { readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreNoSpaceError } from '../../../flight/dtn/store/errors.js';
import { StoreMaintenanceTask } from '../../../flight/dtn/store/maintenance-task.js';
import type { FrameInfo } from '../../../flight/exec/task.js';
import { createRootLogger } from '../../../flight/log.js';
import type { BundleStore } from '../../../flight/dtn/store/store.js';
import { until } from '../../support/wait.js';
import { bundleBytes, fillDevice, meta, openStore, smallFilesystem } from './support.js';

const frame: FrameInfo = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
const silent = createRootLogger({ level: 'silent' });
let fs: { dir: string; unmount(): void };

beforeAll(() => {
  fs = smallFilesystem(2 << 20);
});
/** Closed before the unmount, also when a test failed half way. */
const stores: BundleStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  fs?.unmount();
});

describe('store on a full device (a real 2 MiB tmpfs)', () => {
  it('refuses writes while the device is full, keeps what it acknowledged, and resumes by itself when space returns', async () => {
    const dir = join(fs.dir, 'bundles');
    const filler = join(fs.dir, 'filler');
    const options = { segmentBytes: 256 * 1024, maxBatchBytes: 16 * 1024 };
    const { store, value, events } = await openStore(dir, options);
    stores.push(store);
    const task = new StoreMaintenanceTask(store, { nowMs: () => 0, onExpired: () => undefined, log: silent, probeEveryMs: 0 });
    const acked: string[] = [];
    fillDevice(filler);
    rmSync(filler); // then leave only a little room for the store
    fillDevice(filler);
    let refusal: unknown;
    for (let i = 0; refusal === undefined; i++) {
      await store.put(meta(`b${i}`), bundleBytes(`b${i}`, 3000)).then(() => acked.push(`b${i}`), (error: unknown) => (refusal = error));
      if (i > 1000) throw new Error('the device never filled');
    }
    expect(refusal).toBeInstanceOf(StoreNoSpaceError);
    expect(refusal).toMatchObject({ code: 'STORE_NO_SPACE', reason: 4 });
    expect(store.outOfSpace).toBe(true);
    expect(value('noSpace')).toBe(1);
    expect(value('noSpaceFaults')).toBe(1);
    expect(value('ioErrors')).toBe(0);
    expect(events.map((e) => e.name)).toContain('STORE_NO_SPACE');
    await expect(store.put(meta('refused'), bundleBytes('refused', 10))).rejects.toMatchObject({ code: 'STORE_NO_SPACE' });
    for (const id of acked) expect(Buffer.from((await store.get(id))!).equals(Buffer.from(bundleBytes(id, 3000)))).toBe(true);

    // Still full: the task probes and the store keeps refusing.
    await until(() => {
      task.run(frame);
      return value('spaceProbes') >= 3;
    }, 'three probes of the full device');
    expect(store.outOfSpace).toBe(true);

    rmSync(filler); // space returns
    await until(() => {
      task.run(frame);
      return !store.outOfSpace;
    }, 'the store to find space again');
    expect(value('noSpace')).toBe(0);
    expect(events.map((e) => e.name)).toContain('STORE_SPACE_RETURNED');
    await store.put(meta('after'), bundleBytes('after', 3000));
    acked.push('after');
    await store.close();

    const again = await openStore(dir, options);
    expect(again.store.list().map((b) => b.id).sort()).toEqual([...acked].sort());
    for (const id of acked) expect(Buffer.from((await again.store.get(id))!).equals(Buffer.from(bundleBytes(id, 3000)))).toBe(true);
    expect(again.value('corruptRecords')).toBe(0);
    await again.store.close();
  });

  it('opens on a full device (lock, recovery), serves what it holds, and takes writes once space returns', async () => {
    const dir = join(fs.dir, 'restart');
    const filler = join(fs.dir, 'filler2');
    // A store whose segments are full: the next open must create a new segment.
    const options = { segmentBytes: 8 * 1024, maxBatchBytes: 4 * 1024 };
    const first = await openStore(dir, options);
    for (let i = 0; i < 3; i++) await first.store.put(meta(`k${i}`), bundleBytes(`k${i}`, 3000));
    await first.store.put(meta('k3'), bundleBytes('k3', 9000)); // a segment of its own, past segmentBytes
    await first.store.close();
    fillDevice(filler);
    const opened = await openStore(dir, options);
    const { store, value } = opened;
    stores.push(store);
    expect(store.list()).toHaveLength(4);
    expect(Buffer.from((await store.get('k0'))!).equals(Buffer.from(bundleBytes('k0', 3000)))).toBe(true);
    expect(store.outOfSpace).toBe(true); // its new segment could not be made
    expect(value('noSpace')).toBe(1);
    await expect(store.put(meta('new'), bundleBytes('new', 100))).rejects.toBeInstanceOf(StoreNoSpaceError);
    rmSync(filler);
    expect(await store.resume()).toBe(true);
    await store.put(meta('new'), bundleBytes('new', 100));
    await store.close();
    const again = await openStore(dir, options);
    expect(again.store.list()).toHaveLength(5);
    await again.store.close();
  });

  it('gives up its reserve when the device fills: deletions and essential puts go on while bundles are refused, until even the reserve is used', async () => {
    const dir = join(fs.dir, 'reserve');
    const filler = join(fs.dir, 'filler3');
    const options = { segmentBytes: 256 * 1024, maxBatchBytes: 16 * 1024, reserveBytes: 64 * 1024 };
    const opened = await openStore(dir, options);
    const { store, value, events } = opened;
    stores.push(store);
    for (let i = 0; i < 4; i++) await store.put(meta(`r${i}`), bundleBytes(`r${i}`, 3000));
    fillDevice(filler);
    await expect(store.put(meta('big'), bundleBytes('big', 8192))).rejects.toBeInstanceOf(StoreNoSpaceError);
    expect(store.outOfSpace).toBe(true);
    expect(value('noSpace')).toBe(1);
    expect(events.find((e) => e.name === 'STORE_NO_SPACE')?.args.error).toMatch(/reserve of 65536 bytes given up/);
    expect(await store.delete('r0', 6)).toBe(true); // a deletion is written from the reserve
    await store.put(meta('report'), bundleBytes('report', 200), { essential: true }); // so is a status report
    await expect(store.put(meta('plain'), bundleBytes('plain', 100))).rejects.toMatchObject({ code: 'STORE_NO_SPACE' });
    await expect(store.compact(4096)).rejects.toMatchObject({ code: 'STORE_NO_SPACE' });
    const essential: string[] = ['report'];
    let exhausted: unknown;
    for (let i = 0; exhausted === undefined && i < 100; i++) {
      await store.put(meta(`e${i}`), bundleBytes(`e${i}`, 4096), { essential: true }).then(() => essential.push(`e${i}`), (error: unknown) => (exhausted = error));
    }
    expect(exhausted).toBeInstanceOf(StoreNoSpaceError); // the reserve is used up too
    expect(essential.length).toBeGreaterThan(5);
    rmSync(filler);
    await until(() => store.resume(), 'space to return');
    expect(store.outOfSpace).toBe(false);
    await store.put(meta('after'), bundleBytes('after', 3000));
    await store.close();
    const again = await openStore(dir, options);
    stores.push(again.store);
    expect(again.store.list().map((b) => b.id).sort()).toEqual(['after', 'r1', 'r2', 'r3', ...essential].sort());
    expect(again.value('corruptRecords')).toBe(0);
    await again.store.close();
  });

  it('without a reserve (reserveBytes 0) refuses every write while full, and still resumes fully', async () => {
    const dir = join(fs.dir, 'no-reserve');
    const filler = join(fs.dir, 'filler4');
    const options = { segmentBytes: 256 * 1024, maxBatchBytes: 16 * 1024, reserveBytes: 0 };
    const { store } = await openStore(dir, options);
    stores.push(store);
    await store.put(meta('n0'), bundleBytes('n0', 3000));
    fillDevice(filler);
    await expect(store.put(meta('big'), bundleBytes('big', 8192))).rejects.toBeInstanceOf(StoreNoSpaceError);
    await expect(store.delete('n0', 6)).rejects.toBeInstanceOf(StoreNoSpaceError); // no reserve for deletions
    rmSync(filler);
    await until(() => store.resume(), 'space to return');
    expect(store.outOfSpace).toBe(false);
    await store.put(meta('n1'), bundleBytes('n1', 3000));
    await store.close();
  });

  it('a clean close on a full device leaves no partial index snapshot behind, and the next open rebuilds', async () => {
    const dir = join(fs.dir, 'snapshot');
    const filler = join(fs.dir, 'filler5');
    const first = await openStore(dir, { segmentBytes: 64 * 1024, reserveBytes: 0 });
    for (let i = 0; i < 3; i++) await first.store.put(meta(`s${i}`), bundleBytes(`s${i}`, 3000));
    // Every free page taken: sealing still fits in the active segment's last page, the snapshot does not.
    fillDevice(filler);
    await first.store.close();
    expect(first.events.map((e) => e.name)).toContain('STORE_SNAPSHOT_FAILED');
    expect(readdirSync(dir).filter((f) => f.startsWith('index.snap'))).toEqual([]);
    rmSync(filler);
    const again = await openStore(dir);
    stores.push(again.store);
    expect(again.value('snapshotLoads')).toBe(0);
    expect(again.store.list().map((b) => b.id).sort()).toEqual(['s0', 's1', 's2']);
    await again.store.close();
  });

  it('made with more spare segments than the device holds: keeps the whole ones, no short one, and writes over them while the device is full', async () => {
    const dir = join(fs.dir, 'spares');
    const filler = join(fs.dir, 'filler6');
    const segmentBytes = 128 * 1024;
    // Room for two spares and all but the last 8 KiB of a third, whose last write then comes up short.
    fillDevice(filler);
    truncateSync(filler, statSync(filler).size - (3 * segmentBytes - 8192));
    const options = { segmentBytes, spareSegments: 64, reserveBytes: 0 };
    const { store, value } = await openStore(dir, options);
    stores.push(store);
    expect(statSync(join(dir, '0000000001.seg')).size).toBe(segmentBytes); // made from the first spare
    const spares = readdirSync(dir).filter((f) => f.endsWith('.spare'));
    expect(spares).toHaveLength(1);
    expect(statSync(join(dir, spares[0]!)).size).toBe(segmentBytes);
    expect(value('spareSegments')).toBe(1);
    fillDevice(`${filler}b`);
    // Blocks the segment already has: no write needs a new one.
    for (let i = 0; i < 10; i++) await store.put(meta(`f${i}`), bundleBytes(`f${i}`, 3000));
    expect(value('noSpaceFaults')).toBe(0);
    rmSync(filler);
    rmSync(`${filler}b`);
    await store.close();
    const again = await openStore(dir, options);
    stores.push(again.store);
    expect(again.store.count).toBe(10);
    await again.store.close();
  });
});
