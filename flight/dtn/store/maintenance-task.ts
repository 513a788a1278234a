// The store's housekeeping as an executive task: each run starts at most one bounded expiry
// sweep and one bounded compaction step if the previous ones have finished. The synchronous part
// of a run is the index work of expire() (at most expirePerRun bundles) and the choice of a
// compaction victim; reading, copying and fsyncing complete through the event loop between
// frames. Expired bundles go to the agent, which sends their "deleted, lifetime expired" status
// reports.
import type { FrameInfo, Task } from '../../exec/task.js';
import type { Logger } from '../../log.js';
import type { StoredBundle } from './meta.js';
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
}

export class StoreMaintenanceTask implements Task {
  readonly name = 'dtn.store';
  readonly criticality = 'low';
  readonly budgetUs: number;
  private expiring = false;
  private compacting = false;
  private stopped = false;
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
    } catch (error) {
      this.stop('expiry', error);
    } finally {
      this.expiring = false;
    }
  }

  private async compactStep(): Promise<void> {
    try {
      await this.store.compact(this.compactBytesPerRun);
    } catch (error) {
      this.stop('compaction', error);
    } finally {
      this.compacting = false;
    }
  }

  /**
   * A failed sweep or step means a failed or closed store (which has counted and evented an
   * I/O failure itself): say so once and stop, rather than fail again every frame.
   */
  private stop(what: string, error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.options.log.error({ err: error }, `bundle store ${what} failed; store maintenance stopped`);
  }
}
