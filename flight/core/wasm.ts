// The one module that loads the Tern WASM core (compiled from flight/core/assembly). The rest of
// the code sees typed functions over Uint8Arrays; pointers never leave this file.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instantiateSync } from '@assemblyscript/loader';

/** Raw exports of the core, as declared in flight/core/assembly/index.ts. */
interface CoreExports extends Record<string, unknown> {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  crc32cUpdate(crc: number, ptr: number, len: number): number;
  crc16X25Update(crc: number, ptr: number, len: number): number;
}

/** Bytes moved into the core per kernel call; larger inputs are fed in chunks. */
const SCRATCH_BYTES = 64 * 1024;

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

export class Core {
  readonly variant: CoreVariant;
  private readonly raw: CoreExports;
  private readonly scratch: number;
  private heap: Uint8Array;

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
}

let shared: Core | undefined;

/** The process-wide core, instantiated on first use. */
export function core(): Core {
  shared ??= new Core();
  return shared;
}
