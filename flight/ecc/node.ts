// Protected memory as a node uses it: the regions and TMR banks of its owners (commanding, the
// executive) with golden copies under the node's data directory, and the scrubber task over them.
// The owners keep their authoritative state in their own record files; at start-up each loads it
// into a region and commits the golden copy, and commits again after each change.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Core } from '../core/wasm.js';
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { EccConfig } from './config.js';
import { protectedExecState, type ExecState } from './exec-state.js';
import { GoldenCopy } from './golden.js';
import { ProtectedMemory } from './memory.js';
import type { ProtectedRegion } from './region.js';
import { Scrubber, type ScrubSchedule } from './scrubber.js';
import type { TmrBank } from './tmr.js';

/** What an owner asks for: a region holding `contents`, its golden copy committed. */
export type RegionMaker = (name: string, contents: Uint8Array, critical: boolean) => ProtectedRegion;

export interface NodeProtectionDeps {
  readonly core: Core;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  /** Where golden copies live (`<dataDir>/ecc`). */
  readonly dir: string;
  readonly config: EccConfig;
}

/** Block size of a node's regions: small enough that a read verifies little more than it needs. */
export const NODE_BLOCK_BYTES = 1024;

export class NodeProtection {
  readonly memory: ProtectedMemory;
  readonly scrubber: Scrubber;

  constructor(private readonly deps: NodeProtectionDeps) {
    mkdirSync(deps.dir, { recursive: true });
    this.memory = new ProtectedMemory(deps);
    this.scrubber = new Scrubber(this.memory, deps.config.scrub);
  }

  readonly region: RegionMaker = (name, contents, critical) => {
    const region = this.memory.region({
      name,
      size: contents.length,
      critical,
      golden: new GoldenCopy(this.deps.core, join(this.deps.dir, `${name}.gold`)),
      blockBytes: NODE_BLOCK_BYTES,
    });
    region.load(contents);
    region.commit();
    return region;
  };

  tmrBank(name: string, capacity: number, critical: boolean): TmrBank {
    return this.memory.tmrBank(name, capacity, critical);
  }

  /** The executive's mode, frame counter (TMR, bank `exec`) and slot lists (region `schedule`). */
  execState(schedule: Parameters<typeof protectedExecState>[0]): ExecState {
    return protectedExecState(schedule, this.region, this.tmrBank('exec', 2, true));
  }

  /**
   * Binds the node's executive: the scrub period follows its schedule, and a lost critical region
   * or a critical scalar without majority requests SAFE. The listener does not read the mode: the
   * signal may come from the vote on the mode itself, before its fallback is in place.
   */
  attach(exec: { requestMode(mode: string, reason: string): void }, schedule: ScrubSchedule): void {
    this.scrubber.useSchedule(schedule);
    this.memory.onGoSafe((what, reason) => exec.requestMode('SAFE', `protected ${what} lost: ${reason}`));
  }

  /** A region by name, for injection. */
  find(name: string): ProtectedRegion | undefined {
    return this.memory.regions.find((r) => r.name === name);
  }
}
