// Health of the work a node depends on, after F Prime's Svc/Health: each component registers a
// ping, a round trip through the work itself (the store's flush path, the handshake worker),
// with a deadline. On every major frame the monitor pings each component whose last ping was
// answered and is due again, and reports the node healthy only while no ping is overdue and
// none failed; the watchdog is kicked only then, so "frames run" is not mistaken for "the node
// is alive".
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { Clock } from './clock.js';
import { EXEC_EVENTS, HEALTH_CHANNELS } from './dictionary.js';

export interface HealthComponent {
  readonly name: string;
  /** A round trip through the component's own work; resolves when it answered. */
  ping(): Promise<unknown>;
  /** How long an answer may take before the component counts as not answering. */
  readonly deadlineUs: number;
  /** How often it is pinged (a ping is sent only once the last one was answered). */
  readonly everyUs: number;
}

interface Pinged {
  readonly component: HealthComponent;
  /** Send time of the ping awaiting its answer; undefined when none is. */
  outstandingSinceUs: number | undefined;
  lastSentUs: number;
  /** When the last answer came (undefined before the first). */
  answeredUs: number | undefined;
  /** The last answer was an error: unhealthy until a ping answers. */
  failed: boolean;
  /** Reported late (an event once per episode). */
  late: boolean;
}

export class HealthMonitor {
  private readonly pinged: Pinged[] = [];
  private readonly ch: { [K in keyof typeof HEALTH_CHANNELS]: Channel };

  constructor(
    private readonly clock: Clock,
    tlm: TelemetryRegistry,
    private readonly events: EventLog,
  ) {
    this.ch = tlm.defineAll(HEALTH_CHANNELS);
  }

  register(component: HealthComponent): void {
    this.pinged.push({ component, outstandingSinceUs: undefined, lastSentUs: -Infinity, answeredUs: undefined, failed: false, late: false });
  }

  /** When `name` last answered its ping, on the monitor's clock; undefined if it never did. */
  answeredUs(name: string): number | undefined {
    return this.pinged.find((p) => p.component.name === name)?.answeredUs;
  }

  /** Pings sent and not answered yet (lockstep waits for none before running frames). */
  get outstanding(): number {
    return this.pinged.filter((p) => p.outstandingSinceUs !== undefined).length;
  }

  get components(): string[] {
    return this.pinged.map((p) => p.component.name);
  }

  /**
   * Pings every component once and resolves when all have answered: start-up waits for it, so
   * that the first frame runs with every component up (a worker loaded, the store's flush path
   * open). Rejects with the first component's error.
   */
  async ready(): Promise<void> {
    await Promise.all(this.pinged.map((p) => this.send(p, this.clock.nowUs())));
  }

  /** Sends the pings that are due; true while every component answers within its deadline. */
  check(): boolean {
    const now = this.clock.nowUs();
    let unhealthy = 0;
    for (const p of this.pinged) {
      const { component } = p;
      if (p.outstandingSinceUs === undefined) {
        if (now - p.lastSentUs >= component.everyUs) void this.send(p, now).catch(() => {});
      } else if (now - p.outstandingSinceUs > component.deadlineUs) {
        if (!p.late) {
          p.late = true;
          this.ch.late.add(1);
          this.events.emit(EXEC_EVENTS.healthLate, { component: component.name, deadlineMs: component.deadlineUs / 1000 });
        }
        unhealthy++;
        continue;
      }
      if (p.failed) unhealthy++;
    }
    this.ch.unhealthy.set(unhealthy);
    return unhealthy === 0;
  }

  private send(p: Pinged, now: number): Promise<unknown> {
    p.outstandingSinceUs = now;
    p.lastSentUs = now;
    this.ch.pings.add(1);
    return p.component.ping().then(
      (answer) => {
        p.outstandingSinceUs = undefined;
        p.answeredUs = this.clock.nowUs();
        p.failed = false;
        if (p.late) {
          p.late = false;
          this.events.emit(EXEC_EVENTS.healthAnswered, { component: p.component.name });
        }
        return answer;
      },
      (error: Error) => {
        p.outstandingSinceUs = undefined;
        if (!p.failed) this.events.emit(EXEC_EVENTS.healthFailed, { component: p.component.name, error: error.message });
        p.failed = true;
        throw error;
      },
    );
  }
}
