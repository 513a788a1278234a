// Inference kernels of the WASM core (flight/core/assembly/infer) over a core instance of their
// own: a network's tensors, prepacked weights and parameter blocks live in that instance's memory,
// apart from the coding features' buffers, so nothing a model does can touch them. Placement and
// addresses stay here; flight/infer hands in a validated NetPlan (shapes and parameters) and gets
// back a CoreNetwork that runs ranges of a layer's work and moves tensor bytes in and out.
import { CoreInstance, engineHasSimd, type CoreVariant } from './instance.js';

/** The kernels of flight/core/assembly/infer; each does work units [start, end) of the layer
 *  whose parameter block is at p (output rows, softmax rows, or flat elements). */
interface InferExports {
  inferConv2d(p: number, start: number, end: number): void;
  inferDepthwiseConv2d(p: number, start: number, end: number): void;
  inferPool(p: number, start: number, end: number, average: number): void;
  inferAddMul(p: number, start: number, end: number, multiply: number): void;
  inferSoftmax(p: number, start: number, end: number): void;
  inferLogistic(p: number, start: number, end: number): void;
  inferQuantize(p: number, start: number, end: number): void;
  inferDequantize(p: number, start: number, end: number): void;
  inferDotPeak(iterations: number): number;
}

const KERNEL_NAMES: ReadonlyArray<keyof InferExports> = [
  'inferConv2d', 'inferDepthwiseConv2d', 'inferPool', 'inferAddMul', 'inferSoftmax',
  'inferLogistic', 'inferQuantize', 'inferDequantize', 'inferDotPeak',
];

export type NetKernel =
  | 'conv' | 'depthwise' | 'avgpool' | 'maxpool' | 'add' | 'mul' | 'softmax' | 'logistic'
  | 'quantize' | 'dequantize' | 'copy';

/** Parameter block slots (flight/core/assembly/infer/params.ts); the pointer slots are filled
 *  here at load time, the others come from the plan. */
export const PARAM_SLOTS = 40;
export const SLOT = {
  IN: 0, IN2: 1, OUT: 2, IN_H: 3, IN_W: 4, IN_C: 5, OUT_H: 6, OUT_W: 7, OUT_C: 8, FILTER: 9,
  K_H: 10, K_W: 11, K_PAD: 12, STRIDE_H: 13, STRIDE_W: 14, DIL_H: 15, DIL_W: 16, PAD_TOP: 17,
  PAD_LEFT: 18, IN_OFFSET: 19, OUT_OFFSET: 20, ACT_MIN: 21, ACT_MAX: 22, BIAS: 23, MULT: 24,
  SHIFT: 25, SCRATCH: 26, DEPTH_MULT: 27, COUNT: 28, A: 29, B: 30, C: 31, D: 32, E: 33, F: 34,
  G: 35, H: 36, I: 37,
} as const;

export interface NetLayer {
  readonly kernel: NetKernel;
  /** Tensor indexes: one input, or two for add and mul. */
  readonly inputs: readonly number[];
  readonly output: number;
  /** PARAM_SLOTS values; pointer slots are ignored. */
  readonly params: Int32Array;
  /** Prepacked constant data, each placed 16-byte aligned. */
  readonly filter?: Uint8Array;
  readonly bias?: Uint8Array;
  readonly multiplier?: Uint8Array;
  readonly shift?: Uint8Array;
  /** Working bytes the kernel needs (patch or accumulators); shared by all layers. */
  readonly scratchBytes: number;
}

export interface NetPlan {
  /** Byte length of each tensor. */
  readonly tensorBytes: readonly number[];
  readonly layers: readonly NetLayer[];
}

/** Over-read slack after each tensor: SIMD loads of 8 lanes may pass a tensor's last byte. */
const SLACK = 16;

function align16(n: number): number {
  return (n + 15) & ~15;
}

/** Total core bytes `plan` takes once loaded (what a loader checks against its memory budget). */
export function netFootprint(plan: NetPlan): number {
  let total = 0;
  for (const bytes of plan.tensorBytes) total += align16(bytes + SLACK);
  let scratch = 0;
  for (const layer of plan.layers) {
    total += PARAM_SLOTS * 4;
    for (const blob of [layer.filter, layer.bias, layer.multiplier, layer.shift]) total += blob ? align16(blob.length) : 0;
    scratch = Math.max(scratch, layer.scratchBytes);
  }
  return total + align16(scratch + SLACK);
}

/** A network placed in core memory: tensors, constants and parameter blocks reserved once. */
export class CoreNetwork {
  private readonly tensorAt: number[];
  private readonly blocks: number[];
  /** Where the constants the kernels read lie: prepacked filters, biases, multipliers, shifts and
   *  parameter blocks, allocated after the tensors and scratch, so [start, end) holds them and
   *  the allocator's padding between them, nothing a run writes. */
  private readonly constStart: number;
  private readonly constEnd: number;

