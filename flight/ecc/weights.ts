// A loaded model's weights, protected in place. The kernels read the constants of a network
// (prepacked filters, biases, requantisation, parameter blocks) straight from the inference
// core's memory, so a region of our own would protect a copy nobody reads. Instead the check bits
// (SEC-DED per 8-byte word) and a CRC-32C per block live here, in the ecc core, apart from the
// bytes; the scrubber copies each block out, corrects it against them and writes a corrected
// block back. A block beyond SEC-DED (double, multiple, or a CRC mismatch) reloads the model from
// its verified .tern file, which installs a new model and with it a new ProtectedWeights.
import type { Core, CoreBuffer } from '../core/wasm.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { ECC_EVENTS, type regionChannels } from './dictionary.js';
import type { Scrubbed } from './memory.js';
import type { UpsetTarget } from './target.js';

/** The constants of a loaded model as protected memory sees them (LoadedModel.constants). */
export interface WeightBytes {
  readonly length: number;
  read(offset: number, length: number): Uint8Array;
  write(offset: number, bytes: Uint8Array): void;
}

export const WEIGHTS_REGION = 'model-weights';

/** What checking one block found: nothing, single-bit errors corrected in place, or damage
 *  beyond SEC-DED (the model was reloaded from its file). */
export type BlockCheck = 'clean' | 'corrected' | 'reloaded';

export class ProtectedWeights implements Scrubbed, UpsetTarget {
  readonly name = WEIGHTS_REGION;
  readonly bitsPerCodeword = 72;
  readonly segments = 1;
  readonly blocks: number;
  readonly codewords: number;
  private readonly check: CoreBuffer[] = [];
  /** Where a block is corrected: one for whole blocks, one for a shorter last block. */
  private readonly scratch: CoreBuffer[] = [];
  private readonly crc: Uint32Array;

  constructor(
    private readonly core: Core,
    private readonly ch: Record<keyof ReturnType<typeof regionChannels>, Channel>,
    private readonly events: EventLog,
    private weights: WeightBytes,
    /** Reloads the model from its verified file (a new model, protected anew). */
    private reload: () => void,
    readonly blockBytes = 4096,
  ) {
    if (weights.length % 8 !== 0) throw new Error(`model weights: ${weights.length} bytes is not a whole number of 8-byte words`);
    this.blocks = Math.ceil(weights.length / blockBytes);
    this.codewords = weights.length / 8;
    this.crc = new Uint32Array(this.blocks);
    const lengths = [...new Set([Math.min(blockBytes, weights.length), this.blockLength(this.blocks - 1)])];
    for (const length of lengths) this.scratch.push(core.reserve(length));
    for (let b = 0; b < this.blocks; b++) this.check.push(core.reserve(this.blockLength(b) / 8));
    this.encode();
  }

  /**
   * Protects another model's constants of the same length (the same model loaded again from its
   * file) with this one's check bits, so a reload takes no more core memory, which is never freed.
   */
  rebind(weights: WeightBytes, reload: () => void): void {
    if (weights.length !== this.weights.length) throw new Error(`model weights: ${weights.length} bytes to protect in place of ${this.weights.length}`);
    this.weights = weights;
    this.reload = reload;
    this.encode();
  }

  /**
   * Computes check bits and CRCs from the bytes as they are now: after the same model's bytes
   * were written back whole (a reload in place), without taking more core memory.
   */
  encode(): void {
    for (let b = 0; b < this.blocks; b++) {
      const data = this.load(b);
      this.core.secdedEncode(data, this.check[b]!);
      this.crc[b] = this.core.crc32c(data.bytes());
    }
  }

  blockLength(b: number): number {
    return Math.min(this.blockBytes, this.weights.length - b * this.blockBytes);
  }

  /** Corrects block `b` in the inference core; an uncorrectable block reloads the model. The
   *  scrubber ignores the outcome; the inference task's check before a run counts it. */
  scrubBlock(b: number): BlockCheck {
    const data = this.load(b);
    const report = this.core.secdedCorrect(data, this.check[b]!);
    const view = data.bytes();
    let kind: string | undefined;
    if (report.uncorrectable > 0) kind = report.errors.find((e) => e.kind === 'double' || e.kind === 'multiple')!.kind;
    else if (this.core.crc32c(view) !== this.crc[b]) {
      kind = 'crc';
      this.ch.crcMismatches.add(1);
    }
    if (kind !== undefined) {
      this.ch.uncorrectable.add(Math.max(1, report.uncorrectable));
      this.events.emit(ECC_EVENTS.uncorrectable, { region: this.name, words: Math.max(1, report.uncorrectable), block: b, kind, by: 'scrub' });
      this.reload();
      this.ch.reloads.add(1);
      this.events.emit(ECC_EVENTS.reloaded, { region: this.name, symbols: 0, uncommittedWritesLost: false });
      return 'reloaded';
    }
    if (report.correctable === 0) return 'clean';
    this.ch.corrected.add(report.correctable);
    this.weights.write(b * this.blockBytes, view);
    return 'corrected';
  }

  /** Flips bit `bit` of codeword `word` (fault injection): 0..63 in the model's bytes, 64..71 a check bit. */
  flip(word: number, bit: number): void {
    if (bit >= 64) {
      const b = Math.floor((word * 8) / this.blockBytes);
      this.check[b]!.bytes()[word - (b * this.blockBytes) / 8]! ^= 1 << (bit - 64);
      return;
    }
    const at = word * 8 + (bit >> 3);
    const byte = this.weights.read(at, 1);
    byte[0]! ^= 1 << (bit & 7);
    this.weights.write(at, byte);
  }

  /** Block `b` of the model's bytes copied into a scratch buffer of the ecc core. */
  private load(b: number): CoreBuffer {
    const length = this.blockLength(b);
    const buffer = this.scratch.find((s) => s.length === length)!;
    buffer.bytes().set(this.weights.read(b * this.blockBytes, length));
    return buffer;
  }
}
