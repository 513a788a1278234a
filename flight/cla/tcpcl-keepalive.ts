// Liveness of an established TCPCLv4 session (RFC 9174 5.1.1): a KEEPALIVE goes out when
// nothing was sent for one negotiated interval, and the session ends with SESS_TERM "Idle
// timeout" when nothing arrived for two. The same tick expires outbound transfers.
import { performance } from 'node:perf_hooks';
import { CLA_EVENTS } from './dictionary.js';
import { IdleTimeoutError } from './errors.js';
import type { SessionIo } from './tcpcl-session.js';
import { KEEPALIVE, TERM_REASON } from './tcpcl-wire.js';

/** What the keepalive needs of its session beyond the shared I/O. */
export interface KeepaliveHooks {
  closed(): boolean;
  /** Reading paused for backpressure: silence then proves nothing. */
  paused(): boolean;
  /** This node sent SESS_TERM: the session is ending anyway. */
  termSent(): boolean;
  terminate(reason: number, why: string): void;
  /** Called on every tick with the time. */
  tick(now: number): void;
}

export class KeepaliveClock {
  private lastReceived = performance.now();
  private lastSent = performance.now();
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: SessionIo,
    private readonly hooks: KeepaliveHooks,
  ) {}

  received(): void {
    this.lastReceived = performance.now();
  }

  sent(): void {
    this.lastSent = performance.now();
  }

  /** Starts ticking once the session is established with `keepaliveS` (0: no keepalives). */
  start(keepaliveS: number): void {
    const keepaliveMs = keepaliveS * 1000;
    const period = Math.max(50, Math.min(keepaliveMs > 0 ? keepaliveMs / 4 : 1000, this.io.config.transferTimeoutMs / 4, 1000));
    this.ticker = setInterval(() => this.onTick(keepaliveMs), period);
    this.ticker.unref();
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  private onTick(keepaliveMs: number): void {
    const { io, hooks } = this;
    const now = performance.now();
    if (keepaliveMs > 0 && !hooks.closed()) {
      if (now - this.lastSent >= keepaliveMs) io.write(KEEPALIVE);
      const silentMs = now - this.lastReceived;
      if (!hooks.paused() && !hooks.termSent() && silentMs >= 2 * keepaliveMs) {
        io.channels.keepaliveTimeouts.add();
        io.record(new IdleTimeoutError(silentMs));
        io.events.emit(CLA_EVENTS.tcpKeepaliveTimeout, { peer: io.peerName(), silentMs: Math.round(silentMs) });
        hooks.terminate(TERM_REASON.IDLE_TIMEOUT, 'idle timeout: no keepalive');
      }
    }
    hooks.tick(now);
  }
}
