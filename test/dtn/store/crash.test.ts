// STORE-001: durable before acknowledged, under SIGKILL at random moments. A child process
// (store-writer.mjs, the compiled store) stores, deletes, expires and compacts continuously and
// reports every acknowledged outcome; the test kills it by pid at a random instant (during
// start-up and recovery too), reopens the store and checks: every acknowledged bundle is there
// exactly once and byte for byte, every acknowledged deletion stuck, nothing else is present
// and nothing corrupt is served. TERN_STORE_CRASH_KILLS sets the number of kills (default 30).
// It runs twice: with every segment a new file, and with spare segments (spares.ts), where new
// segments are written over files compaction emptied, whose earlier records must never come back.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SEGMENT_HEADER_BYTES, checkSegmentHeader, parseSegmentFileName, segmentHeaderRecycled } from '../../../flight/dtn/store/format.js';
import { prng } from '../../support/prng.js';
import { bundleBytes, openStore, tempDir } from './support.js';

const KILLS = Number(process.env.TERN_STORE_CRASH_KILLS ?? 30);
const WRITER = fileURLToPath(new URL('./store-writer.mjs', import.meta.url));

interface Run {
  acked: string[];
  deleting: string[];
  gone: string[];
  ready: boolean;
  exit: { code: number | null; signal: NodeJS.Signals | null };
  stderr: string;
}

async function runAndKill(dir: string, tag: string, killAfterMs: number, afterReady: boolean, spares: number): Promise<Run> {
  const seed = String(tag.length * 7919 + killAfterMs);
  const child = spawn(process.execPath, [WRITER, dir, tag, 'forever', seed, String(spares)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run: Run = { acked: [], deleting: [], gone: [], ready: false, exit: { code: null, signal: null }, stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  let timer: NodeJS.Timeout | undefined;
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  lines.on('line', (line) => {
    const [what, id] = line.split(' ');
    if (what === 'READY') {
      run.ready = true;
      if (afterReady) timer = setTimeout(kill, killAfterMs);
    } else if (what === 'ACK') run.acked.push(id!);
    else if (what === 'DELETING') run.deleting.push(id!);
    else if (what === 'DEL' || what === 'EXP') run.gone.push(id!);
  });
  if (!afterReady) timer = setTimeout(kill, killAfterMs);
  run.exit = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  // Lines already in the pipe are still delivered after the exit: wait for the end of stdout.
  await new Promise<void>((resolve) => (child.stdout.readableEnded ? resolve() : child.stdout.on('end', resolve)));
  return run;
}

describe.each([
  { spares: 0, mode: 'new segment files' },
  { spares: 3, mode: 'segments written over recycled spares' },
])('store crash safety (real processes, SIGKILL), $mode', ({ spares }) => {
  it(`keeps every acknowledged bundle exactly once through ${KILLS} kills at random moments`, async () => {
    const dir = tempDir('tern-store-crash-');
    const random = prng(2024 + spares);
    const present = new Set<string>(); // acknowledged (or found stored), and no deletion begun
    const gone = new Set<string>(); // deletion acknowledged
    const expiryOf = (id: string): number => Number(id.split('-')[3]);
    let totalAcked = 0;
    let killedDuringStartup = 0;
    let tornRecoveries = 0;
    const recycledSegments = new Set<string>();
    for (let k = 0; k < KILLS; k++) {
      const afterReady = random() < 0.8;
      const delay = afterReady ? Math.floor(random() * 400) : 50 + Math.floor(random() * 400);
      const run = await runAndKill(dir, `r${k}`, delay, afterReady, spares);
      expect(run.exit, run.stderr).toEqual({ code: null, signal: 'SIGKILL' });
      if (!run.ready) killedDuringStartup++;
      for (const id of run.acked) present.add(id);
      for (const id of run.deleting) present.delete(id);
      for (const id of run.gone) {
        present.delete(id);
        gone.add(id);
      }
      totalAcked += run.acked.length;

      const { store, value } = await openStore(dir, { segmentBytes: 64 * 1024, spareSegments: spares });
      const listed = store.list();
      const ids = listed.map((b) => b.id);
      expect(new Set(ids).size, 'no bundle listed twice').toBe(ids.length);
      const listedSet = new Set(ids);
      const now = Date.now();
      for (const id of present) {
        // A bundle past its lifetime may have been expired (durably) before the writer could say so.
        if (expiryOf(id) < now) continue;
        expect(listedSet.has(id), `acknowledged ${id} missing after kill ${k}`).toBe(true);
      }
      for (const id of gone) expect(listedSet.has(id), `deleted ${id} came back after kill ${k}`).toBe(false);
      for (const b of listed) {
        // Anything present is a bundle the writer tried to store, byte for byte (never corrupt).
        const match = /^r\d+-\d{6}-(\d+)-\d+$/.exec(b.id);
        expect(match, b.id).not.toBeNull();
        const bytes = await store.get(b.id);
        expect(bytes && Buffer.from(bytes).equals(bundleBytes(b.id, Number(match![1]))), `bytes of ${b.id}`).toBe(true);
      }
      expect(value('corruptRecords')).toBe(0);
      if (value('tornBytes') > 0) tornRecoveries++;
      for (const f of readdirSync(dir)) {
        const number = parseSegmentFileName(f);
        if (number === undefined) continue;
        const header = readFileSync(join(dir, f)).subarray(0, SEGMENT_HEADER_BYTES);
        if (checkSegmentHeader(header, number) === 'valid' && segmentHeaderRecycled(header)) recycledSegments.add(f);
      }
      // Bundles stored but not yet acknowledged when the kill came may or may not be there;
      // from now on they count as present (the writer does not know about them: never deleted).
      present.clear();
      for (const id of ids) present.add(id);
      await store.close();
    }
    expect(totalAcked).toBeGreaterThan(KILLS * 5);
    // Segments were sealed, compacted and deleted under the kills, not just appended to.
    const segments = readdirSync(dir).filter((f) => f.endsWith('.seg')).map((f) => Number(f.slice(0, 10)));
    const span = Math.max(...segments) - Math.min(...segments) + 1;
    expect(segments.length).toBeLessThan(span);
    // More segments were written over spares than were formatted: compaction recycled files.
    if (spares > 0) expect(recycledSegments.size).toBeGreaterThan(spares);
    console.log(`crash test: ${KILLS} kills (${killedDuringStartup} before READY, ${tornRecoveries} leaving a torn tail), ` +
      `${totalAcked} acknowledged puts, ${gone.size} acknowledged deletions, ${span - segments.length} of ${span} segments reclaimed, ` +
      `${recycledSegments.size} written over spares`);
  }, 10 * 60_000);
});
