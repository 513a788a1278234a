// The cyclic executive. Frames start at absolute deadlines anchor + k*T; every task run is timed
// against its budget; lateness, slips and overruns are counted and published as telemetry; the
// overrun policy can skip, shed or send the node to SAFE. The executive does no waiting itself:
// a driver (FrameTimer in flight, runVirtual in tests and lockstep HIL) calls tick() at or after
// nextDeadlineUs(). Steady state allocates nothing.
import { TernError } from '../errors.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { Clock } from './clock.js';
import { EXEC_CHANNELS, EXEC_EVENTS } from './dictionary.js';
import type { ModeTable, Schedule } from './schedule.js';
import type { FrameInfo, Task } from './task.js';

export class ModeError extends TernError {
  readonly code = 'EXEC_UNKNOWN_MODE';
  constructor(readonly mode: string, known: readonly string[]) {
    super(`unknown mode ${JSON.stringify(mode)} (known: ${known.join(', ')})`);
    this.name = 'ModeError';
  }
}

/** Lateness histogram: bucket 0 is < 1 us, bucket b is [2^(b-1), 2^b) us, the last is open. */
const LATENESS_BUCKETS = 26;

interface TaskChannels {
  lastUs: Channel;
  minUs: Channel;
  maxUs: Channel;
  meanUs: Channel;
  runs: Channel;
  overruns: Channel;
  failures: Channel;
}

export interface ExecutiveDeps {
  schedule: Schedule;
  clock: Clock;
  tlm: TelemetryRegistry;
  events: EventLog;
}

export class Executive {
  private readonly schedule: Schedule;
  private readonly clock: Clock;
  private readonly events: EventLog;
  private readonly modeNames: readonly string[];
  private readonly ch: { [K in keyof typeof EXEC_CHANNELS]: Channel };
  private readonly taskCh: readonly TaskChannels[];
  private readonly runTimeSum: Float64Array;
  private readonly consecutiveOverruns: Uint32Array;
  private readonly skipNext: Uint8Array;
  private readonly lateness = new Uint32Array(LATENESS_BUCKETS);
  private readonly frame: FrameInfo;
  private readonly majorListeners: Array<() => void> = [];

  private mode: ModeTable;
  private anchorUs: number;
  /** Frames since the anchor of the current mode. */
  private k = 0;
  private majorFrames = 0;
  private shedUntilMajor = 0;
  private pendingMode: ModeTable | undefined;
  private pendingReason = '';

  constructor(deps: ExecutiveDeps, startUs = deps.clock.nowUs()) {
    this.schedule = deps.schedule;
    this.clock = deps.clock;
    this.events = deps.events;
    this.modeNames = [...deps.schedule.modes.keys()];
    this.mode = deps.schedule.modes.get(deps.schedule.initialMode)!;
    this.anchorUs = startUs;
    this.ch = deps.tlm.defineAll(EXEC_CHANNELS);
    this.ch.mode.set(this.modeNames.indexOf(this.mode.name));
    this.taskCh = deps.schedule.tasks.map((task) => {
      const ch = (key: string, units: string, doc: string): Channel =>
        deps.tlm.define({ name: `exec.task.${task.name}.${key}`, type: 'f64', units, doc });
      return {
        lastUs: ch('lastUs', 'us', 'Execution time of the last run'),
        minUs: ch('minUs', 'us', 'Shortest run'),
        maxUs: ch('maxUs', 'us', 'Longest run'),
        meanUs: ch('meanUs', 'us', 'Mean run time'),
        runs: ch('runs', 'runs', 'Runs since start'),
        overruns: ch('overruns', 'runs', 'Runs over budget'),
        failures: ch('failures', 'runs', 'Runs that threw'),
      };
    });
    const n = deps.schedule.tasks.length;
    this.runTimeSum = new Float64Array(n);
    this.consecutiveOverruns = new Uint32Array(n);
    this.skipNext = new Uint8Array(n);
    this.frame = { frame: 0, minor: 0, mode: this.mode.name, deadlineUs: startUs };
  }

  get modeName(): string {
    return this.mode.name;
  }

  get minorFrameUs(): number {
    return this.mode.minorFrameUs;
  }

  /** Anchors frame 0 of the current mode at `startUs` (the driver calls this as it starts). */
  begin(startUs: number): void {
    this.anchorUs = startUs;
    this.k = 0;
  }

  /** Start time of the next frame to run. */
  nextDeadlineUs(): number {
    return this.anchorUs + this.k * this.mode.minorFrameUs;
  }

  /** Called after the last minor frame of every major frame (housekeeping, watchdog). */
  onMajorFrame(listener: () => void): void {
    this.majorListeners.push(listener);
  }

  /** Asks for a mode change; it takes effect at the start of the next minor frame. */
  requestMode(mode: string, reason: string): void {
    const table = this.schedule.modes.get(mode);
    if (!table) throw new ModeError(mode, this.modeNames);
    this.pendingMode = table;
    this.pendingReason = reason;
  }

  /** Runs every frame that is due, up to 1 + catchUpFrames of them, jumping past a long lag. */
  tick(): void {
    let now = this.clock.nowUs();
    const period = this.mode.minorFrameUs;
    const behind = Math.floor((now - this.nextDeadlineUs()) / period);
    if (behind > this.schedule.lagLimitFrames) {
      this.k += behind;
      this.ch.slips.add(behind);
      this.ch.jumps.add(1);
      this.events.emit(EXEC_EVENTS.frameJump, { frames: behind, limit: this.schedule.lagLimitFrames });
    }
    for (let run = 0; run <= this.schedule.catchUpFrames; run++) {
      const due = this.nextDeadlineUs();
      if (now < due) return;
      this.runFrame(due, now);
      now = this.clock.nowUs();
    }
  }

