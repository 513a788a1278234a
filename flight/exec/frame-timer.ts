// Real-time driver of the executive. Node's timers are only good to a millisecond or so, so a
// frame start is reached in three steps: a coarse setTimeout to within coarseMarginUs of the
// deadline (the event loop stays free for I/O until then), Atomics.wait (sleeps without CPU) to
// within spinUs, then a short spin to the deadline itself. Only the spin costs CPU; it is
// measured and published as exec.waitSpinUs.
import { monotonicClock, type Clock } from './clock.js';
import type { Executive } from './executive.js';

export interface FrameTimerOptions {
  coarseMarginUs?: number;
  spinUs?: number;
}

export class FrameTimer {
  private readonly coarseMarginUs: number;
  private readonly spinUs: number;
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
    for (let rest = due - this.clock.nowUs(); rest > this.spinUs; rest = due - this.clock.nowUs()) {
      Atomics.wait(this.sleeper, 0, 0, (rest - this.spinUs) / 1000);
    }
    const spinStart = this.clock.nowUs();
    let now = spinStart;
    while (now < due) now = this.clock.nowUs();
    this.exec.addWaitSpin(now - spinStart);
    this.exec.tick();
    this.arm();
  };
}
