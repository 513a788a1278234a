// Builds an executive on a virtual clock from a schedule written the way a mission config
// writes it, with tasks whose run time the test controls.
import { Fields } from '../../flight/config/fields.js';
import { VirtualClock } from '../../flight/exec/clock.js';
import { Executive } from '../../flight/exec/executive.js';
import { parseSchedule } from '../../flight/exec/schedule.js';
import type { Criticality, FrameInfo, Task } from '../../flight/exec/task.js';
import { createRootLogger } from '../../flight/log.js';
import { TelemetryRegistry } from '../../flight/tlm/channels.js';
import { EventLog, type EventRecord } from '../../flight/tlm/events.js';

export class FakeTask implements Task {
  /** Virtual microseconds each run takes; change it to inject overruns. */
  runUs: number;
  runs: FrameInfo[] = [];
  constructor(
    readonly name: string,
    readonly criticality: Criticality,
    readonly budgetUs: number,
    private readonly clock: VirtualClock,
    runUs = 0,
    private readonly keepFrames = false,
  ) {
    this.runUs = runUs;
  }
  count = 0;
  run(frame: FrameInfo): void {
    this.count++;
    if (this.keepFrames) this.runs.push({ ...frame });
    this.clock.advance(this.runUs);
  }
}

export interface Harness {
  clock: VirtualClock;
  exec: Executive;
  tlm: TelemetryRegistry;
  events: EventRecord[];
  value(channel: string): number;
}

export function harness(execConfig: unknown, tasks: (clock: VirtualClock) => Task[]): Harness {
  const clock = new VirtualClock();
  const tlm = new TelemetryRegistry();
  const log = new EventLog(createRootLogger({ level: 'silent' }), () => clock.nowUs());
  const events: EventRecord[] = [];
  log.onEvent((e) => events.push(e));
  const schedule = parseSchedule(new Fields('test.json'), execConfig, 'exec', tasks(clock));
  const exec = new Executive({ schedule, clock, tlm, events: log }, 0);
  return { clock, exec, tlm, events, value: (name) => tlm.get(name)!.value };
}

/** Three modes with the same table: N minor frames of `ms`, `slots` as given. */
export function modes(ms: number, slots: string[][]): Record<string, unknown> {
  const table = { minorFrameMs: ms, slots };
  return { BOOT: table, NOMINAL: table, SAFE: table };
}
