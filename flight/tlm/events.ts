// Event log: severity, per-event throttling, fan-out to the subsystem's logger and to listeners
// (housekeeping downlink, tests). An event is an error the first time and quiet on repeats, so
// one fault cannot flood the downlink (cFS EVS filters, F Prime throttles). A throttle re-arms
// as its condition clears, as F Prime's do: when the event has not been raised for a quiet
// period (the fault stopped), when its emitter says the condition cleared (rearm), or by the
// operator's CLEAR_EVENT_THROTTLES command (resetThrottles). The first emission after a re-arm
// carries how many were suppressed, so the ground learns what it missed.
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
/** A throttled event not raised for this long has cleared: its throttle re-arms. */
export const DEFAULT_REARM_QUIET_US = 10_000_000;

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
  /** Emissions allowed before the throttle holds the event back; 0: never. */
  readonly limit: number;
  emitted: number;
  suppressed: number;
  /** When the event was last raised, emitted or not (mission time, us). */
  lastUs: number;
}

export class EventLog {
  private readonly throttles = new Map<number, ThrottleState>();
  private readonly listeners: Array<(event: EventRecord) => void> = [];

  constructor(
    private readonly log: Logger,
    private readonly nowUs: () => number,
    private readonly rearmQuietUs = DEFAULT_REARM_QUIET_US,
  ) {}

  onEvent(listener: (event: EventRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Emits `def` unless it is throttled; returns whether it went out. */
  emit(def: EventDef, args: EventArgs = {}): boolean {
    const now = this.nowUs();
    let state = this.throttles.get(def.id);
    if (!state) {
      state = { limit: def.throttle ?? DEFAULT_THROTTLE, emitted: 0, suppressed: 0, lastUs: now };
      this.throttles.set(def.id, state);
    }
    const { limit } = state;
    const quiet = now - state.lastUs >= this.rearmQuietUs;
    state.lastUs = now;
    if (limit > 0 && state.emitted >= limit && !quiet) {
      state.suppressed++;
      return false;
    }
    // Emitted: a quiet period re-arms the throttle, and this emission reports what it held back.
    const suppressed = quiet ? state.suppressed : 0;
    if (quiet) {
      state.emitted = 0;
      state.suppressed = 0;
    }
    state.emitted++;
    const record: EventRecord = {
      id: def.id,
      name: def.name,
      severity: def.severity,
      message: formatEvent(def.format, args),
      args,
      timeUs: now,
    };
    this.log[LOG_LEVEL[def.severity]](
      { event: def.name, eventId: def.id, ...args, throttled: limit > 0 && state.emitted === limit, ...(suppressed > 0 ? { suppressed } : {}) },
      record.message,
    );
    for (const listener of this.listeners) listener(record);
    return true;
  }

  /** How many emissions of `def` were suppressed since its throttle last reset. */
  suppressed(def: EventDef): number {
    return this.throttles.get(def.id)?.suppressed ?? 0;
  }

  /** Re-arms the throttle of `def`: its emitter saw the condition clear (a send succeeded). */
  rearm(def: EventDef): void {
    this.throttles.delete(def.id);
  }

  /** Re-arms every throttle (CLEAR_EVENT_THROTTLES); returns how many were holding events back. */
  resetThrottles(): number {
    let throttled = 0;
    for (const state of this.throttles.values()) if (state.limit > 0 && state.emitted >= state.limit) throttled++;
    this.throttles.clear();
    return throttled;
  }
}
