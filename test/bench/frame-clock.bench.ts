// Frame-start lateness at 100 Hz with 1 ms of work per frame while another process keeps the
// other core busy: the executive's FrameTimer against a setTimeout loop with absolute deadlines,
// in the same run. Each loop runs alone in a fresh `tern jitter` process, so that nothing of the
// test runner shares its event loop. Both run twice: at normal priority, and under SCHED_FIFO
// (`chrt -f 50`, as a flight unit runs with CPUSchedulingPolicy=fifo) where this machine allows
// it. TERN_BENCH_SECONDS sets each loop's length (default 30).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { TERN } from '../support/node-process.js';
import { writeResult } from './results.js';

const SECONDS = Number(process.env.TERN_BENCH_SECONDS ?? 30);

function fifoAllowed(): boolean {
  try {
    execFileSync('chrt', ['-f', '50', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function jitter(baseline: boolean, fifo: boolean): Promise<Record<string, number>> {
  const args = [TERN, 'jitter', '--seconds', String(SECONDS), '--period-ms', '10', '--work-ms', '1', ...(baseline ? ['--baseline'] : [])];
  const [command, argv] = fifo ? ['chrt', ['-f', '50', process.execPath, ...args]] : [process.execPath, args];
  const { stdout } = await promisify(execFile)(command, argv as string[]);
  return JSON.parse(stdout) as Record<string, number>;
}

async function pair(fifo: boolean): Promise<Record<string, unknown>> {
  const setTimeoutBaseline = await jitter(true, fifo);
  const frameTimer = await jitter(false, fifo);
  return { frameTimer, setTimeoutBaseline, p99Improvement: Math.round((setTimeoutBaseline.p99Us! / frameTimer.p99Us!) * 10) / 10 };
}

it(`frame-start lateness at 100 Hz over ${SECONDS} s with the other core busy`, async () => {
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  try {
    const normal = await pair(false);
    const fifo = fifoAllowed() ? await pair(true) : 'chrt -f refused on this machine';
    writeResult('frame-clock', {
      command: 'npm run bench -- test/bench/frame-clock.bench.ts',
      seconds: SECONDS,
      normalPriority: normal,
      schedFifo: fifo,
      targets: { p99Us: 100, maxUs: 2000, slips: 0, p99Improvement: 10, waitCpuShare: 0.15 },
    });
    expect((normal.frameTimer as Record<string, number>).frames).toBe(SECONDS * 100);
  } finally {
    hog.kill();
  }
});
