// Housekeeping: once per major frame (it is scheduled in one slot of each mode's table), check
// every channel against its limits, raise an event on each transition, and publish a record of
// all channels. Every Nth record is also logged as a one-line health summary, and handed to the
// summary listeners (the node writes it to housekeeping.json, for `tern status`).
import type { Task, FrameInfo } from '../exec/task.js';
import type { Logger } from '../log.js';
import type { LimitState, TelemetryRegistry } from './channels.js';
import { TLM_EVENTS } from './dictionary.js';
import type { EventLog } from './events.js';

export interface HousekeepingRecord {
  readonly node: number;
  readonly seq: number;
  readonly frame: number;
  readonly mode: string;
  readonly channels: Record<string, number>;
}

export interface HousekeepingOptions {
  node: number;
  summaryEvery: number;
  log: Logger;
}

export const HOUSEKEEPING_BUDGET_US = 2000;

/** Counters of bundles a node would not take, summed as `refused` in the health line. */
const REFUSALS = ['dtn.agent.refusedFull', 'dtn.agent.queueFull', 'dtn.agent.refusedNoRoute', 'dtn.bundlesRejected'];

export class HousekeepingTask implements Task {
  readonly name = 'tlm.housekeeping';
  readonly criticality = 'normal';
  readonly budgetUs = HOUSEKEEPING_BUDGET_US;
  private readonly limitStates: LimitState[] = [];
  private readonly listeners: Array<(record: HousekeepingRecord) => void> = [];
  private readonly summaryListeners: Array<(record: HousekeepingRecord) => void> = [];
  private seq = 0;

  constructor(
    private readonly tlm: TelemetryRegistry,
    private readonly events: EventLog,
    private readonly options: HousekeepingOptions,
  ) {}

  onRecord(listener: (record: HousekeepingRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Called with every Nth record, the one the health line summarises. */
  onSummary(listener: (record: HousekeepingRecord) => void): void {
    this.summaryListeners.push(listener);
  }

  run(frame: FrameInfo): void {
    this.checkLimits();
    const record = this.record(frame.frame, frame.mode);
    this.seq++;
    for (const listener of this.listeners) listener(record);
    if (record.seq % this.options.summaryEvery === 0) {
      this.logSummary(record);
      for (const listener of this.summaryListeners) listener(record);
    }
  }

  /** A record of every channel as it stands now (the last one is flushed at shutdown). */
  record(frame: number, mode: string): HousekeepingRecord {
    return { node: this.options.node, seq: this.seq, frame, mode, channels: this.tlm.snapshot() };
  }

  private checkLimits(): void {
    const channels = this.tlm.all();
    for (let i = 0; i < channels.length; i++) {
      const channel = channels[i]!;
      const { def } = channel;
      if (!def.red && !def.yellow) continue;
      const state = channel.limitState();
      const before = this.limitStates[i] ?? 'nominal';
      if (state === before) continue;
      this.limitStates[i] = state;
      const event = state === 'red' ? TLM_EVENTS.limitRed : state === 'yellow' ? TLM_EVENTS.limitYellow : TLM_EVENTS.limitNominal;
      this.events.emit(event, { channel: def.name, value: channel.value, units: def.units });
    }
  }

  private logSummary(record: HousekeepingRecord): void {
    const c = record.channels;
    this.options.log.info(
      {
        mode: record.mode,
        frames: c['exec.frames'],
        slips: c['exec.slips'],
        taskOverruns: c['exec.taskOverruns'],
        latenessP99Us: c['exec.latenessP99Us'],
        latenessMaxUs: c['exec.latenessMaxUs'] === undefined ? undefined : Math.round(c['exec.latenessMaxUs']),
        // The few DTN counters that say whether bundles flow: held now, taken in (durable),
        // handed on (acknowledged by the next hop), refused or rejected at the door.
        stored: c['dtn.store.bundles'],
        inFlight: c['dtn.agent.inFlight'],
        in: c['dtn.agent.accepted'],
        out: c['dtn.agent.forwarded'],
        delivered: c['dtn.agent.delivered'],
        refused: REFUSALS.reduce((sum, name) => sum + (c[name] ?? 0), 0),
        commands: c['cmd.executed'],
        // Where bundles wait (the mission view's contacts): plan contacts open now, bundles in
        // their queues, and every stored bundle waiting for a contact, a route or a service.
        contactsOpen: c['route.contactsOpen'],
        awaitingContact: c['dtn.agent.awaitingContact'],
        pending: c['dtn.agent.pending'],
      },
      'health',
    );
  }
}
