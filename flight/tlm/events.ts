// Event log: severity, per-event throttling, fan-out to the subsystem's logger and to listeners
// (housekeeping downlink, tests). An event is an error the first time and quiet on repeats, so
// one fault cannot flood the downlink (cFS EVS filters, F Prime throttles).
import type { Logger } from '../log.js';

export type Severity = 'diagnostic' | 'activity' | 'warning' | 'error' | 'fatal';

export interface EventDef {
  /** Unique id; each subsystem owns a range (see flight/tlm/dictionary.ts). */
  readonly id: number;
  readonly name: string;
  readonly severity: Severity;
  /** Message with `{arg}` placeholders. */
  readonly format: string;
  /** Emissions allowed before the event is throttled; 0 means never throttled. */
  readonly throttle?: number;
}

export type EventArgs = Record<string, string | number | boolean>;

export interface EventRecord {
  readonly id: number;
  readonly name: string;
  readonly severity: Severity;
  readonly message: string;
  readonly args: EventArgs;
  /** Mission time in microseconds when emitted. */
  readonly timeUs: number;
}

const DEFAULT_THROTTLE = 5;

const LOG_LEVEL: Record<Severity, 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  diagnostic: 'debug',
  activity: 'info',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
};

export function formatEvent(format: string, args: EventArgs): string {
  return format.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in args ? String(args[key]) : whole,
  );
}

interface ThrottleState {
  emitted: number;
  suppressed: number;
}

export class EventLog {
  private readonly throttles = new Map<number, ThrottleState>();
  private readonly listeners: Array<(event: EventRecord) => void> = [];

  constructor(
    private readonly log: Logger,
    private readonly nowUs: () => number,
  ) {}

  onEvent(listener: (event: EventRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Emits `def` unless it is throttled; returns whether it went out. */
  emit(def: EventDef, args: EventArgs = {}): boolean {
    let state = this.throttles.get(def.id);
    if (!state) {
      state = { emitted: 0, suppressed: 0 };
      this.throttles.set(def.id, state);
    }
    const limit = def.throttle ?? DEFAULT_THROTTLE;
    if (limit > 0 && state.emitted >= limit) {
      state.suppressed++;
      return false;
    }
    state.emitted++;
    const record: EventRecord = {
      id: def.id,
      name: def.name,
      severity: def.severity,
      message: formatEvent(def.format, args),
      args,
      timeUs: this.nowUs(),
    };
    this.log[LOG_LEVEL[def.severity]](
      { event: def.name, eventId: def.id, ...args, throttled: limit > 0 && state.emitted === limit },
      record.message,
    );
    for (const listener of this.listeners) listener(record);
    return true;
  }

  /** How many emissions of `def` were suppressed since its throttle last reset. */
  suppressed(def: EventDef): number {
    return this.throttles.get(def.id)?.suppressed ?? 0;
  }

  /** Re-arms every throttle (the operator's "clear event throttles" command). */
  resetThrottles(): void {
    this.throttles.clear();
  }
}
