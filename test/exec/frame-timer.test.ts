// The FrameTimer's fine wait does not hold up I/O: a file read started by a task completes, and
// its callback runs, while the timer waits for the next frame, not only after that frame began.
// Judged by which frame a completion lands in (not by how long anything took): with a fine wait
// spanning almost the whole frame, a blocking wait lets no completion in before the next frame.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Fields } from '../../flight/config/fields.js';
import { monotonicClock } from '../../flight/exec/clock.js';
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
});
