// Lockstep wiring of a flight node (composition root): a HIL bench steps the node's frames over
// the serial line, on a virtual clock, so a scenario gives the same telemetry on every run. The
// driver itself (what a step does) is flight/exec/lockstep.ts; this file joins it to the node's
// serial link, store and health, which decide when the node has settled.
import type { Logger } from './log.js';
import type { ConvergenceLayer } from './cla/cla.js';
import { SerialCla } from './cla/serial/serial-cla.js';
import { ConfigError } from './errors.js';
import type { BundleStore } from './dtn/store/store.js';
import type { VirtualClock } from './exec/clock.js';
import type { Executive } from './exec/executive.js';
import type { HealthMonitor } from './exec/health.js';
import { LOCKSTEP_CHANNELS } from './exec/dictionary.js';
import { decodeStep, encodeStepped, LOCKSTEP_EPOCH_MS, LockstepDriver } from './exec/lockstep.js';
import type { TelemetryRegistry } from './tlm/channels.js';
import type { Downlink } from './tlm/downlink.js';

/** Drives a node in lockstep; `quiet` resolves once nothing is in flight (start-up waits for it). */
export interface LockstepTimer {
  quiet(): Promise<void>;
  start(): void;
  stop(): void;
}

/** The node's wall clock in lockstep: the epoch plus virtual time. */
export function lockstepWallMs(clock: VirtualClock): () => number {
  return () => LOCKSTEP_EPOCH_MS + Math.floor(clock.nowUs() / 1000);
}

/**
 * Lockstep on the serial line: the bench's step requests run frames once the node settled (no LTP
 * session open, no bundle being accepted, read to be sent or downlinked, no health ping or store
 * flush outstanding, the bench heard), and each is answered, settled again, with the frame count
 * and virtual time; a request the bench resent is answered without running its frames again
 * (exec.lockstep.* channels). A node in lockstep needs a serial link.
 */
export function lockstepOnSerial(o: { exec: Executive; clock: VirtualClock; tlm: TelemetryRegistry; layers: readonly ConvergenceLayer[]; health: HealthMonitor; store: BundleStore; downlink: Downlink | undefined; accepting: () => number; inFlight: () => number; log: Logger; file: string }): LockstepTimer {
  const serial = o.layers.find((l): l is SerialCla => l instanceof SerialCla);
  if (!serial) throw new ConfigError(o.file, 'cla.serial', 'a serial link: a node in lockstep is stepped by the bench over it', 'none');
  const quiet = (): boolean => {
    const open = serial.engine.openSessions;
    return open.exports === 0 && open.imports === 0 && o.accepting() === 0 && o.inFlight() === 0 && o.health.outstanding === 0 && (o.downlink?.idle ?? true);
  };
  const until = async (idle: () => boolean): Promise<void> => {
    // Idle across a turn of the event loop, with the store's flush path drained.
    for (;;) {
      await o.store.flushed();
      if (idle()) {
        await new Promise((resolve) => setImmediate(resolve));
        if (idle()) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  };
  // Frames run with the bench heard (its contact event made before frame 0, not during a step).
  const settled = (): Promise<void> => until(() => quiet() && serial.channels.contactUp.value === 1);
  const driver = new LockstepDriver({ exec: o.exec, clock: o.clock, settled, channels: o.tlm.defineAll(LOCKSTEP_CHANNELS) });
  let running = false;
  serial.onLockstep((payload) => {
    if (!running) return;
    let request;
    try {
      request = decodeStep(payload);
    } catch (error) {
      o.log.warn({ err: error }, 'lockstep packet refused');
      return;
    }
    driver.step(request)
      .then((report) => (report ? serial.sendLockstep(encodeStepped(report)) : undefined))
      .catch((error: unknown) => o.log.error({ err: error, seq: request.seq }, 'lockstep step failed'));
  });
  return {
    quiet: () => until(quiet),
    start: () => {
      running = true;
      driver.start();
    },
    stop: () => {
      running = false;
    },
  };
}
