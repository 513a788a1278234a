// The `dtn` section of a mission config: the bundle store's limits, the agent's per-slot limits,
// and the BPSec key file. Every field has a default, so a node may leave the section out.
//
//   "dtn": {
//     "store": { "capacityBytes": 268435456, "perSourceQuotaBytes": 67108864 },
//     "agent": { "inboundQueue": 256, "ingestPerSlot": 64, "dispatchPerSlot": 64, "retryMs": 1000 },
//     "keys": "keys.jwk.json",
//     "strictBlockNumbers": false
//   }
//
// strictBlockNumbers: refuse fragments whose extension blocks are numbered 0 (as ION 4.1.3 sends
// them) instead of renumbering them (interop.ts).
import { resolve } from 'node:path';
import { Fields, join } from '../config/fields.js';
import { DEFAULT_AGENT_LIMITS, type AgentLimits } from './agent/limits.js';
import { parseStoreConfig, type StoreConfig } from './store/config.js';

export interface DtnConfig {
  readonly store: StoreConfig;
  readonly agent: AgentLimits;
  /** Absolute path of a JWK key set (RFC 9173 Appendix A form), if any. */
  readonly keysFile?: string;
  /** Refuse what interop.ts would repair (ION's fragments with blocks numbered 0). Default false. */
  readonly strictBlockNumbers: boolean;
}

const DEFAULT_CAPACITY = 256 * 1024 * 1024;
const AGENT_KEYS = Object.keys(DEFAULT_AGENT_LIMITS) as Array<keyof AgentLimits>;

export function parseDtnConfig(f: Fields, raw: unknown, field: string): DtnConfig {
  const o = raw === undefined ? {} : f.object(raw, field, ['store', 'agent', 'keys', 'strictBlockNumbers']);
  const store = parseStoreConfig(f, { capacityBytes: DEFAULT_CAPACITY, ...(o.store === undefined ? {} : f.object(o.store, join(field, 'store'))) }, join(field, 'store'));
  const agentField = join(field, 'agent');
  const agentRaw = o.agent === undefined ? {} : f.object(o.agent, agentField, AGENT_KEYS);
  const agent = { ...DEFAULT_AGENT_LIMITS };
  for (const key of AGENT_KEYS) {
    if (agentRaw[key] !== undefined) agent[key] = f.integer(agentRaw[key], join(agentField, key), 1, 1_000_000_000);
  }
  const keysFile = o.keys === undefined ? undefined : resolve(f.string(o.keys, join(field, 'keys')));
  const strictBlockNumbers = o.strictBlockNumbers === undefined ? false : f.boolean(o.strictBlockNumbers, join(field, 'strictBlockNumbers'));
  return { store, agent, strictBlockNumbers, ...(keysFile ? { keysFile } : {}) };
}
