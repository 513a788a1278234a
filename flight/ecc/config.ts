// The `ecc` section of a mission config: a node with it keeps its critical state in protected
// memory and runs the `ecc.scrub` and `dtn.store.scrub` tasks (its schedule tables must list them).
import { Fields, join } from '../config/fields.js';

export interface EccConfig {
  readonly scrub: {
    /** Protected bytes scrubbed per slot (whole blocks). */
    readonly budgetBytes: number;
    /** Time the scrub task may use per slot, microseconds. */
    readonly budgetUs: number;
  };
  /** The bundle store's sealed segments: parity, checks, repairs (flight/dtn/store/scrub.ts). */
  readonly store: {
    /** Segment and parity bytes read per slot (whole 288 KiB stripes, at least one). */
    readonly budgetBytes: number;
    readonly budgetUs: number;
  };
}

export const ECC_DEFAULTS = {
  scrub: { budgetBytes: 16384, budgetUs: 1000 },
  store: { budgetBytes: 294_912, budgetUs: 2000 },
} as const;

export function parseEccConfig(f: Fields, raw: unknown, field: string): EccConfig {
  const ecc = f.object(raw, field, ['scrub', 'store']);
  const budgets = (key: 'scrub' | 'store') => {
    const sf = join(field, key);
    const o = ecc[key] === undefined ? {} : f.object(ecc[key], sf, ['budgetBytes', 'budgetUs']);
    return {
      budgetBytes: o.budgetBytes === undefined ? ECC_DEFAULTS[key].budgetBytes : f.integer(o.budgetBytes, join(sf, 'budgetBytes'), 8, 1 << 30),
      budgetUs: o.budgetUs === undefined ? ECC_DEFAULTS[key].budgetUs : f.integer(o.budgetUs, join(sf, 'budgetUs'), 1, 1_000_000),
    };
  };
  return { scrub: budgets('scrub'), store: budgets('store') };
}
