// Everything the executive tells the ground: its telemetry channels and events.
import type { ChannelDef } from '../tlm/channels.js';
import type { EventDef } from '../tlm/events.js';

export const EXEC_CHANNELS = {
  mode: { name: 'exec.mode', type: 'enum', units: '', doc: 'Current mode, index into the mode list' },
  frames: { name: 'exec.frames', type: 'u64', units: 'frames', doc: 'Minor frames run since start' },
  slips: {
    name: 'exec.slips', type: 'u64', units: 'frames', yellow: { high: 0 },
    doc: 'Minor frames not started within their own period (late or skipped)',
  },
  jumps: { name: 'exec.jumps', type: 'u32', units: 'events', red: { high: 0 }, doc: 'Lags beyond the limit resolved by jumping to the current frame' },
  frameOverruns: { name: 'exec.frameOverruns', type: 'u64', units: 'frames', yellow: { high: 0 }, doc: 'Minor frames whose tasks ran past the frame period' },
  taskOverruns: { name: 'exec.taskOverruns', type: 'u64', units: 'runs', yellow: { high: 0 }, doc: 'Task runs longer than their budget' },
  taskFailures: { name: 'exec.taskFailures', type: 'u64', units: 'runs', red: { high: 0 }, doc: 'Task runs that threw' },
  tasksSkipped: { name: 'exec.tasksSkipped', type: 'u64', units: 'runs', doc: 'Runs skipped by the skip-next overrun policy' },
  tasksShed: { name: 'exec.tasksShed', type: 'u64', units: 'runs', doc: 'Low-criticality runs shed after an overrun' },
  modeChanges: { name: 'exec.modeChanges', type: 'u32', units: 'events', doc: 'Mode transitions since start' },
  latenessLastUs: { name: 'exec.latenessLastUs', type: 'f64', units: 'us', doc: 'Start lateness of the last frame' },
  latenessMaxUs: { name: 'exec.latenessMaxUs', type: 'f64', units: 'us', yellow: { high: 2000 }, doc: 'Worst frame start lateness since start' },
  latenessP99Us: { name: 'exec.latenessP99Us', type: 'f64', units: 'us', yellow: { high: 1000 }, doc: '99th percentile start lateness (histogram bucket bound)' },
  waitSpinUs: { name: 'exec.waitSpinUs', type: 'f64', units: 'us', doc: 'CPU time spent spinning before frame starts, total' },
} as const satisfies Record<string, ChannelDef>;

export const EXEC_EVENTS = {
  modeChanged: { id: 0x0101, name: 'EXEC_MODE_CHANGED', severity: 'activity', format: 'Mode {from} -> {to}: {reason}', throttle: 0 },
  taskOverrun: { id: 0x0102, name: 'EXEC_TASK_OVERRUN', severity: 'warning', format: 'Task {task} ran {us} us over a {budget} us budget (policy {policy})' },
  frameSlip: { id: 0x0103, name: 'EXEC_FRAME_SLIP', severity: 'warning', format: 'Frame {frame} started {late} us late (period {period} us)' },
  frameJump: { id: 0x0104, name: 'EXEC_FRAME_JUMP', severity: 'error', format: 'Lagged {frames} frames, beyond the limit of {limit}: jumped to the current frame' },
  safeEntry: { id: 0x0105, name: 'EXEC_SAFE_ENTRY', severity: 'error', format: 'Critical task {task} overran {count} times in a row: entering SAFE', throttle: 0 },
  shed: { id: 0x0106, name: 'EXEC_SHED', severity: 'warning', format: 'Shedding low-criticality tasks for {majorFrames} major frame(s) after {task} overran' },
  taskFailed: { id: 0x0107, name: 'EXEC_TASK_FAILED', severity: 'error', format: 'Task {task} threw: {error}' },
  frameOverrun: { id: 0x0108, name: 'EXEC_FRAME_OVERRUN', severity: 'warning', format: 'Frame {frame} ran {us} us, past its {period} us period' },
  healthLate: { id: 0x0109, name: 'EXEC_HEALTH_LATE', severity: 'error', format: '{component} has not answered its health ping within {deadlineMs} ms: watchdog kicks stop' },
  healthFailed: { id: 0x010a, name: 'EXEC_HEALTH_FAILED', severity: 'error', format: '{component} answered its health ping with an error: {error}' },
  healthAnswered: { id: 0x010b, name: 'EXEC_HEALTH_ANSWERED', severity: 'activity', format: '{component} answers its health ping again' },
  loadAdded: { id: 0x010c, name: 'EXEC_LOAD_ADDED', severity: 'warning', format: 'Task {task} given {us} us of added work for its next {runs} run(s) (EXEC_LOAD)', throttle: 0 },
} as const satisfies Record<string, EventDef>;

/**
 * The executive's own command (SET_MODE is a commanding built-in). EXEC_LOAD exists for HIL
 * benches: it is the only way to make a task overrun on purpose, so the overrun policy (and SAFE
 * entry for a critical task) can be exercised on a running node. Critical: k of n operators.
 */
export const EXEC_COMMANDS = {
  load: {
    name: 'EXEC_LOAD', opcode: 0x0102, owner: 'exec', criticality: 'critical',
    doc: 'Adds busy work to each of the next runs of a task (HIL benches: an overrun on purpose; the overrun policy then acts as on a real one)',
    args: [
      { name: 'task', type: 'string', maxLength: 64, doc: 'The task, as named in exec.task.<name>.* telemetry' },
      { name: 'us', type: 'int', min: 1, max: 100_000, units: 'us', doc: 'Work added to each run' },
      { name: 'runs', type: 'int', min: 1, max: 1000, units: 'runs', doc: 'Runs it is added to' },
    ],
  },
} as const;

/** A node in lockstep (lockstep.ts): its step requests, by what became of them. */
export const LOCKSTEP_CHANNELS = {
  steps: { name: 'exec.lockstep.steps', type: 'u64', units: 'requests', doc: 'Step requests from the HIL bench whose frames ran' },
  repeats: { name: 'exec.lockstep.repeats', type: 'u64', units: 'requests', doc: 'Step requests repeating the last one run (its report was lost): answered again, nothing run' },
  duplicates: { name: 'exec.lockstep.duplicates', type: 'u64', units: 'requests', doc: 'Step requests repeating one still waiting or running: dropped, its report is on its way' },
} as const satisfies Record<string, ChannelDef>;

/** The health monitor's channels (health.ts). */
export const HEALTH_CHANNELS = {
  pings: { name: 'exec.health.pings', type: 'u64', units: 'pings', doc: 'Health pings sent to the components the node depends on' },
  late: { name: 'exec.health.late', type: 'u32', units: 'events', doc: 'Times a component did not answer its ping within the deadline' },
  unhealthy: {
    name: 'exec.health.unhealthy', type: 'u32', units: 'components', red: { high: 0 },
    doc: 'Components now late or failing their ping; while above 0 the watchdog is not kicked',
  },
} as const satisfies Record<string, ChannelDef>;
