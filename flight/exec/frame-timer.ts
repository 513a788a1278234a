// Real-time driver of the executive. Node's timers are only good to a millisecond or so, so a
// frame start is reached in three steps: a coarse setTimeout to within coarseMarginUs of the
// deadline (the event loop stays free for I/O until then), Atomics.wait (sleeps without CPU) to
// within spinUs, then a short spin to the deadline itself. The Atomics.wait is cut into slices
// of at most sliceUs with a turn of the event loop between them (setImmediate: its poll phase
// takes what I/O has completed, without blocking), so the fine wait holds up I/O completions and
// socket reads by one slice at most, not by the whole margin: a node taking bundles as fast as
// its disk syncs them would otherwise lose up to 2 ms of every 10 ms frame. The cost is frame
// lateness when an I/O callback is still running as a slice ends near the deadline (it cannot
// be preempted), and a loop turn per slice. A slice is slept only after a loop turn that found
// nothing to do: a turn that ran callbacks (socket reads, a disk write's completion) is likely
// followed by more, as when a node ingests bundles at disk speed, and then the loop turns again
// at once, so that work does not wait for the slice either (what that is worth to ingest: the
// DESIGN). An idle node's turns are empty and it sleeps as before. Only the spin
// costs CPU beyond the callbacks' own; it is measured and published as exec.waitSpinUs.
import { monotonicClock, type Clock } from './clock.js';
import type { Executive } from './executive.js';

export interface FrameTimerOptions {
  coarseMarginUs?: number;
  spinUs?: number;
  /** Longest Atomics.wait before the event loop turns again (default 100 us). */
  sliceUs?: number;
  /** A loop turn longer than this ran callbacks: the next follows without a sleep (default 60 us). */
  busyTurnUs?: number;
}

export class FrameTimer {
  private readonly coarseMarginUs: number;
  private readonly spinUs: number;
  private readonly sliceUs: number;
  private readonly busyTurnUs: number;
  /** When the fine wait last handed the loop a turn (setImmediate). */
  private turnStartUs = 0;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running = false;

  constructor(
    private readonly exec: Executive,
    private readonly clock: Clock = monotonicClock,
    options: FrameTimerOptions = {},
  ) {
    this.coarseMarginUs = options.coarseMarginUs ?? 2000;
    this.spinUs = options.spinUs ?? 200;
    this.sliceUs = options.sliceUs ?? 100;
    // An empty turn (check phase, a poll that finds nothing) takes a few to tens of microseconds.
    this.busyTurnUs = options.busyTurnUs ?? 60;
  }

  start(): void {
    this.running = true;
    // The first frame starts one coarse margin from now, so that it, too, is reached on time.
    this.exec.begin(this.clock.nowUs() + this.coarseMarginUs);
    this.arm();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timeout);
    clearImmediate(this.immediate);
  }

  private arm(): void {
    if (!this.running) return;
    const coarseUs = this.exec.nextDeadlineUs() - this.clock.nowUs() - this.coarseMarginUs;
    if (coarseUs > 1000) this.timeout = setTimeout(this.fire, coarseUs / 1000);
    else this.immediate = setImmediate(this.fire);
  }

  private readonly fire = (): void => {
    if (!this.running) return;
    const due = this.exec.nextDeadlineUs();
    const entered = this.clock.nowUs();
    const rest = due - entered;
    if (rest > this.spinUs) {
      if (entered - this.turnStartUs <= this.busyTurnUs) Atomics.wait(this.sleeper, 0, 0, Math.min(this.sliceUs, rest - this.spinUs) / 1000);
      this.turnStartUs = this.clock.nowUs();
      this.immediate = setImmediate(this.fire);
      return;
    }
    const spinStart = this.clock.nowUs();
    let now = spinStart;
    while (now < due) now = this.clock.nowUs();
    this.exec.addWaitSpin(now - spinStart);
    this.exec.tick();
    this.arm();
  };
}
