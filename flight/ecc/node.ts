// Protected memory as a node uses it: the regions and TMR banks of its owners (commanding, the
// executive) with golden copies under the node's data directory, and the scrubber task over them.
// The owners keep their authoritative state in their own record files; at start-up each loads it
// into a region and commits the golden copy, and commits again after each change.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Core } from '../core/wasm.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import type { EccConfig } from './config.js';
import { ECC_EVENTS, regionChannels } from './dictionary.js';
import { SeuInputError } from './errors.js';
import { protectedExecState, type ExecState } from './exec-state.js';
import { GoldenCopy } from './golden.js';
import { SeuInjector, UPSET_PATTERNS, type UpsetPattern } from './injector.js';
import { ProtectedMemory } from './memory.js';
import { ProtectedWeights, WEIGHTS_REGION, type WeightBytes } from './weights.js';
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
  /** The bundle store's directory, whose files ECC_INJECT may damage (`store/<file>`). */
  readonly storeDir?: string;
}

/** ECC_INJECT's arguments, as the command registry has checked them. */
export interface InjectArgs {
  readonly target: string;
  readonly pattern: string;
  readonly count: number;
  readonly seed: number;
}

/** Where ECC_INJECT's upsets landed: codewords of a memory target, byte offsets of a file. */
export type InjectResult =
  | { readonly target: string; readonly pattern: UpsetPattern; readonly words: number[] }
  | { readonly target: string; readonly pattern: 'single'; readonly offsets: number[] };

const STORE_FILE = /^store\/([A-Za-z0-9._-]+)$/;

/** Block size of a node's regions: small enough that a read verifies little more than it needs. */
export const NODE_BLOCK_BYTES = 1024;

export class NodeProtection {
  readonly memory: ProtectedMemory;
  readonly scrubber: Scrubber;
  private weightChannels: Record<keyof ReturnType<typeof regionChannels>, Channel> | undefined;

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
      // What a node keeps here steers it: no multiple-bit error may be read before the scrubber finds it.
      crcOnRead: true,
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
   * The weights of the model in use, protected in place and scrubbed; `reload` loads the model
   * again from its verified file (and must protect the new one: call this again on activation).
   * Check bits (1/8 of the weights) are reserved per model size, not per activation: core memory
   * is never freed, and a model reloaded after every uncorrectable block would use it up.
   */
  protectWeights(weights: WeightBytes, reload: () => void): ProtectedWeights {
    this.weightChannels ??= this.deps.tlm.defineAll(regionChannels(WEIGHTS_REGION));
    const current = this.memory.scrubbed.find((s): s is ProtectedWeights => s instanceof ProtectedWeights);
    if (current && current.codewords * 8 === weights.length) {
      current.rebind(weights, reload);
      return current;
    }
    const protectedWeights = new ProtectedWeights(this.deps.core, this.weightChannels, this.deps.events, weights, reload);
    this.memory.protectInPlace(protectedWeights);
    return protectedWeights;
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

  /**
   * ECC_INJECT: `count` upsets of `pattern` in one target, from a seeded injector (the same
   * seed flips the same bits). Memory targets bypass protection, as a real upset does; the
   * scrubber or the next read must find them. A store file takes single-bit upsets, durably.
   */
  inject(args: InjectArgs): InjectResult {
    const pattern = args.pattern as UpsetPattern;
    if (!UPSET_PATTERNS.includes(pattern)) throw new SeuInputError('pattern', UPSET_PATTERNS.join(', '), args.pattern);
    const injector = new SeuInjector(args.seed);
    const announce = (): void => {
      this.deps.events.emit(ECC_EVENTS.injected, { target: args.target, pattern, count: args.count, seed: args.seed });
    };
    if (STORE_FILE.test(args.target)) {
      if (pattern !== 'single') throw new SeuInputError('pattern', 'single for a store file', pattern);
      const path = this.storeFile(args.target);
      const size = statSync(path).size;
      announce();
      return { target: args.target, pattern, offsets: Array.from({ length: args.count }, () => injector.injectFile(path, size).offset) };
    }
    const target = args.target.startsWith('tmr.')
      ? this.memory.banks.find((b) => `tmr.${b.name}` === args.target)
      : this.find(args.target);
    if (!target) throw new SeuInputError('target', `one of ${this.targetNames().join(', ')}, or store/<file>`, args.target);
    announce();
    return { target: args.target, pattern, words: Array.from({ length: args.count }, () => injector.injectInto(target, pattern).codeword) };
  }

  /** The path of a `store/<file>` target: an existing, non-empty file of the bundle store. */
  private storeFile(target: string): string {
    const dir = this.deps.storeDir;
    const name = STORE_FILE.exec(target)![1]!;
    const path = dir && name !== '.' && name !== '..' ? join(dir, name) : undefined;
    let size = 0;
    try {
      if (path && statSync(path).isFile()) size = statSync(path).size;
    } catch {
      // absent: refused below, like any other target that is not there
    }
    if (!path || size === 0) throw new SeuInputError('target', 'an existing, non-empty file of the bundle store', target);
    return path;
  }

  private targetNames(): string[] {
    return [...this.memory.regions.map((r) => r.name), ...this.memory.banks.map((b) => `tmr.${b.name}`)];
  }

  /** A region by name, for injection. */
  find(name: string): ProtectedRegion | undefined {
    return this.memory.regions.find((r) => r.name === name);
  }
}
