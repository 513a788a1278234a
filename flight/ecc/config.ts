// The `ecc` section of a mission config: a node with it keeps its critical state in protected
// memory and runs the `ecc.scrub` task (which its schedule tables must then list).
import { Fields, join } from '../config/fields.js';

export interface EccConfig {
  readonly scrub: {
    /** Protected bytes scrubbed per slot (whole blocks). */
    readonly budgetBytes: number;
    /** Time the scrub task may use per slot, microseconds. */
    readonly budgetUs: number;
  };
}

export const ECC_DEFAULTS = { budgetBytes: 16384, budgetUs: 1000 } as const;

export function parseEccConfig(f: Fields, raw: unknown, field: string): EccConfig {
  const ecc = f.object(raw, field, ['scrub']);
  const scrub = ecc.scrub === undefined ? {} : f.object(ecc.scrub, join(field, 'scrub'), ['budgetBytes', 'budgetUs']);
  const sf = join(field, 'scrub');
  return {
    scrub: {
      budgetBytes: scrub.budgetBytes === undefined ? ECC_DEFAULTS.budgetBytes : f.integer(scrub.budgetBytes, join(sf, 'budgetBytes'), 8, 1 << 30),
      budgetUs: scrub.budgetUs === undefined ? ECC_DEFAULTS.budgetUs : f.integer(scrub.budgetUs, join(sf, 'budgetUs'), 1, 1_000_000),
    },
  };
}