  constructor(
    private readonly instance: CoreInstance,
    private readonly kernels: InferExports,
    private readonly plan: NetPlan,
  ) {
    this.tensorAt = plan.tensorBytes.map((bytes) => instance.alloc(align16(bytes + SLACK)));
    const scratch = instance.alloc(align16(Math.max(0, ...plan.layers.map((l) => l.scratchBytes)) + SLACK));
    let constStart = Infinity;
    let constEnd = 0;
    const constant = (at: number, bytes: number): number => {
      constStart = Math.min(constStart, at);
      constEnd = Math.max(constEnd, at + bytes);
      return at;
    };
    this.blocks = plan.layers.map((layer) => {
      const params = Int32Array.from(layer.params);
      const place = (blob: Uint8Array | undefined): number => {
        if (!blob) return 0;
        const at = constant(instance.alloc(align16(blob.length)), align16(blob.length));
        instance.memory().set(blob, at);
        return at;
      };
      params[SLOT.IN] = this.tensorAt[layer.inputs[0]!]!;
      params[SLOT.IN2] = layer.inputs.length > 1 ? this.tensorAt[layer.inputs[1]!]! : 0;
      params[SLOT.OUT] = this.tensorAt[layer.output]!;
      params[SLOT.FILTER] = place(layer.filter);
      params[SLOT.BIAS] = place(layer.bias);
      params[SLOT.MULT] = place(layer.multiplier);
      params[SLOT.SHIFT] = place(layer.shift);
      params[SLOT.SCRATCH] = scratch;
      const block = constant(instance.alloc(PARAM_SLOTS * 4), PARAM_SLOTS * 4);
      const memory = new DataView(instance.memory().buffer);
      params.forEach((value, slot) => memory.setInt32(block + 4 * slot, value, true));
      return block;
    });
    if (!(constStart > scratch)) throw new Error(`network constants at ${constStart} not placed after the tensors and scratch (${scratch})`);
    this.constStart = constStart;
    this.constEnd = constEnd;
  }

  /** Bytes of the constants the kernels read (see constStart). */
  get constantBytes(): number {
    return this.constEnd - this.constStart;
  }

  /** A copy of constant bytes [offset, offset + length), for protected memory's scrubber. */
  readConstants(offset: number, length: number): Uint8Array {
    return this.instance.view(this.constStart + offset, length).slice();
  }

  /** Writes constant bytes back at `offset` (a corrected block, or a reload). */
  writeConstants(offset: number, bytes: Uint8Array): void {
    this.instance.memory().set(bytes, this.constStart + offset);
  }

  /** Copies `bytes` (exactly the tensor's length) into tensor `index`. */
  write(index: number, bytes: Uint8Array): void {
    if (bytes.length !== this.plan.tensorBytes[index]) throw new RangeError(`tensor ${index}: ${bytes.length} bytes for ${this.plan.tensorBytes[index]}`);
    this.instance.memory().set(bytes, this.tensorAt[index]!);
  }

  /** A copy of tensor `index`. */
  read(index: number): Uint8Array {
    return this.instance.view(this.tensorAt[index]!, this.plan.tensorBytes[index]!).slice();
  }

  /** Work units [start, end) of layer `index` (the caller keeps within the layer's units). */
  run(index: number, start: number, end: number): void {
    const layer = this.plan.layers[index]!;
    const p = this.blocks[index]!;
    const k = this.kernels;
    switch (layer.kernel) {
      case 'conv': k.inferConv2d(p, start, end); break;
      case 'depthwise': k.inferDepthwiseConv2d(p, start, end); break;
      case 'avgpool': k.inferPool(p, start, end, 1); break;
      case 'maxpool': k.inferPool(p, start, end, 0); break;
      case 'add': k.inferAddMul(p, start, end, 0); break;
      case 'mul': k.inferAddMul(p, start, end, 1); break;
      case 'softmax': k.inferSoftmax(p, start, end); break;
      case 'logistic': k.inferLogistic(p, start, end); break;
      case 'quantize': k.inferQuantize(p, start, end); break;
      case 'dequantize': k.inferDequantize(p, start, end); break;
      case 'copy': {
        // RESHAPE: same bytes, new shape; units are bytes.
        const from = this.tensorAt[layer.inputs[0]!]!;
        this.instance.memory().copyWithin(this.tensorAt[layer.output]! + start, from + start, from + end);
        break;
      }
    }
  }
}

/** A core instance that runs networks; each load reserves memory that is never freed. */
export class InferenceCore {
  private readonly instance: CoreInstance;
  private readonly kernels: InferExports;

  constructor(readonly variant: CoreVariant = engineHasSimd() ? 'simd' : 'scalar') {
    this.instance = new CoreInstance(variant);
    const wrapped = this.instance.kernels<InferExports>(KERNEL_NAMES);
    // The loader wraps each export in a rest-parameter function (an array per call until V8
    // optimises it away); `original` is the WebAssembly function itself, called directly so a
    // run allocates nothing from its first slice on.
    this.kernels = Object.fromEntries(KERNEL_NAMES.map((name) => {
      const f = wrapped[name] as { original?: unknown };
      return [name, f.original ?? f];
    })) as unknown as InferExports;
  }

  load(plan: NetPlan): CoreNetwork {
    return new CoreNetwork(this.instance, this.kernels, plan);
  }

  /** Bytes of linear memory this core holds (it grows only when a model is loaded). */
  memoryBytes(): number {
    return this.instance.memory().length;
  }

  /** Runs the register-only dot-product loop (assembly/infer/peak.ts) for a benchmark's peak;
   *  returns the multiply-accumulates it did. */
  dotPeak(iterations: number): number {
    this.kernels.inferDotPeak(iterations);
    return iterations * (this.variant === 'simd' ? 64 : 8);
  }
}
