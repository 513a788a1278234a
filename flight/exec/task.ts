// The only thing the executive knows about the work it schedules. Subsystems implement Task;
// they never import executive internals.

export type Criticality = 'critical' | 'normal' | 'low';

/** Passed to every task run; one object reused for every frame (no per-frame allocation). */
export interface FrameInfo {
  /** Frames run since start (monotonic across modes). */
  frame: number;
  /** Index of this minor frame within the major frame. */
  minor: number;
  mode: string;
  /** Scheduled start of this frame, microseconds on the executive clock. */
  deadlineUs: number;
}

export interface Task {
  /** Dotted name, subsystem first, as the schedule tables list it: `dtn.ingest`. */
  readonly name: string;
  readonly criticality: Criticality;
  /** Time this task may use per slot, microseconds. */
  readonly budgetUs: number;
  /** Bounded synchronous work for one slot; the task keeps its own cursor between slots. */
  run(frame: FrameInfo): void;
}
