// Frame-start lateness at 100 Hz with 1 ms of work per frame while another process keeps the
// other core busy: the executive's FrameTimer against a setTimeout loop with absolute deadlines,
// in the same run. Each loop runs alone in a fresh `tern jitter` process, so that nothing of the
// test runner shares its event loop. TERN_BENCH_SECONDS sets each loop's length (default 30).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { TERN } from '../support/node-process.js';
import { writeResult } from './results.js';

const SECONDS = Number(process.env.TERN_BENCH_SECONDS ?? 30);

async function jitter(baseline: boolean): Promise<Record<string, number>> {
  const args = [TERN, 'jitter', '--seconds', String(SECONDS), '--period-ms', '10', '--work-ms', '1'];
  const { stdout } = await promisify(execFile)(process.execPath, baseline ? [...args, '--baseline'] : args);
  return JSON.parse(stdout) as Record<string, number>;
}

it(`frame-start lateness at 100 Hz over ${SECONDS} s with the other core busy`, async () => {
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    const baseline = await jitter(true);
    const frameTimer = await jitter(false);
    writeResult('frame-clock', {
      command: 'npm run bench -- test/bench/frame-clock.bench.ts',
      seconds: SECONDS,
      frameTimer,
      setTimeoutBaseline: baseline,
      p99Improvement: Math.round((baseline.p99Us! / frameTimer.p99Us!) * 10) / 10,
      targets: { p99Us: 100, maxUs: 2000, slips: 0, p99Improvement: 10, waitCpuShare: 0.15 },
    });
    expect(frameTimer.frames).toBe(SECONDS * 100);
  } finally {
    hog.kill();
  }
});
