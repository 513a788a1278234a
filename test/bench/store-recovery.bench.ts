// Recovery of a bundle store holding 100,000 bundles of 1 KiB (BundleStore.open: take the lock,
// read every segment's summary or records, rebuild the index, ready the last segment) against a
// baseline measured in the same run: reading every file of the store sequentially, in 4 MiB
// chunks, with the same async file API. Both are timed in a fresh node process running the
// compiled code (dist/), as a node boots: the first run of each is also the first in its process
// (cold JIT, as at boot) and is reported apart; the rest alternate and their medians are
// compared. The store was closed cleanly, so recovery loads its index snapshot; each round also
// times a rebuild from the segments (the snapshot set aside), as after a crash. Target: recovery
// after a clean close <= 2x the baseline. Measured twice: from the page cache, and with
// the files' pages dropped before every run (dd iflag=nocache, posix_fadvise DONTNEED), where
// the disk sets the pace as after a reboot.
// TERN_BENCH_RECOVERY_BUNDLES sets the store size (default 100,000).
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { BundleStore } from '../../flight/dtn/store/store.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { bundleBytes, meta, tempDir } from '../dtn/store/support.js';
import { REPO } from '../support/node-process.js';
import { writeResult } from './results.js';

const BUNDLES = Number(process.env.TERN_BENCH_RECOVERY_BUNDLES ?? 100_000);
const ROUNDS = 7;

const log = createRootLogger({ level: 'silent' });

async function fill(dir: string): Promise<void> {
  const store = await BundleStore.open({ dir, capacityBytes: 4 * BUNDLES * 1200, log, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) });
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

/** Runs in a fresh node process: alternately reads every store file and recovers the store. */
const TIMER = `
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleStore } from '${REPO}dist/flight/dtn/store/store.js';
import { createRootLogger } from '${REPO}dist/flight/log.js';
import { TelemetryRegistry } from '${REPO}dist/flight/tlm/channels.js';
import { EventLog } from '${REPO}dist/flight/tlm/events.js';
const [dir, rounds, drop] = process.argv.slice(1);
const log = createRootLogger({ level: 'silent' });
const dropCache = () => {
  if (drop !== '1') return;
  for (const f of readdirSync(dir)) spawnSync('dd', ['if=' + join(dir, f), 'iflag=nocache', 'count=0', 'status=none']);
};
async function readAll() {
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  for (const file of readdirSync(dir).sort()) {
    const handle = await open(join(dir, file), 'r');
    while ((await handle.read(buffer, 0, buffer.length, null)).bytesRead > 0);
    await handle.close();
  }
}
const read = [], recover = [], rebuild = [];
let count = 0;
for (let r = 0; r < Number(rounds); r++) {
  dropCache();
  let t = performance.now();
  await readAll();
  read.push(performance.now() - t);
  dropCache();
  t = performance.now();
  const store = await BundleStore.open({ dir, capacityBytes: 1e12, log, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) });
  recover.push(performance.now() - t);
  count = store.count;
  await store.close(); // seals the last segment again and saves the index snapshot: not timed
  // The same store rebuilt from its segments, as after a crash: the snapshot set aside.
  rmSync(join(dir, 'index.snap'));
  dropCache();
  t = performance.now();
  const again = await BundleStore.open({ dir, capacityBytes: 1e12, log, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) });
  rebuild.push(performance.now() - t);
  await again.close();
}
console.log(JSON.stringify({ read, recover, rebuild, count }));
`;

interface Timings { read: number[]; recover: number[]; rebuild: number[]; count: number }

function time(dir: string, dropCache: boolean): Timings {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', TIMER, dir, String(ROUNDS), dropCache ? '1' : '0'], { encoding: 'utf8', timeout: 600_000 });
  if (run.status !== 0) throw new Error(`recovery timer failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Timings;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function summarize(t: Timings): Record<string, unknown> {
  const read = median(t.read.slice(1));
  const recover = median(t.recover.slice(1));
  const rebuild = median(t.rebuild.slice(1));
  return {
    readAllMs: read,
    recoveryMs: recover,
    ratio: recover / read,
    rebuildFromSegmentsMs: rebuild,
    rebuildRatio: rebuild / read,
    firstProcessRun: { readAllMs: t.read[0], recoveryMs: t.recover[0], ratio: t.recover[0]! / t.read[0]! },
    readAllRuns: t.read,
    recoveryRuns: t.recover,
    rebuildRuns: t.rebuild,
  };
}

it(`recovery of ${BUNDLES} bundles vs reading every store file`, async () => {
  const root = tempDir('tern-bench-store-recovery-');
  const dir = join(root, 'bundles');
  try {
    const t0 = performance.now();
    await fill(dir);
    const buildSeconds = (performance.now() - t0) / 1000;
    const files = readdirSync(dir).filter((f) => f.endsWith('.seg'));
    const storeBytes = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    const warm = time(dir, false);
    expect(warm.count).toBe(BUNDLES);
    const canDrop = spawnSync('dd', [`if=${join(dir, files[0]!)}`, 'iflag=nocache', 'count=0', 'status=none']).status === 0;
    const cold = canDrop ? time(dir, true) : undefined;
    writeResult('store-recovery', {
      command: 'npm run build && npx vitest run --config test/bench/vitest.config.ts test/bench/store-recovery.bench.ts',
      bundles: BUNDLES,
      bundleBytes: 1024,
      segments: files.length,
      storeMiB: storeBytes / 2 ** 20,
      buildSeconds,
      pageCache: summarize(warm),
      droppedCache: cold ? summarize(cold) : 'dd iflag=nocache unavailable',
      target: { ratio: 2 },
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
