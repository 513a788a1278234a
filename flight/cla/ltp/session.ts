// What both kinds of LTP session share: the engine's settings and services, and the timer that
// sends a segment again until it is answered (RFC 5326 6.2-6.3). A timer starts when the segment
// has left the link, not when it was queued, so a slow serial line does not fire it early.
import type { LtpChannels } from '../dictionary.js';
import type { Segment } from './wire.js';
import type { LtpTimers } from './timers.js';

export interface LtpSettings {
  /** Largest segment, header included, in bytes (ION's span "max segment size"). */
  readonly segmentBytes: number;
  /** One-way light time to the neighbours plus the link's queueing, in ms. */
  readonly oneWayLightTimeMs: number;
  /** Processing margin added to the round trip before a timer fires, in ms. */
  readonly marginMs: number;
  /** Times a checkpoint, report or cancel is sent again before the session is given up. */
  readonly maxRetries: number;
  /** Blocks in flight to one engine; further sends wait their turn. */
  readonly maxExportSessions: number;
  /** Import sessions open at once, all engines; a new session beyond is cancelled. */
  readonly maxImportSessions: number;
  /** Largest block (bundle) sent or accepted. */
  readonly maxBlockBytes: number;
  /** An import session without a segment for this long is dropped (a silent peer costs no memory). */
  readonly sessionTimeoutMs: number;
}

/** The LTP client service of the Bundle Protocol (SANA; ION's ltpcli/ltpclo). */
export const BP_CLIENT_SERVICE = 1;

export interface SessionHost {
  readonly settings: LtpSettings;
  readonly timers: LtpTimers;
  readonly channels: LtpChannels;
  readonly engineId: number;
  /** Whether the link to `engine` is up: while it is down, timers wait instead of counting tries. */
  linkUp(engine: number): boolean;
  /** Sends a segment to `engine`; resolves once it has left on the link. */
  emit(segment: Segment, engine: number): Promise<void>;
  /** The session ended (completed or cancelled): the engine forgets it. */
  ended(session: { readonly key: string }): void;
  cancelled(session: string, engine: number, by: 'sender' | 'receiver' | 'this engine', reason: number): void;
}

/** Round-trip timeout: there and back at the light time, plus the margin. */
export function retransmitTimeoutMs(settings: LtpSettings): number {
  return 2 * settings.oneWayLightTimeMs + settings.marginMs;
}

export const sessionKey = (originator: number, number: number): string => `${originator}:${number}`;

/** Sends a segment, then again each time the timeout passes unanswered, up to maxRetries. */
export class Retransmitter {
  private cancelTimer: (() => void) | undefined;
  private tries = 0;
  private stopped = false;

  constructor(
    private readonly host: SessionHost,
    private readonly engine: number,
    private readonly send: () => Promise<void>,
    private readonly onRetry: () => void,
    private readonly onGiveUp: () => void,
  ) {}

  start(): void {
    const arm = (): void => {
      if (this.stopped) return;
      this.cancelTimer = this.host.timers.after(retransmitTimeoutMs(this.host.settings), () => {
        if (this.stopped) return;
        // RFC 5326 6.2: no answer can come while the link is down; the timer waits for it.
        if (!this.host.linkUp(this.engine)) {
          arm();
          return;
        }
        if (++this.tries > this.host.settings.maxRetries) {
          this.stopped = true;
          this.onGiveUp();
          return;
        }
        this.onRetry();
        this.start();
      });
    };
    this.send().then(arm, arm);
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
  }
}