  private applyPendingMode(due: number): void {
    const next = this.pendingMode!;
    const from = this.mode.name;
    this.pendingMode = undefined;
    this.mode = next;
    this.anchorUs = due;
    this.k = 0;
    this.frame.mode = next.name;
    this.ch.mode.set(this.modeNames.indexOf(next.name));
    this.ch.modeChanges.add(1);
    this.events.emit(EXEC_EVENTS.modeChanged, { from, to: next.name, reason: this.pendingReason });
  }

  private runFrame(due: number, startUs: number): void {
    if (this.pendingMode) this.applyPendingMode(due);
    const period = this.mode.minorFrameUs;
    const late = startUs - due;
    this.recordLateness(late);
    if (late >= period) {
      this.ch.slips.add(1);
      this.events.emit(EXEC_EVENTS.frameSlip, { frame: this.ch.frames.value, late: Math.round(late), period });
    }

    const slots = this.mode.slots;
    const minor = this.k % slots.length;
    const frame = this.frame;
    frame.frame = this.ch.frames.value;
    frame.minor = minor;
    frame.deadlineUs = due;
    for (const index of slots[minor]!) this.runTask(index);

    const ran = this.clock.nowUs() - startUs;
    if (ran > period) {
      this.ch.frameOverruns.add(1);
      this.events.emit(EXEC_EVENTS.frameOverrun, { frame: frame.frame, us: Math.round(ran), period });
    }
    this.k++;
    this.ch.frames.add(1);
    if (minor === slots.length - 1) this.endMajorFrame();
  }

  private runTask(index: number): void {
    const task = this.schedule.tasks[index]!;
    if (this.skipNext[index]) {
      this.skipNext[index] = 0;
      this.ch.tasksSkipped.add(1);
      return;
    }
    if (this.schedule.criticality[index] === 'low' && this.majorFrames < this.shedUntilMajor) {
      this.ch.tasksShed.add(1);
      return;
    }
    const ch = this.taskCh[index]!;
    const start = this.clock.nowUs();
    try {
      task.run(this.frame);
    } catch (error) {
      ch.failures.add(1);
      this.ch.taskFailures.add(1);
      this.events.emit(EXEC_EVENTS.taskFailed, { task: task.name, error: String(error) });
    }
    const us = this.clock.nowUs() - start;
    const runs = ch.runs.value + 1;
    ch.runs.set(runs);
    ch.lastUs.set(us);
    if (runs === 1 || us < ch.minUs.value) ch.minUs.set(us);
    if (us > ch.maxUs.value) ch.maxUs.set(us);
    this.runTimeSum[index]! += us;
    ch.meanUs.set(this.runTimeSum[index]! / runs);
    if (us > task.budgetUs) this.overrun(index, task, us);
    else this.consecutiveOverruns[index] = 0;
  }

  private overrun(index: number, task: Task, us: number): void {
    const policy = this.schedule.overrun[index]!;
    this.taskCh[index]!.overruns.add(1);
    this.ch.taskOverruns.add(1);
    const consecutive = ++this.consecutiveOverruns[index]!;
    this.events.emit(EXEC_EVENTS.taskOverrun, { task: task.name, us: Math.round(us), budget: task.budgetUs, policy });
    if (policy === 'skip-next') this.skipNext[index] = 1;
    if (policy === 'shed-low') {
      // The rest of this major frame, then shedMajorFrames full ones.
      this.shedUntilMajor = this.majorFrames + 1 + this.schedule.shedMajorFrames;
      this.events.emit(EXEC_EVENTS.shed, { task: task.name, majorFrames: this.schedule.shedMajorFrames });
    }
    if (this.schedule.criticality[index] === 'critical' && consecutive >= this.schedule.safeAfterOverruns && this.mode.name !== 'SAFE') {
      this.consecutiveOverruns[index] = 0;
      this.events.emit(EXEC_EVENTS.safeEntry, { task: task.name, count: consecutive });
      this.requestMode('SAFE', `${task.name} overran ${consecutive} times in a row`);
    }
  }

  private recordLateness(lateUs: number): void {
    const late = lateUs > 0 ? lateUs : 0;
    const bucket = late < 1 ? 0 : Math.min(LATENESS_BUCKETS - 1, 1 + Math.floor(Math.log2(late)));
    this.lateness[bucket]!++;
    this.ch.latenessLastUs.set(late);
    if (late > this.ch.latenessMaxUs.value) this.ch.latenessMaxUs.set(late);
  }

  /** Upper bound of the lateness bucket holding the p-th percentile (0 < p <= 1). */
  latenessPercentileUs(p: number): number {
    let total = 0;
    for (let b = 0; b < LATENESS_BUCKETS; b++) total += this.lateness[b]!;
    if (total === 0) return 0;
    const rank = Math.ceil(total * p);
    let seen = 0;
    for (let b = 0; b < LATENESS_BUCKETS; b++) {
      seen += this.lateness[b]!;
      if (seen >= rank) return b === 0 ? 1 : 2 ** b;
    }
    return Infinity;
  }

  private endMajorFrame(): void {
    this.majorFrames++;
    this.ch.latenessP99Us.set(this.latenessPercentileUs(0.99));
    for (const listener of this.majorListeners) listener();
  }

  /** Adds CPU time a driver spent spinning before frame starts. */
  addWaitSpin(us: number): void {
    this.ch.waitSpinUs.add(us);
  }
}
