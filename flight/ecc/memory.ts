// Protected memory of one node: the entry module of flight/ecc. It makes the protected regions
// and TMR banks (each registered for the scrubber and for fault injection) and carries the
// "go SAFE" signal a lost critical region or scalar raises, which the app wires to the
// executive's mode change (ecc knows nothing of exec).
import type { Core } from '../core/wasm.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { ECC_CHANNELS } from './dictionary.js';
import { ProtectedRegion, type RegionContext, type RegionOptions } from './region.js';
import { TmrBank } from './tmr.js';

export interface ProtectedMemoryDeps {
  readonly core: Core;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
}

/** What the scrubber walks: a region, or memory protected in place (a model's weights). */
export interface Scrubbed {
  readonly name: string;
  readonly blocks: number;
  blockLength(b: number): number;
  scrubBlock(b: number): void;
}

export type GoSafeListener = (what: string, reason: string) => void;

export class ProtectedMemory {
  readonly regions: ProtectedRegion[] = [];
  readonly banks: TmrBank[] = [];
  /** Regions, then memory protected in place, in the scrubber's order. */
  readonly scrubbed: Scrubbed[] = [];
  /** Changes whenever `scrubbed` does (the scrub period follows). */
  version = 0;
  readonly channels: Record<keyof typeof ECC_CHANNELS, Channel>;
  private readonly safeListeners: GoSafeListener[] = [];
  private readonly ctx: RegionContext;

  constructor(deps: ProtectedMemoryDeps) {
    this.channels = deps.tlm.defineAll(ECC_CHANNELS);
    this.ctx = {
      ...deps,
      goSafe: (what, reason) => {
        for (const listener of this.safeListeners) listener(what, reason);
      },
    };
  }

  /** Creates and registers a protected region (zero-filled; load() its contents). */
  region(options: RegionOptions): ProtectedRegion {
    if (this.regions.some((r) => r.name === options.name)) throw new Error(`protected region ${options.name} defined twice`);
    const region = new ProtectedRegion(this.ctx, options);
    this.regions.push(region);
    this.scrubbed.splice(this.regions.length - 1, 0, region);
    this.version++;
    this.channels.protectedBytes.add(region.size);
    return region;
  }

  /** Scrubs `target` (replacing one of the same name: a model activated in place of another). */
  protectInPlace(target: Scrubbed): void {
    const at = this.scrubbed.findIndex((s) => s.name === target.name);
    if (at >= 0 && at < this.regions.length) throw new Error(`protected region ${target.name} defined twice`);
    if (at >= 0) this.scrubbed[at] = target;
    else this.scrubbed.push(target);
    this.version++;
  }

  /** Creates and registers a bank of `capacity` TMR scalars. */
  tmrBank(name: string, capacity: number, critical: boolean): TmrBank {
    if (this.banks.some((b) => b.name === name)) throw new Error(`TMR bank ${name} defined twice`);
    const bank = new TmrBank(this.ctx, name, capacity, critical);
    this.banks.push(bank);
    return bank;
  }

  /** Called when a critical region is lost or a critical TMR scalar has no majority. */
  onGoSafe(listener: GoSafeListener): void {
    this.safeListeners.push(listener);
  }
}
