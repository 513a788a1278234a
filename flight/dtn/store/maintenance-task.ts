// The store's housekeeping as an executive task: each run starts at most one bounded expiry
// sweep and one bounded compaction step if the previous ones have finished. The synchronous part
// of a run is the index work of expire() (at most expirePerRun bundles) and the choice of a
// compaction victim; reading, copying and fsyncing complete through the event loop between
// frames. Expired bundles go to the agent, which sends their "deleted, lifetime expired" status
// reports. While the device is full the task probes for space every `probeEveryMs` instead, and
// the store takes writes again once there is some (BundleStore.resume()).
import type { FrameInfo, Task } from '../../exec/task.js';
import type { Logger } from '../../log.js';
import type { StoredBundle } from './meta.js';
import { StoreClosedError } from './errors.js';
import type { BundleStore } from './store.js';

export interface StoreMaintenanceOptions {
  /** Bundles expired per run at most (default 64). */
  expirePerRun?: number;
  /** Bytes of a segment compacted per run at most (default 256 KiB). */
  compactBytesPerRun?: number;
  /** Time used for expiry, milliseconds since the Unix epoch (the node's DTN clock). */
  nowMs: () => number;
  /** Receives each sweep's expired bundles, once their deletion is durable. */
  onExpired: (bundles: StoredBundle[]) => void;
  log: Logger;
  budgetUs?: number;
  /** How often to probe for free space while the device is full (default 1000 ms). */
  probeEveryMs?: number;
  /** Wall clock for the probe interval, Unix ms (default Date.now). */
  wallMs?: () => number;
}

export class StoreMaintenanceTask implements Task {
  readonly name = 'dtn.store';
  readonly criticality = 'low';
  readonly budgetUs: number;
  private expiring = false;
  private compacting = false;
  private probing = false;
  private lastProbe = -Infinity;
  private stopped = false;
  /** A failure was logged: said once until the store works again. */
  private failing = false;
  private readonly expirePerRun: number;
  private readonly compactBytesPerRun: number;

  constructor(
    private readonly store: BundleStore,
    private readonly options: StoreMaintenanceOptions,
  ) {
    this.expirePerRun = options.expirePerRun ?? 64;
    this.compactBytesPerRun = options.compactBytesPerRun ?? 256 * 1024;
    this.budgetUs = options.budgetUs ?? 1000;
  }

  run(_frame: FrameInfo): void {
    if (this.stopped) return;
    if (this.store.outOfSpace) {
      this.probe();
      return;
    }
    if (!this.expiring) {
      this.expiring = true;
      void this.sweep();
    }
    if (!this.compacting) {
      this.compacting = true;
      void this.compactStep();
    }
  }

  private async sweep(): Promise<void> {
    try {
      const expired = await this.store.expire(this.options.nowMs(), this.expirePerRun);
      if (expired.length > 0) this.options.onExpired(expired);
      this.failing = false;
    } catch (error) {
      this.failed('expiry', error);
    } finally {
      this.expiring = false;
    }
  }

  private async compactStep(): Promise<void> {
    try {
      await this.store.compact(this.compactBytesPerRun);
    } catch (error) {
      this.failed('compaction', error);
    } finally {
      this.compacting = false;
    }
  }

  /** One probe at a time, at most every probeEveryMs. */
  private probe(): void {
    const now = (this.options.wallMs ?? Date.now)();
    if (this.probing || now - this.lastProbe < (this.options.probeEveryMs ?? 1000)) return;
    this.probing = true;
    this.lastProbe = now;
    this.store.resume().then(
      (resumed) => {
        if (resumed) this.failing = false;
      },
      (error: unknown) => this.failed('space probe', error),
    ).finally(() => {
      this.probing = false;
    });
  }

  /**
   * A closed store stops the task (said once). Any other failure (the store has counted and
   * evented it) is logged once until the store works again; a full device is probed for space,
   * and other I/O failures leave the store refusing writes until it is reopened.
   */
  private failed(what: string, error: unknown): void {
    if (error instanceof StoreClosedError) {
      if (!this.stopped) this.options.log.error({ err: error }, `bundle store ${what} failed; store maintenance stopped`);
      this.stopped = true;
      return;
    }
    if (this.failing) return;
    this.failing = true;
    this.options.log.error({ err: error }, `bundle store ${what} failed`);
  }
}
