// The one module that loads the Tern WASM core (compiled from flight/core/assembly). The rest of
// the code sees typed functions over Uint8Arrays; pointers never leave this file.
//
// Memory: the core runs the stub runtime (nothing is ever freed), so every working buffer is
// reserved once, at construction or at the first use of a feature, and reused. Data crosses the
// boundary in bulk: inputs are copied through those buffers chunk by chunk, or live in core
// memory already (a CoreBuffer from `reserve`), in which case kernels work on them in place.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instantiateSync } from '@assemblyscript/loader';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { CORE_CHANNELS, CORE_EVENTS } from './dictionary.js';
import { FecInputError } from './errors.js';

/** Raw exports of the core, as declared in flight/core/assembly/index.ts. */
interface CoreExports extends Record<string, unknown> {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  crc32cUpdate(crc: number, ptr: number, len: number): number;
  crc16X25Update(crc: number, ptr: number, len: number): number;
  rsEncode(ptr: number, blocks: number, interleave: number, fill: number, dual: number): void;
  rsDecode(ptr: number, blocks: number, interleave: number, fill: number, dual: number, erasures: number, results: number): number;
  erasureParityMatrix(k: number, m: number, out: number): void;
  erasureRebuildMatrix(k: number, parity: number, present: number, wanted: number, wantedCount: number, out: number, work: number): number;
  erasureApply(coeffs: number, rows: number, cols: number, sources: number, targets: number, len: number): void;
  secdedEncode(data: number, check: number, words: number): void;
  secdedScan(data: number, check: number, words: number, correct: number, report: number): number;
}

/** Bytes moved into the core per kernel call; larger inputs are fed in chunks. */
const SCRATCH_BYTES = 64 * 1024;
/** Erasure coding works on (k + m) shard slices of at most this many bytes each... */
const ERASURE_SLICE_BYTES = 16 * 1024;
/** ...within this much scratch, so the working set of one kernel call stays in L2. */
const ERASURE_SCRATCH_BYTES = 1024 * 1024;
const MAX_SHARDS = 255;
/** asconfig.json "maximumMemory": 1024 pages of 64 KiB. */
const MAX_MEMORY_BYTES = 1024 * 65536;
/** Rebuild matrices kept per erasure code (least recently used dropped first). */
const REBUILD_CACHE_SIZE = 64;

const RS_ROOTS = 32;
const RS_ERASURE_STRIDE = 33; // count byte + up to 32 positions, per codeword (assembly/rs.ts)
const RS_MAX_CODEWORDS_PER_CHUNK = Math.floor(SCRATCH_BYTES / 255) + 1;
export const RS_INTERLEAVE_DEPTHS: readonly number[] = [1, 2, 3, 4, 5, 8];
/** Largest virtual fill: one data symbol left per codeword. */
export const RS_MAX_FILL = 222;

const SECDED_REPORT_ENTRY = 8; // u32 word, u32 meaning (assembly/secded.ts)
const SECDED_DOUBLE = 0xfe;

// The smallest module using a v128 instruction: validates only where the engine has SIMD.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62,
  0x0b,
]);

export function engineHasSimd(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

/** dist/core under the package root; found by walking up so it works from source and from dist. */
function coreDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'core');
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tern: package root not found above flight/core');
    dir = parent;
  }
}

export type CoreVariant = 'simd' | 'scalar';

/** Bytes in core memory, reserved once and processed in place (no copy). */
export class CoreBuffer {
  constructor(
    owner: Core,
    private readonly view: (address: number, length: number) => Uint8Array,
    private readonly address: number,
    readonly length: number,
  ) {
    placements.set(this, { owner, address });
  }

  /** A view of the bytes, renewed after memory growth: take a fresh one after other core calls. */
  bytes(): Uint8Array {
    return this.view(this.address, this.length);
  }
}
/** Where each CoreBuffer lives; kept out of the class so no address leaves this module. */
const placements = new WeakMap<CoreBuffer, { owner: Core; address: number }>();

/** What kernels accept: caller memory (copied through core scratch) or core memory (in place). */
export type Bytes = Uint8Array | CoreBuffer;

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

export type SecdedErrorKind = 'data' | 'check' | 'double' | 'multiple';

