// A protected region: bytes in WASM core memory that are read and written only through these
// accessors. Each 8-byte word has a SEC-DED check byte, kept in a separate core buffer; each
// block has a CRC-32C (JS heap). A read corrects a single-bit error in the blocks it touches and
// reports a double-bit one; an uncorrectable block reloads the whole region from its golden copy
// on disk; a critical region that cannot be reloaded asks for SAFE.
//
// Why blocks: the core processes a CoreBuffer whole and in place, so a block (one data buffer,
// one check buffer) is the unit a read verifies and the scrubber walks. Why a CRC per block as
// well: SEC-DED guarantees only 1 corrected / 2 detected per word; three flipped bits can alias a
// single-bit syndrome (and be "corrected" wrongly), four can cancel out. The CRC-32C catches both
// whenever the block is scrubbed, and on a read whenever SEC-DED reported anything.
import type { Core, CoreBuffer, SecdedReport } from '../core/wasm.js';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { ECC_EVENTS, regionChannels } from './dictionary.js';
import { GoldenCopyError, RegionAccessError, RegionLostError } from './errors.js';
import type { GoldenCopy } from './golden.js';
import type { UpsetTarget } from './target.js';

export const DEFAULT_BLOCK_BYTES = 4096;

export interface RegionOptions {
  /** Lower-case dashed name, used in telemetry: `parameters`, `operator-keys`. */
  readonly name: string;
  /** Bytes the region holds. */
  readonly size: number;
  /** A critical region that is lost (uncorrectable, no valid golden copy) sends the node to SAFE. */
  readonly critical: boolean;
  /** Reload source after an uncorrectable error; without one an uncorrectable error loses the region. */
  readonly golden?: GoldenCopy;
  /** Bytes per block (a multiple of 8): the unit of read verification, CRC and scrubbing. */
  readonly blockBytes?: number;
  /**
   * Check the block CRC-32C on every read, not only when SEC-DED reported something: a burst of
   * four or more bits in one word can leave a zero syndrome, and a read before the scrubber gets
   * there would return it (or a write seal it). For regions whose bytes steer the node (slot
   * lists, keys), at the cost of a CRC of the blocks each access touches.
   */
  readonly crcOnRead?: boolean;
}

/** What the region needs from the node: the core, telemetry, events and whom to tell "go SAFE". */
export interface RegionContext {
  readonly core: Core;
  readonly tlm: TelemetryRegistry;
  readonly events: EventLog;
  goSafe(region: string, reason: string): void;
}

export type VerifiedBy = 'read' | 'write' | 'scrub';

export class ProtectedRegion implements UpsetTarget {
  readonly name: string;
  readonly size: number;
  readonly critical: boolean;
  readonly blockBytes: number;
  readonly blocks: number;
  readonly codewords: number;
  readonly bitsPerCodeword = 72;
  readonly segments = 1;
  private readonly golden: GoldenCopy | undefined;
  private readonly crcOnRead: boolean;
  private readonly data: CoreBuffer[] = [];
  private readonly check: CoreBuffer[] = [];
  private readonly dataViews: Uint8Array[] = [];
  private readonly checkViews: Uint8Array[] = [];
  private readonly crc: Uint32Array;
  private readonly ch: Record<keyof ReturnType<typeof regionChannels>, Channel>;
  private readonly f64 = new DataView(new ArrayBuffer(8));
  private readonly f64Bytes = new Uint8Array(this.f64.buffer);
  private lost = false;
  /** Written since the last commit or load: a reload would discard those writes. */
  private dirty = false;

