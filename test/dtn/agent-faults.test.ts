// The agent when the store fails under it: a read that fails for a while (the bundle is read
// again with backoff, not stranded), and a disk that fills and frees (agent-disk-full.test.ts).
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BundleRefusedError } from '../../flight/cla/errors.js';
import { BundleFlag, dtnNow } from '../../flight/dtn/bundle.js';
import { createBundle, decodeBundle } from '../../flight/dtn/codec.js';
import { ipn } from '../../flight/dtn/eid.js';
import { decodeStatusReport } from '../../flight/dtn/status-report.js';
import { segmentFileName } from '../../flight/dtn/store/format.js';
import { StoreMaintenanceTask } from '../../flight/dtn/store/maintenance-task.js';
import type { FrameInfo } from '../../flight/exec/task.js';
import { eventually, until } from '../support/wait.js';
import { FROM, bundle, closeStores, setup, silent } from './agent-harness.js';
import { fillDevice, smallFilesystem } from './store/support.js';

const frame: FrameInfo = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };

afterEach(closeStores);

describe('bundle agent, store faults', () => {
  it('retries a bundle whose read failed, with backoff, until the read succeeds; it stays stored meanwhile', async () => {
    // A bundle in a sealed segment: after a restart its file is opened by its first read.
    const first = await setup({ store: { segmentBytes: 4096 } });
    first.link.up = false;
    const b = bundle(3, 1, 0, 'read me later');
    await first.agent.accept(b.bytes, FROM);
    for (let i = 1; first.store.list().length < 12; i++) await first.agent.accept(bundle(9, 1, i, 'x'.repeat(600)).bytes, FROM);
    await closeStores();
    const s = await setup({ dir: first.dir, markPath: first.markPath, store: { segmentBytes: 4096 } });
    s.agent.resume();
    // The file vanishes for a while, as a read fails with EMFILE or EIO: a real failed open.
    const segment = join(s.dir, segmentFileName(1));
    renameSync(segment, `${segment}.away`);
    await s.dispatch();
    await until(() => s.value('dtn.agent.readFaults') >= 1, 'the failed read');
    expect(s.events).toContain('DTN_READ_FAULT');
    expect(s.link.sent).toHaveLength(0);
    expect(s.store.list().some((x) => x.destination === 'ipn:3.1')).toBe(true); // not deleted
    await s.dispatch(); // still failing: the backoff grows, the bundle stays
    renameSync(`${segment}.away`, segment);
    await until(async () => {
      await s.dispatch();
      return s.link.sent.length === 1;
    }, 'the bundle to be read again and forwarded');
    expect(s.store.list().some((x) => x.destination === 'ipn:3.1')).toBe(false); // acknowledged by the next hop
    expect(s.value('dtn.agent.forwarded')).toBe(1);
  });
});

describe('bundle agent on a full device (a real 2 MiB tmpfs)', () => {
  let fs: { dir: string; unmount(): void };
  beforeAll(() => {
    fs = smallFilesystem(2 << 20);
  });
  afterAll(async () => {
    await closeStores();
    fs?.unmount();
  });

  it('restarts on a full device, refuses bundles as depleted storage with a status report, and takes them again once space returns', async () => {
    const dir = join(fs.dir, 'bundles');
    const markPath = join(fs.dir, 'creation.seq');
    await setup({ dir, markPath }); // a node ran here while there was room (its store took its reserve)
    await closeStores();
    const filler = join(fs.dir, 'filler');
    fillDevice(filler);
    const s = await setup({ dir, markPath }); // it opens: the lock takes no data block, nothing is written
    const maintenance = new StoreMaintenanceTask(s.store, { nowMs: () => 0, onExpired: () => undefined, log: silent, probeEveryMs: 0 });
    const asking = createBundle({
      destination: ipn(3, 1), source: ipn(5, 1), flags: BundleFlag.reportDeletion, creationTime: dtnNow(), lifetime: 60_000,
      payload: new Uint8Array(8192), // more than the room left in the pages the store's files have
    });
    const refused = await s.agent.accept(asking.bytes, FROM).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BundleRefusedError);
    expect((refused as BundleRefusedError).reason).toBe('no-resources');
    expect(s.value('dtn.agent.refusedFull')).toBe(1);
    expect(s.events).toContain('DTN_BUNDLE_REFUSED');
    expect(s.store.outOfSpace).toBe(true);
    // The "deleted" report (reason 4, depleted storage) is written from the store's reserve.
    const report = await eventually(() => s.store.list().find((b) => b.source === 'ipn:1.0'), 'the status report to be stored');
    const decoded = decodeStatusReport(decodeBundle((await s.store.get(report.id))!));
    expect(decoded.reason).toBe(4);
    expect(Object.keys(decoded.asserted)).toEqual(['deleted']);
    expect(decoded.subject.sequence).toBe(asking.primary.sequence);
    maintenance.run(frame); // still full: a probe, nothing else
    rmSync(filler);
    await until(() => {
      maintenance.run(frame);
      return !s.store.outOfSpace;
    }, 'the store to find space again');
    await s.agent.accept(bundle(3, 1, 0).bytes, FROM);
    await until(async () => {
      await s.dispatch();
      return s.link.sent.length === 1;
    }, 'the bundle accepted after the device freed to be forwarded');
    expect(s.value('dtn.agent.forwarded')).toBe(1);
  });
});