export interface SecdedError {
  /** Index of the 64-bit word (data offset word * 8, check byte offset word). */
  readonly word: number;
  /** A single-bit error in the data or the check byte, a double-bit error, or an error pattern
   *  of three or more bits whose syndrome names no bit. */
  readonly kind: SecdedErrorKind;
  /** For data and check errors: the bit (data: 0..63 = 8 * byte + bit in byte; check: 0..7). */
  readonly bit?: number;
}

export interface SecdedReport {
  readonly words: number;
  /** Single-bit errors found (and, for correct(), corrected). */
  readonly correctable: number;
  /** Words with double-bit or worse errors (never changed). */
  readonly uncorrectable: number;
  readonly errors: readonly SecdedError[];
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

interface Telemetry {
  channels: Record<keyof typeof CORE_CHANNELS, Channel>;
  events: EventLog | undefined;
}

/** Working buffers of one feature, reserved at its first use. */
interface RsBuffers { erasures: number; results: number }
interface ErasureBuffers { scratch: number; coeffs: number; work: number; sources: number; targets: number; present: number; wanted: number }
interface SecdedBuffers { check: number; report: number }

export class Core {
  readonly variant: CoreVariant;
  private readonly raw: CoreExports;
  private readonly scratch: number;
  private heap: Uint8Array;
  private rsBuffers: RsBuffers | undefined;
  private erasureBuffers: ErasureBuffers | undefined;
  private secdedBuffers: SecdedBuffers | undefined;
  private telemetry: Telemetry | undefined;

  constructor(variant: CoreVariant = engineHasSimd() ? 'simd' : 'scalar') {
    const file = join(coreDirectory(), variant === 'simd' ? 'tern.wasm' : 'tern-scalar.wasm');
    if (!existsSync(file)) {
      throw new Error(`tern: WASM core ${file} is missing; run \`npm run build\``);
    }
    this.variant = variant;
    this.raw = instantiateSync<CoreExports>(readFileSync(file), {}).exports;
    this.scratch = this.raw.alloc(SCRATCH_BYTES);
    this.heap = new Uint8Array(this.raw.memory.buffer);
  }

  /** A view of linear memory, renewed if the memory grew (growth detaches old views). */
  private memory(): Uint8Array {
    if (this.heap.buffer !== this.raw.memory.buffer) {
      this.heap = new Uint8Array(this.raw.memory.buffer);
    }
    return this.heap;
  }

  private readonly view = (address: number, length: number): Uint8Array =>
    this.memory().subarray(address, address + length);

  /** Address of byte `at` of a CoreBuffer, which must be this core's. */
  private addressOf(b: CoreBuffer, at: number): number {
    const placement = placements.get(b)!;
    if (placement.owner !== this) throw new FecInputError('buffer', 'a CoreBuffer reserved from the same Core', 'one of another Core');
    return placement.address + at;
  }

  private writeU32(address: number, values: readonly number[]): void {
    const data = new DataView(this.memory().buffer);
    values.forEach((value, i) => data.setUint32(address + 4 * i, value, true));
  }

  /** Counts into `tlm` (CORE_CHANNELS) and reports through `events` from now on. */
  bindTelemetry(tlm: TelemetryRegistry, events?: EventLog): void {
    this.telemetry = { channels: tlm.defineAll(CORE_CHANNELS), events };
  }

  /** Reserves `length` bytes of core memory for data that kernels should process in place.
   *  Never freed: reserve at initialisation, not per use. */
  reserve(length: number): CoreBuffer {
    if (!Number.isInteger(length) || length <= 0) throw new FecInputError('length', 'a positive integer', length);
    let address: number;
    try {
      address = this.raw.alloc(length);
    } catch (error) {
      // The stub runtime traps when memory cannot grow; nothing was reserved.
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      throw new FecInputError('length', `at most the free core memory (${MAX_MEMORY_BYTES} bytes in all)`, length);
    }
    return new CoreBuffer(this, this.view, address, length);
  }

  private feed(data: Uint8Array, register: number, update: (crc: number, ptr: number, len: number) => number): number {
    const heap = this.memory();
    for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
      const chunk = data.subarray(at, at + SCRATCH_BYTES);
      heap.set(chunk, this.scratch);
      register = update(register, this.scratch, chunk.length);
    }
    return register;
  }

  /** CRC-32C (Castagnoli), as BPv7 CRC type 2 uses it. */
  crc32c(data: Uint8Array): number {
    return (this.feed(data, 0xffffffff, this.raw.crc32cUpdate) ^ 0xffffffff) >>> 0;
  }

