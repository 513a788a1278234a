// The BPv7 CRCs over the core's table-driven kernels (flight/core/assembly/crc.ts).
import { SCRATCH_BYTES, type CoreInstance } from './instance.js';

type Update = (crc: number, ptr: number, len: number) => number;

interface CrcKernels {
  crc32cUpdate: Update;
  crc16X25Update: Update;
}

export class Crc {
  private readonly kernels: CrcKernels;

  constructor(private readonly instance: CoreInstance) {
    this.kernels = instance.kernels<CrcKernels>(['crc32cUpdate', 'crc16X25Update']);
  }

  /** CRC-32C (Castagnoli), as BPv7 CRC type 2 uses it. */
  crc32c(data: Uint8Array): number {
    return (this.feed(data, 0xffffffff, this.kernels.crc32cUpdate) ^ 0xffffffff) >>> 0;
  }

  /** CRC-16/X.25, as BPv7 CRC type 1 uses it. */
  crc16X25(data: Uint8Array): number {
    return (this.feed(data, 0xffff, this.kernels.crc16X25Update) ^ 0xffff) & 0xffff;
  }

  /** Runs the register through `data`, one scratch-sized chunk per kernel call. */
  private feed(data: Uint8Array, register: number, update: Update): number {
    const heap = this.instance.memory();
    const scratch = this.instance.scratch;
    for (let at = 0; at < data.length; at += SCRATCH_BYTES) {
      const chunk = data.subarray(at, at + SCRATCH_BYTES);
      heap.set(chunk, scratch);
      register = update(register, scratch, chunk.length);
    }
    return register;
  }
}
