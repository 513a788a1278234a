import { describe, expect, it } from 'vitest';
import type { FrameInfo } from '../../../flight/exec/task.js';
import { createRootLogger } from '../../../flight/log.js';
import type { StoredBundle } from '../../../flight/dtn/store/meta.js';
import { StoreMaintenanceTask } from '../../../flight/dtn/store/maintenance-task.js';
import { until } from '../../support/wait.js';
import { bundleBytes, meta, openStore, tempDir } from './support.js';

const frame: FrameInfo = { frame: 0, minor: 0, mode: 'NOMINAL', deadlineUs: 0 };
const T0 = 1_700_000_000_000;

describe('StoreMaintenanceTask', () => {
  it('expires at most expirePerRun bundles per run, hands them to the agent, and compacts in steps', async () => {
    const { store, value } = await openStore(tempDir(), { segmentBytes: 16 * 1024 });
    for (let i = 0; i < 30; i++) await store.put(meta(`x${i}`, { expiryMs: T0 + i }), bundleBytes(`x${i}`, 900));
    await store.put(meta('keep'), bundleBytes('keep', 900));
    const batches: StoredBundle[][] = [];
    const task = new StoreMaintenanceTask(store, {
      expirePerRun: 8, compactBytesPerRun: 4096, nowMs: () => T0 + 1000, onExpired: (b) => batches.push(b), log: createRootLogger({ level: 'silent' }),
    });
    await until(() => {
      if (store.count === 1 && value('segmentsReclaimed') > 0) return true;
      task.run(frame);
      task.run(frame); // a second run while the first is under way starts nothing new
      return false;
    }, 'the expired bundles to go and a segment to be reclaimed');
    expect(batches.map((b) => b.length)).toEqual([8, 8, 8, 6]);
    expect(batches.flat().map((b) => b.id)).toEqual(Array.from({ length: 30 }, (_, i) => `x${i}`));
    expect(store.list().map((b) => b.id)).toEqual(['keep']);
    expect(value('segmentsReclaimed')).toBeGreaterThan(0);
    await store.close();
  });

  it('says once that the store failed or closed, and stops', async () => {
    const { store } = await openStore(tempDir());
    const lines: string[] = [];
    const log = createRootLogger({ level: 'error', destination: { write: (line: string) => lines.push(line) } });
    const task = new StoreMaintenanceTask(store, { nowMs: () => T0, onExpired: () => undefined, log });
    await store.close();
    task.run(frame);
    await until(() => lines.length > 0, 'the failure to be logged');
    for (let run = 0; run < 4; run++) task.run(frame); // stopped: starts nothing, logs nothing
    await store.close(); // nothing of the store is left in flight
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/store maintenance stopped/);
  });
});