  /** CRC-16/X.25, as BPv7 CRC type 1 uses it. */
  crc16X25(data: Uint8Array): number {
    return (this.feed(data, 0xffff, this.raw.crc16X25Update) ^ 0xffff) & 0xffff;
  }

  // -------------------------------------------------------------------------------------------
  // CCSDS Reed-Solomon (255,223)

  private rs(): RsBuffers {
    this.rsBuffers ??= {
      erasures: this.raw.alloc(RS_MAX_CODEWORDS_PER_CHUNK * RS_ERASURE_STRIDE),
      results: this.raw.alloc(RS_MAX_CODEWORDS_PER_CHUNK * 2),
    };
    return this.rsBuffers;
  }

  /**
   * Encodes `data` (a whole number of blocks of I x (223 - Q) data symbols, interleaved as they
   * are transmitted) into code blocks of I x (255 - Q) symbols: the data, then the parity.
   */
  rsEncode(data: Uint8Array, code: RsCode): Uint8Array {
    checkRsCode(code);
    const dataLength = rsDataLength(code);
    const blockLength = rsBlockLength(code);
    if (data.length === 0 || data.length % dataLength !== 0) {
      throw new FecInputError('data', `a whole number of ${dataLength}-byte blocks (I x (223 - Q))`, `${data.length} bytes`);
    }
    const blocks = data.length / dataLength;
    const out = new Uint8Array(blocks * blockLength);
    const perChunk = Math.floor(SCRATCH_BYTES / blockLength);
    for (let first = 0; first < blocks; first += perChunk) {
      const count = Math.min(perChunk, blocks - first);
      let heap = this.memory();
      for (let b = 0; b < count; b++) {
        heap.set(data.subarray((first + b) * dataLength, (first + b + 1) * dataLength), this.scratch + b * blockLength);
      }
      this.raw.rsEncode(this.scratch, count, code.interleave, code.fill, code.basis === 'dual' ? 1 : 0);
      heap = this.memory();
      out.set(heap.subarray(this.scratch, this.scratch + count * blockLength), first * blockLength);
    }
    return out;
  }

