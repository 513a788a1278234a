// Telemetry channel registry. Subsystems define their channels once, at start-up, from their
// dictionary; values then live in one Float64Array so that updating a channel on the hot path
// allocates nothing.

export type ChannelType = 'u32' | 'u64' | 'i32' | 'f64' | 'enum';

export interface Limits {
  low?: number;
  high?: number;
}

export interface ChannelDef {
  /** Dotted name, subsystem first: `exec.slips`. */
  readonly name: string;
  readonly type: ChannelType;
  readonly units: string;
  /** One line for the operator's dictionary. */
  readonly doc: string;
  readonly yellow?: Limits;
  readonly red?: Limits;
  /** For enum channels: value -> label. */
  readonly labels?: readonly string[];
}

export type LimitState = 'nominal' | 'yellow' | 'red';

function outside(value: number, limits: Limits | undefined): boolean {
  if (!limits) return false;
  return (limits.low !== undefined && value < limits.low) ||
    (limits.high !== undefined && value > limits.high);
}

export class Channel {
  constructor(
    private readonly values: () => Float64Array,
    readonly index: number,
    readonly def: ChannelDef,
  ) {}

  get value(): number {
    return this.values()[this.index]!;
  }

  set(value: number): void {
    this.values()[this.index] = value;
  }

  add(delta = 1): void {
    this.values()[this.index]! += delta;
  }

  limitState(): LimitState {
    const v = this.value;
    if (outside(v, this.def.red)) return 'red';
    if (outside(v, this.def.yellow)) return 'yellow';
    return 'nominal';
  }
}

export class TelemetryRegistry {
  private values = new Float64Array(64);
  private readonly channels: Channel[] = [];
  private readonly byName = new Map<string, Channel>();
  private readonly read = (): Float64Array => this.values;

  /** Defines a channel; defining the same name twice is a programming error. */
  define(def: ChannelDef): Channel {
    if (this.byName.has(def.name)) throw new Error(`telemetry channel ${def.name} defined twice`);
    if (this.channels.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    const channel = new Channel(this.read, this.channels.length, def);
    this.channels.push(channel);
    this.byName.set(def.name, channel);
    return channel;
  }

  /** Defines every channel of a dictionary and returns them by key. */
  defineAll<K extends string>(defs: Record<K, ChannelDef>): Record<K, Channel> {
    const out = {} as Record<K, Channel>;
    for (const key of Object.keys(defs) as K[]) out[key] = this.define(defs[key]);
    return out;
  }

  get(name: string): Channel | undefined {
    return this.byName.get(name);
  }

  all(): readonly Channel[] {
    return this.channels;
  }

  /** Name -> value of every channel. Allocates: for housekeeping, not for the hot path. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.channels) out[c.def.name] = c.value;
    return out;
  }
}
