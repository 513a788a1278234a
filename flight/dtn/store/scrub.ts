// Store scrubbing: an executive task that walks the store's sealed segments, at most budgetBytes
// a slot, with a cursor (segment, stripe). A sealed segment without valid parity gets it, one
// stripe a step; one with parity has each stripe's shards checked against their CRC-32Cs, and
// damaged shards rebuilt and written back (parity.ts). A stripe beyond repair is counted,
// reported and handed to `onUnrepairable` with its byte range, for the owner of the records there
// to quarantine them.
//
// The segment being written gets its parity as it is written, ahead of the walk: told of each
// durable batch (segmentWritten, from the store), the task makes the parity of every stripe the
// durable bytes complete, and once told of the seal, of the rest, and writes the parity file. So
// a segment is protected from a slot after its bytes are durable, not a whole pass after its seal.
// Bytes below a durable end never change within a session (a full device cuts back to it, never
// below), so a stripe's parity made then stays valid.
//
// The reads are synchronous and bounded (one 288 KiB stripe a step, from the page cache mostly):
// the executive's slots are synchronous, and a stripe takes well under a millisecond.
import { closeSync, fstatSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STORE_SCRUB_CHANNELS, ECC_EVENTS } from '../../ecc/dictionary.js';
import type { Criticality, FrameInfo, Task } from '../../exec/task.js';
import type { Channel, TelemetryRegistry } from '../../tlm/channels.js';
import type { EventLog } from '../../tlm/events.js';
import { parseSegmentFileName, readTrailer, segmentFileName, TRAILER_BYTES } from './format.js';
import {
  checkStripe, DATA_SHARDS, PARITY_SHARDS, PARITY_SUFFIX, readParity, repairStripe, SegmentChangedError, SHARD_BYTES, stripeParity, stripeRange,
  stripesOf, writeParity, type SegmentParity,
} from './parity.js';

export const STORE_SCRUB_TASK = 'dtn.store.scrub';
const STRIPE_BYTES = (DATA_SHARDS + PARITY_SHARDS) * SHARD_BYTES;

export interface LostRange {
  readonly segment: number;
  readonly start: number;
  readonly end: number;
}

export interface StoreScrubberOptions {
  readonly dir: string;
  /** Bytes read per slot (whole stripes, at least one). */
  readonly budgetBytes: number;
  readonly budgetUs: number;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  /** A stripe parity cannot rebuild: the records in its range are lost. */
  readonly onUnrepairable?: (lost: LostRange) => void;
}

/** A segment being written (or just sealed): the parity of the stripes its durable bytes complete. */
interface Growing {
  readonly segment: number;
  readonly path: string;
  durableEnd: number;
  sealed: boolean;
  readonly stripes: Array<ReturnType<typeof stripeParity>>;
}

/** What the store says of a segment it writes (BundleStore.onSegmentWritten). */
export interface WrittenSegmentInfo {
  readonly number: number;
  readonly path: string;
  /** End of its durable records. */
  readonly size: number;
  readonly sealed: boolean;
}

/** Where the cursor is: checking a segment with parity, or making its parity stripe by stripe. */
type Step =
  | { readonly kind: 'check'; readonly segment: number; readonly parity: SegmentParity; stripe: number }
  | { readonly kind: 'build'; readonly segment: number; readonly path: string; readonly size: number; readonly stripes: Array<ReturnType<typeof stripeParity>> };

export class StoreScrubber implements Task {
  readonly name = STORE_SCRUB_TASK;
  readonly criticality: Criticality = 'low';
  readonly budgetUs: number;
  private readonly ch: Record<keyof typeof STORE_SCRUB_CHANNELS, Channel>;
  /** Segments left in this pass, in order. */
  private queue: number[] = [];
  private listed = false;
  private step: Step | undefined;
  /** Segments being written, by number: their parity is made before the walk goes on. */
  private readonly growing = new Map<number, Growing>();

  constructor(private readonly o: StoreScrubberOptions) {
    if (!Number.isInteger(o.budgetBytes) || o.budgetBytes <= 0) throw new Error(`store scrubber budgetBytes ${o.budgetBytes} is not a positive integer`);
    this.budgetUs = o.budgetUs;
    this.ch = o.tlm.defineAll(STORE_SCRUB_CHANNELS);
  }

  run(_frame: FrameInfo): void {
    let bytes = 0;
    while (bytes === 0 || bytes + STRIPE_BYTES <= this.o.budgetBytes) {
      const read = this.advance();
      if (read === 0) break;
      bytes += read;
    }
    this.ch.bytes.add(bytes);
  }

  /** The store made bytes of a segment durable, or sealed it (BundleStore.onSegmentWritten). */
  segmentWritten(written: WrittenSegmentInfo): void {
    let g = this.growing.get(written.number);
    if (!g) {
      g = { segment: written.number, path: written.path, durableEnd: 0, sealed: false, stripes: [] };
      this.growing.set(written.number, g);
    }
    g.durableEnd = written.size;
    g.sealed = written.sealed;
  }

