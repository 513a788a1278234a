// CCSDS Reed-Solomon (255,223) over the core's kernels (flight/core/assembly/rs.ts): argument
// checks, interleaving and erasure bookkeeping in TypeScript, the per-symbol work in WASM.
import { CORE_EVENTS } from './dictionary.js';
import { FecInputError } from './errors.js';
import { SCRATCH_BYTES, type CoreInstance } from './instance.js';

interface RsKernels {
  rsEncode(ptr: number, blocks: number, interleave: number, fill: number, dual: number): void;
  rsDecode(ptr: number, blocks: number, interleave: number, fill: number, dual: number, erasures: number, results: number): number;
}

const RS_ROOTS = 32;
const RS_ERASURE_STRIDE = 33; // count byte + up to 32 positions, per codeword (assembly/rs.ts)
const RS_MAX_CODEWORDS_PER_CHUNK = Math.floor(SCRATCH_BYTES / 255) + 1;
export const RS_INTERLEAVE_DEPTHS: readonly number[] = [1, 2, 3, 4, 5, 8];
/** Largest virtual fill: one data symbol left per codeword. */
export const RS_MAX_FILL = 222;

export type RsBasis = 'conventional' | 'dual';

/** A CCSDS RS(255,223) configuration: basis, interleaving depth I, virtual fill Q. */
export interface RsCode {
  readonly basis: RsBasis;
  readonly interleave: number;
  readonly fill: number;
}

export interface RsDecodeResult {
  /** The code blocks with every correctable codeword corrected (uncorrectable ones as received). */
  readonly codewords: Uint8Array;
  /** The data symbols of each block (its first I x (223 - Q) bytes), parity stripped. */
  readonly data: Uint8Array;
  /** Per codeword (index block * I + codeword in block): symbols corrected, or -1 if uncorrectable. */
  readonly corrected: Int16Array;
  /** Total symbols corrected. */
  readonly correctedSymbols: number;
  /** Indexes of the uncorrectable codewords. */
  readonly uncorrectable: readonly number[];
}

/** The bytes of one code block of `code` and of its data symbols. */
export function rsBlockLength(code: RsCode): number {
  return code.interleave * (255 - code.fill);
}

export function rsDataLength(code: RsCode): number {
  return code.interleave * (255 - RS_ROOTS - code.fill);
}

function checkRsCode(code: RsCode): void {
  if (code.basis !== 'conventional' && code.basis !== 'dual') {
    throw new FecInputError('basis', 'conventional or dual', code.basis);
  }
  if (!RS_INTERLEAVE_DEPTHS.includes(code.interleave)) {
    throw new FecInputError('interleave', `one of ${RS_INTERLEAVE_DEPTHS.join(', ')}`, code.interleave);
  }
  if (!Number.isInteger(code.fill) || code.fill < 0 || code.fill > RS_MAX_FILL) {
    throw new FecInputError('fill', `an integer from 0 to ${RS_MAX_FILL}`, code.fill);
  }
}

export class ReedSolomon {
  private readonly kernels: RsKernels;
  /** Erasure lists and per-codeword results of one scratch chunk of code blocks. */
  private readonly erasureTable: number;
  private readonly results: number;

  constructor(private readonly instance: CoreInstance) {
    this.kernels = instance.kernels<RsKernels>(['rsEncode', 'rsDecode']);
    this.erasureTable = instance.alloc(RS_MAX_CODEWORDS_PER_CHUNK * RS_ERASURE_STRIDE);
    this.results = instance.alloc(RS_MAX_CODEWORDS_PER_CHUNK * 2);
  }

  /**
   * Encodes `data` (a whole number of blocks of I x (223 - Q) data symbols, interleaved as they
   * are transmitted) into code blocks of I x (255 - Q) symbols: the data, then the parity.
   */
  encode(data: Uint8Array, code: RsCode): Uint8Array {
    checkRsCode(code);
    const dataLength = rsDataLength(code);
    const blockLength = rsBlockLength(code);
    if (data.length === 0 || data.length % dataLength !== 0) {
      throw new FecInputError('data', `a whole number of ${dataLength}-byte blocks (I x (223 - Q))`, `${data.length} bytes`);
    }
    const scratch = this.instance.scratch;
    const blocks = data.length / dataLength;
    const out = new Uint8Array(blocks * blockLength);
    const perChunk = Math.floor(SCRATCH_BYTES / blockLength);
    for (let first = 0; first < blocks; first += perChunk) {
      const count = Math.min(perChunk, blocks - first);
      let heap = this.instance.memory();
      for (let b = 0; b < count; b++) {
        heap.set(data.subarray((first + b) * dataLength, (first + b + 1) * dataLength), scratch + b * blockLength);
      }
      this.kernels.rsEncode(scratch, count, code.interleave, code.fill, code.basis === 'dual' ? 1 : 0);
      heap = this.instance.memory();
      out.set(heap.subarray(scratch, scratch + count * blockLength), first * blockLength);
    }
    return out;
  }

