// A model loaded into core memory once, run whole or in slices. Loading reserves everything a
// run needs (tensors, constants, parameter blocks, scratch), so a run allocates nothing. A run
// has a cursor (layer, unit); step(budget) does whole work units of the current layers until
// the next unit would pass the budget, so an executive slot never holds more than it allows.
import { InferenceCore, type CoreNetwork } from '../core/wasm.js';
import { InferInputError } from './errors.js';
import { isTern, readTern } from './format.js';
import { importTflite } from './importer.js';
import { checkPlan, elements, tensorBytes, toNetPlan, type ModelPlan } from './plan.js';

export interface ModelOutput {
  /** The raw int8 output tensor (for a float output: the int8 tensor it was dequantised from). */
  readonly int8: readonly number[];
  /** Its real values: scale * (q - zero point), or the float32 output itself. */
  readonly values: readonly number[];
}

/** A model from a .tflite or .tern file's bytes (either is validated in full). */
export function planFromFile(bytes: Uint8Array): ModelPlan {
  return isTern(bytes) ? readTern(bytes) : importTflite(bytes);
}

export class LoadedModel {
  private readonly net: CoreNetwork;
  private layer = 0;
  private unit = 0;
  /** The largest work of one unit: a slice budget below it cannot make progress. */
  readonly maxUnitWork: number;
  /** Work of one whole run (MACs for convolutions, elements for the rest). */
  readonly totalWork: number;
  private readonly inputBytes: readonly number[];

  constructor(core: InferenceCore, readonly plan: ModelPlan) {
    checkPlan(plan);
    this.net = core.load(toNetPlan(plan));
    plan.tensors.forEach((t, i) => { if (t.data) this.net.write(i, t.data); });
    this.maxUnitWork = Math.max(...plan.layers.map((l) => l.workPerUnit));
    this.totalWork = plan.layers.reduce((sum, l) => sum + l.units * l.workPerUnit, 0);
    this.layer = plan.layers.length;
    this.inputBytes = plan.inputs.map((i) => tensorBytes(plan.tensors[i]!));
  }

  /** The constants the kernels read (weights as prepacked, biases, requantisation, parameter
   *  blocks), for protected memory: read, write back, length. */
  get constants(): { readonly length: number; read(offset: number, length: number): Uint8Array; write(offset: number, bytes: Uint8Array): void } {
    const net = this.net;
    return { length: net.constantBytes, read: (o, n) => net.readConstants(o, n), write: (o, b) => net.writeConstants(o, b) };
  }

  /** Multiply-accumulates of one run (convolutions and fully-connected layers). */
  get macs(): number {
    return this.plan.layers.filter((l) => l.kernel === 'conv' || l.kernel === 'depthwise').reduce((sum, l) => sum + l.units * l.workPerUnit, 0);
  }

  /** Writes input `index` (its exact bytes, flat NHWC) and rewinds the cursor to the first layer. */
  setInput(bytes: Uint8Array, index = 0): void {
    const tensor = this.plan.inputs[index];
    if (tensor === undefined) throw new InferInputError('input', `an index below ${this.plan.inputs.length}`, index);
    const info = this.plan.tensors[tensor]!;
    if (bytes.length !== this.inputBytes[index]) {
      throw new InferInputError(`input ${info.name}`, `${tensorBytes(info)} bytes (${info.dtype} [${info.shape.join(', ')}])`, `${bytes.length} bytes`);
    }
    this.net.write(tensor, bytes);
    this.layer = 0;
    this.unit = 0;
  }

  get done(): boolean {
    return this.layer >= this.plan.layers.length;
  }

  /** Where the run is: layer index and unit within it. */
  get cursor(): { layer: number; unit: number } {
    return { layer: this.layer, unit: this.unit };
  }

  /** Runs whole units until the next would pass `budget` (at least one unit if any is left);
   *  returns the work done. */
  step(budget: number): number {
    let work = 0;
    while (this.layer < this.plan.layers.length) {
      const l = this.plan.layers[this.layer]!;
      const fit = Math.floor((budget - work) / l.workPerUnit);
      const n = Math.min(l.units - this.unit, work === 0 ? Math.max(1, fit) : fit);
      if (n <= 0) break;
      this.net.run(this.layer, this.unit, this.unit + n);
      work += n * l.workPerUnit;
      this.unit += n;
      if (this.unit === l.units) { this.layer++; this.unit = 0; }
    }
    return work;
  }

  /** Runs layer `index` whole on the tensors as they are (for benchmarks of one layer). */
  runLayer(index: number): void {
    const l = this.plan.layers[index];
    if (!l) throw new InferInputError('layer', `an index below ${this.plan.layers.length}`, index);
    this.net.run(index, 0, l.units);
  }

  /** Runs the whole network on the current input. */
  run(): void {
    if (this.done) { this.layer = 0; this.unit = 0; }
    this.step(Infinity);
  }

  output(index = 0): ModelOutput {
    const tensor = this.plan.outputs[index];
    if (tensor === undefined) throw new InferInputError('output', `an index below ${this.plan.outputs.length}`, index);
    const info = this.plan.tensors[tensor]!;
    const bytes = this.net.read(tensor);
    if (info.dtype === 'float32') {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const values = Array.from({ length: elements(info.shape) }, (_, i) => view.getFloat32(4 * i, true));
      const source = this.plan.layers.find((l) => l.output === tensor && l.kernel === 'dequantize')?.inputs[0];
      const int8 = source === undefined ? [] : Array.from(new Int8Array(this.net.read(source).buffer));
      return { int8, values };
    }
    const int8 = Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    return { int8, values: int8.map((q) => info.scale * (q - info.zeroPoint)) };
  }
}

/** Loads `bytes` (.tflite or .tern) into a core of the given build. */
export function loadModel(bytes: Uint8Array, core: InferenceCore = new InferenceCore()): LoadedModel {
  return new LoadedModel(core, planFromFile(bytes));
}
