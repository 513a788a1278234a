// The FrameTimer's fine wait does not hold up I/O: a file read started by a task completes, and
// its callback runs, while the timer waits for the next frame, not only after that frame began.
// Judged by which frame a completion lands in (not by how long anything took): with a fine wait
// spanning almost the whole frame, a blocking wait lets no completion in before the next frame.
// And it sleeps its slices only after a loop turn that found nothing to do (on a virtual clock,
// with Atomics.wait counted, not timed).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { monotonicClock, type Clock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { FrameTimer } from '../../flight/exec/frame-timer.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import type { FrameInfo, Task } from '../../flight/exec/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog } from '../../flight/tlm/events.js';
import { until } from '../support/wait.js';

const READS = 20;

describe('FrameTimer', () => {
  it('lets I/O complete during its fine wait: reads started in a frame finish before the next one starts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tern-frame-timer-')), 'small');
    writeFileSync(file, 'x');
    let frame = -1;
    const landed: boolean[] = [];
    const task: Task = {
      name: 'test.reader',
      criticality: 'normal',
      budgetUs: 5000,
      run(info: FrameInfo) {
        frame = info.frame;
        if (landed.length + 1 > READS) return;
        const started = info.frame;
        void readFile(file).then(() => landed.push(frame === started));
      },
    };
    const table = { minorFrameMs: 10, slots: [['test.reader']] };
    const schedule = parseSchedule(new Fields('test'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', [task]);
    const log = createRootLogger({ level: 'silent' });
    const exec = new Executive({ schedule, clock: monotonicClock, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) });
    // The fine wait starts 9.5 ms before each deadline: it covers almost all of every frame.
    const timer = new FrameTimer(exec, monotonicClock, { coarseMarginUs: 9500 });
    timer.start();
    try {
      await until(() => landed.length >= READS, `${READS} reads to complete`, 30_000);
    } finally {
      timer.stop();
    }
    // A blocking wait lets none land in their own frame; a loaded machine may delay a few.
    expect(landed.filter(Boolean).length).toBeGreaterThanOrEqual(READS / 2);
  });

  it('sleeps a slice only after a loop turn that found nothing to do', async () => {
    // Time moves 1 us per reading (so the final spin ends) plus what the "callbacks" between the
    // fine wait's turns spend: 100 us a turn while busy, nothing while idle.
    let t = 1_000_000;
    const clock: Clock = { nowUs: () => t++ };
    const table = { minorFrameMs: 10, slots: [[]] };
    const schedule = parseSchedule(new Fields('test'), { initialMode: 'NOMINAL', modes: { BOOT: table, NOMINAL: table, SAFE: table } }, 'exec', []);
    const log = createRootLogger({ level: 'silent' });
    const exec = new Executive({ schedule, clock, tlm: new TelemetryRegistry(), events: new EventLog(log, () => 0) });
    const waits = vi.spyOn(Atomics, 'wait').mockImplementation(() => 'timed-out');
    // Fine wait from the start (a margin as long as the frame), 100 us slices.
    const timer = new FrameTimer(exec, clock, { coarseMarginUs: 10_000, sliceUs: 100, busyTurnUs: 60 });
    let busyUs = 100;
    let turns = 0;
    let running = true;
    const callbacks = (): void => {
      t += busyUs;
      turns++;
      if (running) setImmediate(callbacks);
    };
    try {
      setImmediate(callbacks);
      timer.start();
      await until(() => turns >= 50, '50 busy turns', 10_000);
      expect(waits).not.toHaveBeenCalled();
      busyUs = 0;
      await until(() => waits.mock.calls.length >= 20, 'slices slept once the turns are empty', 10_000);
    } finally {
      running = false;
      timer.stop();
      waits.mockRestore();
    }
  });
});
