// The entry of the WASM core: the one module through which the rest of Tern reaches the core
// compiled from flight/core/assembly. It sees typed functions over Uint8Arrays (or CoreBuffers);
// loading and addresses stay in instance.ts, each feature in its own module beside it.
import type { TelemetryRegistry } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { Crc } from './crc.js';
import { ErasureKernelSet, type ErasureCode } from './erasure.js';
import { CoreInstance, engineHasSimd, type Bytes, type CoreBuffer, type CoreVariant } from './instance.js';
import { ReedSolomon, type RsCode, type RsDecodeResult } from './rs.js';
import { Secded, type SecdedReport } from './secded.js';
import { TmSync } from './tm-sync.js';

export { engineHasSimd, type Bytes, type CoreBuffer, type CoreVariant } from './instance.js';
export { ErasureCode } from './erasure.js';
export {
  RS_INTERLEAVE_DEPTHS, RS_MAX_FILL, rsBlockLength, rsDataLength,
  type RsBasis, type RsCode, type RsDecodeResult,
} from './rs.js';
export type { SecdedError, SecdedErrorKind, SecdedReport } from './secded.js';
export { TM_ASM } from './tm-sync.js';
// Inference: a network over a core instance of its own (placement and addresses stay in infer-kernels.ts).
export {
  CoreNetwork, InferenceCore, netFootprint, PARAM_SLOTS, SLOT,
  type NetKernel, type NetLayer, type NetPlan,
} from './infer-kernels.js';

/** One instance of the core. A feature's working memory is reserved at its first use. */
export class Core {
  readonly variant: CoreVariant;
  private readonly instance: CoreInstance;
  private crcs: Crc | undefined;
  private reedSolomon: ReedSolomon | undefined;
  private erasure: ErasureKernelSet | undefined;
  private edac: Secded | undefined;
  private tm: TmSync | undefined;

  constructor(variant: CoreVariant = engineHasSimd() ? 'simd' : 'scalar') {
    this.variant = variant;
    this.instance = new CoreInstance(variant);
  }

  /** Counts into `tlm` (CORE_CHANNELS) and reports through `events` from now on. */
  bindTelemetry(tlm: TelemetryRegistry, events?: EventLog): void {
    this.instance.bindTelemetry(tlm, events);
  }

  /** Reserves `length` bytes of core memory for data that kernels should process in place.
   *  Never freed: reserve at initialisation, not per use. */
  reserve(length: number): CoreBuffer {
    return this.instance.reserve(length);
  }

  /** CRC-32C (Castagnoli), as BPv7 CRC type 2 uses it. */
  crc32c(data: Uint8Array): number {
    return this.crc().crc32c(data);
  }

  /** CRC-16/X.25, as BPv7 CRC type 1 uses it. */
  crc16X25(data: Uint8Array): number {
    return this.crc().crc16X25(data);
  }

  /** CCSDS RS(255,223): `data` (whole blocks of I x (223 - Q) bytes) -> code blocks. */
  rsEncode(data: Uint8Array, code: RsCode): Uint8Array {
    return this.rs().encode(data, code);
  }

  /** CCSDS RS(255,223): corrects what it can of `received`; see ReedSolomon.decode. */
  rsDecode(received: Uint8Array, code: RsCode, erasures: readonly number[] = []): RsDecodeResult {
    return this.rs().decode(received, code, erasures);
  }

  /** A systematic MDS erasure code with k data and m parity shards, k + m <= 255. */
  erasureCode(dataShards: number, parityShards: number): ErasureCode {
    this.erasure ??= new ErasureKernelSet(this.instance);
    return this.erasure.code(dataShards, parityShards);
  }

  /** SEC-DED: computes the check bytes of `data` into `check` (data.length / 8 bytes). */
  secdedEncode(data: Bytes, check: Bytes): void {
    this.secded().encode(data, check);
  }

  /** Checks `data` against `check` and reports every word in error; changes nothing. */
  secdedCheck(data: Bytes, check: Bytes): SecdedReport {
    return this.secded().scan(data, check, false);
  }

  /** As secdedCheck, and flips every single-bit error (in data or check byte) back in place. */
  secdedCorrect(data: Bytes, check: Bytes): SecdedReport {
    return this.secded().scan(data, check, true);
  }

  /** CCSDS TM pseudo-randomiser: XORs `bytes` in place, the sequence restarting every `blockLength` bytes (self-inverse). */
  tmRandomise(bytes: Uint8Array, blockLength?: number): void {
    this.tmSync().randomise(bytes, blockLength);
  }

  /** Offset of the TM attached sync marker in `bytes` at or after `from`, within `maxErrors` bits; -1 if none. */
  tmFindSync(bytes: Uint8Array, from: number, maxErrors: number): number {
    return this.tmSync().findSync(bytes, from, maxErrors);
  }

  private tmSync(): TmSync {
    this.tm ??= new TmSync(this.instance);
    return this.tm;
  }

  private crc(): Crc {
    this.crcs ??= new Crc(this.instance);
    return this.crcs;
  }

  private rs(): ReedSolomon {
    this.reedSolomon ??= new ReedSolomon(this.instance);
    return this.reedSolomon;
  }

  private secded(): Secded {
    this.edac ??= new Secded(this.instance);
    return this.edac;
  }
}

let shared: Core | undefined;

/** The process-wide core, instantiated on first use. */
export function core(): Core {
  shared ??= new Core();
  return shared;
}
