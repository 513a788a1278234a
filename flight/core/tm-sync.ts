// CCSDS 131.0-B TM synchronisation over the core's kernels (flight/core/assembly/tm-sync.ts):
// the attached sync marker search and the pseudo-randomiser, for the serial link's framing.
import { FecInputError } from './errors.js';
import { SCRATCH_BYTES, type CoreInstance } from './instance.js';

/** The attached sync marker of CCSDS TM code blocks. */
export const TM_ASM = Uint8Array.of(0x1a, 0xcf, 0xfc, 0x1d);

interface TmKernels {
  tmRandomise(ptr: number, len: number, blockLen: number): void;
  tmFindSync(ptr: number, len: number, from: number, maxErrors: number): number;
}

export class TmSync {
  private readonly kernels: TmKernels;

  constructor(private readonly instance: CoreInstance) {
    this.kernels = instance.kernels<TmKernels>(['tmRandomise', 'tmFindSync']);
  }

  /**
   * XORs `bytes` in place with the pseudo-random sequence, restarted every `blockLength` bytes
   * (default: the whole input is one block). The randomiser is its own inverse.
   */
  randomise(bytes: Uint8Array, blockLength = bytes.length): void {
    if (!Number.isInteger(blockLength) || blockLength < 1 || blockLength > SCRATCH_BYTES) {
      throw new FecInputError('blockLength', `an integer from 1 to ${SCRATCH_BYTES}`, blockLength);
    }
    const scratch = this.instance.scratch;
    const perCall = Math.floor(SCRATCH_BYTES / blockLength) * blockLength;
    for (let at = 0; at < bytes.length; at += perCall) {
      const chunk = bytes.subarray(at, at + perCall);
      this.instance.memory().set(chunk, scratch);
      this.kernels.tmRandomise(scratch, chunk.length, blockLength);
      chunk.set(this.instance.memory().subarray(scratch, scratch + chunk.length));
    }
  }

  /**
   * The first offset at or after `from` where `bytes` holds the ASM with at most `maxErrors`
   * bits wrong; -1 if none (the last 3 bytes may start a marker still to come).
   */
  findSync(bytes: Uint8Array, from: number, maxErrors: number): number {
    if (!Number.isInteger(maxErrors) || maxErrors < 0 || maxErrors > 16) throw new FecInputError('maxErrors', 'an integer from 0 to 16', maxErrors);
    for (let at = Math.max(0, from); at + 4 <= bytes.length; at += SCRATCH_BYTES - 3) {
      const chunk = bytes.subarray(at, at + SCRATCH_BYTES);
      this.instance.memory().set(chunk, this.instance.scratch);
      const found = this.kernels.tmFindSync(this.instance.scratch, chunk.length, 0, maxErrors);
      if (found >= 0) return at + found;
    }
    return -1;
  }
}