  /** One stripe of work; returns the bytes it read (0: nothing to do this slot). */
  private advance(): number {
    const grown = this.advanceGrowing();
    if (grown > 0) return grown;
    if (!this.step && !this.nextSegment()) return 0;
    const step = this.step!;
    try {
      return step.kind === 'build' ? this.buildStripe(step) : this.checkStripe(step);
    } catch (error) {
      // Compaction deleted the segment under the cursor, or the store reopened it for appending:
      // nothing to scrub there now (a reopened one gets new parity once sealed again).
      if (!(error instanceof SegmentChangedError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.step = undefined;
      return STRIPE_BYTES;
    }
  }

  /**
   * One stripe of a growing segment's parity (complete stripes only until it is sealed), or its
   * parity file once it is sealed and every stripe is made; 0 when there is nothing to do.
   */
  private advanceGrowing(): number {
    for (const g of this.growing.values()) {
      try {
        const size = g.sealed ? sealedSize(g.path, g.segment) : g.durableEnd;
        if (size === undefined) throw new SegmentChangedError(g.path);
        const stripes = g.sealed ? stripesOf(size) : Math.floor(size / (DATA_SHARDS * SHARD_BYTES));
        let bytes = 0;
        if (g.stripes.length < stripes) {
          const fd = openSync(g.path, 'r');
          try {
            g.stripes.push(stripeParity(fd, size, g.stripes.length));
          } finally {
            closeSync(fd);
          }
          bytes = DATA_SHARDS * SHARD_BYTES;
        }
        if (g.sealed && g.stripes.length === stripes) {
          writeParity(g.path, size, g.stripes);
          this.ch.parityWritten.add(1);
          this.growing.delete(g.segment);
          bytes += stripes * PARITY_SHARDS * SHARD_BYTES;
        }
        if (bytes > 0) return bytes;
      } catch (error) {
        // Compaction deleted it, or it is not sealed after all: the walk makes its parity if it ever needs one.
        if (!(error instanceof SegmentChangedError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        this.growing.delete(g.segment);
      }
    }
    return 0;
  }

  /** Moves the cursor to the next sealed segment; false at the end of a pass (the next starts next slot). */
  private nextSegment(): boolean {
    if (this.queue.length === 0) {
      if (this.listed) {
        this.ch.passes.add(1);
        this.listed = false;
        return false;
      }
      const files = readdirSync(this.o.dir);
      this.queue = files.map(parseSegmentFileName).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
      this.listed = true;
      // Parity of a segment compaction has deleted since the last pass goes with it.
      const present = new Set(files);
      for (const file of files) {
        if (file.endsWith(PARITY_SUFFIX) && !present.has(file.slice(0, -PARITY_SUFFIX.length))) rmSync(join(this.o.dir, file), { force: true });
      }
    }
    while (this.queue.length > 0) {
      const segment = this.queue.shift()!;
      if (this.growing.has(segment)) continue; // its parity is being made as it is written
      const path = join(this.o.dir, segmentFileName(segment));
      const size = sealedSize(path, segment);
      if (size === undefined) continue;
      const parity = readParity(path, size);
      this.step = typeof parity === 'string'
        ? { kind: 'build', segment, path, size, stripes: [] }
        : { kind: 'check', segment, parity, stripe: 0 };
      return true;
    }
    return this.nextSegment();
  }

  private buildStripe(step: Extract<Step, { kind: 'build' }>): number {
    const fd = openSync(step.path, 'r');
    try {
      if (fstatSync(fd).size !== step.size) throw new SegmentChangedError(step.path);
      step.stripes.push(stripeParity(fd, step.size, step.stripes.length));
    } finally {
      closeSync(fd);
    }
    if (step.stripes.length === stripesOf(step.size)) {
      writeParity(step.path, step.size, step.stripes);
      this.ch.parityWritten.add(1);
      this.step = undefined;
    }
    return DATA_SHARDS * SHARD_BYTES;
  }

  private checkStripe(step: Extract<Step, { kind: 'check' }>): number {
    const { parity } = step;
    const s = step.stripe;
    const damaged = checkStripe(parity, s);
    if (damaged.length > 0) {
      const range = stripeRange(parity, s);
      const args = { segment: step.segment, shards: damaged.length, ...range };
      if (repairStripe(parity, s, damaged)) {
        this.ch.repaired.add(damaged.length);
        this.o.events.emit(ECC_EVENTS.storeRepaired, args);
      } else {
        this.ch.unrepairable.add(1);
        this.o.events.emit(ECC_EVENTS.storeUnrepairable, args);
        this.o.onUnrepairable?.({ segment: step.segment, ...range });
      }
    }
    if (++step.stripe === parity.stripes) this.step = undefined;
    return STRIPE_BYTES;
  }
}

/** The size of a sealed segment (a valid trailer ends it), or undefined for the active one or a gone one. */
function sealedSize(path: string, segment: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const size = fstatSync(fd).size;
    if (size < TRAILER_BYTES) return undefined;
    const tail = Buffer.alloc(TRAILER_BYTES);
    readSync(fd, tail, 0, TRAILER_BYTES, size - TRAILER_BYTES);
    return readTrailer(tail, segment) >= 0 ? size : undefined;
  } finally {
    closeSync(fd);
  }
}
