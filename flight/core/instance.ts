// One instantiated WASM core and its linear memory: the only module that loads the core, and the
// owner of every address. The feature modules beside it (crc, rs, erasure, secded) call their
// kernels through a CoreInstance; code outside flight/core reaches them only through wasm.ts and
// never sees an address.
//
// Memory: the core runs the stub runtime (nothing is ever freed), so every working buffer is
// reserved once, when its feature is first used, and reused. Data crosses the boundary in bulk:
// inputs are copied through those buffers chunk by chunk, or live in core memory already (a
// CoreBuffer from `reserve`), in which case kernels work on them in place.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instantiateSync } from '@assemblyscript/loader';
import type { Channel, TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { CORE_CHANNELS } from './dictionary.js';
import { FecInputError } from './errors.js';

/** The exports every build has (flight/core/assembly/memory.ts); kernels are declared by the
 *  feature module that calls them. */
interface MemoryExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
}

/** Bytes moved into the core per kernel call; larger inputs are fed in chunks. */
export const SCRATCH_BYTES = 64 * 1024;
/** asconfig.json "maximumMemory": 1024 pages of 64 KiB. */
const MAX_MEMORY_BYTES = 1024 * 65536;

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
    owner: CoreInstance,
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
/** Where each CoreBuffer lives; kept out of the class so its address is not part of its API. */
const placements = new WeakMap<CoreBuffer, { owner: CoreInstance; address: number }>();

/** What kernels accept: caller memory (copied through core scratch) or core memory (in place). */
export type Bytes = Uint8Array | CoreBuffer;

/** Where the features count and report, once Core.bindTelemetry was called. */
export interface CoreTelemetry {
  channels: Record<keyof typeof CORE_CHANNELS, Channel>;
  events: EventLog | undefined;
}

export class CoreInstance {
  private readonly raw: MemoryExports & Record<string, unknown>;
  /** SCRATCH_BYTES of core memory that inputs pass through, shared by the features. */
  readonly scratch: number;
  private heap: Uint8Array;
  telemetry: CoreTelemetry | undefined;

  constructor(readonly variant: CoreVariant) {
    const file = join(coreDirectory(), variant === 'simd' ? 'tern.wasm' : 'tern-scalar.wasm');
    if (!existsSync(file)) {
      throw new Error(`tern: WASM core ${file} is missing; run \`npm run build\``);
    }
    this.raw = instantiateSync<MemoryExports & Record<string, unknown>>(readFileSync(file), {}).exports;
    this.scratch = this.raw.alloc(SCRATCH_BYTES);
    this.heap = new Uint8Array(this.raw.memory.buffer);
  }

  /** The kernels `names` as the calling feature declares them in `K`; a build without one of
   *  them (an outdated dist/core) is refused here rather than at its first call. */
  kernels<K extends object>(names: ReadonlyArray<keyof K & string>): K {
    const missing = names.filter((name) => typeof this.raw[name] !== 'function');
    if (missing.length > 0) {
      throw new Error(`tern: WASM core ${this.variant} lacks ${missing.join(', ')}; run \`npm run build\``);
    }
    return this.raw as unknown as K;
  }

  bindTelemetry(tlm: TelemetryRegistry, events?: EventLog): void {
    this.telemetry = { channels: tlm.defineAll(CORE_CHANNELS), events };
  }

  /** Working memory for a feature's buffers; call once per buffer, never per use. */
  alloc(size: number): number {
    return this.raw.alloc(size);
  }

  /** A view of linear memory, renewed if the memory grew (growth detaches old views). */
  memory(): Uint8Array {
    if (this.heap.buffer !== this.raw.memory.buffer) {
      this.heap = new Uint8Array(this.raw.memory.buffer);
    }
    return this.heap;
  }

  readonly view = (address: number, length: number): Uint8Array =>
    this.memory().subarray(address, address + length);

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

  /** Address of byte `at` of a CoreBuffer, which must be this core's. */
  addressOf(b: CoreBuffer, at: number): number {
    const placement = placements.get(b)!;
    if (placement.owner !== this) throw new FecInputError('buffer', 'a CoreBuffer reserved from the same Core', 'one of another Core');
    return placement.address + at;
  }

  /** Address of `b[at, at + n)` in core memory: in place for a CoreBuffer, else copied to `slot`. */
  stage(b: Bytes, at: number, n: number, slot: number): number {
    if (!(b instanceof Uint8Array)) return this.addressOf(b, at);
    this.memory().set(b.subarray(at, at + n), slot);
    return slot;
  }

  writeU32(address: number, values: readonly number[]): void {
    const data = new DataView(this.memory().buffer);
    values.forEach((value, i) => data.setUint32(address + 4 * i, value, true));
  }
}
