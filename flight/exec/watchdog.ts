// systemd integration (sd_notify). Node cannot open a unix datagram socket without a native
// module, so notifications go through systemd-notify(1), which ships with systemd wherever
// NOTIFY_SOCKET is set; the unit needs NotifyAccess=all because the sender is a child process.
// The watchdog is kicked only from the executive's major-frame hook, and only while the health
// monitor (health.ts) has every component answering: when frames stop completing, or the work
// the node depends on stops answering, the kicks stop and systemd restarts the node.
import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';

export interface NotifyEnv {
  NOTIFY_SOCKET?: string | undefined;
  WATCHDOG_USEC?: string | undefined;
}

export class Watchdog {
  private lastKickUs = -Infinity;
  private readonly kickEveryUs: number;
  failures = 0;
  sent = 0;
  /** WATCHDOG=1 notifications started (sent counts those systemd-notify delivered). */
  kicks = 0;

  constructor(
    private readonly env: NotifyEnv,
    private readonly log: Logger,
    private readonly notifyCommand = 'systemd-notify',
  ) {
    const usec = Number(env.WATCHDOG_USEC);
    // Kick at half the watchdog period, as sd_watchdog_enabled(3) advises.
    this.kickEveryUs = Number.isFinite(usec) && usec > 0 ? usec / 2 : Infinity;
  }

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  ready(): void {
    this.notify('READY=1');
  }

  stopping(): void {
    this.notify('STOPPING=1');
  }

  /** Called once per completed major frame while the node is healthy. */
  kick(nowUs: number): void {
    if (!this.enabled || this.kickEveryUs === Infinity || nowUs - this.lastKickUs < this.kickEveryUs) return;
    this.lastKickUs = nowUs;
    this.kicks++;
    this.notify('WATCHDOG=1');
  }

  private notify(state: string): void {
    if (!this.enabled) return;
    execFile(this.notifyCommand, [state], { env: { ...process.env, ...this.env }, timeout: 5000 }, (error, _out, stderr) => {
      if (error) {
        this.failures++;
        this.log.error({ state, err: error, stderr }, 'sd_notify failed');
      } else {
        this.sent++;
      }
    });
  }
}
