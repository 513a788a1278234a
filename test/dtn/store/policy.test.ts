import { describe, expect, it } from 'vitest';
import { StoreRefusedError, StoreReason } from '../../../flight/dtn/store/errors.js';
import { bundleBytes, meta, openStore, tempDir } from './support.js';

const T0 = 1_700_000_000_000;

describe('store policies', () => {
  it('expires bundles whose lifetime ended, earliest first, a bounded number per call, durably', async () => {
    const dir = tempDir();
    const { store, value } = await openStore(dir);
    // Expiry times shuffled across priority classes.
    const expiries = [50, 10, 40, 30, 20, 60, 70];
    const priorities = ['bulk', 'expedited', 'normal'] as const;
    for (const [i, e] of expiries.entries()) {
      await store.put(meta(`e${e}`, { expiryMs: T0 + e, priority: priorities[i % 3]! }), bundleBytes(`e${e}`, 100));
    }
    const first = await store.expire(T0 + 45, 2);
    expect(first.map((b) => b.id)).toEqual(['e10', 'e20']);
    expect(first[0]).toMatchObject({ expiryMs: T0 + 10, priority: 'expedited' });
    const rest = await store.expire(T0 + 45, 100);
    expect(rest.map((b) => b.id)).toEqual(['e30', 'e40']);
    // Exactly at its expiry time a bundle is still alive: it expires once the time is past.
    expect(await store.expire(T0 + 50, 100)).toEqual([]);
    expect((await store.expire(T0 + 51, 100)).map((b) => b.id)).toEqual(['e50']);
    expect(value('expired')).toBe(5);
    await store.close();
    const again = await openStore(dir);
    expect(again.store.list().map((b) => b.id).sort()).toEqual(['e60', 'e70']);
    await again.store.close();
  });

  it('refuses a bundle over its source quota (reason 4) and takes it once the source has room again', async () => {
    const { store, value, events } = await openStore(tempDir(), { perSourceQuotaBytes: 3000 });
    const from = (id: string, source: string): ReturnType<typeof meta> => meta(id, { source });
    await store.put(from('a1', 'ipn:5.1'), bundleBytes('a1', 1000));
    await store.put(from('a2', 'ipn:5.1'), bundleBytes('a2', 1000));
    const refused = await store.put(from('a3', 'ipn:5.1'), bundleBytes('a3', 1000)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StoreRefusedError);
    expect(refused).toMatchObject({ code: 'STORE_QUOTA', limit: 'quota', reason: StoreReason.depletedStorage, id: 'a3' });
    // Another source is not affected; quota never evicts, whatever the priority.
    await store.put(from('b1', 'ipn:6.1'), bundleBytes('b1', 1000));
    await expect(store.put(meta('a4', { source: 'ipn:5.1', priority: 'expedited' }), bundleBytes('a4', 1000))).rejects.toMatchObject({ code: 'STORE_QUOTA' });
    await store.markForwarded('a1');
    await store.put(from('a3', 'ipn:5.1'), bundleBytes('a3', 1000));
    expect(value('refused')).toBe(2);
    expect(events.filter((e) => e.name === 'STORE_REFUSED').map((e) => e.args.limit)).toEqual(['quota', 'quota']);
    await store.close();
  });

  it('when full: refuses a bundle of the lowest class, evicts only strictly lower classes for higher ones, earliest expiry first', async () => {
    const dir = tempDir();
    // Each record is 1000 bytes of data plus ~90 of head and metadata: room for 5.
    const { store, value } = await openStore(dir, { capacityBytes: 5 * 1100 });
    await store.put(meta('bulk-late', { priority: 'bulk', expiryMs: T0 + 900 }), bundleBytes('x', 1000));
    await store.put(meta('bulk-soon', { priority: 'bulk', expiryMs: T0 + 100 }), bundleBytes('x', 1000));
    await store.put(meta('normal-1', { priority: 'normal', expiryMs: T0 + 50 }), bundleBytes('x', 1000));
    await store.put(meta('normal-2', { priority: 'normal', expiryMs: T0 + 60 }), bundleBytes('x', 1000));
    await store.put(meta('exp-1', { priority: 'expedited' }), bundleBytes('x', 1000));
    expect(store.bytes).toBeLessThanOrEqual(5 * 1100);

    // Bulk evicts nothing: refused.
    await expect(store.put(meta('bulk-new', { priority: 'bulk' }), bundleBytes('x', 1000))).rejects.toMatchObject({ code: 'STORE_FULL', reason: 4 });
    // Normal evicts the bulk bundle expiring first.
    const normal = await store.put(meta('normal-new', { priority: 'normal' }), bundleBytes('x', 1000));
    expect(normal.evicted.map((b) => b.id)).toEqual(['bulk-soon']);
    // Expedited evicts the remaining bulk bundle, then (class by class) the normal one expiring first.
    const big = await store.put(meta('exp-big', { priority: 'expedited' }), bundleBytes('x', 2000));
    expect(big.evicted.map((b) => b.id)).toEqual(['bulk-late', 'normal-1']);
    expect(big.evicted[0]).toMatchObject({ priority: 'bulk', size: 1000 });
    // Now only normal and expedited are left: a normal bundle evicts nothing of its own class.
    await expect(store.put(meta('normal-3', { priority: 'normal' }), bundleBytes('x', 1000))).rejects.toMatchObject({ code: 'STORE_FULL' });
    // An expedited bundle too large for what lower classes hold is refused and evicts nothing.
    const before = store.list().map((b) => b.id).sort();
    await expect(store.put(meta('exp-huge', { priority: 'expedited' }), bundleBytes('x', 4000))).rejects.toMatchObject({ code: 'STORE_FULL' });
    expect(store.list().map((b) => b.id).sort()).toEqual(before);
    // Larger than the whole store: refused as too large.
    await expect(store.put(meta('giant', { priority: 'expedited' }), bundleBytes('x', 6000))).rejects.toMatchObject({ code: 'STORE_TOO_LARGE', limit: 'size' });
    expect(value('evicted')).toBe(3);
    expect(value('refused')).toBe(4);
    expect(value('fill')).toBeCloseTo(store.bytes / (5 * 1100), 6);
    await store.close();

    const again = await openStore(dir, { capacityBytes: 5 * 1100 });
    expect(again.store.list().map((b) => b.id).sort()).toEqual(before);
    await again.store.close();
  });
});