  /**
   * Decodes received code blocks (a whole number of I x (255 - Q) bytes). `erasures` are byte
   * indexes into `received` that the demodulator marked unreliable; each codeword corrects
   * e errors and f erasures when 2e + f <= 32. The input is not modified. A codeword that cannot
   * be corrected is reported and returned as received: never as a word that fails its syndromes.
   */
  decode(received: Uint8Array, code: RsCode, erasures: readonly number[] = []): RsDecodeResult {
    checkRsCode(code);
    const blockLength = rsBlockLength(code);
    const dataLength = rsDataLength(code);
    if (received.length === 0 || received.length % blockLength !== 0) {
      throw new FecInputError('received', `a whole number of ${blockLength}-byte code blocks (I x (255 - Q))`, `${received.length} bytes`);
    }
    const scratch = this.instance.scratch;
    const blocks = received.length / blockLength;
    const I = code.interleave;
    const total = blocks * I;
    const erased = erasureLists(erasures, received.length, blockLength, I);
    const codewords = new Uint8Array(received.length);
    const data = new Uint8Array(blocks * dataLength);
    const corrected = new Int16Array(total);
    const perChunk = Math.floor(SCRATCH_BYTES / blockLength);
    for (let first = 0; first < blocks; first += perChunk) {
      const count = Math.min(perChunk, blocks - first);
      let heap = this.instance.memory();
      heap.set(received.subarray(first * blockLength, (first + count) * blockLength), scratch);
      let table = 0;
      if (erased.size > 0) {
        table = this.erasureTable;
        heap.fill(0, table, table + count * I * RS_ERASURE_STRIDE);
        for (let c = 0; c < count * I; c++) {
          const list = erased.get(first * I + c);
          if (!list) continue;
          heap[table + c * RS_ERASURE_STRIDE] = list.length;
          heap.set(list, table + c * RS_ERASURE_STRIDE + 1);
        }
      }
      this.kernels.rsDecode(scratch, count, I, code.fill, code.basis === 'dual' ? 1 : 0, table, this.results);
      heap = this.instance.memory();
      codewords.set(heap.subarray(scratch, scratch + count * blockLength), first * blockLength);
      corrected.set(new Int16Array(heap.buffer, this.results, count * I), first * I);
    }
    for (let b = 0; b < blocks; b++) {
      data.set(codewords.subarray(b * blockLength, b * blockLength + dataLength), b * dataLength);
    }
    const uncorrectable: number[] = [];
    let correctedSymbols = 0;
    corrected.forEach((n, c) => (n < 0 ? uncorrectable.push(c) : (correctedSymbols += n)));
    const telemetry = this.instance.telemetry;
    if (telemetry) {
      const { channels, events } = telemetry;
      channels.rsCodewords.add(total);
      channels.rsCorrectedSymbols.add(correctedSymbols);
      if (uncorrectable.length > 0) {
        channels.rsUncorrectable.add(uncorrectable.length);
        events?.emit(CORE_EVENTS.rsUncorrectable, {
          count: uncorrectable.length, codewords: total, basis: code.basis, interleave: I, fill: code.fill,
        });
      }
    }
    return { codewords, data, corrected, correctedSymbols, uncorrectable };
  }
}

/** Erasure byte indexes -> per codeword (block * I + w) the positions within the codeword. */
function erasureLists(erasures: readonly number[], length: number, blockLength: number, I: number): Map<number, number[]> {
  const lists = new Map<number, number[]>();
  const seen = new Set<number>();
  for (const index of erasures) {
    if (!Number.isInteger(index) || index < 0 || index >= length) {
      throw new FecInputError('erasures', `symbol indexes from 0 to ${length - 1}`, index);
    }
    if (seen.has(index)) throw new FecInputError('erasures', 'each symbol index once', index);
    seen.add(index);
    const inBlock = index % blockLength;
    const codeword = Math.floor(index / blockLength) * I + (inBlock % I);
    const list = lists.get(codeword) ?? [];
    list.push(Math.floor(inBlock / I));
    if (list.length > RS_ROOTS) {
      throw new FecInputError('erasures', `at most ${RS_ROOTS} per codeword`, `more in codeword ${codeword}`);
    }
    lists.set(codeword, list);
  }
  return lists;
}
