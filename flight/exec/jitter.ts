// `tern jitter`: measures how punctually the executive starts its frames on this machine, with a
// synthetic task doing fixed work each frame. Flight engineers run it on the target OBC before
// trusting a schedule; the benchmark runs it too, with `--baseline` for a plain setTimeout loop
// with absolute deadlines. Prints one JSON object: lateness percentiles, slips, CPU cost of waiting.
import { parseOptions, UsageError } from '../cli-args.js';
import { Fields } from '../config/fields.js';
import { createRootLogger } from '../log.js';
import { TelemetryRegistry } from '../tlm/channels.js';
import { EventLog } from '../tlm/events.js';
import { monotonicClock } from './clock.js';
import { Executive } from './executive.js';
import { FrameTimer } from './frame-timer.js';
import { parseSchedule } from './schedule.js';
import type { FrameInfo, Task } from './task.js';

export const JITTER_USAGE = `usage: tern jitter [--seconds S] [--period-ms T] [--work-ms W] [--baseline]

Runs frames of period T with W ms of busy work each for S seconds and prints frame-start
lateness as JSON. --baseline measures a setTimeout loop with absolute deadlines instead.

example:
  tern jitter --seconds 30 --period-ms 10 --work-ms 1`;

interface Measured {
  /** Start error of every frame, us: positive is late (the baseline can also start early). */
  errors: Float64Array;
  slips: number;
  cpuUs: number;
  wallUs: number;
  spinUs?: number;
}

const now = monotonicClock.nowUs;

function busy(us: number): void {
  const end = now() + us;
  while (now() < end);
}

function measureFrameTimer(frames: number, periodUs: number, workUs: number): Promise<Measured> {
  const errors = new Float64Array(frames);
  let n = 0;
  const task: Task = {
    name: 'jitter.work',
    criticality: 'normal',
    budgetUs: Math.min(periodUs, workUs * 2),
    run(frame: FrameInfo) {
      if (n < frames) errors[n++] = now() - frame.deadlineUs;
      busy(workUs);
    },
  };
  const table = { minorFrameMs: periodUs / 1000, slots: [['jitter.work']] };
  const modes = { BOOT: table, NOMINAL: table, SAFE: table };
  const schedule = parseSchedule(new Fields('jitter'), { initialMode: 'NOMINAL', modes }, 'exec', [task]);
  const tlm = new TelemetryRegistry();
  const events = new EventLog(createRootLogger({ level: 'silent' }), now);
  const exec = new Executive({ schedule, clock: monotonicClock, tlm, events });
  const timer = new FrameTimer(exec);
  return new Promise((resolve) => {
    const cpu0 = process.cpuUsage();
    const wall0 = now();
    timer.start();
    const poll = setInterval(() => {
      if (n < frames) return;
      timer.stop();
      clearInterval(poll);
      const cpu = process.cpuUsage(cpu0);
      resolve({
        errors,
        slips: tlm.get('exec.slips')!.value,
        cpuUs: cpu.user + cpu.system,
        wallUs: now() - wall0,
        spinUs: tlm.get('exec.waitSpinUs')!.value,
      });
    }, 100);
  });
}

function measureSetTimeout(frames: number, periodUs: number, workUs: number): Promise<Measured> {
  const errors = new Float64Array(frames);
  let n = 0;
  let slips = 0;
  return new Promise((resolve) => {
    const cpu0 = process.cpuUsage();
    const wall0 = now();
    const t0 = wall0 + 2 * periodUs;
    const fire = (): void => {
      const error = now() - (t0 + n * periodUs);
      if (error >= periodUs) slips++;
      errors[n++] = error;
      busy(workUs);
      if (n < frames) {
        setTimeout(fire, Math.max(0, t0 + n * periodUs - now()) / 1000);
        return;
      }
      const cpu = process.cpuUsage(cpu0);
      resolve({ errors, slips, cpuUs: cpu.user + cpu.system, wallUs: now() - wall0 });
    };
    setTimeout(fire, (t0 - now()) / 1000);
  });
}

function at(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;
}

function summarize(m: Measured, frames: number, workUs: number): Record<string, number> {
  // Percentiles of the absolute start error: a frame that starts early breaks the schedule too.
  const sorted = Float64Array.from(m.errors, Math.abs).sort();
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    frames,
    p50Us: round(at(sorted, 0.5)),
    p99Us: round(at(sorted, 0.99)),
    p999Us: round(at(sorted, 0.999)),
    maxUs: round(sorted[sorted.length - 1]!),
    earlyFrames: m.errors.filter((e) => e < 0).length,
    slips: m.slips,
    // Process CPU beyond the frames' own work, as a share of one core: what waiting costs.
    waitCpuShare: Math.round(((m.cpuUs - frames * workUs) / m.wallUs) * 1e4) / 1e4,
    ...(m.spinUs === undefined ? {} : { spinCpuShare: Math.round((m.spinUs / m.wallUs) * 1e4) / 1e4 }),
  };
}

export async function runJitter(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseOptions('tern jitter', {
      seconds: { type: 'string', default: '10' },
      'period-ms': { type: 'string', default: '10' },
      'work-ms': { type: 'string', default: '1' },
      baseline: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    }, argv));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`tern jitter: ${error.message}\n\n${JITTER_USAGE}`);
    return 2;
  }
  const seconds = Number(values.seconds);
  const periodUs = Number(values['period-ms']) * 1000;
  const workUs = Number(values['work-ms']) * 1000;
  if (values.help || !(seconds > 0) || !(periodUs >= 100) || !(workUs >= 0 && workUs < periodUs)) {
    (values.help ? console.log : console.error)(JITTER_USAGE);
    return values.help ? 0 : 2;
  }
  const frames = Math.floor((seconds * 1e6) / periodUs);
  const measured = values.baseline
    ? await measureSetTimeout(frames, periodUs, workUs)
    : await measureFrameTimer(frames, periodUs, workUs);
  console.log(JSON.stringify({ loop: values.baseline ? 'setTimeout' : 'FrameTimer', periodUs, workUs, ...summarize(measured, frames, workUs) }));
  return 0;
}
