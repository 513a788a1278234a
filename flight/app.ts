// Composition root of one Tern node: builds the subsystems from the mission config, hands their
// tasks to the executive, and owns start-up and orderly shutdown.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MissionConfig } from './config/mission.js';
import { writeFileDurable } from './durable.js';
import { monotonicClock, type Clock } from './exec/clock.js';
import { Executive } from './exec/executive.js';
import { FrameTimer } from './exec/frame-timer.js';
import { parseSchedule } from './exec/schedule.js';
import type { Task } from './exec/task.js';
import { Watchdog, type NotifyEnv } from './exec/watchdog.js';
import { createRootLogger, subsystemLogger, type Logger } from './log.js';
import { TelemetryRegistry } from './tlm/channels.js';
import { EventLog } from './tlm/events.js';
import { HousekeepingTask } from './tlm/housekeeping.js';

export interface FlightNodeOptions {
  config: MissionConfig;
  /** Root logger; one is made from the config when absent. */
  log?: Logger;
  clock?: Clock;
  /** NOTIFY_SOCKET and WATCHDOG_USEC; the process environment when absent. */
  notifyEnv?: NotifyEnv;
}

export class FlightNode {
  readonly config: MissionConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly tlm = new TelemetryRegistry();
  readonly events: EventLog;
  readonly housekeeping: HousekeepingTask;
  readonly exec: Executive;
  private readonly timer: FrameTimer;
  private readonly watchdog: Watchdog;
  private started = false;

  constructor(options: FlightNodeOptions) {
    const { config } = options;
    this.config = config;
    this.clock = options.clock ?? monotonicClock;
    this.log = options.log ?? createRootLogger({ level: config.log.level, base: { node: config.node.id } });
    this.events = new EventLog(subsystemLogger(this.log, 'events'), () => this.clock.nowUs());
    this.housekeeping = new HousekeepingTask(this.tlm, this.events, {
      node: config.node.id,
      summaryEvery: config.tlm.summaryEveryMajorFrames,
      log: subsystemLogger(this.log, 'tlm'),
    });

    const tasks: Task[] = [this.housekeeping];
    const schedule = parseSchedule(config.fields, config.exec, 'exec', tasks);
    this.exec = new Executive({ schedule, clock: this.clock, tlm: this.tlm, events: this.events });
    this.timer = new FrameTimer(this.exec, this.clock);
    this.watchdog = new Watchdog(options.notifyEnv ?? (process.env as NotifyEnv), subsystemLogger(this.log, 'watchdog'));
    this.exec.onMajorFrame(() => {
      this.watchdog.kick(this.clock.nowUs());
      // BOOT lasts one major frame: long enough for every subsystem's first slot to run.
      if (this.exec.modeName === 'BOOT') this.exec.requestMode('NOMINAL', 'boot complete');
    });
  }

  start(): void {
    mkdirSync(this.config.dataDir, { recursive: true });
    this.started = true;
    this.timer.start();
    this.watchdog.ready();
    this.log.info(
      { name: this.config.node.name, config: this.config.file, dataDir: this.config.dataDir, mode: this.exec.modeName },
      'node started',
    );
  }

  /** Stops the frames and flushes state; safe to call more than once. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.timer.stop();
    this.watchdog.stopping();
    const latest = this.housekeeping.latest;
    if (latest) writeFileDurable(join(this.config.dataDir, 'housekeeping.json'), `${JSON.stringify(latest)}\n`);
    this.log.info({ frames: this.tlm.get('exec.frames')?.value }, 'node stopped');
  }
}