  constructor(private readonly ctx: RegionContext, options: RegionOptions) {
    const { name, size } = options;
    if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`protected region name ${JSON.stringify(name)}: expected lower-case words joined by dashes`);
    if (!Number.isInteger(size) || size <= 0) throw new Error(`protected region ${name}: size ${size} is not a positive integer`);
    const blockBytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    if (!Number.isInteger(blockBytes) || blockBytes <= 0 || blockBytes % 8 !== 0) {
      throw new Error(`protected region ${name}: blockBytes ${blockBytes} is not a positive multiple of 8`);
    }
    const padded = Math.ceil(size / 8) * 8;
    this.name = name;
    this.size = size;
    this.critical = options.critical;
    this.golden = options.golden;
    this.crcOnRead = options.crcOnRead ?? false;
    this.blockBytes = Math.min(blockBytes, padded);
    this.blocks = Math.ceil(padded / this.blockBytes);
    this.codewords = padded / 8;
    for (let b = 0; b < this.blocks; b++) {
      const length = Math.min(this.blockBytes, padded - b * this.blockBytes);
      this.data.push(ctx.core.reserve(length));
      this.check.push(ctx.core.reserve(length / 8));
    }
    this.crc = new Uint32Array(this.blocks);
    this.ch = ctx.tlm.defineAll(regionChannels(name));
    for (let b = 0; b < this.blocks; b++) this.encodeBlock(b);
  }

  /** Error counters of this region (telemetry values). */
  get counts(): { corrected: number; uncorrectable: number; crcMismatches: number; reloads: number; lost: number } {
    const ch = this.ch;
    return { corrected: ch.corrected.value, uncorrectable: ch.uncorrectable.value, crcMismatches: ch.crcMismatches.value, reloads: ch.reloads.value, lost: ch.lost.value };
  }

  /** True after an uncorrectable error that no golden copy repaired, until load() replaces the contents. */
  get isLost(): boolean {
    return this.lost;
  }

  // ----- accessors -----------------------------------------------------------------------------

  /** Copies `target.length` bytes from `offset` into `target`, correcting what it passes over. */
  readInto(offset: number, target: Uint8Array): void {
    this.checkRange(offset, target.length);
    for (let done = 0; done < target.length;) {
      const at = offset + done;
      const b = Math.floor(at / this.blockBytes);
      const inBlock = at - b * this.blockBytes;
      this.verifyBlock(b, 'read');
      const view = this.dataView(b);
      const n = Math.min(view.length - inBlock, target.length - done);
      target.set(view.subarray(inBlock, inBlock + n), done);
      done += n;
    }
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(offset, out);
    return out;
  }

  readF64(offset: number): number {
    this.readInto(offset, this.f64Bytes);
    return this.f64.getFloat64(0, true);
  }

  /** Writes `bytes` at `offset`. Each block touched is verified first, so a latent single-bit
   *  error is corrected rather than sealed into new check bits. Not durable until commit(). */
  write(offset: number, bytes: Uint8Array): void {
    this.checkRange(offset, bytes.length);
    for (let done = 0; done < bytes.length;) {
      const at = offset + done;
      const b = Math.floor(at / this.blockBytes);
      const inBlock = at - b * this.blockBytes;
      this.verifyBlock(b, 'write');
      const view = this.dataView(b);
      const n = Math.min(view.length - inBlock, bytes.length - done);
      view.set(bytes.subarray(done, done + n), inBlock);
      this.encodeBlock(b);
      done += n;
    }
    this.dirty = true;
  }

  writeF64(offset: number, value: number): void {
    this.f64.setFloat64(0, value, true);
    this.write(offset, this.f64Bytes);
  }

  /** Replaces the whole contents (start-up, or after the region was lost). Not durable until commit(). */
  load(contents: Uint8Array): void {
    if (contents.length !== this.size) throw new RegionAccessError(this.name, 0, contents.length, this.size);
    this.fill(contents);
    this.lost = false;
    this.dirty = true;
  }

  /** Writes the current contents (verified) to the golden copy, durably. */
  commit(): void {
    if (!this.golden) throw new Error(`protected region ${this.name} has no golden copy to commit to`);
    this.golden.write(this.read(0, this.size));
    this.dirty = false;
  }

  /** Scrubs block `b`: corrects single-bit errors in place and checks the block's CRC-32C. */
  scrubBlock(b: number): void {
    if (!this.lost) this.verifyBlock(b, 'scrub');
  }

  /** Bytes of block `b` (the last block may be shorter). */
  blockLength(b: number): number {
    return this.data[b]!.length;
  }

  // ----- upset target (fault injection and tests only: bypasses protection on purpose) ----------

  /** Flips bit `bit` of codeword `word`: 0..63 a data bit (8 * byte + bit), 64..71 a check bit. */
  flip(word: number, bit: number): void {
    const b = Math.floor((word * 8) / this.blockBytes);
    const w = word - (b * this.blockBytes) / 8;
    if (bit < 64) this.dataView(b)[w * 8 + (bit >> 3)]! ^= 1 << (bit & 7);
    else this.checkView(b)[w]! ^= 1 << (bit - 64);
  }

  /** Stored data bytes as they are, errors included (campaigns compare them to a reference). */
  unverified(offset = 0, length = this.size - offset): Uint8Array {
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const at = offset + done;
      const b = Math.floor(at / this.blockBytes);
      const view = this.dataView(b);
      const n = Math.min(view.length - (at - b * this.blockBytes), length - done);
      out.set(view.subarray(at - b * this.blockBytes, at - b * this.blockBytes + n), done);
      done += n;
    }
    return out;
  }

  // ----- internals -----------------------------------------------------------------------------

  private checkRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || offset + length > this.size) {
      throw new RegionAccessError(this.name, offset, length, this.size);
    }
    if (this.lost) throw new RegionLostError(this.name, 'lost earlier; load() new contents');
  }

  /** Views cached per block, renewed only after core memory grew (growth detaches them). */
  private dataView(b: number): Uint8Array {
    let view = this.dataViews[b];
    if (view === undefined || view.byteLength === 0) this.dataViews[b] = view = this.data[b]!.bytes();
    return view;
  }

  private checkView(b: number): Uint8Array {
    let view = this.checkViews[b];
    if (view === undefined || view.byteLength === 0) this.checkViews[b] = view = this.check[b]!.bytes();
    return view;
  }

  private encodeBlock(b: number): void {
    this.ctx.core.secdedEncode(this.data[b]!, this.check[b]!);
    this.crc[b] = this.ctx.core.crc32c(this.dataView(b));
  }

  private fill(contents: Uint8Array): void {
    for (let b = 0; b < this.blocks; b++) {
      const view = this.dataView(b);
      view.fill(0);
      view.set(contents.subarray(b * this.blockBytes, b * this.blockBytes + view.length));
      this.encodeBlock(b);
    }
  }

  /** Corrects block `b`; the CRC is checked on every scrub (every access with crcOnRead) and whenever SEC-DED found anything. */
  private verifyBlock(b: number, by: VerifiedBy): void {
    const report: SecdedReport = this.ctx.core.secdedCorrect(this.data[b]!, this.check[b]!);
    if (report.errors.length === 0 && by !== 'scrub' && !this.crcOnRead) return;
    if (report.correctable > 0) this.ch.corrected.add(report.correctable);
    let kind: string | undefined;
    let words = report.uncorrectable;
    if (words > 0) {
      kind = report.errors.find((e) => e.kind === 'double' || e.kind === 'multiple')!.kind;
    } else if (this.ctx.core.crc32c(this.dataView(b)) !== this.crc[b]) {
      kind = 'crc';
      words = 1;
      this.ch.crcMismatches.add(1);
    }
    if (kind === undefined) return;
    this.ch.uncorrectable.add(words);
    this.ctx.events.emit(ECC_EVENTS.uncorrectable, { region: this.name, words, block: b, kind, by });
    this.reload();
  }

  private reload(): void {
    if (!this.golden) return this.loseRegion('no golden copy');
    try {
      const { data, repairedSymbols } = this.golden.load();
      if (data.length !== this.size) throw new GoldenCopyError(this.golden.file, `${data.length} bytes for a region of ${this.size}`);
      this.fill(data);
      this.ch.reloads.add(1);
      if (repairedSymbols > 0) this.ctx.events.emit(ECC_EVENTS.goldenRepaired, { region: this.name, symbols: repairedSymbols });
      this.ctx.events.emit(ECC_EVENTS.reloaded, { region: this.name, symbols: repairedSymbols, uncommittedWritesLost: this.dirty });
      this.dirty = false;
    } catch (error) {
      if (!(error instanceof GoldenCopyError)) throw error;
      this.loseRegion(error.reason);
    }
  }

  private loseRegion(reason: string): never {
    this.lost = true;
    this.ch.lost.add(1);
    this.ctx.events.emit(ECC_EVENTS.reloadFailed, { region: this.name, reason });
    if (this.critical) {
      this.ctx.events.emit(ECC_EVENTS.goSafe, { region: this.name });
      this.ctx.goSafe(this.name, reason);
    }
    throw new RegionLostError(this.name, reason);
  }
}
