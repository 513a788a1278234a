// What an SEU campaign's node puts out, and its comparison with the upset-free reference run.
// Every output period the node runs its triage model on a fixed set of inputs and emits a
// bundle whose payload holds its parameters and session keys (read at the point of use) and the
// inference results. The reference run is the same node without upsets, in lockstep: the same
// model from the same plan in a core no upset reaches, and the regions' reference contents. Any
// inference result or bundle byte that differs from the reference is counted: an upset that
// changed an output.
//
// The model is a small quantised fully connected layer (64 inputs, 128 units: 8 KiB of filter),
// built as TFLite and imported as any model is; its constants are the campaign's `model-weights`,
// protected in place as a node protects its active model. A node reads weights in place, so an
// upset between two scrubs would reach a run; the campaign's triage checks the weights it is
// about to use (a scrub of the model's blocks, 9 KiB) before each run, and reads the regions
// through their accessors. `protectedReads: false` skips both (what protection is for: the
// comparison then sees upsets in the outputs).
import { createHash } from 'node:crypto';
import { InferenceCore } from '../core/wasm.js';
import { createBundle } from '../dtn/codec.js';
import { ipn } from '../dtn/eid.js';
import { importTflite } from '../infer/importer.js';
import { LoadedModel } from '../infer/model.js';
import { buildTflite } from '../infer/tflite-writer.js';
import { Prng } from './injector.js';
import type { ProtectedRegion } from './region.js';
import type { ProtectedWeights } from './weights.js';

const DEPTH = 64;
const UNITS = 128;
const INPUTS = 4;
/** DTN ms of the campaign's start (2025-01-01), so bundles carry a plausible creation time. */
const EPOCH_DTN_MS = 788_918_400_000;

export interface OutputComparison {
  /** Inference results (one per input per period) and how many differ from the reference run. */
  readonly inference: { readonly results: number; readonly differ: number };
  /** Bundles emitted, how many differ, and SHA-256 over their digests in order, for both runs. */
  readonly bundles: { readonly emitted: number; readonly differ: number; readonly digest: string; readonly referenceDigest: string };
}

/** The campaign's triage model: seeded weights, so the same seed gives the same model. */
export function campaignModel(seed: number): ReturnType<typeof importTflite> {
  const prng = new Prng(seed ^ 0x7a1a9e);
  const filter = Uint8Array.from({ length: UNITS * DEPTH }, () => prng.u32() & 0xff);
  const bias = new Int32Array(UNITS).map(() => (prng.u32() % 6001) - 3000);
  return importTflite(buildTflite({
    tensors: [
      { shape: [1, DEPTH], type: 'INT8', scales: [0.05], zeroPoints: [-3] },
      { shape: [UNITS, DEPTH], type: 'INT8', scales: [0.01], data: filter },
      { shape: [UNITS], type: 'INT32', scales: [0.0005], data: new Uint8Array(bias.buffer) },
      { shape: [1, UNITS], type: 'INT8', scales: [0.2], zeroPoints: [5] },
    ],
    operators: [{ code: 9, inputs: [0, 1, 2], outputs: [3], optionsType: 8, options: [{ id: 0, byte: 0 }] }],
    inputs: [0],
    outputs: [3],
  }));
}

export interface CampaignOutputsOptions {
  readonly seed: number;
  readonly plan: ReturnType<typeof importTflite>;
  /** The node's model (its constants are `weights`) and its protection. */
  readonly model: LoadedModel;
  readonly weights: () => ProtectedWeights;
  readonly parameters: ProtectedRegion;
  readonly sessionKeys: ProtectedRegion;
  /** The regions' contents in the reference run. */
  readonly reference: ReadonlyMap<ProtectedRegion, Uint8Array>;
  readonly protectedReads: boolean;
}

export class CampaignOutputs {
  private readonly inputs: Uint8Array[];
  private readonly referenceModel: LoadedModel;
  private results = 0;
  private resultsDiffer = 0;
  private emitted = 0;
  private bundlesDiffer = 0;
  private readonly digest = createHash('sha256');
  private readonly referenceDigest = createHash('sha256');

  constructor(private readonly o: CampaignOutputsOptions) {
    const prng = new Prng(o.seed ^ 0x1f0e7);
    this.inputs = Array.from({ length: INPUTS }, () => Uint8Array.from({ length: DEPTH }, () => prng.u32() & 0xff));
    this.referenceModel = new LoadedModel(new InferenceCore(), o.plan);
  }

  /** One output period at DTN time offset `ms`: the node's outputs and the reference run's. */
  emit(period: number, ms: number): void {
    const o = this.o;
    if (o.protectedReads) {
      const w = o.weights();
      for (let b = 0; b < w.blocks; b++) w.scrubBlock(b);
    }
    const results = this.inputs.map((input) => infer(o.model, input));
    const expected = this.inputs.map((input) => infer(this.referenceModel, input));
    results.forEach((r, i) => {
      this.results++;
      if (!Buffer.from(r).equals(Buffer.from(expected[i]!))) this.resultsDiffer++;
    });
    const read = (region: ProtectedRegion): Uint8Array => (o.protectedReads ? region.read(0, region.size) : region.unverified());
    const bundle = housekeeping(period, ms, [read(o.parameters), read(o.sessionKeys), ...results]);
    const reference = housekeeping(period, ms, [o.reference.get(o.parameters)!, o.reference.get(o.sessionKeys)!, ...expected]);
    this.emitted++;
    if (!Buffer.from(bundle).equals(Buffer.from(reference))) this.bundlesDiffer++;
    this.digest.update(createHash('sha256').update(bundle).digest());
    this.referenceDigest.update(createHash('sha256').update(reference).digest());
  }

  result(): OutputComparison {
    return {
      inference: { results: this.results, differ: this.resultsDiffer },
      bundles: { emitted: this.emitted, differ: this.bundlesDiffer, digest: this.digest.digest('hex'), referenceDigest: this.referenceDigest.digest('hex') },
    };
  }
}

/** The model's output for `input`; empty when the run trapped (an upset pointer in a parameter block). */
function infer(model: LoadedModel, input: Uint8Array): Uint8Array {
  model.setInput(input);
  try {
    model.run();
  } catch (error) {
    if (!(error instanceof WebAssembly.RuntimeError)) throw error;
    return new Uint8Array(0);
  }
  return Uint8Array.from(model.output().int8, (v) => v & 0xff);
}

/** The bundle the node emits each period: what it read and what it inferred. */
function housekeeping(period: number, ms: number, parts: readonly Uint8Array[]): Uint8Array {
  const payload = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    payload.set(p, at);
    at += p.length;
  }
  return createBundle({
    destination: ipn(10, 1), source: ipn(20, 1), creationTime: EPOCH_DTN_MS + ms, sequence: period, lifetime: 3_600_000, payload,
  }).bytes;
}
