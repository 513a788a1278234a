// Systematic MDS erasure coding over the core's kernels (flight/core/assembly/erasure.ts): the
// matrices are built in WASM, applied to shards slice by slice through the core's scratch (or in
// place for CoreBuffers), and cached per erasure pattern in TypeScript.
import { FecInputError } from './errors.js';
import type { Bytes, CoreInstance } from './instance.js';

interface ErasureKernels {
  erasureParityMatrix(k: number, m: number, out: number): void;
  erasureRebuildMatrix(k: number, parity: number, present: number, wanted: number, wantedCount: number, out: number, work: number): number;
  erasureApply(coeffs: number, rows: number, cols: number, sources: number, targets: number, len: number): void;
}

/** Erasure coding works on (k + m) shard slices of at most this many bytes each... */
const ERASURE_SLICE_BYTES = 16 * 1024;
/** ...within this much scratch, so the working set of one kernel call stays in L2. */
const ERASURE_SCRATCH_BYTES = 1024 * 1024;
const MAX_SHARDS = 255;
/** Rebuild matrices kept per erasure code (least recently used dropped first). */
const REBUILD_CACHE_SIZE = 64;

/** The core side of erasure coding: its working buffers, reserved at the first code made. */
export class ErasureKernelSet {
  private readonly kernels: ErasureKernels;
  private readonly scratch: number;
  private readonly coeffs: number;
  private readonly work: number;
  private readonly sources: number;
  private readonly targets: number;
  private readonly present: number;
  private readonly wanted: number;

  constructor(private readonly instance: CoreInstance) {
    this.kernels = instance.kernels<ErasureKernels>(['erasureParityMatrix', 'erasureRebuildMatrix', 'erasureApply']);
    this.scratch = instance.alloc(ERASURE_SCRATCH_BYTES);
    this.coeffs = instance.alloc(MAX_SHARDS * MAX_SHARDS);
    this.work = instance.alloc(2 * MAX_SHARDS * MAX_SHARDS);
    this.sources = instance.alloc(4 * MAX_SHARDS);
    this.targets = instance.alloc(4 * MAX_SHARDS);
    this.present = instance.alloc(MAX_SHARDS);
    this.wanted = instance.alloc(MAX_SHARDS);
  }

  /** A systematic MDS erasure code with k data and m parity shards, k + m <= 255. */
  code(dataShards: number, parityShards: number): ErasureCode {
    if (!Number.isInteger(dataShards) || dataShards < 1 || dataShards >= MAX_SHARDS) {
      throw new FecInputError('dataShards', `an integer from 1 to ${MAX_SHARDS - 1}`, dataShards);
    }
    if (!Number.isInteger(parityShards) || parityShards < 1 || dataShards + parityShards > MAX_SHARDS) {
      throw new FecInputError('parityShards', `an integer from 1 to ${MAX_SHARDS - dataShards}`, parityShards);
    }
    this.kernels.erasureParityMatrix(dataShards, parityShards, this.coeffs);
    const parity = this.instance.memory().slice(this.coeffs, this.coeffs + dataShards * parityShards);
    return new ErasureCode(this.ops, dataShards, parityShards, parity);
  }

  private readonly ops: ErasureOps = {
    rebuildMatrix: (k, parity, present, wanted) => {
      const heap = this.instance.memory();
      heap.set(parity, this.coeffs);
      heap.set(present, this.present);
      heap.set(wanted, this.wanted);
      const out = this.coeffs + parity.length;
      if (!this.kernels.erasureRebuildMatrix(k, this.coeffs, this.present, this.wanted, wanted.length, out, this.work)) {
        throw new Error(`erasure code: rows ${present.join(',')} singular; the code is not MDS`);
      }
      return this.instance.memory().slice(out, out + wanted.length * k);
    },
    apply: (coeffs, sources, targets) => this.applyMatrix(coeffs, sources, targets),
    rebuilt: (count) => this.instance.telemetry?.channels.erasureRebuilds.add(count),
  };

  /** targets[r] = sum over s of coeffs[r][s] * sources[s], in slices that fit the scratch. */
  private applyMatrix(coeffs: Uint8Array, sources: readonly Bytes[], targets: readonly Bytes[]): void {
    const length = sources[0]!.length;
    const copied = [...sources, ...targets].filter((b) => b instanceof Uint8Array).length;
    const slice = copied === 0 ? length : Math.min(
      ERASURE_SLICE_BYTES,
      Math.floor(ERASURE_SCRATCH_BYTES / copied / 64) * 64,
    );
    this.instance.memory().set(coeffs, this.coeffs);
    for (let at = 0; at < length; at += slice) {
      const n = Math.min(slice, length - at);
      let heap = this.instance.memory();
      let slot = this.scratch;
      const place = (b: Bytes, input: boolean): number => {
        if (!(b instanceof Uint8Array)) return this.instance.addressOf(b, at);
        const address = slot;
        slot += n;
        if (input) heap.set(b.subarray(at, at + n), address);
        return address;
      };
      const sourceAddresses = sources.map((b) => place(b, true));
      const targetAddresses = targets.map((b) => place(b, false));
      this.instance.writeU32(this.sources, sourceAddresses);
      this.instance.writeU32(this.targets, targetAddresses);
      this.kernels.erasureApply(this.coeffs, targets.length, sources.length, this.sources, this.targets, n);
      heap = this.instance.memory();
      targets.forEach((b, r) => {
        if (b instanceof Uint8Array) b.set(heap.subarray(targetAddresses[r]!, targetAddresses[r]! + n), at);
      });
    }
  }
}

/** What an ErasureCode needs from the core (kept narrow so no address reaches the code). */
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
