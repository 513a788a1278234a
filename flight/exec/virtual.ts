// Deterministic driver: the executive on a VirtualClock, frames run back to back with time
// jumping to each deadline. Tests drive hours of frames in milliseconds; lockstep HIL uses it too.
import type { VirtualClock } from './clock.js';
import type { Executive } from './executive.js';

/** Runs frames until the next deadline lies beyond `untilUs`; returns the frames run. */
export function runVirtual(exec: Executive, clock: VirtualClock, untilUs: number): number {
  let ticks = 0;
  for (let due = exec.nextDeadlineUs(); due <= untilUs; due = exec.nextDeadlineUs()) {
    clock.advanceTo(due);
    exec.tick();
    ticks++;
  }
  return ticks;
}
