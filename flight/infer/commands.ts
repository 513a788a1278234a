// Commands of onboard inference: activating an uplinked model and rolling back, both critical
// (k-of-n operators approve the exact file by its SHA-256). Declared here as data; the
// composition root declares them in its registry and binds them with bindInferCommands.
import { join } from 'node:path';
import type { CommandDef, CommandRegistry } from '../cmd/commands.js';
import { InferInputError } from './errors.js';
import type { ModelManager } from './models.js';

export const INFER_COMMANDS = {
  activateModel: {
    name: 'INFER_ACTIVATE_MODEL', opcode: 0x0701, owner: 'infer', criticality: 'critical',
    doc: 'Verifies a .tern model uplinked as a file (tern gse upload --kind model) and makes it the active model; the active one becomes the rollback model',
    args: [
      { name: 'sha256', type: 'string', maxLength: 64, doc: 'SHA-256 of the uplinked model file (tern gse upload prints it): what the approvers sign' },
    ],
  },
  rollbackModel: {
    name: 'INFER_ROLLBACK_MODEL', opcode: 0x0702, owner: 'infer', criticality: 'critical', args: [],
    doc: 'Makes the previous model active again',
  },
} as const satisfies Record<string, CommandDef>;

/** Binds the inference commands; `incoming` is where the file service stores uplinked models.
 *  Activation reads the file between frames and reports its outcome as INFER_MODEL_ACTIVATED or
 *  INFER_MODEL_REFUSED; `activated` hears of each file made active (the manager keeps its own
 *  copy, which rollback and restart read). */
export function bindInferCommands(registry: Pick<CommandRegistry, 'bind'>, models: ModelManager, incoming: string, activated: (sha256: string) => void = () => undefined): void {
  registry.bind(INFER_COMMANDS.activateModel.name, {
    handler: (args) => {
      const sha256 = String(args.sha256);
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new InferInputError('sha256', '64 lowercase hex digits (the uplinked file\'s SHA-256)', sha256);
      // Reported by the manager (event and counter) either way; the command answers now.
      models.activateFile(join(incoming, sha256), sha256).then(() => activated(sha256), () => undefined);
      return { status: 'activating', sha256 };
    },
  });
  registry.bind(INFER_COMMANDS.rollbackModel.name, {
    handler: () => {
      const model = models.rollback();
      return { status: 'active', sha256: models.active, layers: model.plan.layers.length };
    },
  });
}
