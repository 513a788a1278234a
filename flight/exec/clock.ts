// Clocks for the executive, in microseconds. The monotonic clock drives flight; the virtual
// clock drives the same executive in tests and in lockstep HIL runs.
import { performance } from 'node:perf_hooks';

export interface Clock {
  nowUs(): number;
}

export const monotonicClock: Clock = {
  nowUs: () => performance.now() * 1000,
};

/** Time moves only when told to: by the virtual driver, or by a task simulating its work. */
export class VirtualClock implements Clock {
  constructor(private timeUs = 0) {}

  nowUs(): number {
    return this.timeUs;
  }

  advance(us: number): void {
    this.timeUs += us;
  }

  /** Moves time forward to `us`; never backwards. */
  advanceTo(us: number): void {
    if (us > this.timeUs) this.timeUs = us;
  }
}

/**
 * Spends `us` of a task's time on purpose (EXEC_LOAD, a HIL bench's overrun): busy on a real
 * clock, an advance of the virtual one, so an added load overruns the same way on both.
 */
export function spend(clock: Clock, us: number): void {
  if (clock instanceof VirtualClock) {
    clock.advance(us);
    return;
  }
  const end = clock.nowUs() + us;
  while (clock.nowUs() < end);
}