  /**
   * Decodes received code blocks (a whole number of I x (255 - Q) bytes). `erasures` are byte
   * indexes into `received` that the demodulator marked unreliable; each codeword corrects
   * e errors and f erasures when 2e + f <= 32. The input is not modified. A codeword that cannot
   * be corrected is reported and returned as received: never as a word that fails its syndromes.
   */
  rsDecode(received: Uint8Array, code: RsCode, erasures: readonly number[] = []): RsDecodeResult {
    checkRsCode(code);
    const blockLength = rsBlockLength(code);
    const dataLength = rsDataLength(code);
    if (received.length === 0 || received.length % blockLength !== 0) {
      throw new FecInputError('received', `a whole number of ${blockLength}-byte code blocks (I x (255 - Q))`, `${received.length} bytes`);
    }
    const blocks = received.length / blockLength;
    const I = code.interleave;
    const total = blocks * I;
    const erased = this.erasureLists(erasures, received.length, blockLength, I);
    const buffers = this.rs();
    const codewords = new Uint8Array(received.length);
    const data = new Uint8Array(blocks * dataLength);
    const corrected = new Int16Array(total);
    const perChunk = Math.floor(SCRATCH_BYTES / blockLength);
    for (let first = 0; first < blocks; first += perChunk) {
      const count = Math.min(perChunk, blocks - first);
      let heap = this.memory();
      heap.set(received.subarray(first * blockLength, (first + count) * blockLength), this.scratch);
      let table = 0;
      if (erased.size > 0) {
        table = buffers.erasures;
        heap.fill(0, table, table + count * I * RS_ERASURE_STRIDE);
        for (let c = 0; c < count * I; c++) {
          const list = erased.get(first * I + c);
          if (!list) continue;
          heap[table + c * RS_ERASURE_STRIDE] = list.length;
          heap.set(list, table + c * RS_ERASURE_STRIDE + 1);
        }
      }
      this.raw.rsDecode(this.scratch, count, I, code.fill, code.basis === 'dual' ? 1 : 0, table, buffers.results);
      heap = this.memory();
      codewords.set(heap.subarray(this.scratch, this.scratch + count * blockLength), first * blockLength);
      corrected.set(new Int16Array(heap.buffer, buffers.results, count * I), first * I);
    }
    for (let b = 0; b < blocks; b++) {
      data.set(codewords.subarray(b * blockLength, b * blockLength + dataLength), b * dataLength);
    }
    const uncorrectable: number[] = [];
    let correctedSymbols = 0;
    corrected.forEach((n, c) => (n < 0 ? uncorrectable.push(c) : (correctedSymbols += n)));
    if (this.telemetry) {
      const { channels, events } = this.telemetry;
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

  /** Erasure byte indexes -> per codeword (block * I + w) the positions within the codeword. */
  private erasureLists(erasures: readonly number[], length: number, blockLength: number, I: number): Map<number, number[]> {
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

  // -------------------------------------------------------------------------------------------
  // Erasure coding

  /** A systematic MDS erasure code with k data and m parity shards, k + m <= 255. */
  erasureCode(dataShards: number, parityShards: number): ErasureCode {
    if (!Number.isInteger(dataShards) || dataShards < 1 || dataShards >= MAX_SHARDS) {
      throw new FecInputError('dataShards', `an integer from 1 to ${MAX_SHARDS - 1}`, dataShards);
    }
    if (!Number.isInteger(parityShards) || parityShards < 1 || dataShards + parityShards > MAX_SHARDS) {
      throw new FecInputError('parityShards', `an integer from 1 to ${MAX_SHARDS - dataShards}`, parityShards);
    }
    const buffers = this.erasure();
    this.raw.erasureParityMatrix(dataShards, parityShards, buffers.coeffs);
    const parity = this.memory().slice(buffers.coeffs, buffers.coeffs + dataShards * parityShards);
    return new ErasureCode(this.erasureOps, dataShards, parityShards, parity);
  }

  private erasure(): ErasureBuffers {
    this.erasureBuffers ??= {
      scratch: this.raw.alloc(ERASURE_SCRATCH_BYTES),
      coeffs: this.raw.alloc(MAX_SHARDS * MAX_SHARDS),
      work: this.raw.alloc(2 * MAX_SHARDS * MAX_SHARDS),
      sources: this.raw.alloc(4 * MAX_SHARDS),
      targets: this.raw.alloc(4 * MAX_SHARDS),
      present: this.raw.alloc(MAX_SHARDS),
      wanted: this.raw.alloc(MAX_SHARDS),
    };
    return this.erasureBuffers;
  }

  private readonly erasureOps: ErasureOps = {
    rebuildMatrix: (k, parity, present, wanted) => {
      const buffers = this.erasure();
      const heap = this.memory();
      heap.set(parity, buffers.coeffs);
      heap.set(present, buffers.present);
      heap.set(wanted, buffers.wanted);
      const out = buffers.coeffs + parity.length;
      if (!this.raw.erasureRebuildMatrix(k, buffers.coeffs, buffers.present, buffers.wanted, wanted.length, out, buffers.work)) {
        throw new Error(`erasure code: rows ${present.join(',')} singular; the code is not MDS`);
      }
      return this.memory().slice(out, out + wanted.length * k);
    },
    apply: (coeffs, sources, targets) => this.applyMatrix(coeffs, sources, targets),
    rebuilt: (count) => this.telemetry?.channels.erasureRebuilds.add(count),
  };

  /** targets[r] = sum over s of coeffs[r][s] * sources[s], in slices that fit the scratch. */
  private applyMatrix(coeffs: Uint8Array, sources: readonly Bytes[], targets: readonly Bytes[]): void {
    const buffers = this.erasure();
    const length = sources[0]!.length;
    const copied = [...sources, ...targets].filter((b) => b instanceof Uint8Array).length;
    const slice = copied === 0 ? length : Math.min(
      ERASURE_SLICE_BYTES,
      Math.floor(ERASURE_SCRATCH_BYTES / copied / 64) * 64,
    );
    this.memory().set(coeffs, buffers.coeffs);
    for (let at = 0; at < length; at += slice) {
      const n = Math.min(slice, length - at);
      let heap = this.memory();
      let slot = buffers.scratch;
      const place = (b: Bytes, input: boolean): number => {
        if (!(b instanceof Uint8Array)) return this.addressOf(b, at);
        const address = slot;
        slot += n;
        if (input) heap.set(b.subarray(at, at + n), address);
        return address;
      };
      const sourceAddresses = sources.map((b) => place(b, true));
      const targetAddresses = targets.map((b) => place(b, false));
      this.writeU32(buffers.sources, sourceAddresses);
      this.writeU32(buffers.targets, targetAddresses);
      this.raw.erasureApply(buffers.coeffs, targets.length, sources.length, buffers.sources, buffers.targets, n);
      heap = this.memory();
      targets.forEach((b, r) => {
        if (b instanceof Uint8Array) b.set(heap.subarray(targetAddresses[r]!, targetAddresses[r]! + n), at);
      });
    }
  }

  // -------------------------------------------------------------------------------------------
  // SEC-DED EDAC, Hamming (72,64): one check byte per 8-byte word

  private secded(): SecdedBuffers {
    this.secdedBuffers ??= {
      check: this.raw.alloc(SCRATCH_BYTES / 8),
      report: this.raw.alloc((SCRATCH_BYTES / 8) * SECDED_REPORT_ENTRY),
    };
    return this.secdedBuffers;
  }

  private checkSecdedArgs(data: Bytes, check: Bytes): void {
    if (data.length % 8 !== 0) throw new FecInputError('data', 'a whole number of 8-byte words', `${data.length} bytes`);
    if (check.length !== data.length / 8) {
      throw new FecInputError('check', `one check byte per word (${data.length / 8} bytes)`, `${check.length} bytes`);
    }
  }

  /** Address of `b[at, at + n)` in core memory: in place for a CoreBuffer, else copied to `slot`. */
  private stage(b: Bytes, at: number, n: number, slot: number): number {
    if (!(b instanceof Uint8Array)) return this.addressOf(b, at);
    this.memory().set(b.subarray(at, at + n), slot);
    return slot;
  }

  /** Computes the check bytes of `data` into `check` (data.length / 8 bytes). */
  secdedEncode(data: Bytes, check: Bytes): void {
    this.checkSecdedArgs(data, check);
    const buffers = this.secded();
    for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
      const n = Math.min(SCRATCH_BYTES, data.length - at);
      const source = this.stage(data, at, n, this.scratch);
      const target = check instanceof Uint8Array ? buffers.check : this.addressOf(check, at / 8);
      this.raw.secdedEncode(source, target, n / 8);
      if (check instanceof Uint8Array) check.set(this.view(target, n / 8), at / 8);
    }
  }

  /** Checks `data` against `check` and reports every word in error; changes nothing. */
  secdedCheck(data: Bytes, check: Bytes): SecdedReport {
    return this.secdedScan(data, check, false);
  }

  /** As secdedCheck, and flips every single-bit error (in data or check byte) back in place. */
  secdedCorrect(data: Bytes, check: Bytes): SecdedReport {
    return this.secdedScan(data, check, true);
  }

  private secdedScan(data: Bytes, check: Bytes, correct: boolean): SecdedReport {
    this.checkSecdedArgs(data, check);
    const buffers = this.secded();
    const errors: SecdedError[] = [];
    for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
      const n = Math.min(SCRATCH_BYTES, data.length - at);
      const source = this.stage(data, at, n, this.scratch);
      const checks = this.stage(check, at / 8, n / 8, buffers.check);
      const entries = this.raw.secdedScan(source, checks, n / 8, 0, buffers.report);
      if (entries === 0) continue;
      const report = new DataView(this.memory().buffer, buffers.report, entries * SECDED_REPORT_ENTRY);
      for (let e = 0; e < entries; e++) {
        const word = at / 8 + report.getUint32(e * SECDED_REPORT_ENTRY, true);
        const meaning = report.getUint32(e * SECDED_REPORT_ENTRY + 4, true);
        if (meaning < 64) errors.push({ word, kind: 'data', bit: meaning });
        else if (meaning < 72) errors.push({ word, kind: 'check', bit: meaning - 64 });
        else errors.push({ word, kind: meaning === SECDED_DOUBLE ? 'double' : 'multiple' });
      }
    }
    if (correct) {
      for (const e of errors) {
        if (e.kind === 'data') flipBit(data, e.word * 8 + (e.bit! >> 3), e.bit! & 7);
        else if (e.kind === 'check') flipBit(check, e.word, e.bit!);
      }
    }
    const correctable = errors.filter((e) => e.kind === 'data' || e.kind === 'check').length;
    const uncorrectable = errors.length - correctable;
    if (this.telemetry) {
      const { channels, events } = this.telemetry;
      if (correct) channels.edacCorrected.add(correctable);
      if (uncorrectable > 0) {
        channels.edacUncorrectable.add(uncorrectable);
        const first = errors.find((e) => e.kind === 'double' || e.kind === 'multiple')!;
        events?.emit(CORE_EVENTS.edacUncorrectable, { count: uncorrectable, word: first.word, kind: first.kind });
      }
    }
    return { words: data.length / 8, correctable, uncorrectable, errors };
  }
}

function flipBit(b: Bytes, offset: number, bit: number): void {
  const bytes = b instanceof Uint8Array ? b : b.bytes();
  bytes[offset]! ^= 1 << bit;
}

/** What an ErasureCode needs from its Core (kept narrow so no pointer reaches the code). */
interface ErasureOps {
  rebuildMatrix(k: number, parity: Uint8Array, present: Uint8Array, wanted: Uint8Array): Uint8Array;
  apply(coeffs: Uint8Array, sources: readonly Bytes[], targets: readonly Bytes[]): void;
  rebuilt(count: number): void;
}

/**
 * A systematic MDS erasure code over GF(2^8): shards 0..k-1 are the data as it is, shards
 * k..k+m-1 parity. Any k shards rebuild the others. Shards may be of any (equal) length.
 */
export class ErasureCode {
  private readonly rebuildMatrices = new Map<string, Uint8Array>();

