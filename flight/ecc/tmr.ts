// Triple modular redundancy for critical scalars (the mode, the anti-replay window head, the
// frame counter): three copies of each value, a majority vote on every read, and the outvoted
// copy rewritten on the spot. A bank keeps each copy in its own core buffer, at least
// COPY_SPACING bytes from the others, so one multiple-cell upset cannot reach two copies of the
// same scalar. Values are f64 (integers up to 2^53 exactly); copies are compared bit for bit.
import type { CoreBuffer } from '../core/wasm.js';
import type { Channel } from '../tlm/channels.js';
import { ECC_EVENTS, tmrChannels } from './dictionary.js';
import { TmrDisagreementError } from './errors.js';
import type { RegionContext } from './region.js';
import type { UpsetTarget } from './target.js';

/** Minimum distance between the copies of one scalar. */
export const COPY_SPACING = 4096;

export class TmrBank implements UpsetTarget {
  readonly bitsPerCodeword = 192;
  readonly segments = 3;
  private readonly buffers: CoreBuffer[];
  private words: Uint32Array[] = [];
  private values: Float64Array[] = [];
  private readonly cells: TmrCell[] = [];
  private readonly ch: Record<keyof ReturnType<typeof tmrChannels>, Channel>;

  constructor(
    private readonly ctx: RegionContext,
    /** Lower-case dashed name used in telemetry: `exec`, `cmd`. */
    readonly name: string,
    readonly capacity: number,
    /** A critical bank whose scalar has no majority sends the node to SAFE. */
    readonly critical: boolean,
  ) {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`TMR bank name ${JSON.stringify(name)}: expected lower-case words joined by dashes`);
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`TMR bank ${name}: capacity ${capacity} is not a positive integer`);
    const bytes = Math.max(capacity * 8, COPY_SPACING);
    this.buffers = [ctx.core.reserve(bytes), ctx.core.reserve(bytes), ctx.core.reserve(bytes)];
    this.ch = ctx.tlm.defineAll(tmrChannels(name));
    this.renew();
  }

  get codewords(): number {
    return this.cells.length;
  }

  get counts(): { corrected: number; noMajority: number } {
    return { corrected: this.ch.corrected.value, noMajority: this.ch.noMajority.value };
  }

  /** A new scalar in this bank, holding `initial`. */
  cell(name: string, initial: number): TmrCell {
    if (this.cells.length === this.capacity) throw new Error(`TMR bank ${this.name}: all ${this.capacity} cells in use`);
    const cell = new TmrCell(this, this.cells.length, `${this.name}.${name}`);
    this.cells.push(cell);
    cell.set(initial);
    return cell;
  }

  /** Votes every scalar (the scrubber calls this once per pass), so that upsets in two copies
   *  of one scalar do not accumulate between reads. A scalar without majority has been counted,
   *  reported and signalled; the others are still voted. */
  scrub(): void {
    for (const cell of this.cells) {
      try {
        cell.get();
      } catch (error) {
        if (!(error instanceof TmrDisagreementError)) throw error;
      }
    }
  }

  /** Flips bit `bit` (0..191: copy bit >> 6, bit bit & 63 of it) of scalar `index`. */
  flip(index: number, bit: number): void {
    this.check();
    this.words[bit >> 6]![2 * index + ((bit & 63) >> 5)]! ^= 1 << (bit & 31);
  }

  /** Renews the views after core memory grew (growth detaches them). */
  private check(): void {
    if (this.words[0]!.byteLength === 0) this.renew();
  }

  private renew(): void {
    this.words = this.buffers.map((b) => { const bytes = b.bytes(); return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4); });
    this.values = this.buffers.map((b) => { const bytes = b.bytes(); return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8); });
  }

  /** @internal */
  write(index: number, value: number): void {
    this.check();
    for (const copy of this.values) copy[index] = value;
  }

  /** @internal Majority vote over the three copies of scalar `index`, repairing the odd one out. */
  vote(index: number, cell: string): number {
    this.check();
    const [a, b, c] = this.words as [Uint32Array, Uint32Array, Uint32Array];
    const lo = 2 * index;
    const hi = lo + 1;
    const ab = a[lo] === b[lo] && a[hi] === b[hi];
    const ac = a[lo] === c[lo] && a[hi] === c[hi];
    if (ab && ac) return this.values[0]![index]!;
    if (ab || ac) return this.repair(index, ab ? 2 : 1, 0, cell);
    if (b[lo] === c[lo] && b[hi] === c[hi]) return this.repair(index, 0, 1, cell);
    this.ch.noMajority.add(1);
    this.ctx.events.emit(ECC_EVENTS.tmrNoMajority, { cell });
    if (this.critical) {
      this.ctx.events.emit(ECC_EVENTS.goSafe, { region: `tmr.${cell}` });
      this.ctx.goSafe(`tmr.${cell}`, 'no majority');
    }
    throw new TmrDisagreementError(cell);
  }

  private repair(index: number, bad: number, good: number, cell: string): number {
    this.words[bad]![2 * index] = this.words[good]![2 * index]!;
    this.words[bad]![2 * index + 1] = this.words[good]![2 * index + 1]!;
    this.ch.corrected.add(1);
    this.ctx.events.emit(ECC_EVENTS.tmrCorrected, { cell, copy: bad });
    return this.values[good]![index]!;
  }
}

/** One TMR scalar. */
export class TmrCell {
  constructor(private readonly bank: TmrBank, private readonly index: number, readonly name: string) {}

  /** The majority value; throws TmrDisagreementError if the three copies all differ. */
  get(): number {
    return this.bank.vote(this.index, this.name);
  }

  set(value: number): void {
    this.bank.write(this.index, value);
  }

  /** The majority value; without one (already counted, reported and signalled) `fallback`,
   *  which the three copies then hold. For state a task cannot stop on: the mode, the frame. */
  getOr(fallback: number): number {
    try {
      return this.get();
    } catch (error) {
      if (!(error instanceof TmrDisagreementError)) throw error;
      this.set(fallback);
      return fallback;
    }
  }
}
