// Durable ingest of 1 KiB bundles into the bundle store (group commit: put() resolves after the
// batch holding it is written and fdatasync'd) against a raw baseline measured in the same run:
// appending the same bundle bytes to a plain file with one write + fdatasync per batch of the
// size the store's group commit formed. Target: store >= 50% of the raw rate. This is the
// store-level upper bound for the TCPCLv4 end-to-end figure. The producer keeps WINDOW puts in
// flight, as a convergence layer with that many transfers open would. The store has spare
// segments (written through when it was created, so records overwrite instead of appending);
// beside it, in the same rounds, a store without them.
// TERN_BENCH_STORE_BUNDLES sets the bundles per run (default 20,000).
import { rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BundleStore } from '../../flight/dtn/store/store.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { bundleBytes, meta, tempDir } from '../dtn/store/support.js';
import { writeResult } from './results.js';

const BUNDLES = Number(process.env.TERN_BENCH_STORE_BUNDLES ?? 20_000);
const BUNDLE_BYTES = 1024;
const WINDOW = 64;
// Store and raw runs alternate, so load from other processes hits both alike; medians are reported.
const ROUNDS = 5;
const SEGMENT_BYTES = 16 * 1024 * 1024;
/** Enough spares for every bundle (about 1,100 bytes a record), and one more. */
const SPARES = Math.ceil((BUNDLES * 1100) / SEGMENT_BYTES) + 1;

const payloads = Array.from({ length: 256 }, (_, i) => bundleBytes(`payload-${i}`, BUNDLE_BYTES));

interface StoreRun { seconds: number; commits: number; bytesWritten: number }

async function storeRun(dir: string, bundles = BUNDLES, spareSegments = SPARES): Promise<StoreRun> {
  const log = createRootLogger({ level: 'silent' });
  const tlm = new TelemetryRegistry();
  const store = await BundleStore.open({
    dir, capacityBytes: 4 * BUNDLES * BUNDLE_BYTES, segmentBytes: SEGMENT_BYTES, spareSegments, log, tlm, events: new EventLog(log, () => 0),
  });
  const t0 = performance.now();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < WINDOW && next < bundles) {
        const i = next++;
        inFlight++;
        store.put(meta(`ipn:12.1-1700000000000-${i}`), payloads[i % payloads.length]!).then(() => {
          inFlight--;
          if (next === bundles && inFlight === 0) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
  const seconds = (performance.now() - t0) / 1000;
  const run = { seconds, commits: tlm.get('dtn.store.commits')!.value, bytesWritten: store.bytes };
  expect(store.count).toBe(bundles);
  await store.close();
  return run;
}

/** The same bundle bytes appended to one file, `batch` bundles per write + fdatasync. */
async function rawRun(file: string, batch: number, bundles = BUNDLES): Promise<number> {
  const handle = await open(file, 'w');
  const buffer = Buffer.alloc(batch * BUNDLE_BYTES);
  const t0 = performance.now();
  let position = 0;
  for (let i = 0; i < bundles; ) {
    const n = Math.min(batch, bundles - i);
    for (let k = 0; k < n; k++) buffer.set(payloads[(i + k) % payloads.length]!, k * BUNDLE_BYTES);
    const bytes = n * BUNDLE_BYTES;
    let done = 0;
    while (done < bytes) done += (await handle.write(buffer, done, bytes - done, position + done)).bytesWritten;
    await handle.datasync();
    position += bytes;
    i += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  await handle.close();
  return seconds;
}

it(`durable ingest of ${BUNDLES} bundles of 1 KiB: store vs raw append + fdatasync`, async () => {
  const root = tempDir('tern-bench-store-ingest-');
  try {
    const storeRates: number[] = [];
    const appendingRates: number[] = [];
    const rawRates: number[] = [];
    let batch = WINDOW;
    let commits = 0;
    let bytesWritten = 0;
    // One short run of each first, not counted: the JIT compiles both paths before they are timed.
    await storeRun(join(root, 'warm-up'), 4096);
    await rawRun(join(root, 'warm-up.bin'), WINDOW, 4096);
    for (let round = 0; round < ROUNDS; round++) {
      const run = await storeRun(join(root, `store-${round}`));
      rmSync(join(root, `store-${round}`), { recursive: true });
      storeRates.push(BUNDLES / run.seconds);
      const appending = await storeRun(join(root, `appending-${round}`), BUNDLES, 0);
      rmSync(join(root, `appending-${round}`), { recursive: true });
      appendingRates.push(BUNDLES / appending.seconds);
      commits = run.commits;
      bytesWritten = run.bytesWritten;
      // The raw baseline writes batches of the size the store's group commit formed.
      batch = Math.max(1, Math.round(BUNDLES / run.commits));
      const file = join(root, `raw-${round}.bin`);
      rawRates.push(BUNDLES / (await rawRun(file, batch)));
      rmSync(file);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const store = median(storeRates);
    const raw = median(rawRates);
    const appending = median(appendingRates);
    writeResult('store-ingest', {
      command: 'npx vitest run --config test/bench/vitest.config.ts test/bench/store-ingest.bench.ts',
      bundles: BUNDLES,
      bundleBytes: BUNDLE_BYTES,
      window: WINDOW,
      rounds: ROUNDS,
      spareSegments: SPARES,
      meanBatchBundles: BUNDLES / commits,
      storeBytesPerBundle: bytesWritten / BUNDLES,
      storeBundlesPerSecond: store,
      rawBundlesPerSecond: raw,
      storeMiBPerSecond: (store * BUNDLE_BYTES) / 2 ** 20,
      ratio: store / raw,
      storeAppendingBundlesPerSecond: appending,
      ratioAppending: appending / raw,
      storeRates,
      appendingRates,
      rawRates,
      target: { ratio: 0.5 },
    });
    expect(store).toBeGreaterThan(0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