  constructor(
    private readonly ops: ErasureOps,
    readonly dataShards: number,
    readonly parityShards: number,
    /** The m x k parity matrix: parity[i][j] = (k xor j) / ((k + i) xor j), row 0 all ones. */
    private readonly parity: Uint8Array,
  ) {}

  private checkShards(shards: readonly Bytes[]): void {
    const total = this.dataShards + this.parityShards;
    if (shards.length !== total) throw new FecInputError('shards', `${total} shards (k + m)`, shards.length);
    const length = shards[0]!.length;
    if (length === 0) throw new FecInputError('shards', 'shards of at least one byte', 0);
    shards.forEach((s, i) => {
      if (s.length !== length) throw new FecInputError(`shards[${i}]`, `${length} bytes like shard 0`, `${s.length} bytes`);
    });
  }

  /** Computes the parity shards (k..k+m-1, overwritten) from the data shards (0..k-1). */
  encode(shards: readonly Bytes[]): void {
    this.checkShards(shards);
    this.ops.apply(this.parity, shards.slice(0, this.dataShards), shards.slice(this.dataShards));
  }

  /** Rebuilds the shards listed in `lost` (overwritten) from the first k of the others. */
  rebuild(shards: readonly Bytes[], lost: readonly number[]): void {
    this.checkShards(shards);
    const total = this.dataShards + this.parityShards;
    const wanted = [...new Set(lost)].sort((a, b) => a - b);
    if (wanted.length !== lost.length || wanted.some((i) => !Number.isInteger(i) || i < 0 || i >= total)) {
      throw new FecInputError('lost', `distinct shard indexes from 0 to ${total - 1}`, lost);
    }
    if (wanted.length > this.parityShards) {
      throw new FecInputError('lost', `at most ${this.parityShards} shards (m)`, `${wanted.length} shards`);
    }
    if (wanted.length === 0) return;
    const present: number[] = [];
    for (let i = 0; present.length < this.dataShards; i++) if (!wanted.includes(i)) present.push(i);
    const coeffs = this.rebuildMatrix(wanted, present);
    this.ops.apply(coeffs, present.map((i) => shards[i]!), wanted.map((i) => shards[i]!));
    this.ops.rebuilt(wanted.length);
  }

  /** The matrix for one erasure pattern, cached: rebuilding the same losses again is common. */
  private rebuildMatrix(wanted: readonly number[], present: readonly number[]): Uint8Array {
    const key = wanted.join(',');
    let coeffs = this.rebuildMatrices.get(key);
    if (coeffs) {
      this.rebuildMatrices.delete(key);
    } else {
      coeffs = this.ops.rebuildMatrix(this.dataShards, this.parity, Uint8Array.from(present), Uint8Array.from(wanted));
      if (this.rebuildMatrices.size >= REBUILD_CACHE_SIZE) {
        this.rebuildMatrices.delete(this.rebuildMatrices.keys().next().value!);
      }
    }
    this.rebuildMatrices.set(key, coeffs);
    return coeffs;
  }

  /** Cached rebuild matrices (for tests and housekeeping). */
  get cachedPatterns(): number {
    return this.rebuildMatrices.size;
  }
}

let shared: Core | undefined;

/** The process-wide core, instantiated on first use. */
export function core(): Core {
  shared ??= new Core();
  return shared;
}
