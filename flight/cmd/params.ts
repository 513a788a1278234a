// Parameters: named tunables declared by their subsystem with type, range, default and
// criticality, changed by SET_PARAM and persisted as a record file (CRC-32C, primary + backup).
// A stored value that no longer fits its declaration (range changed in a new build) falls back
// to the default, with an event.
import { Encoder } from 'cbor-x';
import { join } from 'node:path';
import type { RegionMaker } from '../ecc/node.js';
import type { ProtectedRegion } from '../ecc/region.js';
import type { Channel } from '../tlm/channels.js';
import type { EventLog } from '../tlm/events.js';
import { CMD_EVENTS } from './dictionary.js';
import { CommandFailed } from './errors.js';
import { RecordFile } from './record-file.js';

export interface ParamDef {
  /** Dotted, subsystem first: `cmd.verifyPerSecond`. */
  readonly name: string;
  readonly type: 'int' | 'float';
  readonly min: number;
  readonly max: number;
  readonly default: number;
  readonly units: string;
  /** Critical parameters need k-of-n approval to change. */
  readonly criticality: 'normal' | 'critical';
  readonly doc: string;
}

const FORMAT = 1;
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export function checkParamValue(def: ParamDef, value: number): string | undefined {
  if (!Number.isFinite(value)) return 'a finite number';
  if (def.type === 'int' && !Number.isSafeInteger(value)) return `an integer in [${def.min}, ${def.max}]`;
  if (value < def.min || value > def.max) return `a value in [${def.min}, ${def.max}]`;
  return undefined;
}

export const PARAMS_REGION = 'parameters';

export class ParameterStore {
  private readonly defs = new Map<string, ParamDef>();
  /** The values until protect(); then the region holds them, one f64 per parameter. */
  private readonly values = new Map<string, number>();
  private region: ProtectedRegion | undefined;
  private readonly offsets = new Map<string, number>();
  private readonly file: RecordFile;

  constructor(
    dataDir: string,
    private readonly events: EventLog,
    private readonly recoveries: Channel,
  ) {
    this.file = new RecordFile(join(dataDir, 'params.rec'));
  }

  /** Declares a subsystem's parameters; call for every subsystem before load(). */
  declare(defs: Readonly<Record<string, ParamDef>>): void {
    if (this.region) throw new Error('parameters declared after they were protected');
    for (const def of Object.values(defs)) {
      if (this.defs.has(def.name)) throw new Error(`parameter ${def.name} declared twice`);
      const problem = checkParamValue(def, def.default);
      if (problem) throw new Error(`parameter ${def.name}: default ${def.default} is not ${problem}`);
      this.defs.set(def.name, def);
      this.values.set(def.name, def.default);
    }
  }

  /** Reads the persisted values; a missing record means all defaults. */
  load(): void {
    const read = this.file.read((payload) => {
      const decoded = decodeParams(payload);
      return typeof decoded === 'string' ? decoded : undefined;
    });
    if (read.status === 'absent') return;
    if (read.status === 'lost') {
      this.events.emit(CMD_EVENTS.recordLost, { file: this.file.path, problem: read.problem, fallback: 'all parameters at their defaults' });
      return;
    }
    if (read.status === 'recovered') {
      this.recoveries.add();
      this.events.emit(CMD_EVENTS.recordRecovered, { file: this.file.path, problem: read.problem, from: read.from });
    }
    const stored = decodeParams(read.payload) as Record<string, number>;
    for (const [name, value] of Object.entries(stored)) {
      const def = this.defs.get(name);
      // A parameter no longer declared is dropped; one out of its new range keeps its default.
      if (!def) continue;
      const problem = checkParamValue(def, value);
      if (problem) {
        this.events.emit(CMD_EVENTS.paramSet, { param: name, value: def.default, was: `${value} (stored, not ${problem})` });
        continue;
      }
      this.values.set(name, value);
    }
  }

  /**
   * Moves the values into a protected region (after load()): from then on every get() reads
   * through its accessors and every set() writes and commits it. Not critical: a parameter lost
   * beyond repair falls back to the record file on the next start, and SAFE would not help.
   */
  protect(region: RegionMaker): void {
    const names = [...this.values.keys()];
    const contents = new Float64Array(names.length);
    names.forEach((name, i) => {
      contents[i] = this.values.get(name)!;
      this.offsets.set(name, i * 8);
    });
    this.region = region(PARAMS_REGION, new Uint8Array(contents.buffer), false);
    this.values.clear();
  }

  def(name: string): ParamDef | undefined {
    return this.defs.get(name);
  }

  all(): ParamDef[] {
    return [...this.defs.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): number {
    if (this.region) {
      const offset = this.offsets.get(name);
      if (offset === undefined) throw new Error(`parameter ${name} not declared`);
      return this.region.readF64(offset);
    }
    const value = this.values.get(name);
    if (value === undefined) throw new Error(`parameter ${name} not declared`);
    return value;
  }

  /** Checks, persists (both copies) and applies; throws CommandFailed for an unknown name or bad value. */
  set(name: string, value: number): { was: number } {
    const def = this.defs.get(name);
    if (!def) throw new CommandFailed(`no parameter ${JSON.stringify(name)}`);
    const problem = checkParamValue(def, value);
    if (problem) throw new CommandFailed(`${name}: expected ${problem}, got ${value}`);
    const was = this.get(name);
    const next = Object.fromEntries([...this.defs.keys()].map((n) => [n, this.get(n)]));
    next[name] = value;
    this.file.write(cbor.encode({ format: FORMAT, values: next }));
    if (this.region) {
      this.region.writeF64(this.offsets.get(name)!, value);
      this.region.commit();
    } else {
      this.values.set(name, value);
    }
    this.events.emit(CMD_EVENTS.paramSet, { param: name, value, was });
    return { was };
  }
}

function decodeParams(payload: Uint8Array): Record<string, number> | string {
  let record: unknown;
  try {
    record = cbor.decode(payload);
  } catch (error) {
    return `not CBOR (${(error as Error).message})`;
  }
  if (typeof record !== 'object' || record === null) return 'not a map';
  const { format, values } = record as { format?: unknown; values?: unknown };
  if (format !== FORMAT) return `format ${String(format)}, expected ${FORMAT}`;
  if (typeof values !== 'object' || values === null) return 'no values map';
  for (const value of Object.values(values)) if (typeof value !== 'number') return 'a non-numeric value';
  return values as Record<string, number>;
}
