// Recovery of a bundle store holding 100,000 bundles of 1 KiB (BundleStore.open: lock, read
// every segment's summary or records, rebuild the index, make the last segment appendable)
// against a baseline measured in the same run: reading every file of the store sequentially,
// in 4 MiB chunks, with the same async file API. Both run from the page cache (each is run
// once before measuring) and alternate; medians are reported. Target: recovery <= 2x baseline.
// Also reported: the same pair with the files' pages dropped first (dd iflag=nocache, i.e.
// posix_fadvise DONTNEED), where the disk sets the pace as after a reboot.
// TERN_BENCH_RECOVERY_BUNDLES sets the store size (default 100,000).
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BundleStore } from '../../flight/dtn/store/store.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { bundleBytes, meta, tempDir } from '../dtn/store/support.js';
import { writeResult } from './results.js';

const BUNDLES = Number(process.env.TERN_BENCH_RECOVERY_BUNDLES ?? 100_000);
const ROUNDS = 5;

const log = createRootLogger({ level: 'silent' });
const openStore = (dir: string): Promise<BundleStore> =>
  BundleStore.open({ dir, capacityBytes: 4 * BUNDLES * 1200, log, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) });

async function fill(dir: string): Promise<void> {
  const store = await openStore(dir);
  const payloads = Array.from({ length: 64 }, (_, i) => bundleBytes(`p${i}`, 1024));
  const sources = ['ipn:12.1', 'ipn:13.1', 'ipn:14.2', 'dtn://sat-9/tlm'];
  for (let i = 0; i < BUNDLES; i += 1024) {
    const puts = [];
    for (let k = i; k < Math.min(BUNDLES, i + 1024); k++) {
      puts.push(store.put(meta(`${sources[k % 4]}-1700000000000-${k}`, {
        source: sources[k % 4]!, priority: (['bulk', 'normal', 'expedited'] as const)[k % 3]!, expiryMs: 1_800_000_000_000 + k,
      }), payloads[k % 64]!));
    }
    await Promise.all(puts);
  }
  await store.close();
}

async function readAll(dir: string): Promise<number> {
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  let bytes = 0;
  for (const file of readdirSync(dir).sort()) {
    const handle = await open(join(dir, file), 'r');
    for (let n; (n = (await handle.read(buffer, 0, buffer.length, null)).bytesRead) > 0; ) bytes += n;
    await handle.close();
  }
  return bytes;
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

/** Times BundleStore.open() alone (closing, which seals the active segment again, is not timed). */
async function recover(dir: string): Promise<{ ms: number; count: number }> {
  const { ms, value: store } = await timed(() => openStore(dir));
  const count = store.count;
  await store.close();
  return { ms, count };
}

/** Drops the page cache of every store file; false if dd cannot (no GNU coreutils). */
function dropCache(dir: string): boolean {
  for (const file of readdirSync(dir)) {
    const r = spawnSync('dd', [`if=${join(dir, file)}`, 'iflag=nocache', 'count=0', 'status=none']);
    if (r.status !== 0) return false;
  }
  return true;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

it(`recovery of ${BUNDLES} bundles vs reading every store file`, async () => {
  const root = tempDir('tern-bench-recovery-');
  const dir = join(root, 'bundles');
  try {
    const built = await timed(() => fill(dir));
    const files = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    const storeBytes = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    // The first recovery in this process runs with a cold JIT, as at boot: reported on its own.
    const first = await recover(dir);
    expect(first.count).toBe(BUNDLES);
    await readAll(dir);

    const warmRead: number[] = [];
    const warmRecovery: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      warmRead.push((await timed(() => readAll(dir))).ms);
      const r = await recover(dir);
      expect(r.count).toBe(BUNDLES);
      warmRecovery.push(r.ms);
    }
    const coldRead: number[] = [];
    const coldRecovery: number[] = [];
    const canDrop = dropCache(dir);
    for (let round = 0; canDrop && round < 3; round++) {
      dropCache(dir);
      coldRead.push((await timed(() => readAll(dir))).ms);
      dropCache(dir);
      coldRecovery.push((await recover(dir)).ms);
    }
    writeResult('store-recovery', {
      command: 'npx vitest run --config test/bench/vitest.config.ts test/bench/store-recovery.bench.ts',
      bundles: BUNDLES,
      bundleBytes: 1024,
      segments: files.length,
      storeMiB: storeBytes / 2 ** 20,
      buildSeconds: built.ms / 1000,
      firstRecoveryMs: first.ms,
      warm: {
        readAllMs: median(warmRead),
        recoveryMs: median(warmRecovery),
        ratio: median(warmRecovery) / median(warmRead),
        readAllRuns: warmRead,
        recoveryRuns: warmRecovery,
      },
      cold: canDrop ? {
        readAllMs: median(coldRead),
        recoveryMs: median(coldRecovery),
        ratio: median(coldRecovery) / median(coldRead),
        readAllRuns: coldRead,
        recoveryRuns: coldRecovery,
      } : 'dd iflag=nocache unavailable',
      target: { ratio: 2 },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
