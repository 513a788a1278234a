// Model weights under protected memory (flight/ecc): every constant the kernels read, scrubbed
// in place, checked again before each inference run, and the model loaded again from its
// verified file when damage is beyond correction.
import type { NodeProtection } from '../ecc/node.js';
import type { ProtectedWeights } from '../ecc/weights.js';
import type { LoadedModel } from './model.js';
import type { ModelManager } from './models.js';
import { measureCheckRate, type WeightsGuard } from './task.js';

/** Who runs the models (the node's inference): told how to check a model's weights before a run. */
export interface ProtectedRuns {
  checkWeightsBeforeRuns(checkOf: WeightsGuard['checkOf'], bytesPerUs: number): void;
}

/**
 * Protects the weights of every model `models` activates, and of the one active now; with
 * `runs`, each run first checks the weights of its model (the scrubber alone would leave an upset
 * since its last pass to the run). The check's rate is measured once, on the first model.
 */
export function protectModels(protection: NodeProtection, models: ModelManager, runs?: ProtectedRuns): void {
  let active: { model: LoadedModel; weights: ProtectedWeights } | undefined;
  let bound = false;
  const protect = (model: LoadedModel): void => {
    active = { model, weights: protection.protectWeights(model.constants, () => models.reload()) };
    if (!runs || bound) return;
    bound = true;
    runs.checkWeightsBeforeRuns((m) => (m === active?.model ? active.weights : undefined), measureCheckRate(active.weights));
  };
  models.onActivate(protect);
  if (models.model) protect(models.model);
}
