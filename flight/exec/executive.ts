// The cyclic executive. Frames start at absolute deadlines anchor + k*T; every task run is timed
// against its budget; lateness, slips and overruns are counted and published as telemetry; the
// overrun policy can skip, shed or send the node to SAFE. The executive does no waiting itself:
// a driver (FrameTimer in flight, runVirtual in tests and lockstep HIL) calls tick() at or after
// nextDeadlineUs(). Steady state allocates nothing.
import { TernError } from '../errors.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { spend, type Clock } from './clock.js';
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

/** EXEC_LOAD named a task the schedule does not have. */
export class UnknownTaskError extends TernError {
  readonly code = 'EXEC_UNKNOWN_TASK';
  constructor(readonly task: string, known: readonly string[]) {
    super(`unknown task ${JSON.stringify(task)} (known: ${known.join(', ')})`);
    this.name = 'UnknownTaskError';
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

/** One scalar of executive state (a TMR cell when the node protects its memory). */
export interface StateCell {
  get(): number;
  set(value: number): void;
}

/**
 * Where the executive keeps what it trusts every frame: the current mode (an index into the
 * schedule's modes), the frame counter of the mode (frames since its anchor) and the slot lists.
 * By default plain memory; a node with protected memory (flight/ecc) gives TMR cells and the
 * tables in a protected region, read at the point of use.
 */
export interface ExecState {
  readonly mode: StateCell;
  readonly frame: StateCell;
  /** Copies the task indexes of slot `minor` of mode `mode` into `into`; returns how many. */
  readSlot(mode: number, minor: number, into: Uint8Array): number;
}

export interface ExecutiveDeps {
  schedule: Schedule;
  clock: Clock;
  tlm: TelemetryRegistry;
  events: EventLog;
  /** Plain memory when absent. */
  state?: ExecState;
}

class PlainCell implements StateCell {
  constructor(private value: number) {}
  get(): number {
    return this.value;
  }
  set(value: number): void {
    this.value = value;
  }
}

/** The executive's state in plain memory: the schedule's own tables. */
export function plainState(schedule: Schedule): ExecState {
  const modes = [...schedule.modes.values()];
  return {
    mode: new PlainCell(modes.findIndex((m) => m.name === schedule.initialMode)),
    frame: new PlainCell(0),
    readSlot(mode, minor, into) {
      const slot = modes[mode]!.slots[minor]!;
      for (let i = 0; i < slot.length; i++) into[i] = slot[i]!;
      return slot.length;
    },
  };
}

/** Most tasks in any slot of any mode (the size of the slot buffer). */
export function widestSlot(schedule: Schedule): number {
  let widest = 0;
  for (const mode of schedule.modes.values()) for (const slot of mode.slots) widest = Math.max(widest, slot.length);
  return widest;
}

export class Executive {
  private readonly schedule: Schedule;
  private readonly clock: Clock;
  private readonly events: EventLog;
  private readonly modeNames: readonly string[];
  private readonly modeTables: readonly ModeTable[];
  private readonly state: ExecState;
  /** The slot being run, read from the state at the start of its frame. */
  private readonly slot: Uint8Array;
  private readonly ch: { [K in keyof typeof EXEC_CHANNELS]: Channel };
  private readonly taskCh: readonly TaskChannels[];
  private readonly runTimeSum: Float64Array;
  private readonly consecutiveOverruns: Uint32Array;
  private readonly skipNext: Uint8Array;
  /** Work added on purpose (EXEC_LOAD): microseconds per run, and the runs it is still added to. */
  private readonly loadUs: Float64Array;
  private readonly loadRuns: Uint32Array;
  private readonly lateness = new Uint32Array(LATENESS_BUCKETS);
  private readonly frame: FrameInfo;
  private readonly majorListeners: Array<() => void> = [];

  private anchorUs: number;
  private majorFrames = 0;
  private shedUntilMajor = 0;
  private pendingMode: ModeTable | undefined;
  private pendingReason = '';

  constructor(deps: ExecutiveDeps, startUs = deps.clock.nowUs()) {
    this.schedule = deps.schedule;
    this.clock = deps.clock;
    this.events = deps.events;
    this.modeNames = [...deps.schedule.modes.keys()];
    this.modeTables = [...deps.schedule.modes.values()];
    this.state = deps.state ?? plainState(deps.schedule);
    // Task indexes are kept in bytes (slot buffer, protected tables).
    if (deps.schedule.tasks.length > 256) throw new Error(`${deps.schedule.tasks.length} tasks: the executive schedules at most 256`);
    this.slot = new Uint8Array(widestSlot(deps.schedule));
    this.state.mode.set(this.modeNames.indexOf(deps.schedule.initialMode));
    this.state.frame.set(0);
    this.anchorUs = startUs;
    this.ch = deps.tlm.defineAll(EXEC_CHANNELS);
    this.ch.mode.set(this.modeNames.indexOf(deps.schedule.initialMode));
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
    this.loadUs = new Float64Array(n);
    this.loadRuns = new Uint32Array(n);
    this.frame = { frame: 0, minor: 0, mode: deps.schedule.initialMode, deadlineUs: startUs };
  }

  /** The current mode's table, as the state holds it (voted, when protected). */
  private get mode(): ModeTable {
    return this.modeTables[this.state.mode.get()]!;
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
    this.state.frame.set(0);
  }

  /** Start time of the next frame to run. */
  nextDeadlineUs(): number {
    // The mode first: a mode without majority restarts the frame counter (flight/ecc).
    const period = this.mode.minorFrameUs;
    return this.anchorUs + this.state.frame.get() * period;
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

  /** Adds `us` of busy work to each of the next `runs` runs of `task`, timed as its own (EXEC_LOAD). */
  addLoad(task: string, us: number, runs: number): { task: string; us: number; runs: number } {
    const index = this.schedule.tasks.findIndex((t) => t.name === task);
    if (index < 0) throw new UnknownTaskError(task, this.schedule.tasks.map((t) => t.name));
    this.loadUs[index] = us;
    this.loadRuns[index] = runs;
    this.events.emit(EXEC_EVENTS.loadAdded, { task, us, runs });
    return { task, us, runs };
  }

  /** Runs every frame that is due, up to 1 + catchUpFrames of them, jumping past a long lag. */
  tick(): void {
    let now = this.clock.nowUs();
    const period = this.mode.minorFrameUs;
    const behind = Math.floor((now - this.nextDeadlineUs()) / period);
    if (behind > this.schedule.lagLimitFrames) {
      this.state.frame.set(this.state.frame.get() + behind);
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
    this.state.mode.set(this.modeNames.indexOf(next.name));
    this.anchorUs = due;
    this.state.frame.set(0);
    this.frame.mode = next.name;
    this.ch.mode.set(this.modeNames.indexOf(next.name));
    this.ch.modeChanges.add(1);
    this.events.emit(EXEC_EVENTS.modeChanged, { from, to: next.name, reason: this.pendingReason });
  }

  private runFrame(due: number, startUs: number): void {
    if (this.pendingMode) this.applyPendingMode(due);
    const modeIndex = this.state.mode.get();
    const mode = this.modeTables[modeIndex]!;
    const period = mode.minorFrameUs;
    const late = startUs - due;
    this.recordLateness(late);
    if (late >= period) {
      this.ch.slips.add(1);
      this.events.emit(EXEC_EVENTS.frameSlip, { frame: this.ch.frames.value, late: Math.round(late), period });
    }

    const k = this.state.frame.get();
    const minors = mode.slots.length;
    const minor = k % minors;
    const frame = this.frame;
    frame.frame = this.ch.frames.value;
    frame.minor = minor;
    frame.mode = mode.name;
    frame.deadlineUs = due;
    const slot = this.slot;
    const n = this.state.readSlot(modeIndex, minor, slot);
    for (let i = 0; i < n; i++) this.runTask(slot[i]!);

    const ran = this.clock.nowUs() - startUs;
    if (ran > period) {
      this.ch.frameOverruns.add(1);
      this.events.emit(EXEC_EVENTS.frameOverrun, { frame: frame.frame, us: Math.round(ran), period });
    }
    this.state.frame.set(k + 1);
    this.ch.frames.add(1);
    if (minor === minors - 1) this.endMajorFrame();
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
    if (this.loadRuns[index]! > 0) {
      this.loadRuns[index]!--;
      spend(this.clock, this.loadUs[index]!);
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
