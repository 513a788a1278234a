// Model weights under protected memory (flight/ecc): every constant the kernels read, scrubbed
// in place, and the model loaded again from its verified file when damage is beyond correction.
import type { NodeProtection } from '../ecc/node.js';
import type { ModelManager } from './models.js';

/** Protects the weights of every model `models` activates, and of the one active now. */
export function protectModels(protection: NodeProtection, models: ModelManager): void {
  const protect = (model: { constants: Parameters<NodeProtection['protectWeights']>[0] }): void =>
    void protection.protectWeights(model.constants, () => models.reload());
  models.onActivate(protect);
  if (models.model) protect(models.model);
}
