// SEC-DED EDAC, Hamming (72,64): one check byte per 8-byte word, over the core's kernels
// (flight/core/assembly/secded.ts). The kernels scan; corrections are applied here, from the report.
import { CORE_EVENTS } from './dictionary.js';
import { FecInputError } from './errors.js';
import { SCRATCH_BYTES, type Bytes, type CoreInstance } from './instance.js';

interface SecdedKernels {
  secdedEncode(data: number, check: number, words: number): void;
  secdedScan(data: number, check: number, words: number, correct: number, report: number): number;
}

const SECDED_REPORT_ENTRY = 8; // u32 word, u32 meaning (assembly/secded.ts)
const SECDED_DOUBLE = 0xfe;

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

function checkArgs(data: Bytes, check: Bytes): void {
  if (data.length % 8 !== 0) throw new FecInputError('data', 'a whole number of 8-byte words', `${data.length} bytes`);
  if (check.length !== data.length / 8) {
    throw new FecInputError('check', `one check byte per word (${data.length / 8} bytes)`, `${check.length} bytes`);
  }
}

export class Secded {
  private readonly kernels: SecdedKernels;
  /** Check bytes and the report of one scratch chunk of data. */
  private readonly check: number;
  private readonly report: number;

  constructor(private readonly instance: CoreInstance) {
    this.kernels = instance.kernels<SecdedKernels>(['secdedEncode', 'secdedScan']);
    this.check = instance.alloc(SCRATCH_BYTES / 8);
    this.report = instance.alloc((SCRATCH_BYTES / 8) * SECDED_REPORT_ENTRY);
  }

  /** Computes the check bytes of `data` into `check` (data.length / 8 bytes). */
  encode(data: Bytes, check: Bytes): void {
    checkArgs(data, check);
    for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
      const n = Math.min(SCRATCH_BYTES, data.length - at);
      const source = this.instance.stage(data, at, n, this.instance.scratch);
      const target = check instanceof Uint8Array ? this.check : this.instance.addressOf(check, at / 8);
      this.kernels.secdedEncode(source, target, n / 8);
      if (check instanceof Uint8Array) check.set(this.instance.view(target, n / 8), at / 8);
    }
  }

  /** Checks `data` against `check` and reports every word in error; with `correct`, also flips
   *  every single-bit error (in data or check byte) back in place. */
  scan(data: Bytes, check: Bytes, correct: boolean): SecdedReport {
    checkArgs(data, check);
    const errors: SecdedError[] = [];
    for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
      const n = Math.min(SCRATCH_BYTES, data.length - at);
      const source = this.instance.stage(data, at, n, this.instance.scratch);
      const checks = this.instance.stage(check, at / 8, n / 8, this.check);
      const entries = this.kernels.secdedScan(source, checks, n / 8, 0, this.report);
      if (entries === 0) continue;
      const report = new DataView(this.instance.memory().buffer, this.report, entries * SECDED_REPORT_ENTRY);
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
    const telemetry = this.instance.telemetry;
    if (telemetry) {
      const { channels, events } = telemetry;
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
